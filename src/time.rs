//! Time arithmetic that cannot panic: protocol times are `i64` counts from the Unix epoch
//! that anyone (a webhook, an API answer, a scenario file) may set to anything.

use std::time::{Duration, SystemTime};

/// As far ahead as a deadline is ever put: past any real rule, and far from any overflow.
pub const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Seconds since the epoch; `None` when not positive or past what the clock can hold.
pub fn from_secs(s: i64) -> Option<SystemTime> {
    positive(s).and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
}

/// Milliseconds since the epoch, like [`from_secs`].
pub fn from_millis(ms: i64) -> Option<SystemTime> {
    positive(ms).and_then(|ms| SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
}

/// Nanoseconds since the epoch, like [`from_secs`].
pub fn from_nanos(ns: i64) -> Option<SystemTime> {
    positive(ns).and_then(|ns| SystemTime::UNIX_EPOCH.checked_add(Duration::from_nanos(ns)))
}

fn positive(n: i64) -> Option<u64> {
    u64::try_from(n).ok().filter(|&n| n > 0)
}

/// `at` no later than `now`: a time from another clock that claims the future counts as now.
pub fn not_after(at: SystemTime, now: SystemTime) -> SystemTime {
    at.min(now)
}

/// `at + by`, or [`FAR`] past `at` when that cannot be represented.
pub fn add(at: SystemTime, by: Duration) -> SystemTime {
    at.checked_add(by)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

/// `at + by` on the monotonic clock, like [`add`].
pub fn add_instant(at: tokio::time::Instant, by: Duration) -> tokio::time::Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

/// Seconds since the epoch, as Prometheus writes times; 0 for a time before it.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Milliseconds since the epoch, as LiveKit's `_ms` fields count; 0 for a time before it.
pub fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long before `now` the time `at` was: zero for a time after `now` or none at all.
pub fn age(at: Option<SystemTime>, now: SystemTime) -> Duration {
    at.and_then(|at| now.duration_since(at).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_epoch_count_panics_and_a_future_time_is_no_age(n in any::<i64>(), by in any::<u64>()) {
            let now = SystemTime::now();
            for at in [from_secs(n), from_millis(n), from_nanos(n)] {
                let aged = age(at, now);
                if at.is_none_or(|at| at >= now) {
                    prop_assert_eq!(aged, Duration::ZERO);
                }
                let later = add(at.unwrap_or(now), Duration::from_secs(by));
                prop_assert!(later >= at.unwrap_or(now));
            }
            let soon = add_instant(tokio::time::Instant::now(), Duration::from_secs(by));
            prop_assert!(soon >= tokio::time::Instant::now() - Duration::from_secs(1));
        }
    }

    #[test]
    fn counts_up_to_zero_are_no_time() {
        assert_eq!(from_secs(0), None);
        assert_eq!(from_secs(-5), None);
        assert_eq!(
            from_secs(1),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1))
        );
    }
}
