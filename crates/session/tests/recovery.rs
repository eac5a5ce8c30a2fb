//! Autosave recovery end to end: a process autosaving a real DICOM dataset is killed mid-save
//! again and again; opening the dataset again recovers the last complete autosave and removes
//! what the killed saves left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dafne_core::SliceMask;
use dafne_roi::{Edit, Editor, Mode};
use dafne_session::recovery::{clean_stale_temporaries, find_autosave, write_autosave};
use dafne_session::sessions::new_session;
use dafne_session::{Dataset, Session};

fn kit() -> PathBuf {
    let root = std::env::var_os("DAFNE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    root.join("dafne-legacy/input/dicom_mr_small_3slices")
}

/// A copy of the 3-slice DICOM series in a temporary folder (autosaves go beside the data).
fn dataset_copy(dir: &Path) -> PathBuf {
    let data = dir.join("series");
    std::fs::create_dir_all(&data).unwrap();
    for entry in std::fs::read_dir(kit()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
    }
    data
}

/// A session with one ROI whose mask on slice 1 encodes `generation` in its pixel count.
fn session_of(dataset: &Dataset, generation: usize) -> Session {
    let mut session = new_session(dataset);
    let (rows, cols, _) = dataset.mask_dims();
    let mut editor = Editor::new(session.rois.clone());
    editor
        .apply(Edit::AddRoi {
            name: "Gracilis_L".into(),
        })
        .unwrap();
    let id = editor.rois().rois()[0].id;
    let mut patch = SliceMask::new(rows, cols).unwrap();
    for i in 0..=(generation % (rows * cols - 1)) {
        patch.set(i / cols, i % cols, true);
    }
    editor
        .apply(Edit::Mask {
            roi: id,
            slice: 1,
            patch,
            mode: Mode::Set,
        })
        .unwrap();
    session.rois = editor.rois().clone();
    session
}

fn count(session: &Session) -> usize {
    session.rois.rois()[0]
        .masks
        .values()
        .map(|m| m.count())
        .sum()
}

/// Run only as the child of the kill test: autosaves a new generation forever.
#[test]
#[ignore]
fn child_autosaves_forever() {
    let Some(data) = std::env::var_os("DAFNE_RECOVERY_DATA") else {
        return;
    };
    let dataset = Dataset::open(Path::new(&data), None).unwrap();
    for generation in 1.. {
        write_autosave(&dataset, &session_of(&dataset, generation), None).unwrap();
    }
}

#[test]
fn killed_during_autosave_then_reopened_recovers_the_last_complete_autosave() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset_copy(tmp.path());
    let dataset = Dataset::open(&data, None).unwrap();
    let autosave = write_autosave(&dataset, &session_of(&dataset, 0), None).unwrap();
    assert_eq!(autosave, data.join(".dafne-autosave"));
    let exe = std::env::current_exe().unwrap();
    let mut leftovers_seen = 0;
    // At least 8 kills, and more until 3 of them have landed inside a save: where a kill lands
    // depends on the machine's load, and a kill between saves proves nothing.
    let mut rounds = 0;
    for round in 0..48u64 {
        if round >= 8 && leftovers_seen >= 3 {
            break;
        }
        rounds += 1;
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "child_autosaves_forever"])
            .env("DAFNE_RECOVERY_DATA", &data)
            .spawn()
            .unwrap();
        use std::os::unix::fs::MetadataExt;
        let inode = |p: &Path| std::fs::metadata(p).map(|m| m.ino()).ok();
        let before = inode(&autosave);
        let start = Instant::now();
        while inode(&autosave) == before && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(200 * (round % 8)));
        child.kill().unwrap();
        child.wait().unwrap();
        let temporaries = || {
            std::fs::read_dir(&data)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(".tmp")
                })
                .count()
        };
        leftovers_seen += temporaries().min(1);

        // Opening the dataset again: the autosave is found, whole, and is a generation the
        // child completed; the killed save's temporary file is gone.
        let reopened = Dataset::open(&data, None).unwrap();
        let recovery = find_autosave(&reopened, None);
        assert!(recovery.warnings.is_empty(), "{:?}", recovery.warnings);
        let found = recovery.found.expect("autosave recovered");
        assert_eq!(found.path, autosave);
        assert!(count(&found.session) >= 1, "round {round}");
        assert_eq!(temporaries(), 0, "round {round}: stale temporary left");
    }
    eprintln!("{leftovers_seen} of {rounds} kills left a temporary file behind");
    assert!(
        leftovers_seen >= 3,
        "kills must land inside saves: {leftovers_seen}"
    );
}

#[test]
fn an_autosave_of_another_dataset_or_a_damaged_one_is_not_offered() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset_copy(tmp.path());
    let dataset = Dataset::open(&data, None).unwrap();
    assert!(find_autosave(&dataset, None).found.is_none());

    let mut foreign = session_of(&dataset, 5);
    foreign.dataset_id = Some("series:1.2.3;grid:64x64x3".into());
    let path = write_autosave(&dataset, &foreign, None).unwrap();
    let recovery = find_autosave(&dataset, None);
    assert!(recovery.found.is_none());
    assert!(
        recovery.warnings[0].contains("another dataset"),
        "{:?}",
        recovery.warnings
    );

    std::fs::write(&path, b"DAFNE-SESSION 1\ngarbage").unwrap();
    let recovery = find_autosave(&dataset, None);
    assert!(recovery.found.is_none());
    assert!(
        recovery.warnings[0].contains("autosave not used"),
        "{:?}",
        recovery.warnings
    );
    // The damaged file is left for the user.
    assert!(path.exists());
}

#[test]
fn read_only_data_folder_autosaves_to_the_app_folder_and_recovers_from_there() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset_copy(tmp.path());
    let app = tmp.path().join("app");
    std::fs::create_dir(&app).unwrap();
    let dataset = Dataset::open(&data, None).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let written = write_autosave(&dataset, &session_of(&dataset, 7), Some(&app));
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let written = written.unwrap();
    assert!(written.starts_with(&app), "{}", written.display());
    let found = find_autosave(&dataset, Some(&app)).found.unwrap();
    assert_eq!(found.path, written);
    assert_eq!(count(&found.session), 8);
}

#[test]
fn temporaries_of_live_processes_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("x.dafne");
    let mine = tmp
        .path()
        .join(format!(".x.dafne.{}.tmp", std::process::id()));
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let live = tmp.path().join(format!(".x.dafne.{}.tmp", child.id()));
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let dead = tmp.path().join(format!(".x.dafne.{}-3.tmp", gone.id()));
    let unrelated = tmp.path().join(".y.dafne.1.tmp");
    for p in [&mine, &live, &dead, &unrelated] {
        std::fs::write(p, b"partial").unwrap();
    }
    let removed = clean_stale_temporaries(&target);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(removed, vec![dead.clone()]);
    assert!(mine.exists() && live.exists() && unrelated.exists() && !dead.exists());
}
