//! N4 bias field correction (Tustison et al. 2010) as ITK's `N4BiasFieldCorrectionImageFilter`
//! runs it on a 2-D image with a mask and no confidence image.
//!
//! Per level, until the iteration budget is spent or the field stops changing:
//! 1. sharpen the histogram of the current log image (masked pixels only) by Wiener
//!    deconvolution with a Gaussian of the given FWHM, and map each pixel to E[u | v];
//! 2. fit a cubic B-spline to the residual `log image - sharpened` at the masked pixels and add
//!    its control points to the running lattice;
//! 3. the convergence measure is the coefficient of variation of `exp(old field - new field)`
//!    over the mask.
//!
//! Between levels the lattice is refined (twice the spans). The output is
//! `input / exp(field)` over the whole image. Images, histograms and the mapping are `f32`
//! as in ITK (its `RealType` is `float`); the FFTs are `f64`, also as in ITK.

use super::bspline::{fit, Lattice};
use super::fft::{transform, Complex};
use super::ThresholdError;
use rayon::prelude::*;

/// N4's settings; [`Default`] is ITK's and SimpleITK's default filter, [`N4Options::dafne`] the
/// original Dafne's call (8 levels of 50 iterations).
#[derive(Debug, Clone, PartialEq)]
pub struct N4Options {
    /// Maximum iterations at each fitting level; the number of entries is the number of
    /// levels (each doubles the B-spline spans of the one before).
    pub iterations_per_level: Vec<usize>,
    /// A level stops once the coefficient of variation of the field update is at or below this.
    pub convergence_threshold: f64,
    /// Full width at half maximum of the Gaussian the histogram is deconvolved with (log units).
    pub bias_field_fwhm: f64,
    /// Noise term of the Wiener filter.
    pub wiener_filter_noise: f64,
    /// Bins of the log-intensity histogram.
    pub histogram_bins: usize,
    /// Control points of the first level along the row axis and the column axis (at least 4:
    /// the spline is cubic).
    pub control_points: [usize; 2],
}

impl Default for N4Options {
    fn default() -> Self {
        Self {
            iterations_per_level: vec![50; 4],
            convergence_threshold: 0.001,
            bias_field_fwhm: 0.15,
            wiener_filter_noise: 0.01,
            histogram_bins: 200,
            control_points: [4, 4],
        }
    }
}

impl N4Options {
    /// The original Dafne's bias correction (`dafne_dl.common.biascorrection`): ITK's defaults
    /// with 8 levels of 50 iterations.
    pub fn dafne() -> Self {
        Self {
            iterations_per_level: vec![50; 8],
            ..Self::default()
        }
    }

    fn check(&self) -> Result<(), ThresholdError> {
        let bad = |what: String| Err(ThresholdError::Option { what });
        if self.iterations_per_level.first().is_none_or(|&n| n == 0) {
            return bad("n4 needs at least one level with at least one iteration".into());
        }
        if self.histogram_bins < 2 {
            return bad(format!(
                "n4 needs at least 2 histogram bins, got {}",
                self.histogram_bins
            ));
        }
        if self.control_points.iter().any(|&n| n < 4) {
            return bad(format!(
                "n4 needs at least 4 control points per axis (cubic spline), got {:?}",
                self.control_points
            ));
        }
        let levels = self.iterations_per_level.len();
        if self.control_points.iter().any(|&n| {
            ((n - 3) as u64)
                .checked_shl(levels as u32 - 1)
                .is_none_or(|s| s > 1 << 20)
        }) {
            return bad(format!(
                "n4 with {levels} levels would need an oversized lattice"
            ));
        }
        if !(self.bias_field_fwhm.is_finite() && self.bias_field_fwhm > 0.0) {
            return bad(format!(
                "n4 bias field fwhm must be positive, got {}",
                self.bias_field_fwhm
            ));
        }
        if !(self.wiener_filter_noise.is_finite() && self.wiener_filter_noise >= 0.0) {
            return bad(format!(
                "n4 wiener filter noise must be zero or positive, got {}",
                self.wiener_filter_noise
            ));
        }
        if !self.convergence_threshold.is_finite() {
            return bad("n4 convergence threshold must be finite".into());
        }
        Ok(())
    }
}

/// Bias-corrects `image` (`rows x cols`, row-major) with N4, estimating the field from the
/// pixels where `mask` is set; returns `image / exp(log bias field)` for every pixel.
///
/// `spacing_mm` is `[row spacing, column spacing]`; it is checked but, as in ITK, the B-spline
/// works in index space, so it does not change the result. An empty mask leaves the image as
/// it is (the field stays zero, as in ITK).
///
/// Errors: sizes that do not match, an image under 2 x 2, a non-finite value or spacing, or
/// invalid options.
pub fn n4_bias_correct(
    image: &[f32],
    rows: usize,
    cols: usize,
    spacing_mm: [f64; 2],
    mask: &[bool],
    options: &N4Options,
) -> Result<Vec<f32>, ThresholdError> {
    super::check_image(image, rows, cols, spacing_mm)?;
    if mask.len() != image.len() {
        return Err(ThresholdError::MaskShape {
            expected: image.len(),
            len: mask.len(),
        });
    }
    options.check()?;
    let included: Vec<usize> = (0..image.len()).filter(|&i| mask[i]).collect();
    if included.is_empty() {
        return Ok(image.to_vec());
    }
    let log_input: Vec<f32> = included
        .iter()
        .map(|&i| {
            if image[i] > 0.0 {
                image[i].ln()
            } else {
                image[i]
            }
        })
        .collect();
    let field = log_bias_field(rows, cols, &included, &log_input, options);
    Ok(image
        .iter()
        .zip(&field)
        .map(|(&v, &f)| v / f.exp())
        .collect())
}

/// The N4 iterations: the log bias field over the whole image.
fn log_bias_field(
    rows: usize,
    cols: usize,
    included: &[usize],
    log_input: &[f32],
    options: &N4Options,
) -> Vec<f32> {
    let levels = options.iterations_per_level.len();
    let threshold = options.convergence_threshold as f32;
    let mut lattice: Option<Lattice> = None;
    let mut field = vec![0.0f32; rows * cols];
    let mut log_uncorrected = log_input.to_vec();
    let mut residual = vec![0.0f32; included.len()];
    for (level, &max_iterations) in options.iterations_per_level.iter().enumerate() {
        let mut convergence = f32::MAX;
        let mut iteration = 0;
        while iteration < max_iterations && convergence > threshold {
            iteration += 1;
            let sharpened = sharpen(&log_uncorrected, options);
            for ((r, &u), s) in residual.iter_mut().zip(&log_uncorrected).zip(&sharpened) {
                *r = u - s;
            }
            let [ny, nx] = match &lattice {
                Some(l) => [l.ny, l.nx],
                None => options.control_points,
            };
            let update = fit(rows, cols, included, &residual, ny, nx);
            let total = match lattice.take() {
                Some(mut l) => {
                    l.add(&update);
                    l
                }
                None => update,
            };
            let new_field = total.evaluate(rows, cols);
            lattice = Some(total);
            convergence = convergence_measure(&field, &new_field, included);
            field = new_field;
            log_uncorrected
                .par_iter_mut()
                .zip(log_input.par_iter())
                .zip(included.par_iter())
                .for_each(|((u, &l), &i)| *u = l - field[i]);
        }
        if level + 1 < levels {
            lattice = lattice.map(|l| l.refine());
        }
    }
    field
}

/// `CalculateConvergenceMeasurement`: coefficient of variation of `exp(old - new)` over the
/// mask, with ITK's running `f32` mean and variance.
fn convergence_measure(old: &[f32], new: &[f32], included: &[usize]) -> f32 {
    // The exponentials in parallel; the running statistics in ITK's order.
    let pixels: Vec<f32> = included
        .par_iter()
        .map(|&i| (old[i] - new[i]).exp())
        .collect();
    let (mut mu, mut sigma, mut n) = (0.0f32, 0.0f32, 0.0f32);
    for pixel in pixels {
        n += 1.0;
        let nd = f64::from(n);
        if n > 1.0 {
            let d = pixel - mu;
            sigma = (f64::from(sigma) + f64::from(d * d) * (nd - 1.0) / nd) as f32;
        }
        mu = (f64::from(mu) * (1.0 - 1.0 / nd) + f64::from(pixel) / nd) as f32;
    }
    sigma = (f64::from(sigma) / (f64::from(n) - 1.0)).sqrt() as f32;
    sigma / mu
}

/// ITK's scan for the histogram's range: the minimum is updated only when a value is not a new
/// running maximum. Computed in parallel chunks, each starting from the running maximum of the
/// chunks before it, which gives the sequential scan's result exactly.
fn itk_min_max(values: &[f32]) -> (f32, f32) {
    const CHUNK: usize = 16384;
    let chunk_max: Vec<f32> = values
        .par_chunks(CHUNK)
        .map(|c| c.iter().fold(f32::MIN, |m, &v| if v > m { v } else { m }))
        .collect();
    let mut before = Vec::with_capacity(chunk_max.len());
    let mut running = f32::MIN;
    for &m in &chunk_max {
        before.push(running);
        if m > running {
            running = m;
        }
    }
    let min = values
        .par_chunks(CHUNK)
        .zip(before.par_iter())
        .map(|(c, &start)| {
            let (mut max, mut min) = (start, f32::MAX);
            for &v in c {
                if v > max {
                    max = v;
                } else if v < min {
                    min = v;
                }
            }
            min
        })
        .reduce(|| f32::MAX, f32::min);
    (min, running)
}

/// `SharpenImage`: the masked log values mapped through E[u | v] of the Wiener-deconvolved
/// histogram. `values` are the masked pixels in raster order.
fn sharpen(values: &[f32], options: &N4Options) -> Vec<f32> {
    let bins = options.histogram_bins;
    // ITK's scan updates the minimum only when a value is not a new maximum, so the first
    // value never counts as the minimum; kept as it is, it decides the bin edges.
    let (bin_min, bin_max) = itk_min_max(values);
    let slope = (bin_max - bin_min) / (bins - 1) as f32;
    if !(slope.is_finite() && slope > 0.0) {
        // One distinct value (or a single pixel): nothing to sharpen, the residual is zero.
        return values.to_vec();
    }

    // Bin position as ITK computes it: a negative index wraps to a huge unsigned value,
    // which skips the histogram and maps to the last bin.
    let position = |v: f32| -> (f32, Option<usize>) {
        let cidx = (v - bin_min) / slope;
        let floor = cidx.floor();
        (cidx, (floor >= 0.0).then_some(floor as usize))
    };
    // Positions in parallel; the histogram summed in raster order, in f32 as ITK does.
    let positions: Vec<(f32, Option<usize>)> = values.par_iter().map(|&v| position(v)).collect();
    let mut h = vec![0.0f32; bins];
    for (cidx, idx) in positions {
        let Some(idx) = idx else { continue };
        let offset = cidx - idx as f32;
        if offset == 0.0 {
            if let Some(b) = h.get_mut(idx) {
                *b = (f64::from(*b) + 1.0) as f32;
            }
        } else if idx + 1 < bins {
            h[idx] = (f64::from(h[idx]) + (1.0 - f64::from(offset))) as f32;
            h[idx + 1] = (f64::from(h[idx + 1]) + f64::from(offset)) as f32;
        }
    }

    let exponent = ((bins as f32).ln() / 2f32.ln()).ceil() + 1.0;
    let padded = (2f32.powf(exponent) + 0.5) as usize;
    let offset = (0.5 * (padded - bins) as f32) as usize;

    let mut vf: Vec<Complex> = vec![(0.0, 0.0); padded];
    for (n, &hn) in h.iter().enumerate() {
        vf[n + offset] = (f64::from(hn), 0.0);
    }
    transform(&mut vf, false);

    let fwhm = options.bias_field_fwhm as f32;
    let scaled_fwhm = fwhm / slope;
    let exp_factor = (4.0 * 2f64.ln() / f64::from(scaled_fwhm * scaled_fwhm)) as f32;
    let scale_factor =
        (2.0 * (2f64.ln() / std::f64::consts::PI).sqrt() / f64::from(scaled_fwhm)) as f32;
    let gaussian = |n: f32| f64::from(scale_factor * (-(n * n) * exp_factor).exp());
    let mut ff: Vec<Complex> = vec![(0.0, 0.0); padded];
    ff[0] = (f64::from(scale_factor), 0.0);
    let half = padded / 2;
    for n in 1..=half {
        let g = gaussian(n as f32);
        ff[n] = (g, 0.0);
        ff[padded - n] = (g, 0.0);
    }
    if padded.is_multiple_of(2) {
        let p = padded as f32;
        let g = (0.25 * -f64::from(p * p) * f64::from(exp_factor)).exp();
        ff[half] = (f64::from(scale_factor) * g, 0.0);
    }
    transform(&mut ff, false);

    let noise = f64::from(options.wiener_filter_noise as f32);
    let mut u: Vec<Complex> = vf
        .iter()
        .zip(&ff)
        .map(|(&(vr, vi), &(fr, fi))| {
            // G = conj(F) / (conj(F) F + noise); only its real part is used.
            let (cr, ci) = (fr, -fi);
            let (dr, di) = (cr * fr - ci * fi + noise, cr * fi + ci * fr);
            let den = dr * dr + di * di;
            let g = (cr * dr + ci * di) / den;
            (vr * g, vi * g)
        })
        .collect();
    transform(&mut u, true);
    for c in &mut u {
        *c = (c.0.max(0.0), 0.0);
    }

    let convolve = |mut x: Vec<Complex>| -> Vec<Complex> {
        transform(&mut x, false);
        for (a, &(fr, fi)) in x.iter_mut().zip(&ff) {
            *a = (a.0 * fr - a.1 * fi, a.0 * fi + a.1 * fr);
        }
        transform(&mut x, true);
        x
    };
    let numerator = convolve(
        u.iter()
            .enumerate()
            .map(|(n, &(ur, _))| {
                let centre = bin_min + (n as f32 - offset as f32) * slope;
                (f64::from(centre) * ur, 0.0)
            })
            .collect(),
    );
    let denominator = convolve(u);
    let e: Vec<f32> = numerator[offset..offset + bins]
        .iter()
        .zip(&denominator[offset..offset + bins])
        .map(|(n, d)| if d.0 != 0.0 { (n.0 / d.0) as f32 } else { 0.0 })
        .collect();

    let last = e[bins - 1];
    values
        .par_iter()
        .map(|&v| {
            let (cidx, idx) = position(v);
            match idx {
                Some(i) if i + 1 < bins => e[i] + (e[i + 1] - e[i]) * (cidx - i as f32),
                _ => last,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_a_smooth_multiplicative_field() {
        let (rows, cols) = (48, 64);
        let mut image = vec![0.0f32; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                let tissue = if (r / 8 + c / 8) % 2 == 0 {
                    100.0
                } else {
                    200.0
                };
                let bias = 1.0 + 0.4 * (c as f32 / cols as f32) - 0.2 * (r as f32 / rows as f32);
                image[r * cols + c] = tissue * bias;
            }
        }
        let mask = vec![true; rows * cols];
        let out =
            n4_bias_correct(&image, rows, cols, [1.0, 1.0], &mask, &N4Options::default()).unwrap();
        // The two tissues should be far more uniform after correction.
        let spread = |img: &[f32], want: bool| {
            let vals: Vec<f32> = (0..rows * cols)
                .filter(|&i| (((i / cols) / 8 + (i % cols) / 8) % 2 == 0) == want)
                .map(|i| img[i])
                .collect();
            let mean = vals.iter().sum::<f32>() / vals.len() as f32;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / vals.len() as f32;
            var.sqrt() / mean
        };
        assert!(spread(&out, true) < 0.5 * spread(&image, true));
        assert!(spread(&out, false) < 0.5 * spread(&image, false));
    }

    #[test]
    fn bad_input_is_an_error() {
        let opts = N4Options::default();
        assert!(n4_bias_correct(&[1.0; 6], 2, 3, [1.0, 1.0], &[true; 5], &opts).is_err());
        assert!(n4_bias_correct(&[1.0; 6], 2, 2, [1.0, 1.0], &[true; 6], &opts).is_err());
        assert!(n4_bias_correct(&[1.0; 3], 1, 3, [1.0, 1.0], &[true; 3], &opts).is_err());
        let bad = N4Options {
            control_points: [3, 4],
            ..N4Options::default()
        };
        assert!(n4_bias_correct(&[1.0; 4], 2, 2, [1.0, 1.0], &[true; 4], &bad).is_err());
        let empty = n4_bias_correct(&[1.0; 4], 2, 2, [1.0, 1.0], &[false; 4], &opts).unwrap();
        assert_eq!(empty, vec![1.0; 4]);
    }
}
