//! The File and Tools menus' commands: loading data (with the series of a DICOM folder listed
//! first), ROI files, masks in and out, statistics, autosave recovery and the emergency save.
//! Each takes the path the page got from a native dialog (or a test), so every file action
//! can be driven without one.

use std::path::{Path, PathBuf};

use dafne_io::masks::Overlap;
use dafne_io::Format;
use dafne_session::masks::{ExportOptions, MaskFormat};
use dafne_session::{legacy, recovery, sessions, statistics};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tauri_specta::Event;

use super::app::ShellState;
use super::jobs::{JobProgress, Jobs};
use super::view::{DatasetInfoDto, DatasetOpened};
use super::{notify, with_ws, AppState};
use crate::error::{CmdResult, CommandError, ErrorKind};
use crate::logs;
use crate::workspace::{Changed, Workspace};

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SeriesDto {
    /// What `load_data`'s `series` takes.
    pub index: u32,
    pub description: String,
    pub modality: String,
    /// Columns, rows, slices.
    pub size: [u32; 3],
    pub files: u32,
    /// Why the series cannot be loaded, if it cannot.
    pub refused: Option<String>,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The series a DICOM file's folder (or a folder) holds; empty for NIfTI and NumPy files.
#[tauri::command]
#[specta::specta]
pub async fn scan_series(path: String) -> CmdResult<Vec<SeriesDto>> {
    let path = PathBuf::from(path);
    if !matches!(Format::of_path(&path), Format::Dicom) {
        return Ok(Vec::new());
    }
    let scan = dafne_io::dicom::scan(&path).map_err(|e| {
        CommandError::new(ErrorKind::InvalidInput, format!("cannot open dataset: {e}"))
    })?;
    Ok(scan
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| SeriesDto {
            index: to_u32(i),
            description: s.info.description.clone().unwrap_or_default(),
            modality: s.info.modality.clone().unwrap_or_default(),
            size: [to_u32(s.dims[0]), to_u32(s.dims[1]), to_u32(s.dims[2])],
            files: to_u32(s.files.len()),
            refused: s.refused.clone(),
        })
        .collect())
}

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RecoverableDto {
    pub path: String,
    /// When the autosave was written (Unix seconds), if known.
    #[specta(type = Option<specta_typescript::Number>)]
    pub modified_unix_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LoadReply {
    pub info: DatasetInfoDto,
    pub warnings: Vec<String>,
    pub facts: FileFacts,
    /// An autosave of this dataset the user may take back (`recover_autosave`).
    pub recoverable: Option<RecoverableDto>,
}

/// What the File menu enables on.
#[derive(Clone, Debug, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct FileFacts {
    pub from_dicom: bool,
    pub unsaved: bool,
}

fn facts(ws: &Workspace) -> FileFacts {
    FileFacts {
        from_dicom: ws
            .dataset()
            .volume
            .info
            .format
            .eq_ignore_ascii_case("DICOM"),
        unsaved: ws.has_unsaved_changes(),
    }
}

/// Opens a dataset (File → Load data), a long job: progress goes to `on_progress` and
/// `cancel_job(job)` stops it with a `Cancelled` error. The read runs off the IPC thread without
/// the workspace lock, so other commands go on meanwhile; the open dataset, if any, is replaced
/// only on success. The autosave folder and interval come from the app.
#[tauri::command]
#[specta::specta]
#[allow(
    clippy::too_many_arguments,
    reason = "a Tauri command: each argument is one IPC field or state"
)]
pub async fn load_data(
    app: AppHandle,
    state: State<'_, AppState>,
    shell: State<'_, ShellState>,
    jobs: State<'_, Jobs>,
    path: String,
    series: Option<u32>,
    job: String,
    on_progress: Channel<JobProgress>,
) -> CmdResult<LoadReply> {
    let path = PathBuf::from(path);
    let autosave_dir = shell.data_dir.join("autosave");
    let control = jobs.start(&job, on_progress)?;
    let token = control.token().clone();
    let opened = tauri::async_runtime::spawn_blocking(move || {
        Workspace::open_with(
            &path,
            series.map(|s| s as usize),
            Some(&autosave_dir),
            &control,
        )
    })
    .await;
    jobs.finish(&job);
    let (mut ws, warnings) = opened
        .map_err(|e| CommandError::new(ErrorKind::Internal, format!("the load job failed: {e}")))?
        .inspect_err(|e| logs::error(&format!("load failed: {e}")))?;
    // A cancel that came after the last check still means "keep what I had".
    if token.is_cancelled() {
        return Err(dafne_session::SessionError::Cancelled.into());
    }
    ws.set_autosave_interval(shell.autosave_interval());
    let info = DatasetInfoDto::from(ws.info());
    logs::info(&format!(
        "dataset opened: {} x {} x {} ({}), {} warning(s)",
        info.cols,
        info.rows,
        info.slices,
        ws.dataset().volume.info.format,
        warnings.len()
    ));
    let recoverable = ws.recoverable().map(|r| RecoverableDto {
        path: r.path.display().to_string(),
        modified_unix_s: r
            .modified
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64()),
    });
    let facts = facts(&ws);
    *state
        .0
        .lock()
        .map_err(|_| CommandError::new(ErrorKind::Internal, "the workspace lock is poisoned"))? =
        Some(ws);
    let _ = DatasetOpened { info: info.clone() }.emit(&app);
    Ok(LoadReply {
        info,
        warnings,
        facts,
        recoverable,
    })
}

/// Every ROI and each of its slices: what a window redraws after the ROI set was replaced.
fn everything(ws: &Workspace) -> Changed {
    let mut changed = Changed::default();
    for roi in ws.rois().rois() {
        changed.rois.push(roi.id);
        changed.masks.extend(roi.masks.keys().map(|&s| (roi.id, s)));
    }
    changed
}

/// Takes back the autosave offered by `load_data`. False when there was none.
#[tauri::command]
#[specta::specta]
pub async fn recover_autosave(app: AppHandle, state: State<'_, AppState>) -> CmdResult<bool> {
    let (done, changed) = with_ws(&state, |ws| {
        let done = ws.recover()?;
        Ok((done, everything(ws)))
    })?;
    if done {
        logs::info("autosave recovered");
        notify(&app, changed);
    }
    Ok(done)
}

#[tauri::command]
#[specta::specta]
pub async fn file_facts(state: State<'_, AppState>) -> CmdResult<Option<FileFacts>> {
    match with_ws(&state, |ws| Ok(facts(ws))) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_legacy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("p"))
}

/// File → Import ROI file: the original's `.p` or our session file; replaces the ROIs.
#[tauri::command]
#[specta::specta]
pub async fn import_roi_file(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
) -> CmdResult<Vec<String>> {
    let path = PathBuf::from(path);
    let (warnings, changed) = with_ws(&state, |ws| {
        let (session, warnings) = if is_legacy(&path) {
            legacy::import_legacy(&path, ws.dataset())?
        } else {
            sessions::open_session(&path, ws.dataset())?
        };
        ws.load_session(session)?;
        // What was just read is on disk: nothing to lose yet.
        ws.mark_saved();
        Ok((warnings, everything(ws)))
    })
    .inspect_err(|e| logs::error(&format!("import ROI file failed: {e}")))?;
    logs::info(&format!("ROI file imported: {} ROI(s)", changed.rois.len()));
    notify(&app, changed);
    Ok(warnings)
}

/// File → Export ROI file: our session file (`.dafne`).
#[tauri::command]
#[specta::specta]
pub async fn export_roi_file(state: State<'_, AppState>, path: String) -> CmdResult<()> {
    let path = PathBuf::from(path);
    with_ws(&state, |ws| Ok(ws.save(&path)?))
        .inspect_err(|e| logs::error(&format!("export ROI file failed: {e}")))?;
    logs::info(&format!("ROI file saved: {}", path.display()));
    Ok(())
}

/// File → Import masks (a file, or a folder of them): new ROIs, one undo step.
#[tauri::command]
#[specta::specta]
pub async fn import_masks(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
) -> CmdResult<Vec<String>> {
    let path = PathBuf::from(path);
    let (warnings, changed) = with_ws(&state, |ws| Ok(ws.import_masks(&path)?))
        .inspect_err(|e| logs::error(&format!("import masks failed: {e}")))?;
    logs::info(&format!("masks imported: {} ROI(s)", changed.rois.len()));
    notify(&app, changed);
    Ok(warnings)
}

#[derive(Clone, Copy, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum MaskFormatDto {
    Npy,
    Npz,
    Bundle,
    Nifti,
    CompactNifti,
    CompactDicom,
    Dicom,
    Seg,
}

/// Which ROI keeps a voxel several ROIs claim in a label map.
#[derive(Clone, Copy, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum OverlapDto {
    LastWins,
    FirstWins,
    Refuse,
}

/// File → Save masks. A label map with overlapping ROIs and `refuse` fails with kind
/// `InvalidInput` and a message naming the overlap, so the page can ask which ROI wins.
#[tauri::command]
#[specta::specta]
pub async fn save_masks(
    app: AppHandle,
    state: State<'_, AppState>,
    format: MaskFormatDto,
    path: String,
    overlap: OverlapDto,
) -> CmdResult<Vec<String>> {
    let path = PathBuf::from(path);
    let format = match format {
        MaskFormatDto::Npy => MaskFormat::Npy,
        MaskFormatDto::Npz => MaskFormat::Npz,
        MaskFormatDto::Bundle => MaskFormat::Bundle,
        MaskFormatDto::Nifti => MaskFormat::Nifti,
        MaskFormatDto::CompactNifti => MaskFormat::CompactNifti,
        MaskFormatDto::CompactDicom => MaskFormat::CompactDicom,
        MaskFormatDto::Dicom => MaskFormat::Dicom,
        MaskFormatDto::Seg => MaskFormat::Seg,
    };
    let options = ExportOptions {
        overlap: match overlap {
            OverlapDto::LastWins => Overlap::LastWins,
            OverlapDto::FirstWins => Overlap::FirstWins,
            OverlapDto::Refuse => Overlap::Refuse,
        },
        ..ExportOptions::default()
    };
    let warnings = with_ws(&state, |ws| {
        if ws.rois().rois().is_empty() {
            return Err(CommandError::new(
                ErrorKind::InvalidInput,
                "there are no ROIs to save",
            ));
        }
        let w = ws.export_masks(format, &path, &options)?;
        ws.mark_saved();
        Ok(w)
    })
    .inspect_err(|e| logs::error(&format!("save masks failed: {e}")))?;
    logs::info(&format!("masks saved ({format:?}): {}", path.display()));
    super::ml::after_export(&app);
    Ok(warnings)
}

/// Tools → Calculate statistics: the CSV written to `path`.
#[tauri::command]
#[specta::specta]
pub async fn save_statistics(
    state: State<'_, AppState>,
    path: String,
    slicewise: bool,
) -> CmdResult<()> {
    let path = PathBuf::from(path);
    let csv = with_ws(&state, |ws| {
        Ok(statistics::statistics_csv(
            &ws.session(),
            ws.dataset(),
            slicewise,
        )?)
    })?;
    std::fs::write(&path, csv).map_err(|e| {
        CommandError::new(
            ErrorKind::Io,
            format!("cannot write the statistics ({e}): {}", path.display()),
        )
    })?;
    logs::info(&format!("statistics saved: {}", path.display()));
    Ok(())
}

/// After an unexpected error: saves the ROIs next to the autosave (or in the app's autosave
/// folder) as a session file; returns where, or null when no dataset is open.
#[tauri::command]
#[specta::specta]
pub async fn emergency_save(
    state: State<'_, AppState>,
    shell: State<'_, ShellState>,
) -> CmdResult<Option<String>> {
    let guard = state.0.lock().unwrap_or_else(|p| p.into_inner());
    let Some(ws) = guard.as_ref() else {
        return Ok(None);
    };
    let autosave_dir = shell.data_dir.join("autosave");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = format!("dafne-emergency-{stamp}.dafne");
    let beside =
        recovery::autosave_location(ws.dataset(), Some(&autosave_dir)).with_file_name(&name);
    let session = ws.session();
    let saved = sessions::save_session(&beside, &session)
        .map(|()| beside)
        .or_else(|_| {
            std::fs::create_dir_all(&autosave_dir).map_err(|source| {
                dafne_session::SessionError::Write {
                    path: autosave_dir.clone(),
                    source,
                }
            })?;
            let path = autosave_dir.join(&name);
            sessions::save_session(&path, &session).map(|()| path)
        })
        .inspect_err(|e| logs::error(&format!("emergency save failed: {e}")))?;
    logs::error(&format!("emergency save: {}", saved.display()));
    Ok(Some(saved.display().to_string()))
}

/// Logs an error the page could not handle (an uncaught exception), never patient data.
#[tauri::command]
#[specta::specta]
pub async fn log_page_error(window: String, message: String) -> CmdResult<()> {
    logs::error(&format!("{window} page: {message}"));
    Ok(())
}

/// How File → Reorient data turns the volume.
#[derive(Clone, Copy, Debug, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum ReorientDto {
    Axial,
    Sagittal,
    Coronal,
    InvertSlices,
}

/// File → Reorient data: the ROIs and settings go (the page asks first); both windows reload
/// the dataset as if it had just been opened.
#[tauri::command]
#[specta::specta]
pub async fn reorient_data(
    app: AppHandle,
    state: State<'_, AppState>,
    how: ReorientDto,
) -> CmdResult<DatasetInfoDto> {
    use dafne_session::workspace::{PlaneOrientation, Reorientation};
    let how = match how {
        ReorientDto::Axial => Reorientation::Plane(PlaneOrientation::Axial),
        ReorientDto::Sagittal => Reorientation::Plane(PlaneOrientation::Sagittal),
        ReorientDto::Coronal => Reorientation::Plane(PlaneOrientation::Coronal),
        ReorientDto::InvertSlices => Reorientation::InvertSlices,
    };
    let info = with_ws(&state, |ws| {
        let removed = everything(ws);
        ws.reorient(how);
        notify(&app, removed);
        Ok(DatasetInfoDto::from(ws.info()))
    })?;
    logs::info(&format!(
        "reoriented ({how:?}): {} x {} x {}",
        info.cols, info.rows, info.slices
    ));
    let _ = DatasetOpened { info: info.clone() }.emit(&app);
    Ok(info)
}
