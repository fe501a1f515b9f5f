//! Whether every record was signed in time.
//!
//! A checkpoint proves the records it covers were not changed since it was
//! signed, but only while it is there: someone who rewrites a record,
//! recomputes the hashes after it and deletes the checkpoints that cover it
//! leaves a log whose chain and remaining checkpoints all verify. What such
//! an edit cannot hide is time. The writer signs a checkpoint at least every
//! `checkpoint_interval_ms` while records arrive, so in a genuine log
//!
//! - every record is covered by a checkpoint signed within the *window*
//!   (the interval plus `checkpoint_grace_ms`) of the record's own time, or
//!   else it belongs to a *crash tail*: records written in the last window
//!   before the process died, signed when the log was next opened (all
//!   within one window of the last record that checkpoint covers);
//! - the records after the last checkpoint span at most one window (a
//!   crash tail not yet signed, or records written since the last tick);
//! - with heartbeats (`checkpoint_heartbeat_ms`: the writer signs again
//!   while idle), records no checkpoint signed in time begin within a
//!   heartbeat and a window of the checkpoint before them: a record stamped
//!   an hour after the last signature, with none in between, was not
//!   written by a live writer.
//!
//! Anything else means checkpoints are missing (deleted, or never signed
//! because the writer was failing) or records were added after the fact.
//! An operator who knows why can let the server sign such a tail with
//! `serve --accept-unsigned-tail`; the writer then records an
//! `unsigned_tail_accepted` record as the last one the checkpoint covers,
//! and the records it accepted are reported, not failed.
//!
//! What this cannot catch is an edit confined to the last window before the
//! log was stopped: only a checkpoint kept elsewhere (a store the log is
//! shipped to, a witness) can. Pure: no I/O, times in Unix nanoseconds.

/// The record kind the writer appends when an unsigned tail is accepted.
pub const UNSIGNED_TAIL_ACCEPTED: &str = "unsigned_tail_accepted";

/// How late is too late, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The checkpoint interval plus its grace.
    pub sign: i128,
    /// With heartbeats: the heartbeat plus `sign`, the longest a live
    /// writer goes without signing.
    pub idle: Option<i128>,
}

/// What the check is given about one checkpoint (its signature already checked).
#[derive(Debug, Clone, Copy)]
pub struct Signed {
    pub tree_size: u64,
    pub unix_nanos: i128,
}

/// The records' side: how many there are, the time of each by sequence
/// (`None` for one whose content is retired, which is not judged), and the
/// sequences of `unsigned_tail_accepted` records, ascending.
pub struct Records<'a> {
    /// How many records the log holds.
    pub len: u64,
    /// Record `seq`'s time; `None` once its content is retired.
    pub time: &'a dyn Fn(u64) -> Option<i128>,
    pub accepted_markers: &'a [u64],
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Records after the last checkpoint (a crash tail or the last tick's).
    pub unsigned: u64,
    /// Records signed late that an operator accepted at start-up.
    pub accepted: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoverageError {
    /// Records covered only by a checkpoint signed long after them, and not
    /// a crash tail.
    #[error(
        "records {first}..={last} were signed only by checkpoint {tree_size}, {late_secs} s after record {first} was \
         written (more than the {window_secs} s window) and they are not a crash tail: checkpoints are missing \
         (deleted, or never signed) or records were added after the fact"
    )]
    SignedLate { first: u64, last: u64, tree_size: u64, late_secs: i64, window_secs: i64 },
    /// Unsigned (or late-signed) records that begin long after the
    /// checkpoint before them, with no heartbeat in between.
    #[error(
        "record {first} was written {after_secs} s after the checkpoint before it ({tree_size}) with no checkpoint in \
         between, though the writer signs at least every {idle_secs} s: records were added after the fact"
    )]
    AfterSilence { first: u64, tree_size: u64, after_secs: i64, idle_secs: i64 },
    /// Records after the last checkpoint spanning more than one window.
    #[error(
        "records {first}..={last} are covered by no checkpoint and span {span_secs} s (more than the {window_secs} s \
         window): checkpoints are missing (deleted, or never signed) or records were added after the fact"
    )]
    UnsignedTail { first: u64, last: u64, span_secs: i64, window_secs: i64 },
}

/// Checks `records` against `checkpoints` (ascending tree sizes) with a
/// window of `window_nanos`.
pub fn check(records: &Records<'_>, checkpoints: &[Signed], window: Window) -> Result<Coverage, CoverageError> {
    let mut out = Coverage::default();
    let prev = signed_in_time(records, checkpoints, window, &mut out)?;
    unsigned_tail(records, checkpoints, prev, window, out)
}

/// Checks only the records after the last checkpoint: what opening a log
/// for writing would sign over.
pub fn check_tail(records: &Records<'_>, checkpoints: &[Signed], window: Window) -> Result<Coverage, CoverageError> {
    let last = checkpoints.iter().map(|c| c.tree_size).max().unwrap_or(0);
    unsigned_tail(records, checkpoints, last.min(records.len), window, Coverage::default())
}

/// The newest checkpoint that covers no more than `size` records, signed
/// before `t`: the last sign of a live writer before record `size`.
fn last_sign_before(checkpoints: &[Signed], size: u64, t: i128) -> Option<&Signed> {
    checkpoints.iter().filter(|c| c.tree_size <= size && c.unix_nanos <= t).max_by_key(|c| c.unix_nanos)
}

/// Records from `first` (oldest time `t`) not signed in time must follow a
/// live writer's last signature by at most the idle bound.
fn after_silence(checkpoints: &[Signed], first: u64, t: i128, window: Window) -> Result<(), CoverageError> {
    let Some(idle) = window.idle else { return Ok(()) };
    match last_sign_before(checkpoints, first, t) {
        Some(c) if t - c.unix_nanos > idle => Err(CoverageError::AfterSilence {
            first,
            tree_size: c.tree_size,
            after_secs: secs(t - c.unix_nanos),
            idle_secs: secs(idle),
        }),
        _ => Ok(()),
    }
}

fn secs(nanos: i128) -> i64 {
    (nanos / 1_000_000_000) as i64
}

fn time_of(records: &Records<'_>, seq: u64) -> Option<i128> {
    (seq < records.len).then(|| (records.time)(seq)).flatten()
}

/// Every checkpoint's records signed within the window of their time, or a
/// crash tail, or accepted; returns the size the last checkpoint covers.
fn signed_in_time(
    records: &Records<'_>,
    checkpoints: &[Signed],
    window: Window,
    out: &mut Coverage,
) -> Result<u64, CoverageError> {
    let window_nanos = window.sign;
    let n = records.len;
    let time = |seq: u64| time_of(records, seq);
    let mut prev = 0u64;
    for c in checkpoints {
        let end = c.tree_size.min(n);
        if end <= prev {
            continue;
        }
        let late: Vec<(u64, i128)> = (prev..end)
            .filter_map(|s| time(s).map(|t| (s, t)))
            .filter(|(_, t)| c.unix_nanos - t > window_nanos)
            .collect();
        if let (Some(&(first, first_t)), Some(&(last, _))) = (late.first(), late.last()) {
            if records.accepted_markers.binary_search(&(end - 1)).is_ok() {
                out.accepted += late.len() as u64;
            } else {
                // A crash tail: every late record within one window of the
                // last record this checkpoint covers.
                let newest = (prev..end).filter_map(time).max().unwrap_or(first_t);
                let oldest_late = late.iter().map(|(_, t)| *t).min().unwrap_or(first_t);
                if newest - oldest_late > window_nanos {
                    return Err(CoverageError::SignedLate {
                        first,
                        last,
                        tree_size: c.tree_size,
                        late_secs: secs(c.unix_nanos - first_t),
                        window_secs: secs(window_nanos),
                    });
                }
                after_silence(checkpoints, first, oldest_late, window)?;
            }
        }
        prev = end;
    }
    Ok(prev)
}

/// The records from `prev` on span at most one window.
fn unsigned_tail(
    records: &Records<'_>,
    checkpoints: &[Signed],
    prev: u64,
    window: Window,
    mut out: Coverage,
) -> Result<Coverage, CoverageError> {
    let window_nanos = window.sign;
    let n = records.len;
    if prev < n {
        let times: Vec<i128> = (prev..n).filter_map(|s| time_of(records, s)).collect();
        if let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) {
            after_silence(checkpoints, prev, *lo, window)?;
            if hi - lo > window_nanos {
                return Err(CoverageError::UnsignedTail {
                    first: prev,
                    last: n - 1,
                    span_secs: secs(hi - lo),
                    window_secs: secs(window_nanos),
                });
            }
        }
        out.unsigned = n - prev;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;
    const W: Window = Window { sign: 10 * S, idle: None };
    const HEARTBEAT: Window = Window { sign: 10 * S, idle: Some(70 * S) };

    fn at(secs: &[i128]) -> Vec<Option<i128>> {
        secs.iter().map(|s| Some(s * S)).collect()
    }

    fn cp(tree_size: u64, secs: i128) -> Signed {
        Signed { tree_size, unix_nanos: secs * S }
    }

    fn run(times: &[Option<i128>], markers: &[u64], cps: &[Signed]) -> Result<Coverage, CoverageError> {
        let time = |s: u64| times[s as usize];
        check(&Records { len: times.len() as u64, time: &time, accepted_markers: markers }, cps, W)
    }

    #[test]
    fn with_heartbeats_records_after_a_silence_are_found() {
        // A live writer signed at 0, 60 (heartbeat), 120; record 1 is
        // stamped an hour after the last signature and nothing signed it:
        // appended by hand.
        let t = at(&[0, 3_700]);
        let cps = [cp(1, 2), cp(1, 60), cp(1, 120)];
        let time = |s: u64| t[s as usize];
        let records = Records { len: t.len() as u64, time: &time, accepted_markers: &[] };
        let e = check(&records, &cps, HEARTBEAT).unwrap_err();
        assert!(matches!(e, CoverageError::AfterSilence { first: 1, tree_size: 1, .. }), "{e}");
        assert!(check_tail(&records, &cps, HEARTBEAT).is_err(), "opening the log refuses it too");
        // Signed later by a server that started over it: still found.
        let cps = [cp(1, 2), cp(1, 60), cp(1, 120), cp(2, 7_000)];
        assert!(matches!(check(&records, &cps, HEARTBEAT), Err(CoverageError::AfterSilence { .. })));
        // Without heartbeats the same log cannot be told from a crash.
        assert!(check(&records, &cps, W).is_ok());
        // A crash tail right after a heartbeat is fine.
        let t = at(&[0, 125]);
        let time = |s: u64| t[s as usize];
        let records = Records { len: t.len() as u64, time: &time, accepted_markers: &[] };
        assert!(check(&records, &[cp(1, 2), cp(1, 120), cp(2, 9_000)], HEARTBEAT).is_ok());
        assert!(check_tail(&records, &[cp(1, 2), cp(1, 120)], HEARTBEAT).is_ok());
    }

    #[test]
    fn the_tail_check_judges_only_what_follows_the_last_checkpoint() {
        // A checkpoint missing in the middle is for verify, not for opening.
        let t = at(&[0, 5, 40, 80, 120]);
        let time = |s: u64| t[s as usize];
        let records = Records { len: t.len() as u64, time: &time, accepted_markers: &[] };
        assert!(check(&records, &[cp(1, 2), cp(5, 125)], W).is_err());
        assert_eq!(check_tail(&records, &[cp(1, 2), cp(5, 125)], W), Ok(Coverage::default()));
        assert!(check_tail(&records, &[cp(1, 2)], W).is_err());
    }

    #[test]
    fn a_log_signed_on_every_tick_passes() {
        let t = at(&[0, 1, 2, 30, 31, 100]);
        assert_eq!(run(&t, &[], &[cp(3, 4), cp(5, 33), cp(6, 102)]), Ok(Coverage::default()));
        // Idle ticks and repeated sizes change nothing.
        assert!(run(&t, &[], &[cp(3, 4), cp(3, 20), cp(5, 33), cp(6, 102), cp(6, 500)]).is_ok());
    }

    #[test]
    fn a_crash_tail_signed_at_the_next_start_passes() {
        // Records 3..5 were written in the last seconds before a crash and
        // signed when the log was opened an hour later.
        let t = at(&[0, 1, 2, 50, 52, 55]);
        assert!(run(&t, &[], &[cp(3, 4), cp(6, 3_655)]).is_ok());
        // Not yet signed at all: the tail is reported, not failed.
        assert_eq!(run(&t, &[], &[cp(3, 4)]).unwrap().unsigned, 3);
    }

    #[test]
    fn dropped_checkpoints_are_found() {
        // Record 1 rewritten and every checkpoint from it on deleted; the
        // server (or the attacker) signed the rest later.
        let t = at(&[0, 5, 40, 80, 120]);
        let e = run(&t, &[], &[cp(1, 2), cp(5, 200)]).unwrap_err();
        assert!(matches!(e, CoverageError::SignedLate { first: 1, tree_size: 5, .. }), "{e}");
        // With nothing signed after the edit.
        let e = run(&t, &[], &[cp(1, 2)]).unwrap_err();
        assert!(matches!(e, CoverageError::UnsignedTail { first: 1, last: 4, .. }), "{e}");
        // checkpoints.jsonl deleted altogether.
        assert!(matches!(run(&t, &[], &[]), Err(CoverageError::UnsignedTail { first: 0, .. })));
        // A checkpoint missing in the middle while later ones remain.
        let e = run(&t, &[], &[cp(1, 2), cp(5, 125)]).unwrap_err();
        assert!(matches!(e, CoverageError::SignedLate { first: 1, .. }), "{e}");
    }

    #[test]
    fn an_accepted_tail_is_counted_not_failed() {
        // Record 5 is the unsigned_tail_accepted record the writer appended
        // before signing.
        let t = at(&[0, 5, 40, 80, 120, 4_000]);
        let c = run(&t, &[5], &[cp(1, 2), cp(6, 4_001)]).unwrap();
        assert_eq!(c.accepted, 4);
        // A marker elsewhere accepts nothing.
        assert!(run(&t, &[3], &[cp(1, 2), cp(6, 4_001)]).is_err());
    }

    #[test]
    fn retired_records_are_not_judged() {
        let mut t = at(&[0, 5, 40, 80, 120]);
        for x in t.iter_mut().take(4) {
            *x = None;
        }
        assert!(run(&t, &[], &[cp(5, 125)]).is_ok());
    }
}
