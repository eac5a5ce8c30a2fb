//! File → Reorient data: the volume turned to another plane or its slices reversed. The grid
//! changes, so the ROIs, classifications and boxes go (the original warns "This will delete all
//! the ROIs and settings!" and the app asks first); the history starts again.

pub use dafne_core::PlaneOrientation;
use dafne_roi::Editor;

use super::{initial_window, Workspace};
use crate::sessions::new_session;

/// How to reorient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reorientation {
    /// Page through this plane (the original's axis conventions: `dafne_core::reorient`).
    Plane(PlaneOrientation),
    /// Reverse the order of the slices.
    InvertSlices,
}

impl Workspace {
    pub fn reorient(&mut self, how: Reorientation) {
        match how {
            Reorientation::Plane(plane) => dafne_core::reorient(&mut self.dataset.volume, plane),
            Reorientation::InvertSlices => dafne_core::invert_slices(&mut self.dataset.volume),
        }
        let empty = new_session(&self.dataset);
        self.editor = Editor::new(empty.rois);
        self.classifications = empty.classifications;
        self.restrict_boxes = empty.restrict_boxes;
        self.window = initial_window(&self.dataset);
        // An autosave offered for the old grid no longer fits; nothing is left to save.
        self.recoverable = None;
        self.changes += 1;
        self.saved_changes = self.changes;
    }
}
