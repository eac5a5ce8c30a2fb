//! Mean, population standard deviation and NumPy-linear percentiles of one ROI's values:
//! two-pass pairwise sums for accuracy, quickselect (O(n)) rather than a full sort.

use super::{Summary, PERCENTILES};

/// Mean, standard deviation and [`PERCENTILES`] of `values` (reordered in place by the
/// selection); `None` when empty.
pub fn summarize(values: &mut [f64]) -> Option<Summary> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let count = n as f64;
    let mean = pairwise_sum(values, |x| x) / count;
    if mean.is_nan() && values.iter().any(|v| v.is_nan()) {
        return Some(Summary {
            mean: f64::NAN,
            standard_deviation: f64::NAN,
            percentiles: [f64::NAN; 5],
        });
    }
    // Two passes, as NumPy's var: sum((x - mean)²) / n stays accurate where the one-pass
    // sum(x²)/n - mean² cancels catastrophically (large values, small spread).
    let variance = pairwise_sum(values, |x| {
        let d = x - mean;
        d * d
    }) / count;

    let ranks: Vec<Rank> = PERCENTILES[1..4]
        .iter()
        .map(|q| Rank::linear(n, q / 100.0))
        .collect();
    // Quickselect only the lower neighbour of each percentile; everything else is a scan: the
    // upper neighbour is the smallest value after the lower one up to the next selected rank
    // (those values all lie between the two), the minimum lies before the first selected rank
    // and the maximum after the last.
    let mut selected: Vec<usize> = ranks.iter().map(|r| r.lower).collect();
    selected.sort_unstable();
    selected.dedup();
    select_ranks(values, &selected, 0);
    let values = &*values;
    let at = |i: usize| values.get(i).copied().unwrap_or(f64::NAN);
    let smallest = |range: std::ops::RangeInclusive<usize>| {
        values.get(range).map_or(f64::NAN, |v| {
            v.iter().copied().fold(f64::INFINITY, f64::min)
        })
    };
    let first = selected.first().copied().unwrap_or(0);
    let last = selected.last().copied().unwrap_or(n - 1);
    let max = values.get(last..).map_or(f64::NAN, |v| {
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    });
    let mut percentiles = [smallest(0..=first), 0.0, 0.0, 0.0, max];
    for (p, r) in percentiles[1..4].iter_mut().zip(&ranks) {
        let upper = if r.upper == r.lower {
            at(r.lower)
        } else {
            let next = selected.iter().copied().find(|&s| s > r.lower);
            smallest(r.upper..=next.unwrap_or(n - 1))
        };
        *p = lerp(at(r.lower), upper, r.gamma);
    }
    Some(Summary {
        mean,
        standard_deviation: variance.sqrt(),
        percentiles,
    })
}

/// Where NumPy's 'linear' percentile looks in the sorted values: ranks `lower` and `upper` and
/// the weight `gamma` of `upper`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rank {
    lower: usize,
    upper: usize,
    gamma: f64,
}

impl Rank {
    /// `q` in [0, 1]; `n` > 0. Mirrors numpy's `_quantile` step by step: the virtual index is
    /// `(n - 1) * q`; at or past the last rank both neighbours are the last value and gamma is
    /// computed against numpy's `-1` index (which only matters for infinities).
    fn linear(n: usize, q: f64) -> Rank {
        let last = (n - 1) as f64;
        let virtual_index = last * q;
        if virtual_index >= last {
            return Rank {
                lower: n - 1,
                upper: n - 1,
                gamma: virtual_index + 1.0,
            };
        }
        let below = virtual_index.floor();
        let lower = below as usize;
        Rank {
            lower,
            upper: lower + 1,
            gamma: virtual_index - below,
        }
    }
}

/// numpy's `_lerp`: from `a` for small weights and from `b` for large ones, so that `t = 1`
/// gives exactly `b`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Puts the value of every rank in `ranks` (sorted, unique, relative to the whole slice: the
/// part passed starts at rank `offset`) where a full sort would put it. Quickselect on the
/// middle rank, then each side on its own ranks: O(n log k) for k ranks.
fn select_ranks(values: &mut [f64], ranks: &[usize], offset: usize) {
    let middle = ranks.len() / 2;
    let Some(&rank) = ranks.get(middle) else {
        return;
    };
    let Some(local) = rank.checked_sub(offset).filter(|&i| i < values.len()) else {
        return;
    };
    let (left, _, right) = values.select_nth_unstable_by(local, f64::total_cmp);
    let (left_ranks, rest) = ranks.split_at(middle);
    select_ranks(left, left_ranks, offset);
    select_ranks(right, rest.get(1..).unwrap_or(&[]), rank + 1);
}

/// NumPy's pairwise summation of `f(x)` (`pairwise_sum` in its loops: eight accumulators
/// in blocks of up to 128, halves above that): error grows with log n instead of n, and the
/// eight independent sums vectorise.
fn pairwise_sum(values: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        return values.iter().fold(0.0, |s, &x| s + f(x));
    }
    if n <= BLOCK {
        let mut lanes = [0.0f64; 8];
        let mut chunks = values.chunks_exact(8);
        if let Some(first) = chunks.next() {
            for (r, &x) in lanes.iter_mut().zip(first) {
                *r = f(x);
            }
        }
        for chunk in chunks.by_ref() {
            for (r, &x) in lanes.iter_mut().zip(chunk) {
                *r += f(x);
            }
        }
        let [r0, r1, r2, r3, r4, r5, r6, r7] = lanes;
        let sum = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
        return chunks.remainder().iter().fold(sum, |s, &x| s + f(x));
    }
    let half = n / 2;
    let half = half - half % 8;
    match values.split_at_checked(half) {
        Some((a, b)) => pairwise_sum(a, f) + pairwise_sum(b, f),
        None => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn summary(values: &[f64]) -> Summary {
        summarize(&mut values.to_vec()).unwrap()
    }

    /// Percentiles by a full sort and numpy's formula, to check the selection against.
    fn sorted_percentiles(values: &[f64]) -> [f64; 5] {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        PERCENTILES.map(|q| {
            let r = Rank::linear(v.len(), q / 100.0);
            lerp(v[r.lower], v[r.upper], r.gamma)
        })
    }

    #[test]
    fn empty_values_have_no_summary() {
        assert_eq!(summarize(&mut []), None);
    }

    #[test]
    fn one_value_is_every_percentile_and_has_no_spread() {
        let s = summary(&[-3.25]);
        assert_eq!(s.mean, -3.25);
        assert_eq!(s.standard_deviation, 0.0);
        assert_eq!(s.percentiles, [-3.25; 5]);
    }

    #[test]
    fn two_values_interpolate_linearly() {
        // np.percentile([10, 20], [0, 25, 50, 75, 100]) = [10, 12.5, 15, 17.5, 20]
        let s = summary(&[20.0, 10.0]);
        assert_eq!(s.percentiles, [10.0, 12.5, 15.0, 17.5, 20.0]);
        assert_eq!(s.mean, 15.0);
        assert_eq!(s.standard_deviation, 5.0);
    }

    #[test]
    fn ties_give_the_tied_value() {
        // np.percentile([1, 2, 2, 2, 2, 9], q) = [1, 2, 2, 2, 9]
        let s = summary(&[2.0, 9.0, 2.0, 1.0, 2.0, 2.0]);
        assert_eq!(s.percentiles, [1.0, 2.0, 2.0, 2.0, 9.0]);
        let s = summary(&[7.0; 1000]);
        assert_eq!(s.percentiles, [7.0; 5]);
        assert_eq!(s.standard_deviation, 0.0);
    }

    #[test]
    fn five_values_land_on_ranks_and_four_between_them() {
        // np.percentile([1, 2, 3, 4, 5], q) = [1, 2, 3, 4, 5]
        assert_eq!(
            summary(&[5.0, 3.0, 1.0, 4.0, 2.0]).percentiles,
            [1.0, 2.0, 3.0, 4.0, 5.0]
        );
        // np.percentile([1, 2, 3, 4], q) = [1, 1.75, 2.5, 3.25, 4]
        assert_eq!(
            summary(&[4.0, 1.0, 3.0, 2.0]).percentiles,
            [1.0, 1.75, 2.5, 3.25, 4.0]
        );
    }

    #[test]
    fn negative_rescale_reverses_the_order() {
        // stored [1, 2, 3, 4] with slope -2, intercept 1 -> [-1, -3, -5, -7]
        let real: Vec<f64> = [1.0, 2.0, 3.0, 4.0]
            .iter()
            .map(|x| x * -2.0 + 1.0)
            .collect();
        let s = summary(&real);
        // np.percentile([-7, -5, -3, -1], q) = [-7, -5.5, -4, -2.5, -1]
        assert_eq!(s.percentiles, [-7.0, -5.5, -4.0, -2.5, -1.0]);
        assert_eq!(s.mean, -4.0);
        assert_eq!(s.standard_deviation, 5.0f64.sqrt());
    }

    #[test]
    fn nan_poisons_the_row_as_in_numpy() {
        let s = summary(&[1.0, f64::NAN, 3.0]);
        assert!(s.mean.is_nan() && s.standard_deviation.is_nan());
        assert!(s.percentiles.iter().all(|p| p.is_nan()));
    }

    #[test]
    fn selection_matches_a_full_sort() {
        let mut x = 0x1234_5678u64;
        for n in [1, 2, 3, 5, 8, 9, 127, 128, 129, 1000, 4097] {
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 200) as f64 - 100.0 // many ties
                })
                .collect();
            assert_eq!(
                summary(&values).percentiles,
                sorted_percentiles(&values),
                "n = {n}"
            );
        }
    }

    #[test]
    fn two_pass_deviation_survives_a_large_offset() {
        // One-pass sum(x²)/n - mean² loses every digit here.
        let values: Vec<f64> = (0..1000).map(|i| 1e9 + (i % 2) as f64).collect();
        let s = summary(&values);
        assert_eq!(s.mean, 1e9 + 0.5);
        assert_eq!(s.standard_deviation, 0.5);
    }

    #[test]
    fn pairwise_sum_is_exact_on_integers_at_every_length() {
        for n in [0, 1, 7, 8, 9, 128, 129, 1000, 1025] {
            let v: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            assert_eq!(pairwise_sum(&v, |x| x), (n * (n + 1) / 2) as f64);
        }
    }
}
