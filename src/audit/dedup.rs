//! Idempotent `Append`: which `(tenant, client_event_id)` pairs the log
//! recorded within the de-duplication window, and where.
//!
//! The journal's writer thread owns the one [`Dedup`] and consults it while
//! it places records, so the check and the insert happen where appends are
//! ordered: two concurrent appends of one event can never both be written.
//! On open the map is filled from the records the replay already reads (the
//! id is a record attribute, [`super::record::CLIENT_EVENT_ID`]), so it
//! survives restarts without a second scan.
//!
//! Memory: one entry per keyed client event recorded within the window
//! (the record id and time and the key, held twice: a few hundred bytes
//! plus twice the tenant and id lengths); entries older than the window
//! are dropped as new records arrive.

use std::collections::{HashMap, VecDeque};

use super::Appended;

/// A client event's tenant and `client_event_id`.
pub type Key = (String, String);

pub struct Dedup {
    /// Nanoseconds a recorded key is remembered; 0 remembers nothing.
    window_nanos: i128,
    /// The original record of every key recorded within the window.
    originals: HashMap<Key, Appended>,
    /// The same keys in the order they were recorded (which is time order),
    /// with when and at which sequence, so expiry pops from the front.
    order: VecDeque<(i128, u64, Key)>,
}

impl Dedup {
    pub fn new(window_secs: u64) -> Self {
        Self {
            window_nanos: i128::from(window_secs) * 1_000_000_000,
            originals: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.window_nanos > 0
    }

    /// Whether a record made at `unix_nanos` is still within the window at
    /// `now_nanos`.
    pub fn covers(&self, unix_nanos: i128, now_nanos: i128) -> bool {
        self.enabled() && unix_nanos >= now_nanos - self.window_nanos
    }

    /// The original record of `key`, if one was recorded within the window.
    pub fn original(&self, key: &Key) -> Option<&Appended> {
        self.originals.get(key)
    }

    /// Remembers that `key` was recorded as `appended` at `unix_nanos`.
    pub fn insert(&mut self, key: Key, appended: &Appended, unix_nanos: i128) {
        if !self.enabled() {
            return;
        }
        self.order.push_back((unix_nanos, appended.sequence, key.clone()));
        self.originals.insert(key, appended.clone());
    }

    /// Forgets the last `n` keys inserted: their batch was never written.
    pub fn undo_last(&mut self, n: usize) {
        for _ in 0..n {
            if let Some((_, _, key)) = self.order.pop_back() {
                self.originals.remove(&key);
            }
        }
    }

    /// Drops every key recorded before the window that ends at `now_nanos`.
    pub fn expire(&mut self, now_nanos: i128) {
        while let Some((t, seq, _)) = self.order.front() {
            if self.covers(*t, now_nanos) {
                break;
            }
            let seq = *seq;
            let (_, _, key) = self.order.pop_front().expect("front exists");
            if self.originals.get(&key).is_some_and(|a| a.sequence == seq) {
                self.originals.remove(&key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.originals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.originals.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(seq: u64) -> Appended {
        Appended { record_id: format!("r{seq}"), sequence: seq, recorded_at: String::new(), recorded_at_unix: (0, 0) }
    }

    #[test]
    fn keys_expire_with_the_window_and_undo_forgets_unwritten_ones() {
        let sec = 1_000_000_000;
        let mut d = Dedup::new(10);
        let k = |t: &str, id: &str| (t.to_string(), id.to_string());
        d.insert(k("a", "1"), &appended(0), 0);
        d.insert(k("b", "1"), &appended(1), 5 * sec);
        assert_eq!(d.original(&k("a", "1")).map(|a| a.sequence), Some(0));
        assert!(d.original(&k("c", "1")).is_none());
        d.expire(12 * sec);
        assert!(d.original(&k("a", "1")).is_none());
        assert_eq!(d.original(&k("b", "1")).map(|a| a.sequence), Some(1));
        d.insert(k("c", "1"), &appended(2), 12 * sec);
        d.undo_last(1);
        assert!(d.original(&k("c", "1")).is_none());
        assert_eq!(d.len(), 1);
        let mut off = Dedup::new(0);
        off.insert(k("a", "1"), &appended(0), 0);
        assert!(off.is_empty());
    }
}
