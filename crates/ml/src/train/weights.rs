//! The original's per-pixel loss weights (`input_creation_mem` + `calc_weight` in dafne-dl's
//! `preprocess_train.py`), reproduced step by step, quirks included, because they decide what
//! the network learns from a correction:
//!
//! - class frequencies over the whole training set: `freq[c] = pixels of c / (images that
//!   contain c · pixels per image)`, `av = Σ freq / classes` (classes with no pixel count 0);
//!   every pixel gets `av / freq[its class]`;
//! - on the Otsu foreground of the image (scikit-image's `threshold_otsu`, 256 bins, `> t`)
//!   a boundary term `w_b · exp(−(d1+d2)² / (2·band))`: walking outwards `l = 1, 2, …` along
//!   the row and column through the pixel (edges clamped), `d1` is the first `l` where a
//!   non-background label other than the pixel's own appears (`bb`), `d2` the first `l` where
//!   one that is neither the pixel's, `bb`, nor background appears; at `l ≥ min(3·√band,
//!   rows−1)` the walk stops and `d1` becomes `rows` (the term vanishes).
//!
//! Quirks kept: when `bb` is found on the upper or left side past the edge, the original reads
//! it with a negative index (NumPy wraps to the other end) although the test used the clamped
//! one; the last side found in a step wins `bb`; `d1` is overwritten at the limit even when it
//! was found there.

use crate::package::IncrementalLearning;

/// Class frequencies of a training set (see the module comment).
#[derive(Clone, Debug, PartialEq)]
pub struct ClassFrequencies {
    pub freq: Vec<f64>,
    pub mean: f64,
}

/// `freq` and `av` of `input_creation_mem` over label maps of `rows × cols` pixels.
pub fn class_frequencies(
    label_maps: &[&[u8]],
    rows: usize,
    cols: usize,
    classes: usize,
) -> ClassFrequencies {
    let px = (rows * cols) as f64;
    let mut pixels = vec![0u64; classes];
    let mut images = vec![0u64; classes];
    for map in label_maps {
        let mut counts = vec![0u64; classes];
        for &c in map.iter() {
            if let Some(n) = counts.get_mut(c as usize) {
                *n += 1;
            }
        }
        for c in 0..classes {
            if counts[c] > 0 {
                pixels[c] += counts[c];
                images[c] += 1;
            }
        }
    }
    let freq: Vec<f64> = (0..classes)
        .map(|c| {
            if pixels[c] == 0 {
                0.0
            } else {
                pixels[c] as f64 / (images[c] as f64 * px)
            }
        })
        .collect();
    let mean = freq.iter().sum::<f64>() / classes.max(1) as f64;
    ClassFrequencies { freq, mean }
}

/// scikit-image's `threshold_otsu(image)` (256 bins over [min, max], bin centres; an image of
/// one value returns that value), in f64.
pub fn otsu_threshold_skimage(image: &[f32]) -> f64 {
    let Some(&first) = image.first() else {
        return 0.0;
    };
    if image.iter().all(|&v| v == first) {
        return f64::from(first);
    }
    const BINS: usize = 256;
    let (lo, hi) = image
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        });
    // numpy.histogram: edges = linspace(lo, hi, 257); index = floor((v−lo)·bins/(hi−lo)),
    // corrected against the edges; the maximum goes into the last bin.
    let step = (hi - lo) / BINS as f64;
    let edges: Vec<f64> = (0..=BINS)
        .map(|i| if i == BINS { hi } else { lo + i as f64 * step })
        .collect();
    let mut counts = vec![0f64; BINS];
    for &v in image {
        let v = f64::from(v);
        let mut i = (((v - lo) / (hi - lo) * BINS as f64).max(0.0) as usize).min(BINS);
        if i == BINS {
            i -= 1;
        }
        if v < edges[i] && i > 0 {
            i -= 1;
        } else if i + 1 < BINS && v >= edges[i + 1] {
            i += 1;
        }
        counts[i] += 1.0;
    }
    let centres: Vec<f64> = (0..BINS).map(|i| (edges[i] + edges[i + 1]) / 2.0).collect();
    let mut w1 = vec![0f64; BINS];
    let mut m1 = vec![0f64; BINS];
    let (mut cw, mut cm) = (0.0, 0.0);
    for i in 0..BINS {
        cw += counts[i];
        cm += counts[i] * centres[i];
        w1[i] = cw;
        m1[i] = cm / cw;
    }
    let mut w2 = vec![0f64; BINS];
    let mut m2 = vec![0f64; BINS];
    let (mut cw, mut cm) = (0.0, 0.0);
    for i in (0..BINS).rev() {
        cw += counts[i];
        cm += counts[i] * centres[i];
        w2[i] = cw;
        m2[i] = cm / cw;
    }
    let mut best = 0;
    let mut best_v = f64::NEG_INFINITY;
    for i in 0..BINS - 1 {
        let d = m1[i] - m2[i + 1];
        let v = w1[i] * w2[i + 1] * d * d;
        // np.argmax: the first maximum; NaN (empty classes) counts as the maximum there.
        if v.is_nan() {
            best = i;
            break;
        }
        if v > best_v {
            best_v = v;
            best = i;
        }
    }
    centres[best]
}

/// `input_creation_mem`'s weight map for one image whose label map is its own training set.
pub fn pixel_weights(
    image: &[f32],
    labels: &[u8],
    rows: usize,
    cols: usize,
    classes: usize,
    il: &IncrementalLearning,
) -> Vec<f32> {
    let freqs = class_frequencies(&[labels], rows, cols, classes);
    pixel_weights_with(image, labels, rows, cols, &freqs, il)
}

/// The weight map of one image given the training set's class frequencies. A class with
/// frequency 0 (absent from the set it came from) adds nothing instead of infinity.
pub fn pixel_weights_with(
    image: &[f32],
    labels: &[u8],
    rows: usize,
    cols: usize,
    freqs: &ClassFrequencies,
    il: &IncrementalLearning,
) -> Vec<f32> {
    let px = rows * cols;
    if image.len() != px || labels.len() != px || px == 0 {
        return vec![0.0; labels.len()];
    }
    let threshold = otsu_threshold_skimage(image);
    let band = il.boundary_band_px2;
    let max_l = (3.0 * band.sqrt()).min((rows - 1) as f64);
    let seg = |r: usize, c: usize| labels[r * cols + c];
    let mut out = vec![0f32; px];
    for i in 0..rows {
        for j in 0..cols {
            let mut w = 0f64;
            if f64::from(image[i * cols + j]) > threshold {
                let aa = seg(i, j);
                let (mut h, mut k) = (false, false);
                let (mut d1, mut d2) = (0usize, 0usize);
                let mut bb = 0u8;
                let mut l = 1usize;
                while !h || !k {
                    let up = seg(i.saturating_sub(l), j);
                    let down = seg((i + l).min(rows - 1), j);
                    let left = seg(i, j.saturating_sub(l));
                    let right = seg(i, (j + l).min(cols - 1));
                    if !h {
                        if up != aa && up != 0 {
                            d1 = l;
                            h = true;
                            // seg[i - l, j]: NumPy wraps a negative row to the bottom.
                            bb = seg((i + rows - l % rows) % rows, j);
                        }
                        if down != aa && down != 0 {
                            d1 = l;
                            h = true;
                            bb = down;
                        }
                        if left != aa && left != 0 {
                            d1 = l;
                            h = true;
                            bb = seg(i, (j + cols - l % cols) % cols);
                        }
                        if right != aa && right != 0 {
                            d1 = l;
                            h = true;
                            bb = right;
                        }
                    }
                    let other = |v: u8| v != aa && v != bb && v != 0;
                    if h && !k && (other(up) || other(down) || other(left) || other(right)) {
                        d2 = l;
                        k = true;
                    }
                    if l as f64 >= max_l {
                        d1 = rows;
                        h = true;
                        k = true;
                    }
                    l += 1;
                }
                let d = (d1 + d2) as f64;
                // The original stores the term in a float32 map before adding the next one.
                w = f64::from((il.boundary_weight * (-(d * d) / (2.0 * band)).exp()) as f32);
            }
            if il.class_frequency_weights {
                let f = freqs.freq.get(seg(i, j) as usize).copied().unwrap_or(0.0);
                if f > 0.0 {
                    w += freqs.mean / f;
                }
            }
            out[i * cols + j] = w as f32;
        }
    }
    out
}
