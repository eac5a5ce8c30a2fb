//! AutoSegment (reference §1.11, §3.6): each slice of a range is segmented by the model its
//! classification names, in the model's orientation, cropped to its restrict-area box when
//! that is on; the masks come back on the stored grid and replace the ROIs of the same names
//! on those slices. The run needs no workspace (see the module above), and a cancelled run
//! returns before anything is applied.

use std::collections::BTreeMap;

use dafne_core::SliceMask;
use dafne_roi::{Edit, Mode, RoiSet};

use super::{ml_error, parse_classification, InPlane, ModelSource, SegmentOptions, SliceImage};
use crate::jobs::JobControl;
use crate::SessionError;

/// How to run AutoSegment (from the preferences and the Toolbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutosegmentOptions {
    /// Separate left and right (the preference SPLIT_LATERALITY): ROIs `<name>_R`, `<name>_L`.
    pub split_lr: bool,
    /// Crop each slice to its restrict-area box ("Restrict area" checked).
    pub restrict: bool,
}

/// One slice to segment: the stored pixels of its crop and what to run on them.
#[derive(Clone, Debug)]
pub struct PlannedSlice {
    pub slice: usize,
    /// The full classification string ("Thigh, Left").
    pub classification: String,
    /// (row, col, height, width) of the input on the stored grid (the whole slice without a box).
    pub crop: [usize; 4],
    /// Real values of the crop, stored row-major.
    pub values: Vec<f32>,
}

/// What AutoSegment reads from the workspace.
#[derive(Clone, Debug)]
pub struct AutosegmentPlan {
    /// The dataset's id and grid, checked again when the result is applied.
    pub dataset_id: String,
    pub rows: usize,
    pub cols: usize,
    /// `[between rows, between columns]` of the stored slices, mm.
    pub spacing_mm: [f64; 2],
    /// The way to the axial display convention, or why there is none.
    pub orientation: Result<InPlane, String>,
    pub options: AutosegmentOptions,
    pub slices: Vec<PlannedSlice>,
    /// Slices of the range classed "None".
    pub skipped: Vec<usize>,
}

/// The masks of one slice on the stored grid, in the model's label order.
#[derive(Clone, Debug)]
pub struct SegmentedSlice {
    pub slice: usize,
    pub masks: Vec<(String, SliceMask)>,
}

/// What a finished run gives back to apply.
#[derive(Clone, Debug)]
pub struct AutosegmentMasks {
    pub dataset_id: String,
    pub slices: Vec<SegmentedSlice>,
    pub skipped: Vec<usize>,
    /// Slices the pipeline could not take (blank, legs not found), with why.
    pub failed: Vec<(usize, String)>,
}

/// What the user is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutosegmentReport {
    pub segmented: Vec<usize>,
    pub skipped: Vec<usize>,
    /// ROI names written, in order of first appearance.
    pub rois: Vec<String>,
    pub notes: Vec<String>,
}

/// Checks `start..=end` and orders it.
pub fn slice_range(
    start: usize,
    end: usize,
    slices: usize,
) -> Result<(usize, usize), SessionError> {
    let (a, b) = (start.min(end), start.max(end));
    if b >= slices {
        return Err(SessionError::InvalidInput(format!(
            "slice range {start}..{end} is outside the dataset ({slices} slices)"
        )));
    }
    Ok((a, b))
}

/// `rows x cols` values cropped to `b` = (row, col, height, width).
pub fn crop<T: Copy>(values: &[T], cols: usize, b: [usize; 4]) -> Vec<T> {
    let [row, col, height, width] = b;
    let mut out = Vec::with_capacity(height * width);
    for r in row..row + height {
        out.extend_from_slice(&values[r * cols + col..r * cols + col + width]);
    }
    out
}

/// Segments every planned slice. Progress per slice; cancel is checked between slices and
/// before the first, and leaves nothing behind.
pub fn run(
    plan: &AutosegmentPlan,
    models: &mut dyn ModelSource,
    job: &JobControl,
) -> Result<AutosegmentMasks, SessionError> {
    let total = plan.slices.len() as u64;
    job.report(0, total, "segmenting slices");
    let mut out = Vec::with_capacity(plan.slices.len());
    let mut failed = Vec::new();
    for (done, p) in plan.slices.iter().enumerate() {
        if job.is_cancelled() {
            return Err(SessionError::Cancelled);
        }
        let (name, side) = parse_classification(&p.classification);
        let model = models.model(&name)?;
        let orientation = model.orientation();
        let transform = if orientation.trim().is_empty() {
            InPlane::IDENTITY
        } else if orientation.eq_ignore_ascii_case("axial") {
            plan.orientation
                .clone()
                .map_err(SessionError::InvalidInput)?
        } else {
            return Err(SessionError::InvalidInput(format!(
                "model {name:?} wants {orientation} slices; only axial 2-D models can segment slice by slice"
            )));
        };
        let [_, _, height, width] = p.crop;
        let (m_rows, m_cols) = transform.model_dims(height, width);
        let image = SliceImage {
            values: transform.to_model(&p.values, height, width),
            rows: m_rows,
            cols: m_cols,
            spacing_mm: transform.model_spacing(plan.spacing_mm),
        };
        let opts = SegmentOptions {
            split_lr: plan.options.split_lr,
            side,
        };
        let seg = match model.segment(&image, &opts) {
            Ok(seg) => seg,
            // A slice the pipeline cannot take (a blank one, legs not found past the knee)
            // must not cost the user the rest of the range.
            Err(super::MlError::Input { why }) if plan.slices.len() > 1 => {
                failed.push((p.slice, why));
                job.report(done as u64 + 1, total, "segmenting slices");
                continue;
            }
            Err(e) => return Err(ml_error(&format!("segmenting slice {}", p.slice), e)),
        };
        if seg.rows != m_rows || seg.cols != m_cols {
            return Err(SessionError::InvalidInput(format!(
                "model {name:?} returned {} x {} masks for a {m_rows} x {m_cols} slice",
                seg.rows, seg.cols
            )));
        }
        let mut masks = Vec::with_capacity(seg.masks.len());
        for (roi, pixels) in seg.masks {
            let stored = transform.from_model(&pixels, height, width);
            masks.push((roi, paste(&stored, p.crop, plan.rows, plan.cols)?));
        }
        out.push(SegmentedSlice {
            slice: p.slice,
            masks,
        });
        job.report(done as u64 + 1, total, "segmenting slices");
    }
    if job.is_cancelled() {
        return Err(SessionError::Cancelled);
    }
    if out.is_empty() {
        if let Some((slice, why)) = failed.first() {
            return Err(SessionError::InvalidInput(format!(
                "no slice could be segmented; slice {slice}: {why}"
            )));
        }
    }
    Ok(AutosegmentMasks {
        dataset_id: plan.dataset_id.clone(),
        slices: out,
        skipped: plan.skipped.clone(),
        failed,
    })
}

/// A crop's mask pasted into an empty `rows x cols` mask.
fn paste(
    crop_px: &[bool],
    b: [usize; 4],
    rows: usize,
    cols: usize,
) -> Result<SliceMask, SessionError> {
    let [row, col, height, width] = b;
    let mut mask = SliceMask::new(rows, cols)
        .map_err(|e| SessionError::InvalidInput(format!("mask of {rows} x {cols}: {e}")))?;
    for r in 0..height {
        for c in 0..width {
            if crop_px[r * width + c] {
                mask.set(row + r, col + c, true);
            }
        }
    }
    Ok(mask)
}

/// The one edit that writes a run's masks: ROIs of the same name replaced on the segmented
/// slices (an empty result clears them there), new names added as ROIs.
pub fn edit_for(rois: &RoiSet, masks: &AutosegmentMasks) -> (Edit, AutosegmentReport) {
    let mut order: Vec<String> = Vec::new();
    let mut new_rois: BTreeMap<String, BTreeMap<usize, SliceMask>> = BTreeMap::new();
    let mut edits = Vec::new();
    for s in &masks.slices {
        for (name, mask) in &s.masks {
            if !order.contains(name) {
                order.push(name.clone());
            }
            match rois.by_name(name) {
                Some(roi) => edits.push(Edit::Mask {
                    roi: roi.id,
                    slice: s.slice,
                    patch: mask.clone(),
                    mode: Mode::Set,
                }),
                None => {
                    let entry = new_rois.entry(name.clone()).or_default();
                    if !mask.is_empty() {
                        entry.insert(s.slice, mask.clone());
                    }
                }
            }
        }
    }
    // New ROIs in the model's label order, so the list reads as the model's labels.
    for name in &order {
        if let Some(m) = new_rois.remove(name) {
            edits.push(Edit::InsertRoi {
                name: name.clone(),
                masks: m,
            });
        }
    }
    let mut notes = Vec::new();
    if !masks.skipped.is_empty() {
        notes.push(format!(
            "{} slice(s) classed \"None\" were not segmented: {}",
            masks.skipped.len(),
            list(&masks.skipped)
        ));
    }
    for (slice, why) in &masks.failed {
        notes.push(format!("slice {slice} was not segmented: {why}"));
    }
    let report = AutosegmentReport {
        segmented: masks.slices.iter().map(|s| s.slice).collect(),
        skipped: masks.skipped.clone(),
        rois: order,
        notes,
    };
    (Edit::Batch(edits), report)
}

fn list(slices: &[usize]) -> String {
    let shown: Vec<String> = slices.iter().take(20).map(usize::to_string).collect();
    let more = if slices.len() > 20 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn crop_and_paste_are_inverse() {
        let values: Vec<bool> = (0..30).map(|i| i % 3 == 0).collect();
        let b = [1, 2, 3, 2];
        let c = crop(&values, 6, b);
        assert_eq!(c.len(), 6);
        let m = paste(&c, b, 5, 6).unwrap();
        for r in 0..5 {
            for col in 0..6 {
                let inside = (1..4).contains(&r) && (2..4).contains(&col);
                assert_eq!(m.get(r, col), inside && values[r * 6 + col]);
            }
        }
        assert!(slice_range(4, 2, 5).is_ok());
        assert!(slice_range(2, 5, 5).is_err());
    }
}
