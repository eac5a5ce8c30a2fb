//! Editing with undo/redo. Every gesture is one [`Edit`], applied by [`Editor::apply`] and
//! recorded as one undo step that stores only what changed: the XOR of the words of each slice
//! mask it touched (a brush stroke costs bytes in proportion to its area, not to the slice),
//! or the ROI a deletion removed. A new edit clears the redo list. The oldest steps are dropped
//! beyond `max_steps` or `max_bytes`.

use std::collections::{BTreeMap, VecDeque};

use crate::contour::{self, Contour};
use crate::roiset::{EditError, Roi, RoiId, RoiSet};
use crate::SliceMask;

/// How a patch combines with the mask it lands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// mask |= patch (paint)
    Add,
    /// mask &= !patch (erase)
    Remove,
    /// mask = patch
    Set,
}

/// One user gesture.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// A brush stroke, a pasted mask, a morphology result...: `patch` applied with `mode`.
    Mask {
        roi: RoiId,
        slice: usize,
        patch: SliceMask,
        mode: Mode,
    },
    /// A contour edit (add/move/remove knot, translate, rotate, snap, simplify, add or delete
    /// a sub-ROI): the slice's new sub-ROIs; the mask becomes their XOR fill.
    Contours {
        roi: RoiId,
        slice: usize,
        contours: Vec<Contour>,
    },
    /// Keep only the pixels of `patch` in each of `rois` on `slice` (mask &= patch): Auto
    /// Threshold on the current ROI or on every ROI of the slice, as one step.
    KeepOnly {
        rois: Vec<RoiId>,
        slice: usize,
        patch: SliceMask,
    },
    /// "Erase from all ROIs": `patch` removed from every ROI on the slice.
    EraseAll {
        slice: usize,
        patch: SliceMask,
    },
    AddRoi {
        name: String,
    },
    /// A new ROI with masks (an import): one step.
    InsertRoi {
        name: String,
        masks: BTreeMap<usize, SliceMask>,
    },
    /// Several edits as one undo step, all or nothing (e.g. importing several ROIs).
    Batch(Vec<Edit>),
    DeleteRoi {
        roi: RoiId,
    },
    RenameRoi {
        roi: RoiId,
        name: String,
    },
    /// A deep copy of `roi` under a new name.
    CopyRoi {
        roi: RoiId,
        name: String,
    },
    /// `rois[0] op rois[1] op ...`, left to right, on every slice (two ROIs: Combine; more:
    /// Multiple combine), written into an existing ROI or a new one.
    Combine {
        rois: Vec<RoiId>,
        op: BoolOp,
        output: Output,
    },
    /// "Remove overlap": `roi` subtracted from every other ROI on `slice`.
    RemoveOverlap {
        roi: RoiId,
        slice: usize,
    },
}

/// The boolean operations of ROI > Combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolOp {
    /// A | B
    Union,
    /// A & !B
    Subtraction,
    /// A & B
    Intersection,
    /// A ^ B
    Exclusion,
}

impl BoolOp {
    fn word(self, a: u64, b: u64) -> u64 {
        match self {
            BoolOp::Union => a | b,
            BoolOp::Subtraction => a & !b,
            BoolOp::Intersection => a & b,
            BoolOp::Exclusion => a ^ b,
        }
    }
}

/// Where a combination goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Replace the masks of this ROI (it may be one of the inputs).
    Existing(RoiId),
    /// A new ROI with this name.
    New(String),
}

/// What an edit, undo or redo changed, for the UI to redraw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// (ROI, slice) pairs whose pixels changed.
    pub masks: Vec<(RoiId, usize)>,
    /// ROIs added, removed or renamed.
    pub rois: Vec<RoiId>,
}

#[derive(Clone, Debug)]
enum Change {
    Pixels {
        roi: RoiId,
        slice: usize,
        xor: Vec<(u32, u64)>,
    },
    Inserted {
        at: usize,
        id: RoiId,
    },
    Removed {
        at: usize,
        roi: Roi,
    },
    Renamed {
        id: RoiId,
        name: String,
    },
    /// The stored contours of a slice before the change (`None`: none in sync).
    Contours {
        roi: RoiId,
        slice: usize,
        old: Option<Vec<Contour>>,
    },
}

fn contours_bytes(contours: &[Contour]) -> usize {
    contours
        .iter()
        .map(|c| std::mem::size_of::<Contour>() + c.knots.len() * 16)
        .sum()
}

impl Change {
    fn bytes(&self) -> usize {
        let base = std::mem::size_of::<Change>();
        match self {
            Change::Pixels { xor, .. } => base + xor.len() * std::mem::size_of::<(u32, u64)>(),
            Change::Removed { roi, .. } => {
                base + roi
                    .masks
                    .values()
                    .map(|m| m.rows() * m.cols().div_ceil(64) * 8)
                    .sum::<usize>()
                    + roi
                        .contours
                        .values()
                        .map(|c| contours_bytes(c))
                        .sum::<usize>()
            }
            Change::Contours { old, .. } => base + old.as_deref().map_or(0, contours_bytes),
            Change::Renamed { name, .. } => base + name.len(),
            Change::Inserted { .. } => base,
        }
    }
}

/// One undo step: the changes of one gesture, in the order they were made.
#[derive(Clone, Debug, Default)]
struct Step {
    changes: Vec<Change>,
}

impl Step {
    fn bytes(&self) -> usize {
        self.changes.iter().map(Change::bytes).sum()
    }
}

/// A ROI set with its edit history.
#[derive(Debug)]
pub struct Editor {
    rois: RoiSet,
    undo: VecDeque<Step>,
    redo: Vec<Step>,
    bytes: usize,
    max_steps: usize,
    max_bytes: usize,
}

impl Editor {
    /// At least 200 undo steps, at most 64 MiB of history.
    pub const DEFAULT_MAX_STEPS: usize = 200;
    pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

    pub fn new(rois: RoiSet) -> Self {
        Self::with_limits(rois, Self::DEFAULT_MAX_STEPS, Self::DEFAULT_MAX_BYTES)
    }

    pub fn with_limits(rois: RoiSet, max_steps: usize, max_bytes: usize) -> Self {
        Editor {
            rois,
            undo: VecDeque::new(),
            redo: Vec::new(),
            bytes: 0,
            max_steps,
            max_bytes,
        }
    }

    pub fn rois(&self) -> &RoiSet {
        &self.rois
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo_steps(&self) -> usize {
        self.undo.len()
    }

    /// Memory held by undo and redo steps.
    pub fn history_bytes(&self) -> usize {
        self.bytes
    }

    /// Applies one gesture and records it as one undo step (none when nothing changed).
    /// On error nothing has changed.
    pub fn apply(&mut self, edit: Edit) -> Result<(Changed, Option<RoiId>), EditError> {
        let (step, new_id) = self.perform(edit)?;
        let changed = changed_by(&step);
        if !step.changes.is_empty() {
            self.bytes = self
                .bytes
                .saturating_sub(self.redo.iter().map(Step::bytes).sum::<usize>());
            self.redo.clear();
            self.bytes += step.bytes();
            self.undo.push_back(step);
            self.trim();
        }
        Ok((changed, new_id))
    }

    pub fn undo(&mut self) -> Option<Changed> {
        let step = self.undo.pop_back()?;
        let inverse = self.revert(step);
        let changed = changed_by(&inverse);
        self.redo.push(inverse);
        Some(changed)
    }

    pub fn redo(&mut self) -> Option<Changed> {
        let step = self.redo.pop()?;
        let inverse = self.revert(step);
        let changed = changed_by(&inverse);
        self.undo.push_back(inverse);
        self.trim();
        Some(changed)
    }

    fn trim(&mut self) {
        while self.undo.len() > self.max_steps
            || (self.bytes > self.max_bytes && !self.undo.is_empty())
        {
            if let Some(old) = self.undo.pop_front() {
                self.bytes = self.bytes.saturating_sub(old.bytes());
            }
        }
    }

    fn perform(&mut self, edit: Edit) -> Result<(Step, Option<RoiId>), EditError> {
        let mut step = Step::default();
        let mut new_id = None;
        match edit {
            Edit::Batch(edits) => {
                for edit in edits {
                    match self.perform(edit) {
                        Ok((part, id)) => {
                            step.changes.extend(part.changes);
                            new_id = id.or(new_id);
                        }
                        Err(e) => {
                            // All or nothing: take back what the earlier edits did (the
                            // step was never counted in the history's bytes).
                            let bytes = self.bytes;
                            self.revert(step);
                            self.bytes = bytes;
                            return Err(e);
                        }
                    }
                }
            }
            Edit::InsertRoi { name, masks } => {
                self.rois.check_name(&name)?;
                for (slice, mask) in &masks {
                    self.rois.check_slice(*slice)?;
                    self.rois.check_mask(mask)?;
                }
                new_id = Some(self.insert_new(&mut step, name, masks));
            }
            Edit::Mask {
                roi,
                slice,
                patch,
                mode,
            } => {
                self.rois.check_mask(&patch)?;
                match mode {
                    Mode::Add => self.set_slice(&mut step, roi, slice, &patch, |a, b| a | b)?,
                    Mode::Remove => self.set_slice(&mut step, roi, slice, &patch, |a, b| a & !b)?,
                    Mode::Set => self.set_slice(&mut step, roi, slice, &patch, |_, b| b)?,
                }
            }
            Edit::Contours {
                roi,
                slice,
                contours,
            } => {
                let filled =
                    contour::contours_to_mask(&contours, self.rois.rows(), self.rois.cols())?;
                // Pixels first (this drops the old contours, recorded), then the new contours.
                self.set_slice(&mut step, roi, slice, &filled, |_, b| b)?;
                let old = self.rois.swap_contours(roi, slice, Some(contours));
                step.changes.push(Change::Contours { roi, slice, old });
            }
            Edit::KeepOnly { rois, slice, patch } => {
                self.rois.check_mask(&patch)?;
                self.rois.check_slice(slice)?;
                for roi in &rois {
                    self.rois.position(*roi)?;
                }
                for roi in rois {
                    if self
                        .rois
                        .get(roi)
                        .is_some_and(|r| r.masks.contains_key(&slice))
                    {
                        self.set_slice(&mut step, roi, slice, &patch, |a, b| a & b)?;
                    }
                }
            }
            Edit::EraseAll { slice, patch } => {
                self.rois.check_mask(&patch)?;
                self.rois.check_slice(slice)?;
                let ids: Vec<RoiId> = self
                    .rois
                    .rois()
                    .iter()
                    .filter(|r| r.masks.contains_key(&slice))
                    .map(|r| r.id)
                    .collect();
                for roi in ids {
                    self.set_slice(&mut step, roi, slice, &patch, |a, b| a & !b)?;
                }
            }
            Edit::AddRoi { name } => {
                self.rois.check_name(&name)?;
                let id = self.rois.new_id();
                let at = self.rois.rois().len();
                self.rois.insert_roi(at, Roi::new(id, name));
                step.changes.push(Change::Inserted { at, id });
                new_id = Some(id);
            }
            Edit::DeleteRoi { roi } => {
                let at = self.rois.position(roi)?;
                let removed = self.rois.remove_roi(at);
                step.changes.push(Change::Removed { at, roi: removed });
            }
            Edit::CopyRoi { roi, name } => {
                self.rois.check_name(&name)?;
                let source = self.rois.get(roi).ok_or(EditError::NoSuchRoi(roi))?;
                let (masks, contours) = (source.masks.clone(), source.contours.clone());
                let id = self.insert_new(&mut step, name, masks);
                if let Ok(at) = self.rois.position(id) {
                    self.rois.roi_mut(at).contours = contours;
                }
                new_id = Some(id);
            }
            Edit::Combine { rois, op, output } => {
                let result = self.combined(&rois, op)?;
                match output {
                    Output::New(name) => {
                        self.rois.check_name(&name)?;
                        new_id = Some(self.insert_new(&mut step, name, result));
                    }
                    Output::Existing(target) => {
                        let old = &self
                            .rois
                            .get(target)
                            .ok_or(EditError::NoSuchRoi(target))?
                            .masks;
                        let mut slices: Vec<usize> =
                            old.keys().chain(result.keys()).copied().collect();
                        slices.sort_unstable();
                        slices.dedup();
                        for slice in slices {
                            let patch = match result.get(&slice) {
                                Some(m) => m.clone(),
                                None => SliceMask::new(self.rois.rows(), self.rois.cols())?,
                            };
                            self.set_slice(&mut step, target, slice, &patch, |_, b| b)?;
                        }
                    }
                }
            }
            Edit::RemoveOverlap { roi, slice } => {
                self.rois.check_slice(slice)?;
                let current = self
                    .rois
                    .get(roi)
                    .ok_or(EditError::NoSuchRoi(roi))?
                    .masks
                    .get(&slice)
                    .cloned();
                if let Some(current) = current {
                    let others: Vec<RoiId> = self
                        .rois
                        .rois()
                        .iter()
                        .filter(|r| r.id != roi && r.masks.contains_key(&slice))
                        .map(|r| r.id)
                        .collect();
                    for other in others {
                        self.set_slice(&mut step, other, slice, &current, |a, b| a & !b)?;
                    }
                }
            }
            Edit::RenameRoi { roi, name } => {
                let at = self.rois.position(roi)?;
                if self.rois.rois()[at].name != name {
                    self.rois.check_name(&name)?;
                    let old = self.rois.rename_roi(at, name);
                    step.changes.push(Change::Renamed { id: roi, name: old });
                }
            }
        }
        Ok((step, new_id))
    }

    /// Combines `patch` into one slice mask word by word and records what changed.
    fn set_slice(
        &mut self,
        step: &mut Step,
        roi: RoiId,
        slice: usize,
        patch: &SliceMask,
        op: impl Fn(u64, u64) -> u64,
    ) -> Result<(), EditError> {
        let mask = self.rois.mask_mut(roi, slice)?;
        let before = mask.clone();
        mask.combine(patch, op);
        let xor = before.xor_words(mask);
        if !xor.is_empty() {
            step.changes.push(Change::Pixels { roi, slice, xor });
            // The contours no longer describe the pixels; they are traced again on demand.
            if let Some(old) = self.rois.swap_contours(roi, slice, None) {
                step.changes.push(Change::Contours {
                    roi,
                    slice,
                    old: Some(old),
                });
            }
        }
        Ok(())
    }

    /// A new ROI at the end of the list, recorded so that undo removes it.
    fn insert_new(
        &mut self,
        step: &mut Step,
        name: String,
        mut masks: BTreeMap<usize, SliceMask>,
    ) -> RoiId {
        masks.retain(|_, m| !m.is_empty());
        let id = self.rois.new_id();
        let at = self.rois.rois().len();
        let mut roi = Roi::new(id, name);
        roi.masks = masks;
        self.rois.insert_roi(at, roi);
        step.changes.push(Change::Inserted { at, id });
        id
    }

    /// `rois[0] op rois[1] op ...` for every slice where any input has a mask.
    fn combined(
        &self,
        rois: &[RoiId],
        op: BoolOp,
    ) -> Result<BTreeMap<usize, SliceMask>, EditError> {
        let inputs: Vec<&Roi> = rois
            .iter()
            .map(|id| self.rois.get(*id).ok_or(EditError::NoSuchRoi(*id)))
            .collect::<Result<_, _>>()?;
        if inputs.len() < 2 {
            return Err(EditError::TooFewRois(inputs.len()));
        }
        let empty = SliceMask::new(self.rois.rows(), self.rois.cols())?;
        let mut slices: Vec<usize> = inputs
            .iter()
            .flat_map(|r| r.masks.keys().copied())
            .collect();
        slices.sort_unstable();
        slices.dedup();
        let mut out = BTreeMap::new();
        for slice in slices {
            let mut acc = inputs[0].masks.get(&slice).unwrap_or(&empty).clone();
            for roi in &inputs[1..] {
                acc.combine(roi.masks.get(&slice).unwrap_or(&empty), |a, b| {
                    op.word(a, b)
                });
            }
            if !acc.is_empty() {
                out.insert(slice, acc);
            }
        }
        Ok(out)
    }

    /// Undoes `step` and returns the step that redoes it.
    fn revert(&mut self, step: Step) -> Step {
        self.bytes = self.bytes.saturating_sub(step.bytes());
        let mut inverse = Step::default();
        for change in step.changes.into_iter().rev() {
            let back = match change {
                Change::Pixels { roi, slice, xor } => {
                    if let Ok(mask) = self.rois.mask_mut(roi, slice) {
                        mask.toggle_words(&xor);
                    }
                    Change::Pixels { roi, slice, xor }
                }
                Change::Inserted { at, id } => {
                    let at = self.rois.position(id).unwrap_or(at);
                    Change::Removed {
                        at,
                        roi: self.rois.remove_roi(at),
                    }
                }
                Change::Removed { at, roi } => {
                    let id = roi.id;
                    self.rois.insert_roi(at, roi);
                    Change::Inserted { at, id }
                }
                Change::Contours { roi, slice, old } => {
                    let now = self.rois.swap_contours(roi, slice, old);
                    Change::Contours {
                        roi,
                        slice,
                        old: now,
                    }
                }
                Change::Renamed { id, name } => {
                    let old = match self.rois.position(id) {
                        Ok(at) => self.rois.rename_roi(at, name),
                        Err(_) => name,
                    };
                    Change::Renamed { id, name: old }
                }
            };
            inverse.changes.push(back);
        }
        self.bytes += inverse.bytes();
        inverse
    }
}

fn changed_by(step: &Step) -> Changed {
    let mut out = Changed::default();
    for c in &step.changes {
        match c {
            Change::Pixels { roi, slice, .. } | Change::Contours { roi, slice, .. } => {
                out.masks.push((*roi, *slice))
            }
            Change::Inserted { id, .. } | Change::Renamed { id, .. } => out.rois.push(*id),
            Change::Removed { roi, .. } => out.rois.push(roi.id),
        }
    }
    out.masks.sort_unstable();
    out.masks.dedup();
    out
}
