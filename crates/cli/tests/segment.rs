//! `dafne segment` and `dafne improve` through the binary, as a user runs them: a phantom, the
//! kit's thigh model imported from the original's `.model` file, NIfTI masks per ROI exactly as
//! `dafne masks export --format nifti` writes them, session files, and bad input refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kit() -> PathBuf {
    std::env::var_os("DAFNE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("dafne-legacy")
}

fn dafne(args: &[&str], models: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dafne"))
        .args(args)
        .env("DAFNE_MODELS_DIR", models)
        .env("DAFNE_BUNDLED_MODELS", models.join("none"))
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A small phantom and the kit's thigh model as a package folder.
fn setup(dir: &Path) -> (String, String) {
    let store = dir.join("store");
    let phantom = dir.join("phantom.nii.gz");
    let p = phantom.to_str().unwrap();
    ok(dafne(
        &[
            "phantom", p, "--slices", "3", "--size", "160", "--seed", "2",
        ],
        &store,
    ));
    let pkg = dir.join("thigh");
    let model = kit().join("models/thigh_narrow8/Thigh_1610001000.model");
    ok(dafne(
        &[
            "models",
            "import-dafne",
            model.to_str().unwrap(),
            "--out",
            pkg.to_str().unwrap(),
        ],
        &store,
    ));
    (p.to_string(), pkg.to_str().unwrap().to_string())
}

#[test]
fn segment_writes_nifti_per_roi_as_masks_export_does_and_session_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (phantom, pkg) = setup(dir.path());
    let out = dir.path().join("masks");
    let said = ok(dafne(
        &[
            "segment",
            &phantom,
            "--model",
            &pkg,
            "--slices",
            "1:3",
            "--out",
            out.to_str().unwrap(),
        ],
        &store,
    ));
    assert!(said.contains("segmented 2 slice(s)"), "{said}");
    let written = files(&out);
    assert!(!written.is_empty());
    assert!(
        written
            .iter()
            .all(|f| f.ends_with("_R.nii.gz") || f.ends_with("_L.nii.gz")),
        "{written:?}"
    );

    // The same run into a session file, exported by `dafne masks export`: the same files.
    let session = dir.path().join("seg.dafne");
    ok(dafne(
        &[
            "segment",
            &phantom,
            "--model",
            &pkg,
            "--slices",
            "1:3",
            "--split-lr",
            "--out",
            session.to_str().unwrap(),
        ],
        &store,
    ));
    let exported = dir.path().join("exported");
    ok(dafne(
        &[
            "masks",
            "export",
            session.to_str().unwrap(),
            "--data",
            &phantom,
            "--format",
            "nifti",
            "--out",
            exported.to_str().unwrap(),
        ],
        &store,
    ));
    assert_eq!(files(&exported), written);
    for f in &written {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(exported.join(f)).unwrap(),
            "{f}"
        );
    }

    // Without the split: one ROI per label, no side suffix; by the installed model's name.
    ok(dafne(
        &[
            "models",
            "import-dafne",
            &kit()
                .join("models/thigh_narrow8/Thigh_1610001000.model")
                .to_string_lossy(),
            "--install",
        ],
        &store,
    ));
    let joined = dir.path().join("joined");
    ok(dafne(
        &[
            "segment",
            &phantom,
            "--model",
            "thigh",
            "--slices",
            "2:",
            "--no-split-lr",
            "--out",
            joined.to_str().unwrap(),
        ],
        &store,
    ));
    let names = files(&joined);
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|f| !f.ends_with("_R.nii.gz") && !f.ends_with("_L.nii.gz")),
        "{names:?}"
    );
}

#[test]
fn segment_restricted_to_a_box_writes_nothing_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (phantom, pkg) = setup(dir.path());
    let out = dir.path().join("boxed");
    // Rows 10..150, columns 0..80 of the 160 × 160 slices: the image-left leg only.
    ok(dafne(
        &[
            "segment",
            &phantom,
            "--model",
            &pkg,
            "--slices",
            "1:2",
            "--restrict",
            "10,0,140,80",
            "--out",
            out.to_str().unwrap(),
        ],
        &store,
    ));
    let mut inside = 0usize;
    for f in files(&out) {
        let v = dafne_io::load(&out.join(&f), None).unwrap().volume;
        let [cols, rows, _, _] = v.dims();
        for (i, value) in v.to_f32().iter().enumerate() {
            if *value == 0.0 {
                continue;
            }
            let (row, col) = ((i / cols) % rows, i % cols);
            assert!(
                (10..150).contains(&row) && col < 80,
                "{f}: voxel at row {row}, column {col}"
            );
            inside += 1;
        }
    }
    assert!(inside > 0, "the box was segmented");
    let bad = dafne(
        &[
            "segment",
            &phantom,
            "--model",
            &pkg,
            "--restrict",
            "0,100,10,80",
            "--out",
            out.to_str().unwrap(),
        ],
        &store,
    );
    assert!(!bad.status.success());
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(e.contains("--restrict must be ROW,COL,HEIGHT,WIDTH"), "{e}");
}

#[test]
fn segment_refuses_bad_slices_and_unknown_models() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let phantom = dir.path().join("p.nii.gz");
    let p = phantom.to_str().unwrap();
    ok(dafne(
        &["phantom", p, "--slices", "2", "--size", "64"],
        &store,
    ));
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let run = |args: &[&str]| {
        let r = dafne(args, &store);
        assert!(!r.status.success());
        String::from_utf8_lossy(&r.stderr).into_owned()
    };
    let e = run(&["segment", p, "--model", "Calf", "--out", o]);
    assert!(e.contains("no model called \"Calf\""), "{e}");
    let e = run(&[
        "segment", p, "--model", "Calf", "--slices", "1:5", "--out", o,
    ]);
    assert!(e.contains("--slices must be a:b"), "{e}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn improve_needs_enough_corrected_slices() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (phantom, pkg) = setup(dir.path());
    let truth = dir.path().join("truth");
    // The phantom of `setup` again, now with its masks: 3 slices, fewer than 5.
    ok(dafne(
        &[
            "phantom",
            &phantom,
            "--masks",
            truth.to_str().unwrap(),
            "--slices",
            "3",
            "--size",
            "160",
            "--seed",
            "2",
        ],
        &store,
    ));
    let new = dir.path().join("new");
    let r = dafne(
        &[
            "improve",
            &phantom,
            "--masks",
            truth.to_str().unwrap(),
            "--model",
            &pkg,
            "--out",
            new.to_str().unwrap(),
        ],
        &store,
    );
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success());
    assert!(
        e.contains("at least 5 slices") && e.contains("Thigh: 3"),
        "{e}"
    );
    assert!(!new.exists());
}

/// One incremental-learning run on 6 phantom slices (about 30 s of CPU):
/// `cargo test -p dafne-cli --test segment -- --ignored`.
#[test]
#[ignore]
fn improve_trains_and_writes_a_new_version_only_when_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (_, pkg) = setup(dir.path());
    let phantom = dir.path().join("p6.nii.gz");
    let truth = dir.path().join("truth");
    ok(dafne(
        &[
            "phantom",
            phantom.to_str().unwrap(),
            "--masks",
            truth.to_str().unwrap(),
            "--slices",
            "6",
            "--size",
            "160",
            "--seed",
            "2",
        ],
        &store,
    ));
    let new = dir.path().join("new");
    let r = dafne(
        &[
            "improve",
            phantom.to_str().unwrap(),
            "--masks",
            truth.to_str().unwrap(),
            "--model",
            &pkg,
            "--out",
            new.to_str().unwrap(),
        ],
        &store,
    );
    let said = String::from_utf8_lossy(&r.stderr);
    assert!(said.contains("slice(s) trained"), "{said}");
    match r.status.code() {
        Some(0) => {
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(new.join("manifest.json")).unwrap()).unwrap();
            assert_eq!(
                m["provenance"]["parent"]["version"], 1_610_001_000u64,
                "{m}"
            );
        }
        Some(2) => assert!(!new.exists(), "a refused update writes nothing"),
        other => panic!("exit {other:?}: {said}"),
    }
}
