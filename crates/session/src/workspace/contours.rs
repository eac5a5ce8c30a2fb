//! Contour-mode editing (reference §1.6): a ROI's sub-ROIs on a slice (stored, or traced from
//! the mask on demand) and the knot edits of the Toolbox's contour tools. Every edit rewrites
//! the slice's sub-ROIs as one `Edit::Contours` (one undo step; the mask becomes their XOR
//! fill). The knot maths lives in `dafne_roi::contour`.

use dafne_roi::contour::{Contour, KNOT_RADIUS_PX};
use dafne_roi::{Changed, Edit, RoiId};

use super::Workspace;
use crate::tools::slice_values;
use crate::SessionError;

/// One contour-mode gesture on sub-ROI `sub` of a ROI's slice. Points are `[x, y]` =
/// `[column, row]` in pixels.
#[derive(Clone, Debug, PartialEq)]
pub enum ContourOp {
    /// Add/Move state click away from a knot: on the curve when within 2 px of it, else after
    /// the last knot. `sub` one past the last sub-ROI starts a new one.
    AddKnot { sub: usize, at: [f64; 2] },
    /// A knot dragged from `from` (the knot within 2 px of it) to `to`.
    MoveKnot {
        sub: usize,
        from: [f64; 2],
        to: [f64; 2],
    },
    /// Remove state click: the knot within 2 px of `at`, if any, goes.
    RemoveKnot { sub: usize, at: [f64; 2] },
    /// Translate state drag: every knot moved by `by`.
    Translate { sub: usize, by: [f64; 2] },
    /// Rotate state drag: every knot turned by `angle_rad` about the centre of mass.
    Rotate { sub: usize, angle_rad: f64 },
    /// Snap every knot to the strongest nearby edge of the image.
    Snap { sub: usize },
    /// Remove the knots that add nothing.
    Simplify { sub: usize },
    /// Delete the sub-ROI.
    DeleteSubRoi { sub: usize },
}

impl ContourOp {
    fn sub(&self) -> usize {
        match *self {
            ContourOp::AddKnot { sub, .. }
            | ContourOp::MoveKnot { sub, .. }
            | ContourOp::RemoveKnot { sub, .. }
            | ContourOp::Translate { sub, .. }
            | ContourOp::Rotate { sub, .. }
            | ContourOp::Snap { sub }
            | ContourOp::Simplify { sub }
            | ContourOp::DeleteSubRoi { sub } => sub,
        }
    }
}

impl Workspace {
    /// The sub-ROIs of `roi` on `slice`: the stored ones, or traced from the mask.
    pub fn contours(&self, roi: RoiId, slice: usize) -> Result<Vec<Contour>, SessionError> {
        Ok(self.rois().contours(roi, slice)?)
    }

    /// Applies one contour gesture as one undo step. Returns what changed (nothing when the
    /// gesture changed no knot, e.g. a remove click away from every knot).
    pub fn edit_contour(
        &mut self,
        roi: RoiId,
        slice: usize,
        op: ContourOp,
    ) -> Result<Changed, SessionError> {
        let mut contours = self.contours(roi, slice)?;
        let sub = op.sub();
        let adds = matches!(op, ContourOp::AddKnot { .. });
        if sub > contours.len() || (sub == contours.len() && !adds) {
            return Err(SessionError::InvalidInput(format!(
                "sub-ROI {sub} does not exist (the ROI has {} on slice {slice})",
                contours.len()
            )));
        }
        if sub == contours.len() {
            contours.push(Contour::default());
        }
        let before = contours.clone();
        let (rows, cols, _) = self.dataset().mask_dims();
        if let Some(p) = point_of(&op) {
            if !p.iter().all(|v| v.is_finite()) {
                return Err(SessionError::InvalidInput(
                    "a contour point is not a finite number".into(),
                ));
            }
        }
        let c = &mut contours[sub];
        match op {
            ContourOp::AddKnot { at, .. } => {
                c.add_knot(at);
            }
            ContourOp::MoveKnot { from, to, .. } => {
                if let Some(i) = c.find_knot(from, KNOT_RADIUS_PX) {
                    c.move_knot(i, to);
                }
            }
            ContourOp::RemoveKnot { at, .. } => {
                if let Some(i) = c.find_knot(at, KNOT_RADIUS_PX) {
                    c.remove_knot(i);
                }
            }
            ContourOp::Translate { by, .. } => c.translate(by),
            ContourOp::Rotate { angle_rad, .. } => {
                if !angle_rad.is_finite() {
                    return Err(SessionError::InvalidInput(
                        "the rotation angle is not a finite number".into(),
                    ));
                }
                c.rotate(angle_rad)
            }
            ContourOp::Snap { .. } => {
                let values = slice_values(self.dataset(), slice)?;
                c.snap_to_edges(&values, rows, cols)
                    .map_err(|e| SessionError::InvalidInput(format!("snap to edges: {e}")))?;
            }
            ContourOp::Simplify { .. } => *c = c.simplified(),
            ContourOp::DeleteSubRoi { .. } => {
                contours.remove(sub);
            }
        }
        if contours == before {
            return Ok(Changed::default());
        }
        self.replace_contours(roi, slice, contours)
    }

    /// The slice's sub-ROIs replaced by `contours` (the mask becomes their XOR fill), one undo step.
    pub(crate) fn replace_contours(
        &mut self,
        roi: RoiId,
        slice: usize,
        contours: Vec<Contour>,
    ) -> Result<Changed, SessionError> {
        Ok(self
            .apply(Edit::Contours {
                roi,
                slice,
                contours,
            })?
            .0)
    }
}

/// The point a gesture carries, to refuse NaN and infinities before they reach the maths.
fn point_of(op: &ContourOp) -> Option<[f64; 2]> {
    match *op {
        ContourOp::AddKnot { at, .. } | ContourOp::RemoveKnot { at, .. } => Some(at),
        ContourOp::MoveKnot { from, to, .. } => Some([from[0] + to[0], from[1] + to[1]]),
        ContourOp::Translate { by, .. } => Some(by),
        _ => None,
    }
}
