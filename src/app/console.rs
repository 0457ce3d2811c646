//! The operator console (ratatui on crossterm; drawn by the control loop on the main thread, keys
//! read on a thread of their own and stamped on arrival): the cue list grouped by scene with the
//! standby cue marked, each playing cue with its time played and left, the transport position
//! and scene, meters for main, bed and cues, a status line and the keys. It is the player's
//! report sink with a terminal (`control::report::Sink`) and draws the state
//! (`control::snapshot::Snapshot`); keys become commands like any remote's.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind};
use ratatui::layout::{Constraint, Direction, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::DefaultTerminal;

use crate::control::command::Command;
use crate::control::report::{Report, Sink};
use crate::control::snapshot::{CueState, Snapshot};
use crate::control::times;
use crate::control::{Controller, Severity};
use crate::engine::command::Level;
use crate::engine::meters::MeterReading;

/// What a key asks of the player.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyAction {
    Command(Command),
    Quit,
}

/// The output as the status line shows it.
#[derive(Debug, Clone, Default)]
pub struct Rig {
    pub backend: String,
    pub device: String,
    pub rate: u32,
    pub osc: Option<String>,
    /// Whether MIDI in was asked for.
    pub midi: bool,
}

/// How often the console redraws: about 30 frames a second.
const FRAME: Duration = Duration::from_millis(33);

/// Seconds a meter's peak mark holds before it falls back.
const PEAK_HOLD: Duration = Duration::from_millis(1500);

pub struct Console {
    terminal: DefaultTerminal,
    cursor: usize,
    help: bool,
    confirm_quit: bool,
    problem: Option<String>,
    rig: Rig,
    /// Peak per bus (main, bed, cues) in dBFS and when it was last at least this high.
    peaks: [(f32, Instant); 3],
    /// Mean power per bus over about the last 300 ms (an RMS meter's integration), linear.
    power: [f32; 3],
    duck_db: f32,
    last_draw: Instant,
    /// The problems of a saved show that was not loaded (`--watch`), until one loads.
    show_problems: Vec<String>,
    /// Show time in the header even when the show has a production (`t` toggles; with one,
    /// picture timecode is shown first).
    show_clock: bool,
}

/// Reads keys on a thread of its own and stamps them on arrival.
pub fn spawn_keys() -> crossbeam_channel::Receiver<(KeyEvent, Instant)> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let _ = std::thread::Builder::new().name("segue-keys".into()).spawn(move || loop {
        match event::read() {
            Ok(TermEvent::Key(key)) if key.kind == KeyEventKind::Press => {
                if tx.send((key, Instant::now())).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    });
    rx
}

fn db(peak: f32) -> f32 {
    20.0 * peak.max(1e-6).log10()
}

impl Console {
    /// Takes over the terminal (raw mode, alternate screen); it is given back on drop, also on
    /// a panic (ratatui's hook).
    pub fn new(rig: Rig) -> Console {
        let terminal = ratatui::init();
        let now = Instant::now();
        Console {
            terminal,
            cursor: 0,
            help: false,
            show_clock: false,
            confirm_quit: false,
            problem: None,
            rig,
            peaks: [(-120.0, now); 3],
            power: [0.0; 3],
            duck_db: 0.0,
            last_draw: now - Duration::from_secs(1),
            show_problems: Vec::new(),
        }
    }

    pub fn problem(&mut self, text: &str) {
        self.problem = Some(text.to_string());
    }

    /// Lists a saved show's problems over the bottom of the cue list (empty: the list goes).
    pub fn show_problems(&mut self, problems: Vec<String>) {
        self.show_problems = problems;
    }

    /// What a key press means, over the show as it is (`state`).
    pub fn key(&mut self, key: KeyEvent, state: &Snapshot) -> Option<KeyAction> {
        if self.confirm_quit {
            self.confirm_quit = false;
            return matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')).then_some(KeyAction::Quit);
        }
        let command = |c: Command| Some(KeyAction::Command(c));
        let level = |which: usize, step: f32| {
            let db = (state.levels[which] + step).clamp(-60.0, 12.0);
            command(Command::Level([Level::Master, Level::Bed, Level::Cues][which], db))
        };
        let scene_step = |step: i64| {
            let n = state.scenes.len() as i64;
            let current = state.scene.map_or(-1, |s| s as i64);
            let next = (current + step).clamp(0, n - 1);
            state.scenes.get(next as usize).and_then(|s| command(Command::Scene(s.id.clone())))
        };
        match key.code {
            KeyCode::Char(' ') => command(Command::Go),
            KeyCode::Enter => command(if state.playing { Command::StopTransport } else { Command::Play }),
            KeyCode::Home => command(Command::Locate(crate::control::times::Moment::Show(0.0))),
            KeyCode::Esc | KeyCode::Char('p') => command(Command::Panic),
            KeyCode::Up | KeyCode::Down => {
                let n = state.cues().count();
                if n == 0 {
                    return None;
                }
                self.cursor =
                    if key.code == KeyCode::Up { self.cursor.saturating_sub(1) } else { (self.cursor + 1).min(n - 1) };
                let cue = state.cue(self.cursor as u32)?;
                if cue.manual {
                    command(Command::Standby(cue.id.clone()))
                } else {
                    None
                }
            }
            KeyCode::Char('s') => state.cue(self.cursor as u32).and_then(|c| command(Command::StopCue(c.id.clone()))),
            KeyCode::Right => scene_step(1),
            KeyCode::Left => scene_step(-1),
            KeyCode::Char('+') | KeyCode::Char('=') => level(0, 1.0),
            KeyCode::Char('-') => level(0, -1.0),
            KeyCode::Char('B') => level(1, 1.0),
            KeyCode::Char('b') => level(1, -1.0),
            KeyCode::Char('C') => level(2, 1.0),
            KeyCode::Char('c') => level(2, -1.0),
            KeyCode::Char('?') => {
                self.help = !self.help;
                None
            }
            KeyCode::Char('r') => command(Command::Reload),
            KeyCode::Char('t') => {
                self.show_clock = !self.show_clock;
                None
            }
            KeyCode::Char('q') => {
                if state.anything_playing() || state.playing {
                    self.confirm_quit = true;
                    None
                } else {
                    Some(KeyAction::Quit)
                }
            }
            _ => None,
        }
    }

    fn meter(&mut self, reading: &MeterReading, now: Instant) {
        let buses = [reading.main, reading.bed, reading.cues];
        for (i, p) in buses.iter().enumerate() {
            let level = db(p[0].max(p[1]));
            let (held, since) = self.peaks[i];
            // Falls back 20 dB per second once the hold is over.
            let fallen = if now.duration_since(since) > PEAK_HOLD {
                held - 20.0 * now.duration_since(since).saturating_sub(PEAK_HOLD).as_secs_f32()
            } else {
                held
            };
            self.peaks[i] = if level >= fallen { (level, now) } else { (fallen.max(-120.0), since) };
            // Each reading covers about a screen frame; 300 ms of them make the RMS.
            let rms = reading.rms[i];
            self.power[i] += (rms * rms - self.power[i]) * 0.1;
        }
        self.duck_db = reading.duck_db;
    }

    /// Whether a frame's time (about 30 per second) has passed since the last drawing.
    pub fn due(&self) -> bool {
        self.last_draw.elapsed() >= FRAME
    }

    /// Draws the show as it is.
    pub fn draw(&mut self, state: &Snapshot) {
        let now = Instant::now();
        self.last_draw = now;
        self.meter(&state.meters, now);
        let show = state.show.clone();
        let scene_name = state.scene_id().unwrap_or("-").to_string();
        let (playing, position) = (state.playing, state.position_secs());
        // The transport the show chases, when it is not the player's own.
        let following = match (&state.sync, state.follows.as_str()) {
            (Some(sync), _) => format!("  follows {}", sync.line()),
            (None, "its own transport") => String::new(),
            (None, follows) => format!("  follows {follows}"),
        };
        // The cut in xjadeo, and the frame it shows.
        let following = match &state.picture {
            Some(p) => match p.frame {
                Some(frame) => format!("{following}  picture {} frame {frame}", p.file),
                None => format!("{following}  picture {}", p.file),
            },
            None => following,
        };
        // Picture timecode when the show has a production (`t`: show time), else show time.
        let clock = if state.production && !self.show_clock {
            format!("TC {}", state.timecode)
        } else {
            times::position(position)
        };
        // What the timeline starts next, counting down.
        let mut countdown = String::new();
        if let Some((cue, secs)) = &state.next_cue {
            countdown.push_str(&format!("  next cue {cue} in {}", times::cue_time(*secs)));
        }
        if let Some((scene, secs)) = &state.next_scene {
            countdown.push_str(&format!("  next scene {scene} in {}", times::cue_time(*secs)));
        }
        let counts = state.counts;
        let console = &*self;
        let mut items: Vec<ListItem> = Vec::new();
        let mut selected = 0;
        let cues = || state.scenes.iter().flat_map(|s| &s.cues);
        let number_width = cues().filter_map(|c| c.number.as_ref()).map(|n| n.chars().count()).max().unwrap_or(0);
        // Names take what the list leaves: its borders, the mark, the state word, the times and
        // the level bar take 2 + 4 + 8 + 16 + 7 columns, and the meters panel 24.
        let width = self.terminal.size().map_or(80, |size| size.width) as usize;
        let room = width.saturating_sub(24 + 2 + 4 + 8 + 16 + 7 + 1);
        let longest = cues().map(|c| c.title().chars().count() + number_width + 1).max().unwrap_or(0);
        let name_width = longest.clamp(12, room.max(12));
        for (s, scene) in state.scenes.iter().enumerate() {
            let here = state.scene == Some(s as u32);
            let title = if scene.name.is_empty() { scene.id.clone() } else { format!("{} ({})", scene.name, scene.id) };
            let style = if here {
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
            } else {
                Style::new().add_modifier(Modifier::BOLD)
            };
            items.push(ListItem::new(Line::from(vec![
                Span::styled(if here { "NOW " } else { "    " }, style),
                Span::styled(title, style),
            ])));
            for cue in &scene.cues {
                if cue.index as usize == console.cursor {
                    selected = items.len();
                }
                let mark = if state.standby == Some(cue.index) { "GO> " } else { "    " };
                let name = match &cue.number {
                    Some(number) => format!("{number:<number_width$} {}", cue.title()),
                    None if number_width > 0 => format!("{:number_width$} {}", "", cue.title()),
                    None => cue.title().to_string(),
                };
                let (word, style, when) = match cue.state {
                    CueState::Playing => {
                        let played = times::cue_time(cue.played.unwrap_or(0.0));
                        let left = cue.left.map_or("loop".to_string(), |l| format!("-{}", times::cue_time(l)));
                        ("PLAYING", Style::new().fg(Color::Green), format!("{played} {left}"))
                    }
                    CueState::Done => ("done", Style::new().fg(Color::DarkGray), String::new()),
                    CueState::Broken => ("BROKEN", Style::new().fg(Color::Red), String::new()),
                    CueState::Ready => ("ready", Style::new(), cue.length.map_or("loop".into(), times::cue_time)),
                };
                // A playing cue's level: six cells over -48..0 dBFS.
                let bar = cue.level_db.map_or(String::new(), level_bar);
                items.push(ListItem::new(Line::from(vec![
                    Span::styled(mark, Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)),
                    Span::styled(format!("{word:<8}"), style),
                    Span::raw(format!("{:<name_width$} ", fit(&name, name_width))),
                    Span::styled(format!("{when:<15}"), style),
                    Span::styled(bar, Style::new().fg(Color::Green)),
                ])));
            }
        }
        let peaks = console.peaks;
        let rms = console.power.map(|p| db(p.sqrt()));
        let duck = console.duck_db;
        let help = console.help;
        let confirm = console.confirm_quit;
        let problem = console.problem.clone().unwrap_or_default();
        let rig = console.rig.clone();
        let levels = state.levels;
        let show_problems = console.show_problems.clone();
        let mut list_state = ListState::default().with_selected(Some(selected));
        let _ = self.terminal.draw(|frame| {
            let area = frame.area();
            let rows = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Length(1), Constraint::Min(3), Constraint::Length(2), Constraint::Length(1)])
                .split(area);
            let transport = if playing { "PLAYING" } else { "stopped" };
            let header = Line::from(vec![
                Span::styled(" Segue ", Style::new().bg(Color::Blue).fg(Color::White).add_modifier(Modifier::BOLD)),
                Span::raw(format!(" {show}  ")),
                Span::styled(clock, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(format!("  {transport}  scene {scene_name}{countdown}{following}")),
            ]);
            frame.render_widget(Paragraph::new(header), rows[0]);
            let body = Layout::default()
                .direction(Direction::Horizontal)
                .constraints([Constraint::Min(40), Constraint::Length(24)])
                .split(rows[1]);
            let list = List::new(items)
                .block(Block::default().borders(Borders::ALL).title(" Scenes and cues "))
                .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
            frame.render_stateful_widget(list, body[0], &mut list_state);
            if !show_problems.is_empty() {
                let list = body[0];
                let h = (show_problems.len() as u16 + 2).min(list.height / 2).max(3);
                let r = ratatui::layout::Rect { x: list.x, y: list.y + list.height - h, width: list.width, height: h };
                let lines: Vec<Line> = show_problems.iter().map(|p| Line::from(p.as_str())).collect();
                let block = Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::new().fg(Color::LightRed))
                    .title(" The saved show has problems; this one plays on ");
                frame.render_widget(Clear, r);
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block), r);
            }
            let meters = Block::default().borders(Borders::ALL).title(" dBFS: RMS, peak ");
            let inner = meters.inner(body[1]);
            frame.render_widget(meters, body[1]);
            let lines = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Length(1); 7])
                .split(inner);
            for (i, name) in ["Main", "Bed", "Cues"].iter().enumerate() {
                let (level, peak) = (rms[i], peaks[i].0);
                let colour = if peak > -6.0 { Color::Red } else if peak > -18.0 { Color::Yellow } else { Color::Green };
                // The bar is the RMS; the held peak is in the words.
                let gauge = Gauge::default()
                    .gauge_style(Style::new().fg(colour))
                    .ratio((((level + 60.0) / 60.0).clamp(0.0, 1.0)) as f64)
                    .label(format!("{name} {:>3.0} pk {peak:+.1}", level.max(-99.0)));
                if let Some(r) = lines.get(i * 2) {
                    frame.render_widget(gauge, *r);
                }
            }
            if let Some(r) = lines.get(5) {
                frame.render_widget(Paragraph::new(format!("bed duck {duck:+.1} dB")), *r);
            }
            if let Some(r) = lines.get(6) {
                let text = format!("M{:+.0} B{:+.0} C{:+.0} dB", levels[0], levels[1], levels[2]);
                frame.render_widget(Paragraph::new(text), *r);
            }
            let (osc, midi) = (counts.remote.osc.unwrap_or_default(), counts.remote.midi.unwrap_or_default());
            let status = format!(
                "{} {} {} kHz/{} | underruns {} | ignored GO {} | OSC {} | MIDI {}",
                rig.backend,
                rig.device,
                rig.rate as f64 / 1000.0,
                counts.buffer.unwrap_or(0),
                // Of every cause; the device's own (xruns) named when there are any.
                if counts.device_xruns > 0 {
                    format!("{} ({} device)", counts.underruns, counts.device_xruns)
                } else {
                    counts.underruns.to_string()
                },
                counts.taken.ignored_gos,
                // Port, then the commands taken: "53000:3", and what was not taken, if any.
                match rig.osc.as_deref() {
                    Some(o) => format!(
                        "{}:{}{}",
                        o.rsplit_once(':').map_or(o, |(_, port)| port),
                        counts.taken.osc_commands,
                        not_taken(&[(osc.malformed, "bad"), (osc.refused, "refused")])
                    ),
                    None => "off".into(),
                },
                if rig.midi {
                    format!("{}{}", counts.taken.midi_commands, not_taken(&[(midi.dropped, "dropped")]))
                } else {
                    "off".into()
                },
            );
            let status = Paragraph::new(vec![
                Line::from(status),
                Line::styled(problem.clone(), Style::new().fg(Color::LightRed)),
            ])
            .wrap(Wrap { trim: true });
            frame.render_widget(status, rows[2]);
            let footer = if confirm {
                Line::styled(" Something is playing. Quit anyway? y / n ", Style::new().bg(Color::Red).fg(Color::White))
            } else {
                Line::from(" Space GO  Enter play/stop  \u{2191}\u{2193} standby  s stop  Esc panic  \u{2190}\u{2192} scene  q quit  ?")
            };
            frame.render_widget(Paragraph::new(footer), rows[3]);
            if help {
                let text = vec![
                    Line::from("Space        GO: the standby cue (stopped at 00:00: play the show)"),
                    Line::from("Enter        play / stop the show timeline        Home  back to 00:00"),
                    Line::from("Up / Down    move the cursor; on a GO cue it becomes standby"),
                    Line::from("s            stop the cue under the cursor (with its fade)"),
                    Line::from("Esc or p     panic: everything fades; again during the fade: cut"),
                    Line::from("Left / Right previous / next scene"),
                    Line::from("+ / -        master level   B / b  bed level   C / c  cue level (1 dB)"),
                    Line::from("r            reload the show file now (--watch reloads when stopped)"),
                    Line::from("t            picture timecode / show time in the header"),
                    Line::from("q            quit (asks while anything plays)     ?  this help"),
                ];
                let w = area.width.saturating_sub(4).min(84);
                let h = (text.len() as u16 + 2).min(area.height);
                let r = ratatui::layout::Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
                frame.render_widget(Clear, r);
                frame.render_widget(Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" Keys ")), r);
            }
        });
    }
}

/// A level in dBFS as six cells, each 8 dB (-48 dBFS and below: empty).
fn level_bar(db: f32) -> String {
    let full = ((db + 48.0) / 8.0).clamp(0.0, 6.0).round() as usize;
    format!("{}{}", "\u{2588}".repeat(full), "\u{2591}".repeat(6 - full))
}

impl Sink for Console {
    fn report(&mut self, _controller: &Controller, report: Report<'_>) {
        match report {
            Report::Notice(notice) if notice.severity != Severity::Info => self.problem(&notice.text),
            Report::Problem(text) | Report::MidiConnected(text) | Report::ShowChanged(text) => self.problem(text),
            Report::OutputBack(text) | Report::Timecode { text, .. } => self.problem(text),
            Report::ShowInvalid(problems) => self.show_problems(problems.to_vec()),
            Report::ShowReloaded { text, .. } => {
                self.show_problems(Vec::new());
                self.problem(text);
            }
            // Shown by drawing the state; the loss is said by the problem that follows it.
            Report::Opened(_) | Report::Command(_) | Report::Notice(_) | Report::State(_) | Report::OutputLost(_) => {}
        }
    }

    fn wants_state(&self) -> bool {
        self.due()
    }

    fn show(&mut self, state: &Snapshot) {
        self.draw(state);
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// " (2 bad, 1 refused)" for the counts that are not 0; "" when all are.
fn not_taken(counts: &[(u64, &str)]) -> String {
    let said: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    if said.is_empty() {
        String::new()
    } else {
        format!(" ({})", said.join(", "))
    }
}

/// `text` in at most `width` columns: cut with an ellipsis where it is longer.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
