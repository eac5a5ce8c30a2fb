//! Improve model (reference §3.7): the slices the user segmented become training data for the
//! model their classification names. As the original: every slice with ROI voxels, classed
//! other than "None", not already used for training in this session, grouped by
//! classification; a group needs at least IL_MIN_SLICES slices. The training itself (with
//! the held-out guard the original lacks) is `dafne_ml`'s; a version it accepts is installed
//! by the caller (the app's model store, or a folder for the CLI).

use std::collections::BTreeMap;

use dafne_ml::Package;

use super::{
    ml_error, ml_improve, parse_classification, Correction, ImproveOptions, ImproveReport, InPlane,
    SliceImage,
};
use crate::jobs::JobControl;
use crate::SessionError;

/// One corrected slice on the stored grid.
#[derive(Clone, Debug)]
pub struct PlannedCorrection {
    pub slice: usize,
    pub values: Vec<f32>,
    /// Every ROI with voxels on the slice, row-major.
    pub masks: Vec<(String, Vec<bool>)>,
}

/// The slices of one classification.
#[derive(Clone, Debug)]
pub struct ImproveGroup {
    pub classification: String,
    /// The model's name (the classification's base name).
    pub model: String,
    pub corrections: Vec<PlannedCorrection>,
}

impl ImproveGroup {
    pub fn slices(&self) -> Vec<usize> {
        self.corrections.iter().map(|c| c.slice).collect()
    }
}

/// What Improve model reads from the workspace.
#[derive(Clone, Debug)]
pub struct ImprovePlan {
    pub dataset_id: String,
    pub rows: usize,
    pub cols: usize,
    pub spacing_mm: [f64; 2],
    pub orientation: Result<InPlane, String>,
    /// Groups with enough slices.
    pub groups: Vec<ImproveGroup>,
    /// Classifications with too few new slices, and how many they have.
    pub too_few: Vec<(String, usize)>,
    pub min_slices: usize,
    pub split_lr: bool,
}

/// The result of one group.
#[derive(Debug)]
pub struct ImproveOutcome {
    pub classification: String,
    pub model: String,
    pub slices: Vec<usize>,
    pub report: ImproveReport,
    /// The new version, when the guard accepted it (not installed yet).
    pub package: Option<Package>,
}

impl ImprovePlan {
    /// Why nothing can be trained, when nothing can.
    pub fn nothing_to_do(&self) -> Option<String> {
        if !self.groups.is_empty() {
            return None;
        }
        if self.too_few.is_empty() {
            return Some(
                "no segmented slices with a classification other than \"None\" that were not \
                 used for training already"
                    .into(),
            );
        }
        let counts: Vec<String> = self
            .too_few
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        Some(format!(
            "at least {} slices are required per classification (new segmented slices: {})",
            self.min_slices,
            counts.join(", ")
        ))
    }
}

/// Groups corrections by classification and keeps those with at least `min_slices`.
pub fn group(
    by_slice: Vec<(String, PlannedCorrection)>,
    min_slices: usize,
) -> (Vec<ImproveGroup>, Vec<(String, usize)>) {
    let mut groups: BTreeMap<String, Vec<PlannedCorrection>> = BTreeMap::new();
    for (class, c) in by_slice {
        groups.entry(class).or_default().push(c);
    }
    let mut ok = Vec::new();
    let mut too_few = Vec::new();
    for (classification, corrections) in groups {
        if corrections.len() < min_slices {
            too_few.push((classification, corrections.len()));
        } else {
            ok.push(ImproveGroup {
                model: parse_classification(&classification).0,
                classification,
                corrections,
            });
        }
    }
    (ok, too_few)
}

/// Trains each group's model on its slices. `load` gives the current package of a model
/// name. Cancel is checked by the training between batches.
pub fn run(
    plan: &ImprovePlan,
    load: &mut dyn FnMut(&str) -> Result<Package, SessionError>,
    job: &JobControl,
) -> Result<Vec<ImproveOutcome>, SessionError> {
    let mut out = Vec::new();
    for (k, g) in plan.groups.iter().enumerate() {
        if job.is_cancelled() {
            return Err(SessionError::Cancelled);
        }
        let package = load(&g.model)?;
        let orientation = &package.manifest.preprocessing.orientation;
        let transform = if orientation.trim().is_empty() {
            InPlane::IDENTITY
        } else {
            plan.orientation
                .clone()
                .map_err(SessionError::InvalidInput)?
        };
        let (rows, cols) = (plan.rows, plan.cols);
        let (m_rows, m_cols) = transform.model_dims(rows, cols);
        let corrections: Vec<Correction> = g
            .corrections
            .iter()
            .map(|c| Correction {
                image: SliceImage {
                    values: transform.to_model(&c.values, rows, cols),
                    rows: m_rows,
                    cols: m_cols,
                    spacing_mm: transform.model_spacing(plan.spacing_mm),
                },
                masks: c
                    .masks
                    .iter()
                    .map(|(n, m)| (n.clone(), transform.to_model(m, rows, cols)))
                    .collect(),
            })
            .collect();
        // The held-out fraction and the largest accepted Dice drop are dafne_ml's defaults.
        let opts = ImproveOptions {
            split_lr: plan.split_lr,
            min_slices: plan.min_slices,
            // Reproducible for the same slices of the same dataset.
            seed: 0x5eed + k as u64,
            ..ImproveOptions::default()
        };
        let (report, new_package) = ml_improve(&package, &corrections, &opts, job)
            .map_err(|e| ml_error(&format!("improving model {:?}", g.model), e))?;
        out.push(ImproveOutcome {
            classification: g.classification.clone(),
            model: g.model.clone(),
            slices: g.slices(),
            report,
            package: new_package,
        });
    }
    Ok(out)
}

/// The report of one outcome in words.
pub fn describe(o: &ImproveOutcome) -> String {
    let r = &o.report;
    let verdict = if r.accepted {
        "accepted"
    } else {
        "not accepted"
    };
    format!(
        "{}: {verdict}: {}; {} slice(s) trained, {} held out",
        o.classification, r.reason, r.slices_trained, r.slices_held_out
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(slice: usize) -> PlannedCorrection {
        PlannedCorrection {
            slice,
            values: vec![],
            masks: vec![],
        }
    }

    #[test]
    fn groups_need_enough_slices() {
        let mut by_slice: Vec<(String, PlannedCorrection)> =
            (0..5).map(|s| ("Thigh".to_string(), c(s))).collect();
        by_slice.extend((5..8).map(|s| ("Leg, Left".to_string(), c(s))));
        let (ok, few) = group(by_slice, 5);
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].model, "Thigh");
        assert_eq!(ok[0].slices(), [0, 1, 2, 3, 4]);
        assert_eq!(few, [("Leg, Left".to_string(), 3)]);
    }
}
