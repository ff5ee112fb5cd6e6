//! Retry delays bounded by a deadline: what the response PUT and the functions' own HTTP calls
//! (not the SDK's, which retries by itself) wait between attempts.

use std::time::{Duration, Instant};

/// Delays for up to `retries` retries: `first`, doubled each time, each drawn uniformly below
/// that ceiling ("full jitter", so that throttled callers spread out); the sequence ends early
/// when the next wait would leave less than `headroom` (time for one more attempt) before
/// `deadline`. Give it to `backon`'s `retry`.
pub fn delays_until(
    first: Duration,
    retries: usize,
    deadline: Instant,
    headroom: Duration,
) -> impl backon::Backoff {
    (0..retries)
        .map(move |retry| first.saturating_mul(1 << retry.min(16)))
        .map(|ceiling| ceiling.mul_f64(fastrand::f64()))
        .take_while(move |delay| Instant::now() + *delay + headroom < deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_below_their_ceilings_and_stop_at_the_retry_count() {
        let far = Instant::now() + Duration::from_secs(3600);
        let delays: Vec<Duration> =
            delays_until(Duration::from_millis(100), 4, far, Duration::ZERO).collect();
        assert_eq!(delays.len(), 4);
        for (retry, delay) in delays.iter().enumerate() {
            assert!(*delay < Duration::from_millis(100 << retry), "{delays:?}");
        }
    }

    #[test]
    fn no_delay_that_would_leave_less_than_the_headroom_before_the_deadline() {
        let soon = Instant::now() + Duration::from_secs(2);
        let delays: Vec<Duration> =
            delays_until(Duration::from_millis(100), 6, soon, Duration::from_secs(2)).collect();
        assert!(delays.is_empty(), "{delays:?}");
        // A delay is judged when it is drawn, against the time then: none here can pass.
        let near = Instant::now() + Duration::from_millis(2300);
        for delay in delays_until(Duration::from_millis(200), 50, near, Duration::from_secs(2)) {
            assert!(delay < Duration::from_millis(300), "{delay:?}");
        }
    }
}
