//! A client-side token bucket per Connect API operation, matching Connect's quota (by default
//! 2 requests per second with a burst of 5 per operation, account and Region): the import uses
//! the burst, then paces at the quota itself, and backs off when Connect throttles anyway.
//!
//! Pacing at exactly the quota is safe because the schedule is absolute (slot k after the burst
//! comes k intervals after the request that found the bucket full, never "an interval after the
//! last request"), shifted by a *lag*: Connect's bucket starts refilling when that first request
//! *arrives*, which is up to its round trip after we sent it. The lag is that round trip,
//! measured; it is paid once, not per request. A throttle (someone else drained the bucket, or
//! the lag was too short) pushes the schedule back by one slot and doubles the lag.
//!
//! The bucket state is a value ([`LimiterState`]) a continuation carries to its next run, so a
//! new run does not start with a burst Connect's bucket does not hold.
// assumption: connect-throttle-token-bucket

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Environment variables that override the quota (e.g. after a quota increase).
pub const RATE_ENV: &str = "CONNECT_REQUESTS_PER_SECOND";
pub const BURST_ENV: &str = "CONNECT_REQUEST_BURST";

/// The lag assumed before a round trip was measured: above a Lambda-to-Connect round trip in
/// the same Region, and spent once.
const INITIAL_LAG: Duration = Duration::from_millis(50);
/// The lag never falls below this (clock granularity, scheduling jitter).
const MIN_LAG: Duration = Duration::from_millis(5);

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

    /// The time between two requests at the quota.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.requests_per_second)
    }

    /// The least time `requests` calls of one operation take, the burst included.
    pub fn floor(&self, requests: usize) -> Duration {
        let paced = requests.saturating_sub(self.burst as usize) as f64;
        Duration::from_secs_f64(paced / self.requests_per_second)
    }

    /// The largest lag worth keeping: beyond an interval a throttle says the schedule is wrong,
    /// not late, and the slot it pushes back does the rest.
    fn max_lag(&self) -> Duration {
        self.interval()
    }
}

/// One operation's bucket, as carried from run to run: the tokens it held at `at_ms`
/// (milliseconds since the epoch; negative: slots already promised) and the lag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketState {
    pub tokens: f64,
    pub at_ms: u64,
    pub lag_ms: u64,
}

/// Every operation's bucket, by operation name.
pub type LimiterState = BTreeMap<String, BucketState>;

/// One bucket per operation name, all with the same quota.
#[derive(Debug)]
pub struct RateLimiter {
    quota: Quota,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone)]
struct Bucket {
    /// May go negative: each caller reserves its slot, later callers queue behind it.
    tokens: f64,
    updated: Instant,
    lag: Duration,
    /// Whether `lag` was measured (or carried from a run that measured it), not assumed.
    measured: bool,
    /// Requests sent without waiting (the burst) and not answered yet, and the longest round
    /// trip of those answered: Connect's bucket may have refilled to full and started again
    /// from any of them, so the lag is the longest.
    unwaited_in_flight: u32,
    longest_round_trip: Duration,
}

/// A reserved slot: when to send, and whether it waited for a refill (a request that did not is
/// part of a burst, and its round trip sets the lag of the slots after it: see
/// [`RateLimiter::record_round_trip`]).
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub at: Instant,
    pub found_full: bool,
    pub waited: bool,
    /// The lag the slot assumed.
    lag: Duration,
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

    fn buckets(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The bucket of `operation` refilled up to `now` (a new one is full).
    fn refilled<'a>(
        &self,
        buckets: &'a mut HashMap<String, Bucket>,
        operation: &str,
        now: Instant,
    ) -> &'a mut Bucket {
        let burst = f64::from(self.quota.burst);
        let bucket = buckets.entry(operation.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
            lag: INITIAL_LAG,
            measured: false,
            unwaited_in_flight: 0,
            longest_round_trip: Duration::ZERO,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.quota.requests_per_second).min(burst);
        bucket.updated = now;
        bucket
    }

    /// Reserves the next slot for `operation` if it comes no later than `latest`; `None`
    /// (nothing reserved) when it would come too late.
    pub fn reserve(&self, operation: &str, latest: Instant) -> Option<Slot> {
        let now = Instant::now();
        let rate = self.quota.requests_per_second;
        let burst = f64::from(self.quota.burst);
        let mut buckets = self.buckets();
        let bucket = self.refilled(&mut buckets, operation, now);
        let found_full = bucket.tokens >= burst - 1e-9;
        // A token, plus what Connect's bucket may still lack because it started refilling a
        // round trip later than ours (never more than a full bucket: then both are full).
        let needed = (1.0 + bucket.lag.as_secs_f64() * rate).min(burst);
        let wait = ((needed - bucket.tokens) / rate).max(0.0);
        let at = now + Duration::from_secs_f64(wait);
        if at > latest {
            return None;
        }
        bucket.tokens -= 1.0;
        if found_full {
            // A new burst: its own round trips set the lag.
            bucket.longest_round_trip = Duration::ZERO;
            bucket.measured = false;
        }
        if wait <= 0.0 {
            bucket.unwaited_in_flight += 1;
        }
        Some(Slot {
            at,
            found_full,
            waited: wait > 0.0,
            lag: bucket.lag,
        })
    }

    /// Waits for a slot for `operation`; `None` (without waiting) when none comes by `latest`.
    /// A slot that waited for a refill also waits, if need be, for the round trip of the request
    /// that found the bucket full, and for as much more lag as it measured than the slot assumed.
    pub async fn acquire(&self, operation: &str, latest: Instant) -> Option<Slot> {
        let slot = self.reserve(operation, latest)?;
        tokio::time::sleep_until(slot.at.into()).await;
        if slot.waited {
            loop {
                match self.measured_lag(operation) {
                    Some(lag) => {
                        if lag > slot.lag {
                            tokio::time::sleep(lag - slot.lag).await;
                        }
                        break;
                    }
                    None if Instant::now() >= latest => break,
                    None => tokio::time::sleep(Duration::from_millis(2)).await,
                }
            }
        }
        Some(slot)
    }

    fn measured_lag(&self, operation: &str) -> Option<Duration> {
        let buckets = self.buckets();
        let bucket = buckets.get(operation)?;
        bucket.measured.then_some(bucket.lag)
    }

    /// The round trip of a request that did not wait (a burst): Connect's bucket, full when the
    /// burst began, may have refilled to full again and restarted from any of its requests, no
    /// later than that request was answered. Once the burst is answered, later slots keep its
    /// longest round trip behind our own refill.
    pub fn record_round_trip(&self, operation: &str, round_trip: Duration) {
        let max_lag = self.quota.max_lag();
        if let Some(bucket) = self.buckets().get_mut(operation) {
            bucket.unwaited_in_flight = bucket.unwaited_in_flight.saturating_sub(1);
            bucket.longest_round_trip = bucket.longest_round_trip.max(round_trip);
            if bucket.unwaited_in_flight == 0 {
                bucket.lag = bucket.longest_round_trip.max(MIN_LAG).min(max_lag);
                bucket.measured = true;
            }
        }
    }

    /// Connect throttled a request of `operation`: its bucket was emptier than ours. The
    /// schedule moves back by one slot (for the retry the SDK makes) from an empty bucket, and
    /// the lag doubles.
    pub fn throttled(&self, operation: &str) {
        let now = Instant::now();
        let max_lag = self.quota.max_lag();
        let mut buckets = self.buckets();
        let bucket = self.refilled(&mut buckets, operation, now);
        bucket.tokens = bucket.tokens.min(0.0) - 1.0;
        bucket.lag = (bucket.lag * 2).max(MIN_LAG).min(max_lag);
        tracing::warn!(operation, lag = ?bucket.lag, "Connect throttled a request: pacing backs off");
    }

    /// Every bucket as it is now, to carry to the next run.
    pub fn state(&self) -> LimiterState {
        let now = Instant::now();
        let now_ms = epoch_ms();
        let mut buckets = self.buckets();
        let operations: Vec<String> = buckets.keys().cloned().collect();
        operations
            .into_iter()
            .map(|operation| {
                let bucket = self.refilled(&mut buckets, &operation, now);
                let state = BucketState {
                    tokens: bucket.tokens,
                    at_ms: now_ms,
                    lag_ms: bucket.lag.as_millis() as u64,
                };
                (operation, state)
            })
            .collect()
    }

    /// Takes up buckets an earlier run left: refilled for the time since, never beyond the
    /// burst (the wall clock is the only one two runs share).
    pub fn resume(&self, state: &LimiterState) {
        let now = Instant::now();
        let now_ms = epoch_ms();
        let burst = f64::from(self.quota.burst);
        let mut buckets = self.buckets();
        for (operation, carried) in state {
            let since = Duration::from_millis(now_ms.saturating_sub(carried.at_ms));
            let tokens = if carried.tokens.is_finite() {
                (carried.tokens + since.as_secs_f64() * self.quota.requests_per_second).min(burst)
            } else {
                0.0
            };
            buckets.insert(
                operation.clone(),
                Bucket {
                    tokens,
                    updated: now,
                    lag: Duration::from_millis(carried.lag_ms)
                        .max(MIN_LAG)
                        .min(self.quota.max_lag()),
                    measured: true,
                    unwaited_in_flight: 0,
                    longest_round_trip: Duration::ZERO,
                },
            );
        }
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PER_SECOND: Quota = Quota {
        requests_per_second: 2.0,
        burst: 5,
    };

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    fn seconds_after(slot: Slot, start: Instant) -> f64 {
        (slot.at - start).as_secs_f64()
    }

    #[test]
    fn the_burst_then_the_quota_itself_shifted_once_by_the_lag() {
        let limiter = RateLimiter::new(TWO_PER_SECOND);
        let start = Instant::now();
        let first = limiter.reserve("CreateUser", far()).unwrap();
        assert!(first.found_full);
        limiter.record_round_trip("CreateUser", Duration::from_millis(20));
        let slots: Vec<f64> = (1..12)
            .map(|_| seconds_after(limiter.reserve("CreateUser", far()).unwrap(), start))
            .collect();
        // The burst: four more at once, the last of them waiting out the lag at most.
        for slot in &slots[..3] {
            assert!(*slot < 0.005, "burst slot at {slot}");
        }
        assert!(slots[3] < 0.025, "{slots:?}");
        // Then exactly the quota: slot k of the paced ones k × 0.5 s after the burst, plus the
        // 20 ms lag once, not per request.
        for (index, slot) in slots[4..].iter().enumerate() {
            let expected = 0.5 * (index as f64 + 1.0) + 0.02;
            assert!(
                (slot - expected).abs() < 0.005,
                "paced slot {index}: {slot} vs {expected} ({slots:?})"
            );
        }
    }

    #[test]
    fn a_throttle_pushes_the_schedule_back_and_doubles_the_lag() {
        let limiter = RateLimiter::new(TWO_PER_SECOND);
        let start = Instant::now();
        limiter.reserve("CreateUser", far()).unwrap();
        limiter.record_round_trip("CreateUser", Duration::from_millis(10));
        for _ in 0..4 {
            limiter.reserve("CreateUser", far()).unwrap();
        }
        limiter.throttled("CreateUser");
        // One slot for the SDK's retry, then the next one, with a lag of 20 ms.
        let next = seconds_after(limiter.reserve("CreateUser", far()).unwrap(), start);
        assert!((next - 1.02).abs() < 0.005, "{next}");
    }

    #[test]
    fn operations_have_separate_buckets() {
        let limiter = RateLimiter::new(Quota {
            requests_per_second: 1.0,
            burst: 1,
        });
        let now = Instant::now();
        assert!(limiter.reserve("CreateUser", far()).unwrap().at - now < Duration::from_millis(20));
        assert!(limiter.reserve("DeleteUser", far()).unwrap().at - now < Duration::from_millis(20));
        assert!(
            limiter.reserve("CreateUser", far()).unwrap().at - now > Duration::from_millis(1000)
        );
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
        let next = limiter.reserve("X", far()).unwrap();
        assert!(next.at - Instant::now() < Duration::from_millis(1100));
    }

    #[test]
    fn a_new_run_resumes_the_bucket_it_was_handed_not_a_fresh_burst() {
        let first_run = RateLimiter::new(TWO_PER_SECOND);
        for _ in 0..5 {
            first_run.reserve("CreateUser", far()).unwrap();
        }
        // The burst's four unwaited requests are answered.
        for _ in 0..4 {
            first_run.record_round_trip("CreateUser", Duration::from_millis(10));
        }
        let state = first_run.state();
        let carried: LimiterState =
            serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
        let next_run = RateLimiter::new(TWO_PER_SECOND);
        next_run.resume(&carried);
        let start = Instant::now();
        // The bucket is (almost) empty: the first request of the new run waits for a refill.
        let first = next_run.reserve("CreateUser", far()).unwrap();
        assert!(!first.found_full);
        let wait = seconds_after(first, start);
        assert!((0.45..0.52).contains(&wait), "{wait}");
        // A bucket left long enough ago is full again, but never fuller than the burst.
        let old: LimiterState = state
            .into_iter()
            .map(|(operation, mut bucket)| {
                bucket.at_ms -= 60_000;
                (operation, bucket)
            })
            .collect();
        let later_run = RateLimiter::new(TWO_PER_SECOND);
        later_run.resume(&old);
        let start = Instant::now();
        let slots: Vec<f64> = (0..6)
            .map(|_| seconds_after(later_run.reserve("CreateUser", far()).unwrap(), start))
            .collect();
        assert!(slots[4] < 0.02 && slots[5] > 0.49, "{slots:?}");
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
