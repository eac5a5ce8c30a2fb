//! The ROI operations of the Toolbox and the ROI menu (reference §1.5, §1.12): delete, rename,
//! copy, combine, remove overlap, clear, the mask-mode morphology and auto threshold. Each is
//! one [`Edit`], so one undo step.

use dafne_core::SliceMask;
use dafne_roi::morphology::{area_threshold, despeckle, fill_small_holes, grow, shrink};
use dafne_roi::{BoolOp, Changed, Edit, Mode, Output, RoiId};

use super::{check_slice, Workspace};
use crate::tools::auto_threshold_mask;
use crate::SessionError;

/// The mask-mode buttons that rework one ROI's mask on one slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Morphology {
    /// One pixel added through each edge (3x3 cross dilation).
    Grow,
    /// One pixel removed along the outline.
    Shrink,
    /// Components smaller than radius² pixels removed.
    Despeckle,
    /// Holes smaller than radius² pixels filled.
    FillHoles,
}

/// The largest radius the Toolbox's slider offers (1–30).
pub const MAX_RADIUS_PX: u32 = 30;

impl Workspace {
    /// Deletes a ROI on every slice.
    pub fn delete_roi(&mut self, roi: RoiId) -> Result<Changed, SessionError> {
        Ok(self.apply(Edit::DeleteRoi { roi })?.0)
    }

    pub fn rename_roi(&mut self, roi: RoiId, name: &str) -> Result<Changed, SessionError> {
        let name = checked_name(name)?;
        Ok(self.apply(Edit::RenameRoi { roi, name })?.0)
    }

    /// A deep copy of `roi` named `name`; returns what changed and the copy's id.
    pub fn copy_roi(&mut self, roi: RoiId, name: &str) -> Result<(Changed, RoiId), SessionError> {
        let name = checked_name(name)?;
        let (changed, id) = self.apply(Edit::CopyRoi { roi, name })?;
        let id = id.ok_or_else(|| SessionError::InvalidInput("no ROI was copied".into()))?;
        Ok((changed, id))
    }

    /// `rois[0] op rois[1] op ...` on every slice (Combine with two ROIs, Multiple combine
    /// with more), written into an existing ROI or a new one; returns the new ROI's id, if any.
    pub fn combine(
        &mut self,
        rois: Vec<RoiId>,
        op: BoolOp,
        output: Output,
    ) -> Result<(Changed, Option<RoiId>), SessionError> {
        if rois.len() < 2 {
            return Err(SessionError::InvalidInput(format!(
                "combining needs at least 2 ROIs, got {}",
                rois.len()
            )));
        }
        let output = match output {
            Output::New(name) => Output::New(checked_name(&name)?),
            existing => existing,
        };
        self.apply(Edit::Combine { rois, op, output })
    }

    /// "Remove overlap": `roi` subtracted from every other ROI on `slice`.
    pub fn remove_overlap(&mut self, roi: RoiId, slice: usize) -> Result<Changed, SessionError> {
        Ok(self.apply(Edit::RemoveOverlap { roi, slice })?.0)
    }

    /// "Clear": empties `roi` on `slice`.
    pub fn clear_slice(&mut self, roi: RoiId, slice: usize) -> Result<Changed, SessionError> {
        let patch = self.empty_mask(slice)?;
        self.set_mask(roi, slice, patch)
    }

    /// Grow, shrink, despeckle or fill holes on `roi`'s mask of `slice`; `radius_px` (1–30)
    /// sets the area threshold (radius²) of despeckle and fill holes, as the original.
    pub fn morphology(
        &mut self,
        roi: RoiId,
        slice: usize,
        op: Morphology,
        radius_px: u32,
    ) -> Result<Changed, SessionError> {
        if !(1..=MAX_RADIUS_PX).contains(&radius_px) {
            return Err(SessionError::InvalidInput(format!(
                "radius {radius_px} px is outside 1..={MAX_RADIUS_PX}"
            )));
        }
        let mask = self.mask(roi, slice)?;
        let area = area_threshold(radius_px as usize);
        let patch = match op {
            Morphology::Grow => grow(&mask),
            Morphology::Shrink => shrink(&mask),
            Morphology::Despeckle => despeckle(&mask, area),
            Morphology::FillHoles => fill_small_holes(&mask, area),
        };
        self.set_mask(roi, slice, patch)
    }

    /// `roi`'s mask of `slice` replaced by `mask`, one undo step.
    fn set_mask(
        &mut self,
        roi: RoiId,
        slice: usize,
        mask: SliceMask,
    ) -> Result<Changed, SessionError> {
        Ok(self
            .apply(Edit::Mask {
                roi,
                slice,
                patch: mask,
                mode: Mode::Set,
            })?
            .0)
    }

    /// Auto Threshold: keeps only the bright (bias-corrected Otsu) pixels of `roi` on `slice`,
    /// or of every ROI of the slice when `roi` is `None` ("Apply to all masks").
    pub fn auto_threshold(
        &mut self,
        roi: Option<RoiId>,
        slice: usize,
    ) -> Result<Changed, SessionError> {
        let rois = match roi {
            Some(id) => vec![id],
            None => self.rois().rois().iter().map(|r| r.id).collect(),
        };
        let patch = auto_threshold_mask(self.dataset(), slice)?;
        Ok(self.apply(Edit::KeepOnly { rois, slice, patch })?.0)
    }

    /// A ROI's mask on a slice (empty where it has none).
    pub(crate) fn mask(&self, roi: RoiId, slice: usize) -> Result<SliceMask, SessionError> {
        let r = self
            .rois()
            .get(roi)
            .ok_or(dafne_roi::EditError::NoSuchRoi(roi))?;
        match r.masks.get(&slice) {
            Some(m) => {
                check_slice(slice, self.rois().slices())?;
                Ok(m.clone())
            }
            None => self.empty_mask(slice),
        }
    }

    fn empty_mask(&self, slice: usize) -> Result<SliceMask, SessionError> {
        let (rows, cols, slices) = self.dataset().mask_dims();
        check_slice(slice, slices)?;
        SliceMask::new(rows, cols)
            .map_err(|e| SessionError::InvalidInput(format!("cannot make a mask: {e}")))
    }
}

/// A ROI name as typed, trimmed; an empty one is refused.
fn checked_name(name: &str) -> Result<String, SessionError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SessionError::InvalidInput(
            "a ROI name cannot be empty".into(),
        ));
    }
    Ok(name.to_string())
}
