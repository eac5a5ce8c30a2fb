//! Slices reach a model in the orientation it was trained in. The original's models were
//! trained on axial slices in DICOM's display convention: rows run anterior → posterior and
//! columns run from the patient's right to left. A file may store the same slice transposed or
//! flipped (NIfTI from another tool, NumPy, a sagittal series reoriented to axial), so the
//! in-plane permutation and flips are read from the volume's LPS affine, applied to the image
//! on the way in, and undone on the masks on the way out.

use dafne_core::{Geometry, GeometrySource};

use crate::SessionError;

/// How the stored slice (row = voxel axis 1, column = voxel axis 0) maps to the model's
/// frame. The transform is its own description: model pixel `(mr, mc)` reads stored pixel
/// [`InPlane::stored_index`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InPlane {
    /// Model rows are stored columns (and model columns stored rows).
    pub transpose: bool,
    /// Model rows run opposite to the stored axis they come from.
    pub flip_rows: bool,
    /// Model columns run opposite to the stored axis they come from.
    pub flip_cols: bool,
}

/// The plane of a slice, named for messages.
fn plane_name(normal_world: usize) -> &'static str {
    match normal_world {
        0 => "sagittal",
        1 => "coronal",
        _ => "axial",
    }
}

fn dominant(v: [f64; 3]) -> usize {
    let mut best = 0;
    for k in 1..3 {
        if v[k].abs() > v[best].abs() {
            best = k;
        }
    }
    best
}

impl InPlane {
    pub const IDENTITY: InPlane = InPlane {
        transpose: false,
        flip_rows: false,
        flip_cols: false,
    };

    /// The transform bringing slices of a volume with `geometry` to the axial display
    /// convention. Data without geometry is taken as already in that convention; a slice
    /// plane that is not axial is an error (the user can reorient the data first).
    pub fn to_axial_display(geometry: &Geometry) -> Result<InPlane, SessionError> {
        if geometry.source == GeometrySource::Missing {
            return Ok(InPlane::IDENTITY);
        }
        let d_col = geometry.direction(0);
        let d_row = geometry.direction(1);
        let (w_col, w_row) = (dominant(d_col), dominant(d_row));
        let normal = 3 - w_col.min(2) - w_row.min(2);
        if w_col == w_row || w_col == 2 || w_row == 2 {
            let plane = if w_col == w_row {
                "oblique"
            } else {
                plane_name(normal)
            };
            return Err(SessionError::InvalidInput(format!(
                "the slices are {plane}, but the model segments axial slices: \
                 use File → Reorient data → Axial first"
            )));
        }
        // Model columns must run along +x (LPS: towards the patient's left), model rows
        // along +y (towards posterior).
        Ok(if w_col == 0 {
            InPlane {
                transpose: false,
                flip_cols: d_col[0] < 0.0,
                flip_rows: d_row[1] < 0.0,
            }
        } else {
            InPlane {
                transpose: true,
                flip_cols: d_row[0] < 0.0,
                flip_rows: d_col[1] < 0.0,
            }
        })
    }

    /// (rows, cols) in the model's frame of a stored `rows x cols` slice.
    pub fn model_dims(&self, rows: usize, cols: usize) -> (usize, usize) {
        if self.transpose {
            (cols, rows)
        } else {
            (rows, cols)
        }
    }

    /// Spacing `[between rows, between columns]` in the model's frame.
    pub fn model_spacing(&self, spacing_mm: [f64; 2]) -> [f64; 2] {
        if self.transpose {
            [spacing_mm[1], spacing_mm[0]]
        } else {
            spacing_mm
        }
    }

    /// The stored (row-major) index that model pixel `(mr, mc)` reads, for a stored
    /// `rows x cols` slice.
    pub fn stored_index(&self, rows: usize, cols: usize, mr: usize, mc: usize) -> usize {
        let (m_rows, m_cols) = self.model_dims(rows, cols);
        let mr = if self.flip_rows { m_rows - 1 - mr } else { mr };
        let mc = if self.flip_cols { m_cols - 1 - mc } else { mc };
        let (r, c) = if self.transpose { (mc, mr) } else { (mr, mc) };
        r * cols + c
    }

    /// A stored `rows x cols` slice in the model's frame.
    pub fn to_model<T: Copy>(&self, stored: &[T], rows: usize, cols: usize) -> Vec<T> {
        let (m_rows, m_cols) = self.model_dims(rows, cols);
        let mut out = Vec::with_capacity(stored.len());
        for mr in 0..m_rows {
            for mc in 0..m_cols {
                out.push(stored[self.stored_index(rows, cols, mr, mc)]);
            }
        }
        out
    }

    /// A model-frame slice back on the stored `rows x cols` grid.
    pub fn from_model<T: Copy + Default>(&self, model: &[T], rows: usize, cols: usize) -> Vec<T> {
        let (m_rows, m_cols) = self.model_dims(rows, cols);
        let mut out = vec![T::default(); rows * cols];
        for mr in 0..m_rows {
            for mc in 0..m_cols {
                out[self.stored_index(rows, cols, mr, mc)] = model[mr * m_cols + mc];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use dafne_core::GeometrySource;

    fn geometry(col: [f64; 3], row: [f64; 3], normal: [f64; 3]) -> Geometry {
        let mut a = dafne_core::Geometry::from_spacing([1.0; 3], GeometrySource::NiftiSform);
        for r in 0..3 {
            a.affine_lps[r][0] = col[r];
            a.affine_lps[r][1] = row[r];
            a.affine_lps[r][2] = normal[r];
        }
        a
    }

    #[test]
    fn display_convention_is_the_identity_and_round_trips() {
        let g = geometry([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        assert_eq!(InPlane::to_axial_display(&g).unwrap(), InPlane::IDENTITY);
        // Columns towards the patient's right, rows towards anterior: both flipped.
        let g = geometry([-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]);
        let t = InPlane::to_axial_display(&g).unwrap();
        assert!(t.flip_cols && t.flip_rows && !t.transpose);
        // Stored columns run posterior, rows run left: a transposed slice.
        let g = geometry([0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]);
        let t = InPlane::to_axial_display(&g).unwrap();
        assert!(t.transpose && !t.flip_cols && !t.flip_rows);
        let stored: Vec<u16> = (0..12).collect();
        let model = t.to_model(&stored, 3, 4);
        assert_eq!(t.model_dims(3, 4), (4, 3));
        // Model (0, 1) is one column towards the patient's left: stored row 1, column 0.
        assert_eq!(model[1], stored[4]);
        assert_eq!(t.from_model(&model, 3, 4), stored);
        for transpose in [false, true] {
            for flip_rows in [false, true] {
                for flip_cols in [false, true] {
                    let t = InPlane {
                        transpose,
                        flip_rows,
                        flip_cols,
                    };
                    assert_eq!(t.from_model(&t.to_model(&stored, 3, 4), 3, 4), stored);
                }
            }
        }
    }

    #[test]
    fn missing_geometry_is_display_convention_and_other_planes_are_refused() {
        let mut g = geometry([0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]);
        g.source = GeometrySource::Missing;
        assert_eq!(InPlane::to_axial_display(&g).unwrap(), InPlane::IDENTITY);
        // Sagittal: columns posterior, rows inferior.
        let g = geometry([0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]);
        let e = InPlane::to_axial_display(&g).unwrap_err().to_string();
        assert!(e.contains("sagittal") && e.contains("Reorient"), "{e}");
        let g = geometry([1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]);
        let e = InPlane::to_axial_display(&g).unwrap_err().to_string();
        assert!(e.contains("coronal"), "{e}");
    }
}
