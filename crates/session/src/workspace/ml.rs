//! AutoSegment and Improve model on the open document: the plans read from it, the results
//! written back (AutoSegment as one undo step), and which slices were already used for
//! training in this session. The long runs in between are `crate::segmentation`'s and hold
//! no workspace.

use std::collections::BTreeSet;

use dafne_core::SliceMask;
use dafne_ml::Package;

use super::{check_slice, Workspace};
use crate::jobs::JobControl;
use crate::models::ModelStore;
use crate::segmentation::autosegment::{
    self, crop, edit_for, slice_range, AutosegmentMasks, AutosegmentOptions, AutosegmentPlan,
    AutosegmentReport, PlannedSlice,
};
use crate::segmentation::improve::{self, ImproveOutcome, ImprovePlan, PlannedCorrection};
use crate::segmentation::load_store_package;
use crate::segmentation::{InPlane, ModelSource, NO_CLASSIFICATION};
use crate::tools::slice_values;
use crate::SessionError;
use dafne_roi::Changed;

/// The ML state of a workspace.
#[derive(Debug, Default)]
pub(super) struct MlState {
    /// Slices whose ROIs already trained a model in this session (the original's
    /// `slicesUsedForTraining`).
    used_for_training: BTreeSet<usize>,
}

impl Workspace {
    fn stored_spacing(&self) -> [f64; 2] {
        let s = self.dataset.volume.geometry.spacing_mm();
        // [between rows (axis 1), between columns (axis 0)]
        [s[1], s[0]]
    }

    fn orientation(&self) -> Result<InPlane, String> {
        InPlane::to_axial_display(&self.dataset.volume.geometry).map_err(|e| e.to_string())
    }

    /// What AutoSegment of slices `start..=end` will read: each slice classed other than
    /// "None" with its crop (the restrict box when `options.restrict`).
    pub fn plan_autosegment(
        &self,
        start: usize,
        end: usize,
        options: AutosegmentOptions,
    ) -> Result<AutosegmentPlan, SessionError> {
        let (rows, cols, slices) = self.dataset.mask_dims();
        let (first, last) = slice_range(start, end, slices)?;
        let mut planned = Vec::new();
        let mut skipped = Vec::new();
        for slice in first..=last {
            let class = self
                .classification(slice)
                .filter(|c| !c.trim().is_empty() && *c != NO_CLASSIFICATION);
            let Some(class) = class else {
                skipped.push(slice);
                continue;
            };
            let values = slice_values(&self.dataset, slice)?;
            let b = match (options.restrict, self.restrict_box(slice)) {
                (true, Some(b)) => b,
                _ => [0, 0, rows, cols],
            };
            planned.push(PlannedSlice {
                slice,
                classification: class.to_string(),
                crop: b,
                values: crop(&values, cols, b),
            });
        }
        Ok(AutosegmentPlan {
            dataset_id: self.dataset.id(),
            rows,
            cols,
            spacing_mm: self.stored_spacing(),
            orientation: self.orientation(),
            options,
            slices: planned,
            skipped,
        })
    }

    /// Writes a finished run's masks as one undo step.
    pub fn apply_autosegment(
        &mut self,
        masks: &AutosegmentMasks,
    ) -> Result<(AutosegmentReport, Changed), SessionError> {
        if masks.dataset_id != self.dataset.id() {
            return Err(SessionError::InvalidInput(
                "the dataset changed while AutoSegment ran: its result was not applied".into(),
            ));
        }
        let (edit, report) = edit_for(self.rois(), masks);
        let changed = if report.segmented.is_empty() {
            Changed::default()
        } else {
            self.apply(edit)?.0
        };
        Ok((report, changed))
    }

    /// AutoSegment of slices `start..=end` in one call (the CLI, tests): plan, run, apply.
    /// A cancelled or failed run changes nothing.
    pub fn autosegment(
        &mut self,
        models: &mut dyn ModelSource,
        start: usize,
        end: usize,
        options: AutosegmentOptions,
        job: &JobControl,
    ) -> Result<(AutosegmentReport, Changed), SessionError> {
        let plan = self.plan_autosegment(start, end, options)?;
        let masks = autosegment::run(&plan, models, job)?;
        self.apply_autosegment(&masks)
    }

    /// What Improve model will train on: the segmented slices (all of them, or only those
    /// of `classification`) not used for training yet, grouped by classification.
    pub fn plan_improve(
        &self,
        classification: Option<&str>,
        min_slices: usize,
        split_lr: bool,
    ) -> Result<ImprovePlan, SessionError> {
        let (rows, cols, slices) = self.dataset.mask_dims();
        let mut by_slice = Vec::new();
        for slice in 0..slices {
            let Some(class) = self.classification(slice) else {
                continue;
            };
            if class == NO_CLASSIFICATION
                || classification.is_some_and(|c| c != class)
                || self.ml.used_for_training.contains(&slice)
            {
                continue;
            }
            let masks: Vec<(String, Vec<bool>)> = self
                .rois()
                .rois()
                .iter()
                .filter_map(|r| {
                    let m = r.masks.get(&slice).filter(|m| !m.is_empty())?;
                    Some((r.name.clone(), m.to_bools()))
                })
                .collect();
            if masks.is_empty() {
                continue;
            }
            let values = slice_values(&self.dataset, slice)?;
            by_slice.push((
                class.to_string(),
                PlannedCorrection {
                    slice,
                    values,
                    masks,
                },
            ));
        }
        let (groups, too_few) = improve::group(by_slice, min_slices.max(1));
        Ok(ImprovePlan {
            dataset_id: self.dataset.id(),
            rows,
            cols,
            spacing_mm: self.stored_spacing(),
            orientation: self.orientation(),
            groups,
            too_few,
            min_slices,
            split_lr,
        })
    }

    /// Records the slices a finished training used, so they are not used again.
    pub fn finish_improve(&mut self, dataset_id: &str, outcomes: &[ImproveOutcome]) {
        if dataset_id != self.dataset.id() {
            return;
        }
        for o in outcomes.iter().filter(|o| o.report.slices_trained > 0) {
            self.ml.used_for_training.extend(o.slices.iter().copied());
        }
    }

    /// Improve model in one call: plan, train each group (`load` gives a model's current
    /// package, `install` stores an accepted version), record the slices used.
    pub fn improve_model(
        &mut self,
        classification: Option<&str>,
        min_slices: usize,
        split_lr: bool,
        load: &mut dyn FnMut(&str) -> Result<Package, SessionError>,
        install: &mut dyn FnMut(&mut Package) -> Result<(), SessionError>,
        job: &JobControl,
    ) -> Result<Vec<ImproveOutcome>, SessionError> {
        let plan = self.plan_improve(classification, min_slices, split_lr)?;
        if let Some(why) = plan.nothing_to_do() {
            return Err(SessionError::InvalidInput(why));
        }
        let mut outcomes = improve::run(&plan, load, job)?;
        for o in &mut outcomes {
            if let Some(p) = o.package.as_mut() {
                install(p)?;
            }
        }
        self.finish_improve(&plan.dataset_id, &outcomes);
        Ok(outcomes)
    }

    /// [`Workspace::improve_model`] with the models of `store`: an accepted version is
    /// installed there as the newest.
    pub fn improve_model_in(
        &mut self,
        store: &ModelStore,
        classification: Option<&str>,
        min_slices: usize,
        split_lr: bool,
        job: &JobControl,
    ) -> Result<Vec<ImproveOutcome>, SessionError> {
        self.improve_model(
            classification,
            min_slices,
            split_lr,
            &mut |name| load_store_package(store, name),
            &mut |p| store.install(p).map(|_| ()),
            job,
        )
    }

    /// Whether `slice` already trained a model in this session.
    pub fn used_for_training(&self, slice: usize) -> Result<bool, SessionError> {
        check_slice(slice, self.dataset.mask_dims().2)?;
        Ok(self.ml.used_for_training.contains(&slice))
    }

    /// The mask of a ROI by name on a slice (empty when it has none): for reports and tests.
    pub fn mask_by_name(&self, name: &str, slice: usize) -> Option<SliceMask> {
        let roi = self.rois().by_name(name)?;
        let (rows, cols, _) = self.dataset.mask_dims();
        match roi.masks.get(&slice) {
            Some(m) => Some(m.clone()),
            None => SliceMask::new(rows, cols).ok(),
        }
    }
}
