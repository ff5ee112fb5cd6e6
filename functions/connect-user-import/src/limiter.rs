//! A client-side token bucket per Connect API operation, matching Connect's default quota of
//! 2 requests per second with a burst of 5 per operation (account and Region). Staying under it
//! keeps the import from spending its time in throttling back-offs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limiter paces requests at this share of the quota. At exactly the quota, a request that
/// reaches Connect a few milliseconds early (network jitter) finds its bucket not yet refilled
/// and is throttled; each throttle then costs a back-off and, in the SDK's adaptive mode, a
/// slower pace for every call. Measured on the 500-user benchmark (BENCHMARK.md).
pub const PACING: f64 = 0.95;

/// Environment variables that override the quota (e.g. after a quota increase).
pub const RATE_ENV: &str = "CONNECT_REQUESTS_PER_SECOND";
pub const BURST_ENV: &str = "CONNECT_REQUEST_BURST";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub requests_per_second: f64,
    pub burst: u32,
}

impl Quota {
    pub const CONNECT_DEFAULT: Quota = Quota {
        requests_per_second: 2.0,
        burst: 5,
    };

    /// The default quota, or the one set in [`RATE_ENV`] / [`BURST_ENV`].
    pub fn from_env() -> anyhow::Result<Self> {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        let mut quota = Self::CONNECT_DEFAULT;
        if let Some(rate) = read(RATE_ENV) {
            quota.requests_per_second = rate
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|rate| rate.is_finite() && *rate > 0.0)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{RATE_ENV}={rate:?}: expected a positive number of requests per second"
                    )
                })?;
        }
        if let Some(burst) = read(BURST_ENV) {
            quota.burst = burst
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|burst| *burst >= 1)
                .ok_or_else(|| {
                    anyhow::anyhow!("{BURST_ENV}={burst:?}: expected a whole number of at least 1")
                })?;
        }
        Ok(quota)
    }
}

/// One bucket per operation name, all with the same quota.
#[derive(Debug)]
pub struct RateLimiter {
    quota: Quota,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: each caller reserves its slot, later callers queue behind it.
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(quota: Quota) -> Self {
        Self {
            quota,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Reserves the next slot for `operation` if it comes no later than `latest`, and returns
    /// when it comes; `None` (nothing reserved) when it would come too late.
    pub fn reserve(&self, operation: &'static str, latest: Instant) -> Option<Instant> {
        let now = Instant::now();
        let Quota {
            requests_per_second,
            burst,
        } = self.quota;
        let rate = requests_per_second * PACING;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(operation).or_insert(Bucket {
            tokens: f64::from(burst),
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * rate).min(f64::from(burst));
        let wait = if tokens >= 1.0 {
            0.0
        } else {
            (1.0 - tokens) / rate
        };
        let at = now + Duration::from_secs_f64(wait);
        if at > latest {
            return None;
        }
        bucket.tokens = tokens - 1.0;
        bucket.updated = now;
        Some(at)
    }

    /// Waits for a slot for `operation`; `false` (without waiting) when none comes by `latest`.
    pub async fn acquire(&self, operation: &'static str, latest: Instant) -> bool {
        match self.reserve(operation, latest) {
            Some(at) => {
                tokio::time::sleep_until(at.into()).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let limiter = RateLimiter::new(Quota {
            requests_per_second: 2.0,
            burst: 5,
        });
        let far = Instant::now() + Duration::from_secs(3600);
        let start = Instant::now();
        let slots: Vec<Duration> = (0..9)
            .map(|_| limiter.reserve("CreateUser", far).unwrap() - start)
            .collect();
        for slot in &slots[..5] {
            assert!(*slot < Duration::from_millis(20), "burst slot at {slot:?}");
        }
        for (index, slot) in slots[5..].iter().enumerate() {
            let expected = 0.5 / PACING * (index as f64 + 1.0);
            assert!(
                (slot.as_secs_f64() - expected).abs() < 0.02,
                "slot {index}: {slot:?} vs {expected}"
            );
        }
    }

    #[test]
    fn operations_have_separate_buckets() {
        let limiter = RateLimiter::new(Quota {
            requests_per_second: 1.0,
            burst: 1,
        });
        let far = Instant::now() + Duration::from_secs(60);
        let now = Instant::now();
        assert!(limiter.reserve("CreateUser", far).unwrap() - now < Duration::from_millis(20));
        assert!(limiter.reserve("DeleteUser", far).unwrap() - now < Duration::from_millis(20));
        assert!(limiter.reserve("CreateUser", far).unwrap() - now > Duration::from_millis(1000));
    }

    #[test]
    fn a_slot_past_the_deadline_is_refused_and_not_reserved() {
        let limiter = RateLimiter::new(Quota {
            requests_per_second: 1.0,
            burst: 1,
        });
        let soon = Instant::now() + Duration::from_millis(500);
        assert!(limiter.reserve("X", soon).is_some());
        assert!(limiter.reserve("X", soon).is_none());
        // The refusal reserved nothing: the next slot is still about 1 s away, not 2 s.
        let next = limiter
            .reserve("X", Instant::now() + Duration::from_secs(60))
            .unwrap();
        assert!(next - Instant::now() < Duration::from_millis(1100));
    }

    #[test]
    fn the_quota_comes_from_the_environment_with_clear_errors() {
        // One test touches these variables, so parallel tests do not race on them.
        unsafe {
            std::env::remove_var(RATE_ENV);
            std::env::remove_var(BURST_ENV);
        }
        assert_eq!(Quota::from_env().unwrap(), Quota::CONNECT_DEFAULT);
        unsafe {
            std::env::set_var(RATE_ENV, "10");
            std::env::set_var(BURST_ENV, "20");
        }
        assert_eq!(
            Quota::from_env().unwrap(),
            Quota {
                requests_per_second: 10.0,
                burst: 20
            }
        );
        unsafe { std::env::set_var(RATE_ENV, "fast") };
        assert!(
            Quota::from_env()
                .unwrap_err()
                .to_string()
                .contains(RATE_ENV)
        );
        unsafe {
            std::env::set_var(RATE_ENV, "2");
            std::env::set_var(BURST_ENV, "0");
        }
        assert!(
            Quota::from_env()
                .unwrap_err()
                .to_string()
                .contains(BURST_ENV)
        );
        unsafe {
            std::env::remove_var(RATE_ENV);
            std::env::remove_var(BURST_ENV);
        }
    }
}
