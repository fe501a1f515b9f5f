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
//! Memory: one entry per keyed client event recorded within the window,
//! about 130 bytes whatever the tenant and id lengths: the key is held as
//! a 128-bit digest, and the original's id and time as numbers whenever
//! they are a UUID and the RFC 3339 form of that time (as Warden writes
//! them); entries older than the window are dropped as new records arrive.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

use super::Appended;

/// A client event's tenant and `client_event_id`.
pub type Key = (String, String);

pub struct Dedup {
    /// Nanoseconds a recorded key is remembered; 0 remembers nothing.
    window_nanos: i128,
    /// The original record of every key recorded within the window, by the
    /// key's digest.
    originals: HashMap<u128, Original>,
    /// The same keys in the order they were recorded (which is time order),
    /// with when and at which sequence, so expiry pops from the front.
    order: VecDeque<(i128, u64, u128)>,
}

/// An [`Appended`] held compactly.
struct Original {
    sequence: u64,
    recorded_at_unix: (i64, u32),
    id: Id,
    /// `None` when `recorded_at` is the RFC 3339 form of `recorded_at_unix`.
    recorded_at: Option<Box<str>>,
}

enum Id {
    Uuid(u128),
    Text(Box<str>),
}

/// SHA-256 over the tenant's length, the tenant and the id, first 128 bits:
/// no two keys share one, chosen or not, short of a 2^64 search.
fn digest(key: &Key) -> u128 {
    let mut h = Sha256::new();
    h.update(b"warden.dedup.key\0");
    h.update((key.0.len() as u64).to_be_bytes());
    h.update(key.0.as_bytes());
    h.update(key.1.as_bytes());
    let full: [u8; 32] = h.finalize().into();
    u128::from_be_bytes(full[..16].try_into().expect("16 bytes"))
}

fn rfc3339((secs, nanos): (i64, u32)) -> Option<String> {
    let t =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).ok()?;
    t.format(&time::format_description::well_known::Rfc3339).ok()
}

impl Original {
    fn of(a: &Appended) -> Self {
        let id = match uuid::Uuid::try_parse(&a.record_id) {
            Ok(u) if u.hyphenated().to_string() == a.record_id => Id::Uuid(u.as_u128()),
            _ => Id::Text(a.record_id.as_str().into()),
        };
        let recorded_at = (rfc3339(a.recorded_at_unix).as_deref() != Some(a.recorded_at.as_str()))
            .then(|| a.recorded_at.as_str().into());
        Original { sequence: a.sequence, recorded_at_unix: a.recorded_at_unix, id, recorded_at }
    }

    fn appended(&self) -> Appended {
        Appended {
            record_id: match &self.id {
                Id::Uuid(u) => uuid::Uuid::from_u128(*u).hyphenated().to_string(),
                Id::Text(t) => t.to_string(),
            },
            sequence: self.sequence,
            recorded_at: match &self.recorded_at {
                Some(t) => t.to_string(),
                None => rfc3339(self.recorded_at_unix).unwrap_or_default(),
            },
            recorded_at_unix: self.recorded_at_unix,
        }
    }
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
    pub fn original(&self, key: &Key) -> Option<Appended> {
        self.originals.get(&digest(key)).map(Original::appended)
    }

    /// Remembers that `key` was recorded as `appended` at `unix_nanos`.
    pub fn insert(&mut self, key: Key, appended: &Appended, unix_nanos: i128) {
        if !self.enabled() {
            return;
        }
        let d = digest(&key);
        self.order.push_back((unix_nanos, appended.sequence, d));
        self.originals.insert(d, Original::of(appended));
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
        while let Some(&(t, seq, key)) = self.order.front() {
            if self.covers(t, now_nanos) {
                break;
            }
            self.order.pop_front();
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

    #[test]
    fn originals_come_back_exactly_as_recorded() {
        let mut d = Dedup::new(10);
        let k = |id: &str| ("acme".to_string(), id.to_string());
        let nanos: i128 = 1_764_950_400_123_456_789;
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap();
        let written = Appended {
            record_id: uuid::Uuid::now_v7().to_string(),
            sequence: 7,
            recorded_at: at.format(&time::format_description::well_known::Rfc3339).unwrap(),
            recorded_at_unix: (1_764_950_400, 123_456_789),
        };
        // Not as Warden writes them: an id that is no UUID, a time in
        // another form.
        let odd = Appended {
            record_id: "ABC-not-a-uuid".into(),
            sequence: 8,
            recorded_at: "2025-12-05T16:00:00.123456789+00:00".into(),
            recorded_at_unix: (1_764_950_400, 123_456_789),
        };
        let upper = Appended { record_id: written.record_id.to_uppercase(), sequence: 9, ..written.clone() };
        d.insert(k("1"), &written, nanos);
        d.insert(k("2"), &odd, nanos);
        d.insert(k("3"), &upper, nanos);
        assert_eq!(d.original(&k("1")), Some(written));
        assert_eq!(d.original(&k("2")), Some(odd));
        assert_eq!(d.original(&k("3")), Some(upper));
        // The tenant and the id are one key, not their concatenation.
        assert!(d.original(&("acm".to_string(), "e1".to_string())).is_none());
    }
}
