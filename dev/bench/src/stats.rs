//! Summaries of repeated measurements: median and spread.

/// The median and spread of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub median: f64,
    /// Nearest-rank 90th percentile: the smallest sample at or above 90% of the samples.
    pub p90: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for no samples (or any that is not a number).
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() || samples.iter().any(|sample| sample.is_nan()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let count = sorted.len();
        let middle = count / 2;
        let median = if count % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        };
        Some(Self {
            count,
            min: sorted[0],
            median,
            p90: sorted[nearest_rank(0.9, count) - 1],
            max: sorted[count - 1],
        })
    }
}

/// The 1-based rank of the `fraction` percentile among `count` sorted samples.
fn nearest_rank(fraction: f64, count: usize) -> usize {
    ((fraction * count as f64).ceil() as usize).clamp(1, count)
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn odd_count_takes_the_middle_sample_whatever_the_input_order() {
        let summary = Summary::of(&[9.0, 1.0, 5.0, 3.0, 7.0]).unwrap();
        assert_eq!(
            summary,
            Summary {
                count: 5,
                min: 1.0,
                median: 5.0,
                p90: 9.0,
                max: 9.0
            }
        );
    }

    #[test]
    fn even_count_averages_the_two_middle_samples() {
        let summary = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(summary.median, 2.5);
        assert_eq!((summary.min, summary.max), (1.0, 4.0));
    }

    #[test]
    fn p90_is_the_nearest_rank() {
        // 20 samples 1..=20: rank ceil(0.9 * 20) = 18.
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(Summary::of(&samples).unwrap().p90, 18.0);
        // 21 samples: rank ceil(18.9) = 19.
        let samples: Vec<f64> = (1..=21).map(f64::from).collect();
        assert_eq!(Summary::of(&samples).unwrap().p90, 19.0);
        // One sample is every percentile.
        assert_eq!(Summary::of(&[7.5]).unwrap().p90, 7.5);
    }

    #[test]
    fn nothing_to_summarise() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }
}
