//! The open document of the app: one dataset, its ROIs with their undo history, the session
//! metadata (classifications, restrict boxes) and the autosave schedule. Every app command
//! is a method here, so the Tauri shell only adapts arguments, and everything is testable
//! without a window.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dafne_core::SliceMask;
use dafne_roi::brush::intensity_window;
use dafne_roi::contour::Contour;
use dafne_roi::session_file::Autosave;
use dafne_roi::{Brush, BrushShape, Changed, Edit, Editor, Mode, RoiId, RoiSet, Stroke};

use crate::jobs::JobControl;
use crate::masks::{export_masks, import_masks, uniquely_named, ExportOptions, MaskFormat};
use crate::recovery::{find_autosave, write_autosave, Recovered};
use crate::sessions::{check_grid, new_session};
use crate::tools::slice_values;
use crate::{Dataset, Session, SessionError};

mod contours;
mod edits;
mod meta;
mod ml;
mod reorient;

pub use reorient::{PlaneOrientation, Reorientation};

pub use contours::ContourOp;
pub use dafne_roi::{BoolOp, Output};
pub use edits::{Morphology, MAX_RADIUS_PX};

/// What the UI needs to lay out a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetInfo {
    pub rows: usize,
    pub cols: usize,
    pub slices: usize,
    /// (column, row, slice) spacing in mm.
    pub spacing_mm: [f64; 3],
    /// The initial display window (low, high): 0 to the 90th percentile, as the original.
    pub window: [f32; 2],
    pub description: String,
    /// Voxel (column, row, slice) to patient LPS mm, row-major 4 x 4: the status line's
    /// position.
    pub affine_lps: [[f64; 4]; 4],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoiInfo {
    pub id: RoiId,
    pub name: String,
    pub voxels: usize,
}

/// One brush gesture, press to release.
#[derive(Clone, Debug, PartialEq)]
pub struct PaintStroke {
    pub roi: RoiId,
    pub slice: usize,
    pub shape: BrushShape,
    pub size_px: u32,
    /// Erase instead of paint.
    pub erase: bool,
    /// Erasing removes the pixels from every ROI of the slice ("Erase from all ROIs").
    pub erase_all: bool,
    /// Pointer positions `[x = column, y = row]` in pixels, in order.
    pub points: Vec<[f64; 2]>,
    /// Intensity-aware painting: only pixels within ± this fraction of the intensity under the
    /// first point (the original's default slider is 0.5).
    pub intensity_tolerance: Option<f64>,
}

#[derive(Debug)]
pub struct Workspace {
    dataset: Dataset,
    editor: Editor,
    /// Model per slice and restrict-area box per slice (the session's metadata; the editor
    /// holds the ROIs).
    classifications: BTreeMap<usize, String>,
    restrict_boxes: BTreeMap<usize, [usize; 4]>,
    /// The initial display window, computed once when the dataset is opened.
    window: [f32; 2],
    autosave: Autosave,
    app_dir: Option<PathBuf>,
    /// Counts every applied edit, undo and redo: what the autosave compares.
    changes: usize,
    /// `changes` when the user last saved the ROIs (a session file or a mask export).
    saved_changes: usize,
    /// An autosave found when the dataset was opened, offered to the user.
    recoverable: Option<Recovered>,
    /// AutoSegment / Improve model state (slices already used for training).
    ml: ml::MlState,
}

impl Workspace {
    /// Opens a dataset with an empty session; an autosave of it, if any, is kept for
    /// [`Workspace::recoverable`]. Warnings say what the user should know.
    pub fn open(
        path: &Path,
        series: Option<usize>,
        app_dir: Option<&Path>,
    ) -> Result<(Workspace, Vec<String>), SessionError> {
        Workspace::open_with(path, series, app_dir, &JobControl::silent())
    }

    /// [`Workspace::open`] as a long job (progress, cancel). It builds a new workspace and
    /// touches no other, so a cancelled open leaves the app's current one as it was.
    pub fn open_with(
        path: &Path,
        series: Option<usize>,
        app_dir: Option<&Path>,
        job: &JobControl,
    ) -> Result<(Workspace, Vec<String>), SessionError> {
        let dataset = Dataset::open_with(path, series, job)?;
        let mut warnings = dataset.warnings.clone();
        let recovery = find_autosave(&dataset, app_dir);
        warnings.extend(recovery.warnings);
        let empty = new_session(&dataset);
        let workspace = Workspace {
            editor: Editor::new(empty.rois),
            window: initial_window(&dataset),
            dataset,
            classifications: empty.classifications,
            restrict_boxes: empty.restrict_boxes,
            autosave: Autosave::new(dafne_roi::session_file::DEFAULT_AUTOSAVE, Instant::now()),
            app_dir: app_dir.map(Path::to_path_buf),
            changes: 0,
            saved_changes: 0,
            recoverable: recovery.found,
            ml: ml::MlState::default(),
        };
        Ok((workspace, warnings))
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    pub fn rois(&self) -> &RoiSet {
        self.editor.rois()
    }

    pub fn info(&self) -> DatasetInfo {
        let (rows, cols, slices) = self.dataset.mask_dims();
        let v = &self.dataset.volume;
        DatasetInfo {
            rows,
            cols,
            slices,
            spacing_mm: v.geometry.spacing_mm(),
            window: self.window,
            description: v.info.description.clone().unwrap_or_default(),
            affine_lps: v.geometry.affine_lps,
        }
    }

    /// The real values of a slice, row-major, as little-endian f32 bytes.
    pub fn slice_f32_le(&self, slice: usize) -> Result<Vec<u8>, SessionError> {
        let values = slice_values(&self.dataset, slice)?;
        Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    pub fn roi_list(&self) -> Vec<RoiInfo> {
        self.rois()
            .rois()
            .iter()
            .map(|r| RoiInfo {
                id: r.id,
                name: r.name.clone(),
                voxels: r.masks.values().map(SliceMask::count).sum(),
            })
            .collect()
    }

    /// Applies one gesture as one undo step.
    pub fn apply(&mut self, edit: Edit) -> Result<(Changed, Option<RoiId>), SessionError> {
        let out = self.editor.apply(edit)?;
        self.changes += 1;
        Ok(out)
    }

    pub fn add_roi(&mut self, name: &str) -> Result<RoiId, SessionError> {
        let (_, id) = self.apply(Edit::AddRoi {
            name: name.to_string(),
        })?;
        id.ok_or_else(|| SessionError::InvalidInput("no ROI was added".into()))
    }

    /// One brush gesture as one undo step.
    pub fn paint(&mut self, p: PaintStroke) -> Result<Changed, SessionError> {
        let (rows, cols, _) = self.dataset.mask_dims();
        let window = match (p.intensity_tolerance, p.points.first()) {
            (Some(t), Some(&[x, y])) => {
                let values = slice_values(&self.dataset, p.slice)?;
                intensity_window(&values, rows, cols, x, y, t)
            }
            _ => None,
        };
        let brush = Brush::new(p.shape, p.size_px);
        let mut stroke = Stroke::new(brush, rows, cols, window)
            .ok_or_else(|| SessionError::InvalidInput("slice too large for a mask".into()))?;
        for &[x, y] in &p.points {
            stroke.dab(x, y);
        }
        let patch = stroke.into_patch();
        let edit = match (p.erase, p.erase_all) {
            (true, true) => Edit::EraseAll {
                slice: p.slice,
                patch,
            },
            (erase, _) => Edit::Mask {
                roi: p.roi,
                slice: p.slice,
                patch,
                mode: if erase { Mode::Remove } else { Mode::Add },
            },
        };
        Ok(self.apply(edit)?.0)
    }

    /// Replaces the sub-ROIs of a slice (knots `[x, y]`); the mask becomes their XOR fill.
    pub fn set_contours(
        &mut self,
        roi: RoiId,
        slice: usize,
        contours: Vec<Vec<[f64; 2]>>,
    ) -> Result<Changed, SessionError> {
        let contours = contours.into_iter().map(Contour::new).collect();
        self.replace_contours(roi, slice, contours)
    }

    /// A ROI's mask on a slice, row-major, 1 where set.
    pub fn mask_u8(&self, roi: RoiId, slice: usize) -> Result<Vec<u8>, SessionError> {
        Ok(self.mask(roi, slice)?.to_u8())
    }

    /// Per pixel of a slice, the 1-based position of the last ROI covering it (0: none), as
    /// little-endian u16: everything the Image Window needs to draw all ROIs at once.
    pub fn labels_u16_le(&self, slice: usize) -> Result<Vec<u8>, SessionError> {
        let (rows, cols, slices) = self.dataset.mask_dims();
        check_slice(slice, slices)?;
        let mut labels = vec![0u16; rows * cols];
        for (index, roi) in self.rois().rois().iter().enumerate() {
            let Some(mask) = roi.masks.get(&slice) else {
                continue;
            };
            let label = u16::try_from(index + 1).unwrap_or(u16::MAX);
            for (start, len) in mask.runs() {
                let (start, len) = (start as usize, len as usize);
                labels[start..start + len].fill(label);
            }
        }
        Ok(labels.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    pub fn undo(&mut self) -> Option<Changed> {
        let changed = self.editor.undo()?;
        self.changes += 1;
        Some(changed)
    }

    pub fn redo(&mut self) -> Option<Changed> {
        let changed = self.editor.redo()?;
        self.changes += 1;
        Some(changed)
    }

    /// The whole session as it would be saved.
    pub fn session(&self) -> Session {
        Session {
            rois: self.rois().clone(),
            classifications: self.classifications.clone(),
            restrict_boxes: self.restrict_boxes.clone(),
            dataset_id: Some(self.dataset.id()),
        }
    }

    pub fn save(&mut self, path: &Path) -> Result<(), SessionError> {
        crate::sessions::save_session(path, &self.session())?;
        self.mark_saved();
        Ok(())
    }

    /// Whether closing now would lose edits the user has not saved or exported.
    pub fn has_unsaved_changes(&self) -> bool {
        self.changes != self.saved_changes
    }

    /// Records that the user's work is safe on disk (after a mask export, say).
    pub fn mark_saved(&mut self) {
        self.saved_changes = self.changes;
    }

    /// Replaces the ROIs and metadata with `session` (opening a session file, accepting a
    /// recovered autosave) as one step that undo can take back.
    pub fn load_session(&mut self, session: Session) -> Result<(), SessionError> {
        check_grid(&session, &self.dataset, Path::new("session"))?;
        // Deleting every ROI and adding the loaded ones would make many steps; a fresh editor
        // is what users expect after opening a file (the original also starts a new history).
        self.editor = Editor::new(session.rois);
        self.classifications = session.classifications;
        self.restrict_boxes = session.restrict_boxes;
        self.changes += 1;
        Ok(())
    }

    /// The autosave found when the dataset was opened, if it has not been taken yet.
    pub fn recoverable(&self) -> Option<&Recovered> {
        self.recoverable.as_ref()
    }

    /// Accepts the offered autosave.
    pub fn recover(&mut self) -> Result<bool, SessionError> {
        match self.recoverable.take() {
            Some(found) => {
                self.load_session(found.session)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub fn export_masks(
        &self,
        format: MaskFormat,
        out: &Path,
        options: &ExportOptions,
    ) -> Result<Vec<String>, SessionError> {
        export_masks(self.rois(), &self.dataset, format, out, options)
    }

    /// Imports masks as new ROIs, all in one undo step (names already used get a suffix).
    pub fn import_masks(&mut self, path: &Path) -> Result<(Vec<String>, Changed), SessionError> {
        let (masks, mut warnings) = import_masks(path, &self.dataset)?;
        let (masks, renamed) = uniquely_named(self.rois(), masks);
        warnings.extend(renamed);
        let inserts = masks
            .into_iter()
            .map(|roi| Edit::InsertRoi {
                name: roi.name,
                masks: roi.slices,
            })
            .collect();
        let (changed, _) = self.apply(Edit::Batch(inserts))?;
        Ok((warnings, changed))
    }

    /// Writes the autosave when the interval has passed and something changed since the last
    /// one. Returns where it was written.
    pub fn autosave_if_due(&mut self) -> Result<Option<PathBuf>, SessionError> {
        let now = Instant::now();
        if !self.autosave.due(now, self.changes) || self.rois().rois().is_empty() {
            return Ok(None);
        }
        let path = write_autosave(&self.dataset, &self.session(), self.app_dir.as_deref())?;
        self.autosave.saved(now, self.changes);
        Ok(Some(path))
    }

    /// Sets the autosave interval (the original's default is 30 s).
    pub fn set_autosave_interval(&mut self, interval: std::time::Duration) {
        self.autosave = Autosave::new(interval, Instant::now());
    }
}

fn check_slice(slice: usize, slices: usize) -> Result<(), SessionError> {
    if slice >= slices {
        return Err(SessionError::InvalidInput(format!(
            "slice {slice} is outside the dataset ({slices} slices)"
        )));
    }
    Ok(())
}

/// (0, 90th percentile) of the real values, from at most ~1M evenly spaced voxels.
fn initial_window(dataset: &Dataset) -> [f32; 2] {
    let v = &dataset.volume;
    let total = v.voxel_count();
    let step = (total / (1 << 20)).max(1);
    let [d0, d1, d2, _] = v.dims();
    let mut sample: Vec<f64> = (0..total)
        .step_by(step)
        .filter_map(|i| {
            let (col, rest) = (i % d0, i / d0);
            let (row, rest) = (rest % d1, rest / d1);
            let (slice, frame) = (rest % d2.max(1), rest / d2.max(1));
            v.real_value([col, row, slice, frame])
        })
        .filter(|x| x.is_finite())
        .collect();
    if sample.is_empty() {
        return [0.0, 1.0];
    }
    let k = ((sample.len() - 1) as f64 * 0.9).round() as usize;
    let (_, p90, _) = sample.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    let high = (*p90 as f32).max(f32::MIN_POSITIVE);
    [0.0, high]
}
