//! Session files: exact round trip, every kind of damage refused with a clear error, and a
//! process killed in the middle of saving leaves the previous file whole.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dafne_roi::session_file::{self, Autosave, Session, SessionError};
use dafne_roi::{Edit, Editor, Mode, RoiSet, SliceMask};

fn session(seed: usize, rows: usize, cols: usize) -> Session {
    let mut ed = Editor::new(RoiSet::new(rows, cols, 6));
    for (i, name) in ["Vastus lateralis_R", "Muscle é", "Sartorius, \"left\""]
        .iter()
        .enumerate()
    {
        let id = ed
            .apply(Edit::AddRoi {
                name: name.to_string(),
            })
            .unwrap()
            .1
            .unwrap();
        for slice in 0..6 {
            let mut m = SliceMask::new(rows, cols).unwrap();
            for r in 0..rows {
                for c in 0..cols {
                    if (r * 7 + c * 3 + slice * 11 + i * 5 + seed) % 13 < 4
                        && !(r + c + seed).is_multiple_of(5)
                    {
                        m.set(r, c, true);
                    }
                }
            }
            ed.apply(Edit::Mask {
                roi: id,
                slice,
                patch: m,
                mode: Mode::Add,
            })
            .unwrap();
        }
    }
    ed.apply(Edit::AddRoi {
        name: "Empty".into(),
    })
    .unwrap();
    Session {
        rois: ed.rois().clone(),
        classifications: BTreeMap::from([(0, "Thigh".to_string()), (3, "Leg, Left".to_string())]),
        restrict_boxes: BTreeMap::from([(1, [10, 6, 40, 48])]),
        dataset_id: Some(format!("1.2.826.0.1.3680043.10.{seed}")),
    }
}

#[test]
fn a_session_round_trips_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a.dafne");
    let s = session(1, 61, 97);
    session_file::write(&path, &s).unwrap();
    let back = session_file::read(&path).unwrap();
    assert_eq!(back.rois.normalized().rois(), s.rois.normalized().rois());
    assert_eq!(
        (back.rois.rows(), back.rois.cols(), back.rois.slices()),
        (61, 97, 6)
    );
    assert_eq!(back.classifications, s.classifications);
    assert_eq!(back.restrict_boxes, s.restrict_boxes);
    assert_eq!(back.dataset_id, s.dataset_id);
    let head = std::fs::read(&path).unwrap();
    assert!(head.starts_with(b"DAFNE-SESSION 1\n"));
}

#[test]
fn damaged_files_are_refused_with_the_reason() {
    let p = Path::new("x.dafne");
    let good = session_file::encode(&session(2, 20, 30));
    let mut flipped = good.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 0x40;
    assert!(matches!(
        session_file::decode(&flipped, p),
        Err(SessionError::Checksum { .. })
    ));
    assert!(matches!(
        session_file::decode(&good[..good.len() - 1], p),
        Err(SessionError::Checksum { .. })
    ));
    assert!(matches!(
        session_file::decode(b"hello\nworld\n", p),
        Err(SessionError::Format { .. })
    ));
    let future = String::from_utf8_lossy(&good).replacen("DAFNE-SESSION 1", "DAFNE-SESSION 9", 1);
    assert!(matches!(
        session_file::decode(future.as_bytes(), p),
        Err(SessionError::Version { version: 9, .. })
    ));
    // A well-formed file whose runs leave the slice.
    let doc = r#"{"format":"dafne-session","version":1,"dataset":{"rows":2,"cols":2,"slices":1,"id":null},"rois":[{"id":1,"name":"a","masks":{"0":[[3,5]]}}],"classifications":{},"restrict_boxes":{}}"#;
    let err = session_file::decode(&wrap(doc.as_bytes()), p).unwrap_err();
    assert!(matches!(err, SessionError::Rois { .. }), "{err}");
    assert!(err.to_string().contains("outside"), "{err}");
}

/// Builds a file around a document by hand, as the format doc describes.
fn wrap(json: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json).unwrap();
    let body = gz.finish().unwrap();
    let digest: String = sha2::Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut out = format!("DAFNE-SESSION 1\n{digest} {}\n", body.len()).into_bytes();
    out.extend(body);
    out
}

/// Run by `killed_while_saving_...` in a child process: saves two sessions alternately forever.
#[test]
#[ignore = "helper: runs only as the child of the kill test"]
fn child_saves_forever() {
    let Ok(path) = std::env::var("DAFNE_KILL_TEST_FILE") else {
        return;
    };
    // Encoded once, so that the loop spends its time writing files, where a kill hurts.
    let (a, b) = (
        session_file::encode(&session(3, 256, 256)),
        session_file::encode(&session(4, 256, 256)),
    );
    loop {
        session_file::write_bytes(Path::new(&path), &a).unwrap();
        session_file::write_bytes(Path::new(&path), &b).unwrap();
    }
}

#[test]
fn killed_while_saving_the_previous_file_is_intact_and_recovery_loads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("autosave.dafne");
    let (a, b) = (session(3, 256, 256), session(4, 256, 256));
    let exe = std::env::current_exe().unwrap();
    let mut kills_mid_write = 0;
    for round in 0..12u64 {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "child_saves_forever", "--nocapture"])
            .env("DAFNE_KILL_TEST_FILE", &path)
            .spawn()
            .unwrap();
        // Wait until the child has replaced the file at least once (so it is in its save
        // loop), then kill it at a different moment each round.
        use std::os::unix::fs::MetadataExt;
        let inode = |p: &Path| std::fs::metadata(p).map(|m| m.ino()).ok();
        let before = inode(&path);
        let start = Instant::now();
        while inode(&path) == before && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(300 * round));
        child.kill().unwrap(); // SIGKILL: no cleanup runs
        child.wait().unwrap();
        let leftovers = std::fs::read_dir(tmp.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        kills_mid_write += leftovers.min(1);
        let recovered = session_file::read(&path).unwrap();
        let r = recovered.rois.normalized();
        assert!(
            r.rois() == a.rois.normalized().rois() || r.rois() == b.rois.normalized().rois(),
            "round {round}"
        );
    }
    eprintln!("{kills_mid_write} of 12 kills left a half-written temporary file behind");
    // Most kills must land inside a save, or this test would prove nothing.
    assert!(kills_mid_write >= 6, "{kills_mid_write}");
}

#[test]
fn autosave_waits_for_the_interval_and_for_a_change() {
    let t0 = Instant::now();
    let mut a = Autosave::new(Duration::from_secs(30), t0);
    assert!(!a.due(t0 + Duration::from_secs(10), 1));
    assert!(a.due(t0 + Duration::from_secs(31), 1));
    a.saved(t0 + Duration::from_secs(31), 1);
    assert!(!a.due(t0 + Duration::from_secs(90), 1), "nothing changed");
    assert!(a.due(t0 + Duration::from_secs(90), 2));
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("series.nii.gz");
    std::fs::write(&data, b"").unwrap();
    assert_eq!(
        session_file::autosave_path(&data, None),
        tmp.path().join("series.nii.gz.dafne-autosave")
    );
    assert_eq!(
        session_file::autosave_path(tmp.path(), None),
        tmp.path().join(".dafne-autosave")
    );
}
