//! The session's per-slice metadata: the classification (the model to segment with) and the
//! restrict-area box. They are not ROI pixels, so they are not undo steps; they count as
//! changes for the autosave. The checks are `crate::restrict`'s.

use dafne_roi::RoiSet;

use super::Workspace;
use crate::restrict::{copy_box_to_all, set_box, set_classification};
use crate::{Session, SessionError};

impl Workspace {
    /// Runs `f` on the metadata as a [`Session`] (with an empty ROI set of the same grid).
    fn with_meta<T>(
        &mut self,
        f: impl FnOnce(&mut Session) -> Result<T, SessionError>,
    ) -> Result<T, SessionError> {
        let (rows, cols, slices) = self.dataset.mask_dims();
        let mut meta = Session {
            rois: RoiSet::new(rows, cols, slices),
            classifications: std::mem::take(&mut self.classifications),
            restrict_boxes: std::mem::take(&mut self.restrict_boxes),
            dataset_id: None,
        };
        let out = f(&mut meta);
        self.classifications = meta.classifications;
        self.restrict_boxes = meta.restrict_boxes;
        if out.is_ok() {
            self.changes += 1;
        }
        out
    }

    /// The classification of a slice, if any.
    pub fn classification(&self, slice: usize) -> Option<&str> {
        self.classifications.get(&slice).map(String::as_str)
    }

    /// Every classification used in the session, sorted, each once.
    pub fn classification_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.classifications.values().cloned().collect();
        names.sort();
        names.dedup();
        names
    }

    /// Sets (or with `None` / "None" clears) the classification of one slice, or of every
    /// slice when `slice` is `None` (the Toolbox's "All" button).
    pub fn set_classification(
        &mut self,
        slice: Option<usize>,
        class: Option<&str>,
    ) -> Result<(), SessionError> {
        let slices = self.dataset.mask_dims().2;
        self.with_meta(|m| match slice {
            Some(s) => set_classification(m, s, class),
            None => (0..slices).try_for_each(|s| set_classification(m, s, class)),
        })
    }

    /// The restrict-area box of a slice: (row, col, height, width) in pixels.
    pub fn restrict_box(&self, slice: usize) -> Option<[usize; 4]> {
        self.restrict_boxes.get(&slice).copied()
    }

    /// Sets the box of a slice, or with `None` resets it to the whole image.
    pub fn set_restrict_box(
        &mut self,
        slice: usize,
        b: Option<[usize; 4]>,
    ) -> Result<(), SessionError> {
        self.with_meta(|m| set_box(m, slice, b))
    }

    /// "Copy to all": the box of `slice` on every slice.
    pub fn copy_restrict_box_to_all(&mut self, slice: usize) -> Result<(), SessionError> {
        self.with_meta(|m| copy_box_to_all(m, slice))
    }

    /// "Reset all": no box on any slice.
    pub fn reset_all_restrict_boxes(&mut self) {
        self.restrict_boxes.clear();
        self.changes += 1;
    }
}
