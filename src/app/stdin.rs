//! Headless commands on stdin (a thread of its own): each line is a command in its text form,
//! an OSC address without argument types (`/segue/go`, `go`, `level/bed -6`,
//! `transport/locate 12.5`, `quit`), read by `control::command::Command::parse` like OSC's.

use std::io::BufRead;
use std::time::Instant;

use serde_json::json;

use crate::app::headless::Lines;
use crate::control::command::{Arg, Command, Request, Requests, Source};
use crate::control::report::wall_ms;

/// Reads stdin until it ends or the player is gone; a line that is not a command is said on
/// the headless log (`lines`).
pub fn spawn_reader(requests: Requests, lines: Lines) {
    let _ = std::thread::Builder::new().name("segue-stdin".into()).spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { return };
            let arrived = Instant::now();
            let Some(request) = read(line.trim(), arrived) else { continue };
            match request {
                Ok(request) => {
                    if requests.send(request).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    lines.line(&json!({ "event": "problem", "text": format!("stdin: {e}"), "wall_ms": wall_ms() }))
                }
            }
        }
    });
}

/// One line as a request (`None`: an empty line).
fn read(line: &str, arrived: Instant) -> Option<Result<Request, String>> {
    let mut words = line.split_whitespace();
    let head = words.next()?;
    let address = if head.starts_with('/') { head.to_string() } else { format!("/segue/{head}") };
    let command = if address == "/segue/quit" {
        Ok(Command::Quit)
    } else {
        let args: Vec<Arg> = words.map(|w| Arg::Text(w.to_string())).collect();
        Command::parse(&address, &args)
    };
    Some(command.map(|command| Request { command, address, arrived, source: Source::Stdin, reply: None }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::command::Level;

    #[test]
    fn stdin_lines_read_as_osc_addresses_with_or_without_the_prefix() {
        let now = Instant::now();
        let command = |line: &str| read(line, now).map(|r| r.map(|r| r.command));
        assert_eq!(command("go"), Some(Ok(Command::Go)));
        assert_eq!(command("/segue/go"), Some(Ok(Command::Go)));
        assert_eq!(command("level/bed -6"), Some(Ok(Command::Level(Level::Bed, -6.0))));
        assert_eq!(command("quit"), Some(Ok(Command::Quit)));
        assert_eq!(command(""), None);
        assert!(command("nothing").unwrap().unwrap_err().contains("not a Segue address"));
    }
}
