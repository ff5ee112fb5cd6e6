//! Token buckets, one per API operation, like Connect's per-account-per-Region quotas.
// assumption: connect-throttle-token-bucket

use std::time::Instant;

use crate::Quota;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A bucket starts full: a burst is allowed right away.
    pub fn full(quota: &Quota, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(quota.burst),
            refilled_at: now,
        }
    }

    /// Take one token if there is one.
    pub fn try_take(&mut self, quota: &Quota, now: Instant) -> bool {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * quota.requests_per_second).min(f64::from(quota.burst));
        self.refilled_at = now;
        // A hair of slack so that refills adding up to exactly one token in floating point count.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_rate() {
        let quota = Quota::connect_default();
        let start = Instant::now();
        let mut bucket = TokenBucket::full(&quota, start);
        for _ in 0..5 {
            assert!(bucket.try_take(&quota, start));
        }
        assert!(!bucket.try_take(&quota, start));
        assert!(!bucket.try_take(&quota, start + Duration::from_millis(400)));
        assert!(bucket.try_take(&quota, start + Duration::from_millis(500)));
        assert!(!bucket.try_take(&quota, start + Duration::from_millis(600)));
        // Idle time refills up to the burst, never beyond.
        let later = start + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(bucket.try_take(&quota, later));
        }
        assert!(!bucket.try_take(&quota, later));
    }
}
