//! The only source of "now". Everything that needs the time takes a [`Clock`], so the
//! scheduler, recurrence and recommendations can be tested with a fixed clock.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{NaiveDateTime, TimeDelta, Utc};

/// A source of the current UTC time.
pub trait Clock: Send + Sync + 'static {
    /// The current time in UTC, without a zone (the database stores UTC).
    fn now(&self) -> NaiveDateTime;
}

/// A shared clock handle, as the application holds it.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        // Stored times have microsecond precision on both backends; truncating here keeps
        // values read back equal to values written.
        let now = Utc::now().naive_utc();
        now - TimeDelta::nanoseconds(i64::from(now.and_utc().timestamp_subsec_nanos() % 1000))
    }
}

/// A clock that stands still until told to move; for tests and reproducible runs.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<NaiveDateTime>>);

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: NaiveDateTime) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: NaiveDateTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> NaiveDateTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
