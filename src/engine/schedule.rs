//! Commands waiting for their sample time (audio thread).
//!
//! A fixed-capacity list kept in time order (ties keep arrival order), allocated before audio
//! starts. The engine splits its block at the time of the first entry. It is stored latest
//! first, so the next entry is taken off the end (256 cues due on one frame were each a move of
//! every entry behind them).

use crate::engine::command::Action;

/// What the schedule holds: actions from the front end, and the engine's own follow-ups.
pub enum Due {
    Command(Action),
    /// A timed cue of the scene entered at `entry`; dropped if another scene is entered first.
    Timed {
        cue: u32,
        entry: u64,
    },
    /// A follow cue.
    Follow {
        cue: u32,
    },
    /// A quantized bed transition reaching its beat or bar.
    BedChange {
        scene: u32,
        entry: u64,
    },
}

/// Places kept in a schedule of `capacity` (`URGENT_ROOM`, or a quarter of a small one).
fn room_for(capacity: usize) -> usize {
    crate::engine::command::URGENT_ROOM.min(capacity / 4)
}

pub struct Entry {
    pub at: u64,
    pub due: Due,
}

pub struct Schedule {
    /// Latest first; among entries due on the same frame, the one that came first is last.
    entries: Vec<Entry>,
}

impl Schedule {
    /// Allocates room for `capacity` entries (control side, before audio starts).
    pub fn with_capacity(capacity: usize) -> Self {
        Schedule { entries: Vec::with_capacity(capacity) }
    }

    /// Inserts in time order; gives the entry back if the schedule is full (never reallocates).
    pub fn insert(&mut self, entry: Entry) -> Result<(), Entry> {
        if self.entries.len() == self.entries.capacity() {
            return Err(entry);
        }
        let at = entry.at;
        let index = self.entries.partition_point(|e| e.at > at);
        self.entries.insert(index, entry);
        Ok(())
    }

    /// Inserts a command from the front end: an ordinary one only while `room` places are
    /// left after it (kept for urgent commands and the engine's own follow-ups).
    pub fn insert_command(&mut self, entry: Entry, urgent: bool) -> Result<(), Entry> {
        if !urgent && self.entries.len() + room_for(self.entries.capacity()) >= self.entries.capacity() {
            return Err(entry);
        }
        self.insert(entry)
    }

    /// Time of the first entry.
    pub fn next_time(&self) -> Option<u64> {
        self.entries.last().map(|e| e.at)
    }

    /// Takes the first entry if it is due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<Entry> {
        if self.entries.last().is_some_and(|e| e.at <= now) {
            self.entries.pop()
        } else {
            None
        }
    }

    /// Keeps the entries `keep` says to. Only for entries that own no heap memory (the engine
    /// never schedules a `LoadProgram`), so nothing is freed on the audio thread.
    pub fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        self.entries.retain(|e| keep(e));
    }

    /// The entries in time order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries come out in time order, and those due on the same frame in the order they came.
    #[test]
    fn entries_come_out_in_time_then_arrival_order() {
        let mut schedule = Schedule::with_capacity(8);
        for (at, cue) in [(30, 0), (10, 1), (30, 2), (20, 3), (10, 4), (30, 5)] {
            assert!(schedule.insert(Entry { at, due: Due::Follow { cue } }).is_ok());
        }
        let listed: Vec<(u64, u32)> =
            schedule.iter().map(|e| (e.at, if let Due::Follow { cue } = e.due { cue } else { 99 })).collect();
        let want = vec![(10, 1), (10, 4), (20, 3), (30, 0), (30, 2), (30, 5)];
        assert_eq!(listed, want);
        assert_eq!(schedule.next_time(), Some(10));
        assert!(schedule.pop_due(9).is_none(), "nothing is due before its time");
        let mut popped = Vec::new();
        while let Some(e) = schedule.pop_due(30) {
            popped.push((e.at, if let Due::Follow { cue } = e.due { cue } else { 99 }));
        }
        assert_eq!(popped, want);
        assert!(schedule.is_empty());
    }
}
