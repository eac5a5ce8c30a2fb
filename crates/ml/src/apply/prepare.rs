//! From a slice to the network's crops and back: the data half of the apply pipeline, shared
//! by inference and training (which crops the user's labels exactly like the image).

use std::time::Instant;

use dafne_roi::threshold::{n4_bias_correct, otsu_mask};
use dafne_roi::N4Options;

use super::resample::{flip_columns, pad_or_cut, zoom_f64, zoomed_len};
use super::split::{split_mirror, SplitBox};
use super::{Side, SliceImage};
use crate::package::{BiasCorrection, Preprocessing};
use crate::MlError;

/// How the crops sit on the resampled image.
#[derive(Clone, Debug, PartialEq)]
enum Layout {
    /// Both legs: the canvas (`canvas × canvas`) split by `split_mirror`; crop 0 = image-left
    /// leg (anatomical right), crop 1 = image-right leg mirrored.
    Split { canvas: usize, split: SplitBox },
    /// One crop: the resampled image padded/cut to the crop size, mirrored when `flip`.
    Single { flip: bool },
}

/// Seconds spent in each preparation step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PrepareTimes {
    pub resample_s: f64,
    pub bias_s: f64,
    pub split_s: f64,
}

/// A slice made ready for the network, remembering how to map results back.
#[derive(Clone, Debug)]
pub struct PreparedSlice {
    rows: usize,
    cols: usize,
    /// Original spacing ÷ model pixel size, per axis (the original's `zoomFactor`).
    zoom_factor: [f64; 2],
    /// Size after resampling.
    zoomed: [usize; 2],
    crop_px: [usize; 2],
    /// The model's pixel size (the split's thresholds scale with it).
    pixel_mm: f64,
    layout: Layout,
    /// Bias-corrected canvas (split) or crop (single side), before cropping/mirroring.
    corrected: Vec<f32>,
    crops: Vec<Vec<f32>>,
    side: Side,
    times: PrepareTimes,
}

/// Prepares `image` as the original's apply function does for `side` (see the module
/// overview). Whether the legs are split comes from `pre` (the segmenter's option to name
/// ROIs by side changes names only, never the crops).
///
/// Errors: a malformed image or preprocessing, a blank image (no value above zero), or a
/// slice `split_mirror` cannot split.
pub fn prepare_slice(
    pre: &Preprocessing,
    image: &SliceImage,
    side: Side,
) -> Result<PreparedSlice, MlError> {
    image.check()?;
    check_preprocessing(pre)?;
    if image.is_blank() {
        return Err(MlError::Input {
            why: "slice has no value above zero (blank slice)".into(),
        });
    }
    let t0 = Instant::now();
    let zoom_factor = image.spacing_mm.map(|s| s / pre.resolution_mm);
    let zoomed = [
        zoomed_len(image.rows, zoom_factor[0]),
        zoomed_len(image.cols, zoom_factor[1]),
    ];
    if zoomed.contains(&0) {
        return Err(MlError::Input {
            why: format!(
                "slice of {} × {} at {:?} mm is under one pixel at the model's {} mm",
                image.rows, image.cols, image.spacing_mm, pre.resolution_mm
            ),
        });
    }
    let wide: Vec<f64> = image.values.iter().map(|&v| f64::from(v)).collect();
    let resampled = zoom_f64(&wide, image.rows, image.cols, zoomed[0], zoomed[1], 3);
    let split = side == Side::Both && pre.split_laterality;
    let (work_rows, work_cols) = if split {
        (pre.canvas_px, pre.canvas_px)
    } else {
        (pre.crop_px[0], pre.crop_px[1])
    };
    let mut work = pad_or_cut(&resampled, zoomed[0], zoomed[1], work_rows, work_cols);
    if side == Side::Left && !split {
        work = flip_columns(&work, work_cols);
    }
    let t1 = Instant::now();
    let corrected = bias_correct(
        &work,
        work_rows,
        work_cols,
        pre.normalise_max,
        pre.bias_correction.as_ref(),
    )?;
    let t2 = Instant::now();
    let (layout, crops) = if split {
        let canvas = pre.canvas_px;
        let split = split_mirror(&corrected, canvas, canvas, pre.resolution_mm)?;
        let crops = split_crops(&corrected, canvas, &split, pre.crop_px);
        (Layout::Split { canvas, split }, crops)
    } else {
        let flip = side == Side::Left;
        (Layout::Single { flip }, vec![corrected.clone()])
    };
    let t3 = Instant::now();
    Ok(PreparedSlice {
        rows: image.rows,
        cols: image.cols,
        zoom_factor,
        zoomed,
        crop_px: pre.crop_px,
        pixel_mm: pre.resolution_mm,
        layout,
        corrected,
        crops,
        side,
        times: PrepareTimes {
            resample_s: (t1 - t0).as_secs_f64(),
            bias_s: (t2 - t1).as_secs_f64(),
            split_s: (t3 - t2).as_secs_f64(),
        },
    })
}

fn check_preprocessing(pre: &Preprocessing) -> Result<(), MlError> {
    let ok = pre.resolution_mm.is_finite()
        && pre.resolution_mm > 0.0
        && pre.canvas_px > 0
        && pre.crop_px.iter().all(|&n| n > 0)
        && pre.normalise_max.is_finite()
        && pre.normalise_max > 0.0;
    if ok {
        Ok(())
    } else {
        Err(MlError::Input {
            why: format!(
                "model preprocessing is not usable: resolution {} mm, canvas {} px, crop {:?} px, \
                 normalise max {}",
                pre.resolution_mm, pre.canvas_px, pre.crop_px, pre.normalise_max
            ),
        })
    }
}

/// The original's `biascorrection_image` on a `rows × cols` image: scale so the maximum is
/// `normalise_max` (in f64, then f32 as SimpleITK casts it), Otsu mask, N4, and when the
/// corrected maximum is below `rescale_below` scale it to `normalise_max` again. Without bias
/// correction only the first scaling is done.
pub fn bias_correct(
    image: &[f64],
    rows: usize,
    cols: usize,
    normalise_max: f64,
    bias: Option<&BiasCorrection>,
) -> Result<Vec<f32>, MlError> {
    let max = image.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    if !(max.is_finite() && max > 0.0) {
        return Err(MlError::Input {
            why: "image has no value above zero to scale (blank slice)".into(),
        });
    }
    let scaled: Vec<f32> = image
        .iter()
        .map(|&v| (v * normalise_max / max) as f32)
        .collect();
    let Some(bias) = bias else {
        return Ok(scaled);
    };
    let n4_err = |e: dafne_roi::ThresholdError| MlError::Input {
        why: format!("bias correction failed: {e}"),
    };
    let mask = otsu_mask(&scaled, bias.otsu_bins).map_err(n4_err)?;
    let options = N4Options {
        iterations_per_level: vec![bias.iterations; bias.levels],
        ..N4Options::dafne()
    };
    let mut out =
        n4_bias_correct(&scaled, rows, cols, [1.0, 1.0], &mask, &options).map_err(n4_err)?;
    let m = out.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if f64::from(m) < bias.rescale_below && m > 0.0 {
        let target = normalise_max as f32;
        for v in &mut out {
            *v = *v * target / m;
        }
    }
    Ok(out)
}

/// Image-left leg and mirrored image-right leg, each padded/cut to `crop_px`.
fn split_crops<T: Copy + Default>(
    canvas: &[T],
    size: usize,
    split: &SplitBox,
    crop_px: [usize; 2],
) -> Vec<Vec<T>> {
    let left = sub_image(canvas, size, split.b1..split.b2, split.a1..split.a2);
    let right = sub_image(canvas, size, split.b1..split.b2, split.a3..split.a4);
    let h = split.b2 - split.b1;
    let right = flip_columns(&right, split.a4 - split.a3);
    vec![
        pad_or_cut(&left, h, split.a2 - split.a1, crop_px[0], crop_px[1]),
        pad_or_cut(&right, h, split.a4 - split.a3, crop_px[0], crop_px[1]),
    ]
}

fn sub_image<T: Copy>(
    values: &[T],
    cols: usize,
    rows: std::ops::Range<usize>,
    columns: std::ops::Range<usize>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(rows.len() * columns.len());
    for r in rows {
        out.extend_from_slice(&values[r * cols + columns.start..r * cols + columns.end]);
    }
    out
}

impl PreparedSlice {
    /// Network inputs, `crop_px[0] × crop_px[1]` each: split = [image-left leg, mirrored
    /// image-right leg]; single side = [the centred (for "Left": mirrored) image].
    pub fn crops(&self) -> &[Vec<f32>] {
        &self.crops
    }

    pub fn crop_px(&self) -> [usize; 2] {
        self.crop_px
    }

    /// The `split_mirror` box on the canvas, when the slice was split.
    pub fn split_box(&self) -> Option<SplitBox> {
        match self.layout {
            Layout::Split { split, .. } => Some(split),
            Layout::Single { .. } => None,
        }
    }

    /// The bias-corrected canvas (split) or single crop before mirroring back, row-major.
    pub fn corrected(&self) -> &[f32] {
        &self.corrected
    }

    pub fn side(&self) -> Side {
        self.side
    }

    pub fn times(&self) -> PrepareTimes {
        self.times
    }

    /// Anatomical side of each crop: true = right (`_R`).
    pub fn crop_is_right(&self) -> Vec<bool> {
        match self.layout {
            Layout::Split { .. } => vec![true, false],
            Layout::Single { flip } => vec![!flip],
        }
    }

    /// Replaces the bias-corrected image (for parity tests that start from the original's
    /// corrected canvas) and recomputes the split and the crops as the original would.
    pub fn with_corrected(mut self, corrected: Vec<f32>) -> Result<PreparedSlice, MlError> {
        if corrected.len() != self.corrected.len() {
            return Err(MlError::Input {
                why: format!(
                    "corrected image has {} values, expected {}",
                    corrected.len(),
                    self.corrected.len()
                ),
            });
        }
        self.corrected = corrected;
        match self.layout {
            Layout::Split { canvas, .. } => {
                let split = split_mirror(&self.corrected, canvas, canvas, self.pixel_mm)?;
                self.crops = split_crops(&self.corrected, canvas, &split, self.crop_px);
                self.layout = Layout::Split { canvas, split };
            }
            Layout::Single { .. } => self.crops = vec![self.corrected.clone()],
        }
        Ok(self)
    }

    /// A class map on the ORIGINAL grid (`rows × cols`) cut into the same crops as the image
    /// (nearest-neighbour resampling, same padding, boxes and mirroring).
    pub fn crop_labels(&self, labels: &[u8]) -> Result<Vec<Vec<u8>>, MlError> {
        if labels.len() != self.rows * self.cols {
            return Err(MlError::Input {
                why: format!(
                    "label map has {} values, the slice has {} × {}",
                    labels.len(),
                    self.rows,
                    self.cols
                ),
            });
        }
        let wide: Vec<f64> = labels.iter().map(|&v| f64::from(v)).collect();
        let zoomed: Vec<u8> = zoom_f64(
            &wide,
            self.rows,
            self.cols,
            self.zoomed[0],
            self.zoomed[1],
            0,
        )
        .into_iter()
        .map(|v| v as u8)
        .collect();
        Ok(match self.layout {
            Layout::Split { canvas, split } => {
                let c = pad_or_cut(&zoomed, self.zoomed[0], self.zoomed[1], canvas, canvas);
                split_crops(&c, canvas, &split, self.crop_px)
            }
            Layout::Single { flip } => {
                let [h, w] = self.crop_px;
                let c = pad_or_cut(&zoomed, self.zoomed[0], self.zoomed[1], h, w);
                vec![if flip { flip_columns(&c, w) } else { c }]
            }
        })
    }

    /// One class map per crop on the original grid (the original's `labelsMask_left` /
    /// `labelsMask_right`): mirrored back, pasted into the box, zoomed back (nearest), then
    /// padded/cut to `rows × cols`. A crop of the wrong size counts as background.
    pub fn paste_back_sides(&self, crop_classes: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let [ch, cw] = self.crop_px;
        let crop = |i: usize| -> Vec<u8> {
            match crop_classes.get(i) {
                Some(c) if c.len() == ch * cw => c.clone(),
                _ => vec![0; ch * cw],
            }
        };
        let maps: Vec<(Vec<u8>, usize, usize)> = match self.layout {
            Layout::Split { canvas, split } => {
                let h = split.b2 - split.b1;
                let mut left = vec![0u8; canvas * canvas];
                let mut right = vec![0u8; canvas * canvas];
                let w = split.a2 - split.a1;
                paste(
                    &mut left,
                    canvas,
                    split.b1,
                    split.a1,
                    &pad_or_cut(&crop(0), ch, cw, h, w),
                    w,
                );
                let w = split.a4 - split.a3;
                let back = flip_columns(&crop(1), cw);
                paste(
                    &mut right,
                    canvas,
                    split.b1,
                    split.a3,
                    &pad_or_cut(&back, ch, cw, h, w),
                    w,
                );
                vec![(left, canvas, canvas), (right, canvas, canvas)]
            }
            Layout::Single { flip } => {
                let c = crop(0);
                vec![(if flip { flip_columns(&c, cw) } else { c }, ch, cw)]
            }
        };
        maps.into_iter()
            .map(|(map, h, w)| {
                let out_h = zoomed_len(h, 1.0 / self.zoom_factor[0]);
                let out_w = zoomed_len(w, 1.0 / self.zoom_factor[1]);
                let wide: Vec<f64> = map.iter().map(|&v| f64::from(v)).collect();
                let back: Vec<u8> = zoom_f64(&wide, h, w, out_h, out_w, 0)
                    .into_iter()
                    .map(|v| v as u8)
                    .collect();
                pad_or_cut(&back, out_h, out_w, self.rows, self.cols)
            })
            .collect()
    }

    /// Argmax class per crop → one class map on the original grid (the sides never overlap).
    pub fn paste_back(&self, crop_classes: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0u8; self.rows * self.cols];
        for side in self.paste_back_sides(crop_classes) {
            for (o, s) in out.iter_mut().zip(side) {
                if s != 0 {
                    *o = s;
                }
            }
        }
        out
    }
}

fn paste(dst: &mut [u8], dst_cols: usize, row0: usize, col0: usize, src: &[u8], src_cols: usize) {
    if src_cols == 0 {
        return;
    }
    for (r, line) in src.chunks(src_cols).enumerate() {
        let at = (row0 + r) * dst_cols + col0;
        dst[at..at + src_cols].copy_from_slice(line);
    }
}
