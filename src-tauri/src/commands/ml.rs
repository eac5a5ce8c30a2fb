//! AutoSegment, Improve model and the model list. Both jobs read a plan from the workspace,
//! run without holding it (the UI stays responsive and other commands answer), then apply:
//! AutoSegment as one undo step announced by `RoiModified`. Improve model also runs, without
//! a splash, after every mask export when DO_INCREMENTAL_LEARNING is on.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use dafne_session::jobs::JobControl;
use dafne_session::models::ModelStore;
use dafne_session::segmentation::autosegment::{self, AutosegmentOptions, AutosegmentReport};
use dafne_session::segmentation::improve::{self, describe, ImproveOutcome};
use dafne_session::segmentation::{
    classification_choices, load_store_package, Manifest, PackageModels, SegmenterCache,
};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event;

use super::jobs::{JobProgress, Jobs};
use super::{notify, with_ws, AppState};
use crate::commands::app::ShellState;
use crate::error::{CmdResult, CommandError, ErrorKind};
use crate::logs;
use crate::workspace::SessionError;

/// Segmenters built by earlier runs (loading a package and building its network takes a
/// while; a new version lives in a new folder, so it is never stale).
static SEGMENTERS: Mutex<Option<SegmenterCache>> = Mutex::new(None);
/// One training at a time (Improve model, or the one after an export).
static TRAINING: AtomicBool = AtomicBool::new(false);

/// An installed model.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ModelDto {
    pub name: String,
    pub id: String,
    #[specta(type = specta_typescript::Number)]
    pub version: f64,
    pub variants: Vec<String>,
    pub labels: u32,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ModelListDto {
    pub models: Vec<ModelDto>,
    /// "None", then every model's name and "Name, Variant".
    pub classifications: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AutosegmentReplyDto {
    pub segmented: Vec<u32>,
    pub skipped: Vec<u32>,
    pub rois: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ImproveOutcomeDto {
    pub classification: String,
    pub accepted: bool,
    pub reason: String,
    pub slices_trained: u32,
    pub slices_held_out: u32,
    pub dice_before: f64,
    pub dice_after: f64,
    /// The version installed, when accepted.
    #[specta(type = Option<specta_typescript::Number>)]
    pub version: Option<f64>,
    /// The whole outcome in words.
    pub summary: String,
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<AutosegmentReport> for AutosegmentReplyDto {
    fn from(r: AutosegmentReport) -> Self {
        AutosegmentReplyDto {
            segmented: r.segmented.into_iter().map(u32_of).collect(),
            skipped: r.skipped.into_iter().map(u32_of).collect(),
            rois: r.rois,
            notes: r.notes,
        }
    }
}

/// The model store: the user's folder (`DAFNE_MODELS_DIR` when set) and the bundled models.
fn store() -> CmdResult<ModelStore> {
    Ok(ModelStore::open_default()?)
}

/// The newest version of every installed model with its folder.
fn installed() -> CmdResult<Vec<(Manifest, PathBuf)>> {
    Ok(store()?
        .list()?
        .into_iter()
        .map(|e| (e.manifest, e.dir))
        .collect())
}

fn model_dto(m: &Manifest) -> ModelDto {
    ModelDto {
        name: m.name.clone(),
        id: m.id.clone(),
        version: m.version as f64,
        variants: m.variants.clone(),
        labels: u32_of(m.labels.len()),
        description: m.description.clone(),
    }
}

/// The installed models and the classification list they make.
#[tauri::command]
#[specta::specta]
pub async fn model_list() -> CmdResult<ModelListDto> {
    let models = installed()?;
    let classifications = classification_choices(
        models
            .iter()
            .map(|(m, _)| (m.name.as_str(), m.variants.as_slice())),
    );
    Ok(ModelListDto {
        models: models.iter().map(|(m, _)| model_dto(m)).collect(),
        classifications,
    })
}

/// AutoSegment of slices `start_slice..=end_slice`, each with the model of its classification
/// ("None" skipped), cropped to the restrict boxes when `restrict`. The ROIs change as one
/// undo step; a cancel changes nothing.
#[tauri::command]
#[specta::specta]
#[allow(clippy::too_many_arguments)]
pub async fn autosegment(
    app: AppHandle,
    state: State<'_, AppState>,
    shell: State<'_, ShellState>,
    jobs: State<'_, Jobs>,
    start_slice: u32,
    end_slice: u32,
    restrict: bool,
    job: String,
    on_progress: Channel<JobProgress>,
) -> CmdResult<AutosegmentReplyDto> {
    let options = AutosegmentOptions {
        split_lr: shell.preferences().split_laterality,
        restrict,
    };
    let plan = with_ws(&state, |ws| {
        Ok(ws.plan_autosegment(start_slice as usize, end_slice as usize, options)?)
    })?;
    let dirs = installed()?.into_iter().map(|(m, d)| (m.name, d)).collect();
    let cache = SEGMENTERS
        .lock()
        .ok()
        .and_then(|mut c| c.take())
        .unwrap_or_default();
    let control = jobs.start(&job, on_progress)?;
    let token = control.token().clone();
    let ran = tauri::async_runtime::spawn_blocking(move || {
        let mut models = PackageModels::named_with_cache(dirs, cache);
        let out = autosegment::run(&plan, &mut models, &control);
        (out, models.into_cache())
    })
    .await;
    jobs.finish(&job);
    let (masks, cache) = ran.map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            format!("the AutoSegment job failed: {e}"),
        )
    })?;
    if let Ok(mut c) = SEGMENTERS.lock() {
        *c = Some(cache);
    }
    let masks = masks.inspect_err(|e| logs::error(&format!("autosegment failed: {e}")))?;
    if token.is_cancelled() {
        return Err(SessionError::Cancelled.into());
    }
    let (report, changed) = with_ws(&state, |ws| Ok(ws.apply_autosegment(&masks)?))?;
    notify(&app, changed);
    logs::info(&format!(
        "autosegment: {} slice(s), {} skipped, {} ROI(s)",
        report.segmented.len(),
        report.skipped.len(),
        report.rois.len()
    ));
    Ok(report.into())
}

/// Improve model: the segmented slices not used yet train their classification's model; an
/// accepted version is installed as the newest.
#[tauri::command]
#[specta::specta]
pub async fn improve_model(
    state: State<'_, AppState>,
    shell: State<'_, ShellState>,
    jobs: State<'_, Jobs>,
    job: String,
    on_progress: Channel<JobProgress>,
) -> CmdResult<Vec<ImproveOutcomeDto>> {
    let control = jobs.start(&job, on_progress)?;
    let out = train(&state, &shell, control).await;
    jobs.finish(&job);
    out
}

/// Plans, trains off the workspace, installs accepted versions and records the slices used.
async fn train(
    state: &AppState,
    shell: &ShellState,
    control: JobControl,
) -> CmdResult<Vec<ImproveOutcomeDto>> {
    if TRAINING.swap(true, Ordering::SeqCst) {
        return Err(CommandError::new(
            ErrorKind::InvalidInput,
            "a model is being improved already; try again when it has finished",
        ));
    }
    let out = train_inner(state, shell, control).await;
    TRAINING.store(false, Ordering::SeqCst);
    out
}

async fn train_inner(
    state: &AppState,
    shell: &ShellState,
    control: JobControl,
) -> CmdResult<Vec<ImproveOutcomeDto>> {
    let prefs = shell.preferences();
    let plan = with_ws(state, |ws| {
        Ok(ws.plan_improve(None, prefs.il_min_slices as usize, prefs.split_laterality)?)
    })?;
    if let Some(why) = plan.nothing_to_do() {
        return Err(CommandError::new(ErrorKind::InvalidInput, why));
    }
    let store = store()?;
    let ran = tauri::async_runtime::spawn_blocking(move || -> Result<_, SessionError> {
        let mut load = |name: &str| load_store_package(&store, name);
        let mut outcomes = improve::run(&plan, &mut load, &control)?;
        let mut versions = Vec::new();
        for o in &mut outcomes {
            let version = match o.package.as_mut() {
                Some(p) => Some(store.install(p)?.version as f64),
                None => None,
            };
            versions.push(version);
        }
        Ok((plan.dataset_id, outcomes, versions))
    })
    .await
    .map_err(|e| CommandError::new(ErrorKind::Internal, format!("the training job failed: {e}")))?;
    let (dataset_id, outcomes, versions) =
        ran.inspect_err(|e| logs::error(&format!("improve model failed: {e}")))?;
    with_ws(state, |ws| {
        ws.finish_improve(&dataset_id, &outcomes);
        Ok(())
    })?;
    Ok(outcomes
        .iter()
        .zip(versions)
        .map(|(o, version)| outcome_dto(o, version))
        .collect())
}

fn outcome_dto(o: &ImproveOutcome, version: Option<f64>) -> ImproveOutcomeDto {
    let r = &o.report;
    logs::info(&format!("improve model: {}", describe(o)));
    ImproveOutcomeDto {
        classification: o.classification.clone(),
        accepted: r.accepted,
        reason: r.reason.clone(),
        slices_trained: u32_of(r.slices_trained),
        slices_held_out: u32_of(r.slices_held_out),
        dice_before: r.dice_before,
        dice_after: r.dice_after,
        version,
        summary: describe(o),
    }
}

/// Sent when the incremental learning that follows a mask export has trained a model (kept or
/// refused by the guard): the Toolbox says what happened, as Tools → Improve model does.
#[derive(Clone, Debug, Serialize, Deserialize, Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct ModelImproved {
    pub outcomes: Vec<ImproveOutcomeDto>,
}

/// After a mask export: Improve model in the background when DO_INCREMENTAL_LEARNING is on
/// (as the original, no question asked). The export has already returned; a trained model is
/// announced with [`ModelImproved`], and "too few slices" (the usual case) only logged.
pub fn after_export(app: &AppHandle) {
    let Some(shell) = app.try_state::<ShellState>() else {
        return;
    };
    if !shell.preferences().do_incremental_learning || TRAINING.load(Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let (Some(state), Some(shell)) =
            (app.try_state::<AppState>(), app.try_state::<ShellState>())
        else {
            return;
        };
        match train(&state, &shell, JobControl::silent()).await {
            Ok(outcomes) => {
                logs::info(&format!(
                    "incremental learning after export: {} model(s) trained",
                    outcomes.len()
                ));
                if !outcomes.is_empty() {
                    let _ = ModelImproved { outcomes }.emit(&app);
                }
            }
            // Too few slices is the usual case after an export: not an error.
            Err(e) => logs::info(&format!("incremental learning after export: {}", e.message)),
        }
    });
}
