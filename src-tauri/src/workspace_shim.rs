//! TEMPORARY stand-in for `dafne_session::workspace`, which the lead is writing on main: the
//! subset of its API the commands use, with the same signatures, so the shell and UI can be
//! built and driven end to end now. Delete this file and point `commands.rs` at
//! `dafne_session::workspace` once it is merged; nothing else changes.

use std::path::Path;

use dafne_roi::{Brush, Changed, Edit, Editor, Mode, RoiSet, SliceMask, Stroke};
use dafne_session::{Dataset, SessionError};

pub use dafne_roi::BrushShape;

#[derive(Clone, Debug)]
pub struct DatasetInfo {
    pub rows: usize,
    pub cols: usize,
    pub slices: usize,
    pub spacing_mm: [f64; 3],
    pub window: [f32; 2],
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct RoiInfo {
    pub id: u32,
    pub name: String,
    pub voxels: usize,
}

#[derive(Clone, Debug)]
pub struct PaintStroke {
    pub roi: u32,
    pub slice: usize,
    pub shape: BrushShape,
    pub size_px: u32,
    pub erase: bool,
    pub points: Vec<[f64; 2]>,
    pub intensity_tolerance: Option<f64>,
}

#[derive(Debug)]
pub struct Workspace {
    dataset: Dataset,
    editor: Editor,
    window: [f32; 2],
}

fn invalid(message: String) -> SessionError {
    SessionError::InvalidInput(message)
}

impl Workspace {
    pub fn open(
        path: &Path,
        series: Option<usize>,
        _app_dir: Option<&Path>,
    ) -> Result<(Workspace, Vec<String>), SessionError> {
        let dataset = Dataset::open(path, series)?;
        let (rows, cols, slices) = dataset.mask_dims();
        let mut values = dataset.volume.to_f32();
        values.retain(|v| v.is_finite());
        let p90 = if values.is_empty() {
            1.0
        } else {
            let k = (values.len() - 1) * 9 / 10;
            *values.select_nth_unstable_by(k, f32::total_cmp).1
        };
        let warnings = dataset.warnings.clone();
        let ws = Workspace {
            editor: Editor::new(RoiSet::new(rows, cols, slices)),
            dataset,
            window: [0.0, p90],
        };
        Ok((ws, warnings))
    }

    pub fn info(&self) -> DatasetInfo {
        let (rows, cols, slices) = self.dataset.mask_dims();
        let s = self.dataset.volume.geometry.spacing_mm();
        DatasetInfo {
            rows,
            cols,
            slices,
            spacing_mm: [s[0], s[1], s[2]],
            window: self.window,
            description: self.dataset.volume.info.description.clone().unwrap_or_default(),
        }
    }

    fn check_slice(&self, slice: usize) -> Result<(), SessionError> {
        let slices = self.editor.rois().slices();
        if slice >= slices {
            return Err(invalid(format!(
                "slice {slice} is outside the dataset ({slices} slices)"
            )));
        }
        Ok(())
    }

    pub fn slice_f32_le(&self, slice: usize) -> Result<Vec<u8>, SessionError> {
        self.check_slice(slice)?;
        let (rows, cols, _) = self.dataset.mask_dims();
        let mut out = Vec::with_capacity(rows * cols * 4);
        for r in 0..rows {
            for c in 0..cols {
                let v = self.dataset.volume.real_value([c, r, slice, 0]).unwrap_or(0.0) as f32;
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        Ok(out)
    }

    pub fn roi_list(&self) -> Vec<RoiInfo> {
        self.editor
            .rois()
            .rois()
            .iter()
            .map(|r| RoiInfo {
                id: r.id,
                name: r.name.clone(),
                voxels: r.masks.values().map(SliceMask::count).sum(),
            })
            .collect()
    }

    pub fn add_roi(&mut self, name: &str) -> Result<u32, SessionError> {
        let (_, id) = self
            .editor
            .apply(Edit::AddRoi { name: name.into() })
            .map_err(SessionError::Rois)?;
        id.ok_or_else(|| invalid("the new ROI got no id".into()))
    }

    pub fn paint(&mut self, p: PaintStroke) -> Result<Changed, SessionError> {
        self.check_slice(p.slice)?;
        let (rows, cols, _) = self.dataset.mask_dims();
        let brush = Brush::new(p.shape, p.size_px);
        let mut stroke = Stroke::new(brush, rows, cols, None)
            .ok_or_else(|| invalid("cannot make a stroke on this slice".into()))?;
        for [x, y] in &p.points {
            stroke.dab(*x, *y);
        }
        let mode = if p.erase { Mode::Remove } else { Mode::Add };
        let edit = Edit::Mask {
            roi: p.roi,
            slice: p.slice,
            patch: stroke.into_patch(),
            mode,
        };
        Ok(self.editor.apply(edit).map_err(SessionError::Rois)?.0)
    }

    pub fn mask_u8(&self, roi: u32, slice: usize) -> Result<Vec<u8>, SessionError> {
        self.check_slice(slice)?;
        let rois = self.editor.rois();
        let r = rois
            .get(roi)
            .ok_or(SessionError::Rois(dafne_roi::EditError::NoSuchRoi(roi)))?;
        Ok(match r.masks.get(&slice) {
            Some(m) => m.to_u8(),
            None => vec![0; rois.rows() * rois.cols()],
        })
    }

    pub fn labels_u16_le(&self, slice: usize) -> Result<Vec<u8>, SessionError> {
        self.check_slice(slice)?;
        let rois = self.editor.rois();
        let (rows, cols) = (rois.rows(), rois.cols());
        let mut labels = vec![0u16; rows * cols];
        for (i, roi) in rois.rois().iter().enumerate() {
            if let Some(m) = roi.masks.get(&slice) {
                for (p, on) in m.to_bools().into_iter().enumerate() {
                    if on {
                        labels[p] = (i + 1) as u16;
                    }
                }
            }
        }
        Ok(labels.iter().flat_map(|l| l.to_le_bytes()).collect())
    }

    pub fn undo(&mut self) -> Option<Changed> {
        self.editor.undo()
    }

    pub fn redo(&mut self) -> Option<Changed> {
        self.editor.redo()
    }
}
