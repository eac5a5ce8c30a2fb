//! Otsu's threshold exactly as ITK's `OtsuThresholdImageFilter` computes it (what
//! `sitk.OtsuThreshold(image, 0, 1, bins)` runs):
//!
//! - the histogram spans `[min, max + margin]`, where the margin is `(max - min) / bins / 100`
//!   (`ImageToHistogramFilter`'s marginal scale), so the maximum falls inside the last bin;
//! - bin edges are `min + f32(j * f32 interval)` with the interval computed in `f32`, as
//!   `Histogram::Initialize` does, and each value is placed by `Histogram::GetIndex`'s search;
//! - the class statistics use bin centres, the between-class variance is ITK's
//!   `sum(freq * mean^2) / total`, a later bin wins only if its variance is larger by more than
//!   one ulp (`FloatAlmostEqual`);
//! - the threshold returned is the upper edge of the chosen bin, cast to `f32` (the pixel type);
//!   values `<= threshold` are "inside" (0 in the original's call) and values above it are the
//!   mask (1).

use super::ThresholdError;

/// The histogram ITK builds for the Otsu calculator: bin edges and counts.
struct Histogram {
    mins: Vec<f64>,
    maxs: Vec<f64>,
    counts: Vec<u64>,
}

/// `itk::Math::FloatAlmostEqual` for doubles: equal within `0.1 * eps` or `max_ulps` ulps.
fn float_almost_equal(x1: f64, x2: f64, max_ulps: i64) -> bool {
    if (x1 - x2).abs() <= 0.1 * f64::EPSILON {
        return true;
    }
    if x1.is_sign_negative() != x2.is_sign_negative() {
        return false;
    }
    // Same sign: the magnitudes' bit patterns are ordered like the values.
    let a = (x1.abs().to_bits() & !(1u64 << 63)) as i64;
    let b = (x2.abs().to_bits() & !(1u64 << 63)) as i64;
    (a - b).abs() <= max_ulps
}

impl Histogram {
    fn build(values: &[f32], bins: usize) -> Self {
        let (mut min, mut max) = (f64::from(f32::MAX), f64::from(f32::MIN));
        for &v in values {
            min = min.min(f64::from(v));
            max = max.max(f64::from(v));
        }
        let margin = ((max - min) / bins as f64) / 100.0;
        if f64::MAX - max > margin {
            max += margin;
        }
        let interval = (max as f32 - min as f32) / bins as f32;
        let mut mins = Vec::with_capacity(bins);
        let mut maxs = Vec::with_capacity(bins);
        for j in 0..bins {
            mins.push(min + f64::from(j as f32 * interval));
            maxs.push(if j + 1 == bins {
                max
            } else {
                min + f64::from((j as f32 + 1.0) * interval)
            });
        }
        let mut h = Self {
            mins,
            maxs,
            counts: vec![0; bins],
        };
        for &v in values {
            if let Some(bin) = h.index(f64::from(v)) {
                h.counts[bin] += 1;
            }
        }
        h
    }

    /// `Histogram::GetIndex` with clipping at both ends (values past the last edge are dropped
    /// unless almost equal to it).
    fn index(&self, v: f64) -> Option<usize> {
        let last = self.mins.len() - 1;
        if v < self.mins[0] {
            return None;
        }
        if v >= self.maxs[last] {
            return float_almost_equal(v, self.maxs[last], 4).then_some(last);
        }
        let (mut begin, mut end) = (0i64, last as i64);
        let mut mid = (end + 1) / 2;
        loop {
            let median = self.mins[mid as usize];
            if v < median {
                end = mid - 1;
            } else if v > median {
                if v < self.maxs[mid as usize] {
                    return Some(mid as usize);
                }
                begin = mid + 1;
            } else {
                return Some(mid as usize);
            }
            if begin > end {
                // Unreachable for values inside the range; a defensive stop.
                return None;
            }
            mid = begin + (end - begin) / 2;
        }
    }

    fn centre(&self, bin: usize) -> f64 {
        (self.mins[bin] + self.maxs[bin]) / 2.0
    }

    /// `OtsuMultipleThresholdsCalculator` with one threshold: the bin index that maximises
    /// the between-class variance.
    fn otsu_bin(&self) -> usize {
        let bins = self.counts.len();
        let total: u64 = self.counts.iter().sum();
        let total_f = total as f64;
        let mut global_mean = 0.0;
        for (bin, &count) in self.counts.iter().enumerate() {
            global_mean += self.centre(bin) * count as f64;
        }
        global_mean /= total_f;

        let mut freq = [self.counts[0], total - self.counts[0]];
        let mut mean = [0.0f64; 2];
        if freq[0] > 0 {
            mean[0] = self.centre(0);
        }
        let mean_sum = mean[0] * freq[0] as f64;
        if freq[1] > 0 {
            mean[1] = (global_mean * total_f - mean_sum) / freq[1] as f64;
        }
        let variance = |freq: &[u64; 2], mean: &[f64; 2]| {
            (freq[0] as f64 * (mean[0] * mean[0]) + freq[1] as f64 * (mean[1] * mean[1])) / total_f
        };
        let mut best_var = variance(&freq, &mean);
        let mut best = 0usize;
        let mut t = 0usize;
        while t + 2 < bins {
            t += 1;
            let (mean_old, freq_old) = (mean[0], freq[0]);
            freq[0] += self.counts[t];
            mean[0] = if freq[0] > 0 {
                (mean_old * freq_old as f64 + self.centre(t) * self.counts[t] as f64)
                    / freq[0] as f64
            } else {
                0.0
            };
            freq[1] = total - freq[0];
            let rest = global_mean * total_f - mean[0] * freq[0] as f64;
            mean[1] = if freq[1] > 0 {
                rest / freq[1] as f64
            } else {
                0.0
            };
            let var = variance(&freq, &mean);
            if var > best_var && !float_almost_equal(best_var, var, 1) {
                best_var = var;
                best = t;
            }
        }
        best
    }
}

fn check(values: &[f32], bins: usize) -> Result<(), ThresholdError> {
    if values.is_empty() {
        return Err(ThresholdError::Empty);
    }
    if bins < 2 {
        return Err(ThresholdError::Option {
            what: format!("otsu needs at least 2 histogram bins, got {bins}"),
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ThresholdError::NonFinite { index, value });
    }
    Ok(())
}

/// The threshold `sitk.OtsuThreshold(image, 0, 1, bins)` uses, as `GetThreshold()` returns it:
/// the upper edge of the winning histogram bin, an `f32` widened to `f64`.
///
/// Errors: no values, fewer than 2 bins, or a non-finite value.
pub fn otsu_threshold(values: &[f32], bins: usize) -> Result<f64, ThresholdError> {
    check(values, bins)?;
    let h = Histogram::build(values, bins);
    let bin = h.otsu_bin();
    Ok(f64::from(h.maxs[bin] as f32))
}

/// `sitk.OtsuThreshold(image, 0, 1, bins)` as booleans: `true` where the value is above the
/// threshold (the original's 1), `false` where it is at or below it.
pub fn otsu_mask(values: &[f32], bins: usize) -> Result<Vec<bool>, ThresholdError> {
    let threshold = otsu_threshold(values, bins)? as f32;
    Ok(values.iter().map(|&v| v > threshold).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_clusters_split_between_them() {
        let mut values = vec![10.0f32; 50];
        values.extend(std::iter::repeat_n(100.0f32, 50));
        let t = otsu_threshold(&values, 200).unwrap();
        assert!(t > 10.0 && t < 100.0, "{t}");
        let m = otsu_mask(&values, 200).unwrap();
        assert_eq!(m.iter().filter(|&&b| b).count(), 50);
        assert!(m[60] && !m[0]);
    }

    #[test]
    fn constant_input_masks_nothing() {
        let m = otsu_mask(&[3.0; 20], 200).unwrap();
        assert!(m.iter().all(|&b| !b));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            otsu_threshold(&[], 200),
            Err(ThresholdError::Empty)
        ));
        assert!(otsu_threshold(&[1.0, 2.0], 1).is_err());
        assert!(matches!(
            otsu_threshold(&[1.0, f32::NAN], 200),
            Err(ThresholdError::NonFinite { index: 1, .. })
        ));
    }
}
