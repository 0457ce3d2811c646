//! Where on the show's timeline each engine frame fell (control side): the transport's marks
//! (`TransportMsg::Rolled` and `Halted`) in order, so a notice, a log line or a headless event
//! can say the show position of what happened, not the engine's time since the player opened.
//!
//! While the transport rolls, the engine renders the timeline frame for frame (a chased
//! timecode's speed is taken out after the engine, by the varispeed), so from a `Rolled` mark
//! on, timeline position = mark position + engine frames since the mark.

use std::collections::VecDeque;

/// How many marks are kept: a notice is about a frame a few blocks old at most, and the marks
/// since then are few (a locate, a stop): these reach back far enough.
const MARKS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    /// Engine frame from which this holds.
    at: u64,
    /// Timeline frame at `at`.
    position: u64,
    rolling: bool,
}

/// The transport's marks, newest last.
#[derive(Debug, Clone)]
pub struct Placing {
    marks: VecDeque<Mark>,
}

impl Default for Placing {
    /// Before the transport has moved, the show rests at its top.
    fn default() -> Self {
        Placing::resting(0)
    }
}

impl Placing {
    /// The transport stopped at timeline frame `position`, from engine frame 0 on.
    pub fn resting(position: u64) -> Placing {
        let mut marks = VecDeque::with_capacity(MARKS);
        marks.push_back(Mark { at: 0, position, rolling: false });
        Placing { marks }
    }

    /// From engine frame 0 the timeline rolls from `position` (an offline render from there).
    pub fn rolling(position: u64) -> Placing {
        let mut marks = VecDeque::with_capacity(MARKS);
        marks.push_back(Mark { at: 0, position, rolling: true });
        Placing { marks }
    }

    /// From engine frame `at`, the timeline rolls from `position` (`rolling`) or rests there.
    pub fn mark(&mut self, at: u64, position: u64, rolling: bool) {
        if self.marks.len() == MARKS {
            self.marks.pop_front();
        }
        // A mark older than the newest (they come in order; a host may say otherwise) is
        // placed where it belongs.
        let i = self.marks.iter().rposition(|m| m.at <= at).map_or(0, |i| i + 1);
        self.marks.insert(i, Mark { at, position, rolling });
    }

    /// The timeline frame at engine frame `at`.
    pub fn position(&self, at: u64) -> u64 {
        let mark = self.marks.iter().rev().find(|m| m.at <= at).or(self.marks.front());
        match mark {
            Some(m) if m.rolling => m.position + at.saturating_sub(m.at),
            Some(m) => m.position,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_frames_fall_where_the_transport_had_the_timeline() {
        let mut p = Placing::default();
        assert_eq!(p.position(48_000), 0, "resting at the top before it moves");
        p.mark(96_000, 0, true);
        assert_eq!(p.position(96_000 + 480), 480);
        p.mark(144_000, 20 * 48_000, true); // a locate to 20 s
        assert_eq!(p.position(144_000 + 1), 20 * 48_000 + 1);
        assert_eq!(p.position(100_000), 4_000, "before the locate, where it was then");
        p.mark(200_000, 21 * 48_000, false); // stopped
        assert_eq!(p.position(300_000), 21 * 48_000);
        p.mark(150_000, 5, false); // out of order: placed in order
        assert_eq!(p.position(160_000), 5);
        assert_eq!(p.position(300_000), 21 * 48_000);
        assert_eq!(Placing::rolling(1000).position(10), 1010);
        for i in 0..200 {
            p.mark(400_000 + i, i, true);
        }
        assert_eq!(p.marks.len(), MARKS, "bounded");
    }
}
