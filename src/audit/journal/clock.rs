//! Where record and checkpoint times come from.

use super::*;

/// Where record and checkpoint times come from: the system clock in
/// service, a simulated one for fixtures that lay down months of history.
#[derive(Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// Nanoseconds since the Unix epoch, set by whoever drives the clock.
    Manual(Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    pub fn now(&self) -> time::OffsetDateTime {
        match self {
            Clock::System => time::OffsetDateTime::now_utc(),
            Clock::Manual(n) => {
                let nanos = n.load(std::sync::atomic::Ordering::SeqCst) as i128;
                time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            }
        }
    }

    /// A manual clock and the handle that sets it.
    pub fn manual(start: time::OffsetDateTime) -> (Self, ManualClock) {
        let n = Arc::new(std::sync::atomic::AtomicI64::new(start.unix_timestamp_nanos() as i64));
        (Clock::Manual(n.clone()), ManualClock(n))
    }
}

/// Sets a [`Clock::Manual`].
#[derive(Clone)]
pub struct ManualClock(Arc<std::sync::atomic::AtomicI64>);

impl ManualClock {
    pub fn set(&self, t: time::OffsetDateTime) {
        self.0.store(t.unix_timestamp_nanos() as i64, std::sync::atomic::Ordering::SeqCst);
    }
}
