//! The one place the engine reads the wall clock.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// The current time, truncated to whole microseconds.
///
/// PostgreSQL stores microseconds; truncating here means a time read back from either
/// database equals the time that was written, on SQLite as on PostgreSQL.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}
