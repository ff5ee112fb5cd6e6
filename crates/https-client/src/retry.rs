//! Waits between attempts of an outgoing call that may succeed later (a throttle, a server
//! error, a write not yet visible), for the calls the AWS SDK does not retry by itself: backon's
//! exponential backoff, drawn with full jitter where callers compete, and never past a deadline.
//! Give the result to `backon`'s `retry`.

use std::time::{Duration, Instant};

use backon::{Backoff, BackoffBuilder as _, ExponentialBuilder};

/// Up to `retries` delays: `first`, doubled each time up to `max`, each drawn uniformly below
/// that ceiling ("full jitter", so that throttled callers spread out instead of coming back
/// together).
pub fn jittered(first: Duration, max: Duration, retries: usize) -> impl Backoff {
    ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_max_times(retries)
        .build()
        .map(|ceiling| ceiling.mul_f64(fastrand::f64()))
}

/// `delays`, ending early when the next wait would leave less than `headroom` (time for one
/// more attempt) before `deadline`: the caller then reports its last error in time.
pub fn until(delays: impl Backoff, deadline: Instant, headroom: Duration) -> impl Backoff {
    delays.take_while(move |delay| Instant::now() + *delay + headroom < deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOREVER: Duration = Duration::from_secs(3600);

    #[test]
    fn delays_double_below_their_ceilings_up_to_the_cap_and_stop_at_the_retry_count() {
        let delays: Vec<Duration> =
            jittered(Duration::from_millis(100), Duration::from_millis(400), 5).collect();
        assert_eq!(delays.len(), 5);
        let ceilings = [100, 200, 400, 400, 400].map(Duration::from_millis);
        for (delay, ceiling) in delays.iter().zip(ceilings) {
            assert!(*delay <= ceiling, "{delays:?}");
        }
    }

    #[test]
    fn no_delay_that_would_leave_less_than_the_headroom_before_the_deadline() {
        let soon = Instant::now() + Duration::from_secs(2);
        let first = Duration::from_millis(100);
        let delays: Vec<Duration> =
            until(jittered(first, FOREVER, 6), soon, Duration::from_secs(2)).collect();
        assert!(delays.is_empty(), "{delays:?}");
        // A delay is judged when it is drawn, against the time then: none here can pass.
        let near = Instant::now() + Duration::from_millis(2300);
        let first = Duration::from_millis(200);
        for delay in until(jittered(first, FOREVER, 50), near, Duration::from_secs(2)) {
            assert!(delay < Duration::from_millis(300), "{delay:?}");
        }
        // Far from the deadline, every delay is kept.
        let far = Instant::now() + FOREVER;
        assert_eq!(
            until(jittered(first, FOREVER, 4), far, Duration::ZERO).count(),
            4
        );
    }
}
