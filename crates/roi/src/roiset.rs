//! The ROIs of a dataset: named, each with one [`SliceMask`] per slice that has one. ROIs have
//! stable ids so that undoing a deletion puts the ROI back where it was.

use std::collections::BTreeMap;

use crate::contour::{self, Contour};
use crate::{MaskError, SliceMask};

/// Stable identity of a ROI within a [`RoiSet`].
pub type RoiId = u32;

#[derive(Clone, Debug, PartialEq)]
pub struct Roi {
    pub id: RoiId,
    pub name: String,
    /// Masks by slice index; a slice without an entry is empty. The masks are always the
    /// truth for pixels.
    pub masks: BTreeMap<usize, SliceMask>,
    /// Contours (sub-ROIs, combined by XOR) of the slices where they are in sync with the
    /// mask: set by contour edits (which rasterise into the mask at once), dropped when a mask
    /// edit changes the slice, traced again from the mask on demand ([`RoiSet::contours`]), as
    /// the original's lazy two-way sync does.
    pub contours: BTreeMap<usize, Vec<Contour>>,
}

impl Roi {
    pub fn new(id: RoiId, name: impl Into<String>) -> Self {
        Roi {
            id,
            name: name.into(),
            masks: BTreeMap::new(),
            contours: BTreeMap::new(),
        }
    }
}

/// Every ROI of a dataset of `slices` slices of `rows x cols`, in display order.
#[derive(Clone, Debug, PartialEq)]
pub struct RoiSet {
    rows: usize,
    cols: usize,
    slices: usize,
    rois: Vec<Roi>,
    next_id: RoiId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("no ROI with id {0}")]
    NoSuchRoi(RoiId),
    #[error("a ROI named {0:?} exists already")]
    DuplicateName(String),
    #[error("slice {slice} is outside the dataset ({slices} slices)")]
    SliceOutOfRange { slice: usize, slices: usize },
    #[error("mask of {got_rows} x {got_cols} does not fit slices of {rows} x {cols}")]
    MaskShape {
        rows: usize,
        cols: usize,
        got_rows: usize,
        got_cols: usize,
    },
    #[error("ROI id {0} is used twice (or is 0)")]
    DuplicateId(RoiId),
    #[error("combining needs at least two ROIs, got {0}")]
    TooFewRois(usize),
    #[error(transparent)]
    Mask(#[from] MaskError),
}

impl RoiSet {
    pub fn new(rows: usize, cols: usize, slices: usize) -> Self {
        RoiSet {
            rows,
            cols,
            slices,
            rois: Vec::new(),
            next_id: 1,
        }
    }

    /// A set from stored ROIs (a session file, an import): names must be unique, ids unique,
    /// masks the slice size and slices within the dataset.
    pub fn from_rois(
        rows: usize,
        cols: usize,
        slices: usize,
        rois: Vec<Roi>,
    ) -> Result<Self, EditError> {
        let mut set = RoiSet::new(rows, cols, slices);
        for roi in rois {
            set.check_name(&roi.name)?;
            if set.get(roi.id).is_some() || roi.id == 0 {
                return Err(EditError::DuplicateId(roi.id));
            }
            for (slice, mask) in &roi.masks {
                set.check_slice(*slice)?;
                set.check_mask(mask)?;
            }
            for slice in roi.contours.keys() {
                set.check_slice(*slice)?;
            }
            let at = set.rois.len();
            set.insert_roi(at, roi);
        }
        Ok(set)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn slices(&self) -> usize {
        self.slices
    }

    pub fn rois(&self) -> &[Roi] {
        &self.rois
    }

    pub fn get(&self, id: RoiId) -> Option<&Roi> {
        self.rois.iter().find(|r| r.id == id)
    }

    pub fn by_name(&self, name: &str) -> Option<&Roi> {
        self.rois.iter().find(|r| r.name == name)
    }

    /// The contours of a ROI on a slice: the stored ones, or traced from the mask (the
    /// original's `mask_to_splines`, precision 1 px) when the mask was edited since.
    pub fn contours(&self, id: RoiId, slice: usize) -> Result<Vec<Contour>, EditError> {
        self.check_slice(slice)?;
        let roi = self.get(id).ok_or(EditError::NoSuchRoi(id))?;
        if let Some(stored) = roi.contours.get(&slice) {
            return Ok(stored.clone());
        }
        Ok(roi
            .masks
            .get(&slice)
            .map(|m| contour::mask_to_contours(m, 1.0))
            .unwrap_or_default())
    }

    pub(crate) fn position(&self, id: RoiId) -> Result<usize, EditError> {
        self.rois
            .iter()
            .position(|r| r.id == id)
            .ok_or(EditError::NoSuchRoi(id))
    }

    pub(crate) fn check_name(&self, name: &str) -> Result<(), EditError> {
        match self.by_name(name) {
            Some(_) => Err(EditError::DuplicateName(name.to_string())),
            None => Ok(()),
        }
    }

    pub(crate) fn check_slice(&self, slice: usize) -> Result<(), EditError> {
        if slice >= self.slices {
            return Err(EditError::SliceOutOfRange {
                slice,
                slices: self.slices,
            });
        }
        Ok(())
    }

    pub(crate) fn check_mask(&self, mask: &SliceMask) -> Result<(), EditError> {
        if mask.rows() != self.rows || mask.cols() != self.cols {
            return Err(EditError::MaskShape {
                rows: self.rows,
                cols: self.cols,
                got_rows: mask.rows(),
                got_cols: mask.cols(),
            });
        }
        Ok(())
    }

    /// The mask of a ROI on a slice, created empty when missing.
    pub(crate) fn mask_mut(
        &mut self,
        id: RoiId,
        slice: usize,
    ) -> Result<&mut SliceMask, EditError> {
        self.check_slice(slice)?;
        let empty = SliceMask::new(self.rows, self.cols)?;
        let at = self.position(id)?;
        Ok(self.rois[at].masks.entry(slice).or_insert(empty))
    }

    pub(crate) fn insert_roi(&mut self, at: usize, roi: Roi) {
        self.next_id = self.next_id.max(roi.id + 1);
        self.rois.insert(at.min(self.rois.len()), roi);
    }

    pub(crate) fn roi_mut(&mut self, at: usize) -> &mut Roi {
        &mut self.rois[at]
    }

    pub(crate) fn remove_roi(&mut self, at: usize) -> Roi {
        self.rois.remove(at)
    }

    pub(crate) fn new_id(&mut self) -> RoiId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Replaces the stored contours of a slice (`None` = not in sync), returning the old ones.
    pub(crate) fn swap_contours(
        &mut self,
        id: RoiId,
        slice: usize,
        contours: Option<Vec<Contour>>,
    ) -> Option<Vec<Contour>> {
        let at = self.position(id).ok()?;
        let map = &mut self.rois[at].contours;
        match contours {
            Some(c) => map.insert(slice, c),
            None => map.remove(&slice),
        }
    }

    pub(crate) fn rename_roi(&mut self, at: usize, name: String) -> String {
        std::mem::replace(&mut self.rois[at].name, name)
    }

    /// Drops empty slice masks, so that two sets with the same pixels compare equal.
    pub fn normalized(&self) -> RoiSet {
        let mut out = self.clone();
        for roi in &mut out.rois {
            roi.masks.retain(|_, m| !m.is_empty());
            roi.contours.retain(|_, c| !c.is_empty());
        }
        out
    }
}
