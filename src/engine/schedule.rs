//! Commands waiting for their sample time (audio thread).
//!
//! A fixed-capacity list kept in time order (ties keep arrival order), allocated before audio
//! starts. The engine splits its block at the time of the first entry.

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

pub struct Entry {
    pub at: u64,
    pub due: Due,
}

pub struct Schedule {
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
        let index = self.entries.partition_point(|e| e.at <= at);
        self.entries.insert(index, entry);
        Ok(())
    }

    /// Time of the first entry.
    pub fn next_time(&self) -> Option<u64> {
        self.entries.first().map(|e| e.at)
    }

    /// Takes the first entry if it is due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<Entry> {
        if self.entries.first().is_some_and(|e| e.at <= now) {
            Some(self.entries.remove(0))
        } else {
            None
        }
    }

    /// Keeps the entries `keep` says to. Only for entries that own no heap memory (the engine
    /// never schedules a `LoadProgram`), so nothing is freed on the audio thread.
    pub fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        self.entries.retain(|e| keep(e));
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
