//! The one list of commands and events. It drives Tauri's invoke handler and generates the
//! page's typed bindings (`ui/src/bindings.ts`, committed); a test fails when that file is
//! stale. Regenerate it with `DAFNE_WRITE_BINDINGS=1 cargo test -p dafne-app bindings`.

use tauri_specta::{collect_commands, collect_events, Builder, ErrorHandlingMode};

use crate::commands::{app, contour, edit, files, jobs, ml, view, RoiModified};

pub fn builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        // A failed command rejects its promise with the `CommandError` (`{ kind, message }`).
        .error_handling(ErrorHandlingMode::Throw)
        .commands(collect_commands![
            // view
            view::dataset_info,
            view::slice_pixels,
            view::roi_list,
            view::roi_mask,
            view::slice_labels,
            // edit
            edit::add_roi,
            edit::paint,
            edit::undo,
            edit::redo,
            edit::delete_roi,
            edit::rename_roi,
            edit::copy_roi,
            edit::combine_rois,
            edit::remove_overlap,
            edit::clear_slice,
            edit::morphology,
            edit::auto_threshold,
            contour::roi_contours,
            contour::edit_contour,
            contour::slice_meta,
            contour::set_classification,
            contour::set_restrict_box,
            contour::restrict_box_to_all,
            // files
            files::scan_series,
            files::reorient_data,
            files::load_data,
            files::recover_autosave,
            files::file_facts,
            files::import_roi_file,
            files::export_roi_file,
            files::import_masks,
            files::save_masks,
            files::save_statistics,
            files::emergency_save,
            files::log_page_error,
            app::get_preferences,
            app::set_preferences,
            app::reset_preferences,
            app::startup_warning,
            app::startup_path,
            app::read_logs,
            app::open_folder,
            app::about,
            app::quit_app,
            // jobs
            jobs::cancel_job,
            // ml
            ml::model_list,
            ml::autosegment,
            ml::improve_model,
        ])
        .events(collect_events![
            RoiModified,
            view::DatasetOpened,
            // files
            app::PreferencesChanged,
            app::CloseRequested,
            // ml
            ml::ModelImproved,
        ])
}

/// The bindings as the page sees them.
#[cfg(test)]
fn bindings() -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("dafne-bindings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("bindings.ts");
    builder()
        .export(
            specta_typescript::Typescript::default().header(
                "// Generated from src-tauri/src/ipc.rs: never edit by hand.\n/* eslint-disable */",
            ),
            &path,
        )
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    #[test]
    fn bindings_are_current() {
        let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts");
        let fresh = super::bindings().unwrap();
        if std::env::var_os("DAFNE_WRITE_BINDINGS").is_some() {
            std::fs::write(committed, &fresh).unwrap();
            return;
        }
        let old = std::fs::read_to_string(committed).unwrap_or_default();
        assert!(
            old == fresh,
            "ui/src/bindings.ts is stale: run `DAFNE_WRITE_BINDINGS=1 cargo test -p dafne-app bindings` and commit it"
        );
    }
}
