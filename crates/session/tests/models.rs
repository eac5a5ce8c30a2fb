//! The model store: layout, newest version wins across the user and bundled folders, names
//! match case-insensitively, installs are atomic and immutable, damaged packages are skipped
//! with a warning instead of failing the listing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;

use dafne_ml::package::{
    sha256_hex, ArchitectureSpec, Label, Manifest, Preprocessing, Provenance, MANIFEST_FILE,
    WEIGHTS_FILE,
};
use dafne_ml::{Package, UnetConfig};
use dafne_session::models::{folder_name, ModelStore};
use dafne_session::SessionError;

fn package(name: &str, id: &str, version: u64) -> Package {
    let cfg = UnetConfig::doubling(2, 3, 3, [24, 24]);
    Package {
        manifest: Manifest {
            format_version: 1,
            id: id.into(),
            version,
            name: name.into(),
            description: String::new(),
            architecture: ArchitectureSpec::coscia_unet(&cfg),
            input_channels: vec!["image".into()],
            labels: vec![Label {
                value: 1,
                name: "A".into(),
                long_name: "Alpha".into(),
            }],
            preprocessing: Preprocessing {
                resolution_mm: 1.0,
                canvas_px: 24,
                crop_px: [24, 24],
                normalise_max: 600.0,
                bias_correction: None,
                split_laterality: false,
                orientation: "axial".into(),
            },
            variants: vec![String::new()],
            categories: vec![],
            dimensionality: 2,
            incremental_learning: None,
            weights_sha256: String::new(),
            licence: "test".into(),
            provenance: Provenance::default(),
        },
        // The store never reads weights; an empty file keeps the tests fast.
        weights: HashMap::new(),
    }
}

/// A package written straight into `dir` (as a bundled folder or a hand-made user copy).
fn write_at(dir: &Path, name: &str, id: &str, version: u64) {
    package(name, id, version).save(dir).unwrap();
}

#[test]
fn install_lays_out_name_and_version_and_finds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().join("user"), None);
    assert!(
        store.list().unwrap().is_empty(),
        "a missing folder is empty"
    );

    let mut p = package("Thigh", "id-thigh", 1_610_001_000);
    let e = store.install(&mut p).unwrap();
    let dir = tmp.path().join("user/Thigh/1610001000");
    assert_eq!(e.dir, dir);
    assert!(!e.bundled);
    assert!(dir.join(MANIFEST_FILE).is_file() && dir.join(WEIGHTS_FILE).is_file());
    assert_eq!(
        e.manifest.weights_sha256.len(),
        64,
        "install records the sha256"
    );
    // Nothing but the version folder is left (the temporary was renamed).
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("user/Thigh"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["1610001000"]);

    let found = store.find("tHiGh").unwrap().unwrap();
    assert_eq!(
        (found.id.as_str(), found.version),
        ("id-thigh", 1_610_001_000)
    );
    assert!(store.find("leg").unwrap().is_none());
    let weights = std::fs::read(found.dir.join(WEIGHTS_FILE)).unwrap();
    assert_eq!(found.manifest.weights_sha256, sha256_hex(&weights));
}

#[test]
fn installing_the_same_version_twice_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().to_path_buf(), None);
    store.install(&mut package("Leg", "id-leg", 5)).unwrap();
    let err = store.install(&mut package("Leg", "id-leg", 5)).unwrap_err();
    assert!(matches!(err, SessionError::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("already installed"), "{err}");
    assert_eq!(store.versions("leg").unwrap().len(), 1);
}

#[test]
fn newest_version_wins_across_user_and_bundled() {
    let tmp = tempfile::tempdir().unwrap();
    let bundled = tmp.path().join("bundled");
    let user = tmp.path().join("user");
    // Bundled: one flat package and one in the versioned layout.
    write_at(
        &bundled.join("thigh-phantom-demo"),
        "Thigh phantom demo",
        "demo",
        10,
    );
    write_at(&bundled.join("Leg/3"), "Leg", "id-leg", 3);
    let store = ModelStore::at(user, Some(bundled));
    store.install(&mut package("leg", "id-leg", 7)).unwrap();
    store.install(&mut package("Leg", "id-leg", 2)).unwrap();
    // Same version as the bundled demo: the user's copy wins.
    store
        .install(&mut package("Thigh phantom demo", "demo", 10))
        .unwrap();

    let list = store.list().unwrap();
    let summary: Vec<_> = list
        .iter()
        .map(|e| (e.name.to_lowercase(), e.version, e.bundled))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("leg".to_string(), 7, false),
            ("thigh phantom demo".to_string(), 10, false)
        ]
    );

    let versions: Vec<_> = store
        .versions("LEG")
        .unwrap()
        .iter()
        .map(|e| (e.version, e.bundled))
        .collect();
    assert_eq!(versions, vec![(7, false), (3, true), (2, false)]);

    // The bundled folder's name finds the model too.
    let demo = store.versions("thigh-phantom-demo").unwrap();
    assert_eq!(demo.len(), 2, "{demo:?}");
    assert!(!demo[0].bundled && demo[1].bundled);
}

#[test]
fn a_damaged_package_is_skipped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().to_path_buf(), None);
    store.install(&mut package("Good", "g", 1)).unwrap();
    let bad = tmp.path().join("Bad/1");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join(MANIFEST_FILE), b"{ not json").unwrap();
    let unknown = tmp.path().join("Future/1");
    write_at(&unknown, "Future", "f", 1);
    let path = unknown.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"coscia_unet\"", "\"transformer\"");
    std::fs::write(&path, text).unwrap();
    // Half-written installs are hidden and ignored.
    std::fs::create_dir_all(tmp.path().join("Good/.2.123.tmp")).unwrap();

    let (list, warnings) = store.list_with_warnings().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "Good");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().any(|w| w.contains("not valid")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("transformer")),
        "{warnings:?}"
    );
    assert!(store.find("bad").unwrap().is_none());
}

#[test]
fn names_that_would_leave_the_store_are_refused() {
    assert_eq!(folder_name("Thigh").unwrap(), "Thigh");
    assert_eq!(folder_name("a/b\\c").unwrap(), "a_b_c");
    assert!(folder_name("..").is_err());
    assert!(folder_name("  ").is_err());
    let tmp = tempfile::tempdir().unwrap();
    let store = ModelStore::at(tmp.path().to_path_buf(), None);
    let err = store.install(&mut package("../x", "x", 1)).unwrap_err();
    assert!(err.to_string().contains("folder name"), "{err}");
}

#[test]
fn resolve_takes_a_package_folder_or_a_name() {
    let tmp = tempfile::tempdir().unwrap();
    let bundled = tmp.path().join("bundled");
    write_at(&bundled.join("demo"), "Demo", "d", 4);
    let loose = tmp.path().join("loose");
    write_at(&loose, "Loose", "l", 9);
    let store = ModelStore::at(tmp.path().join("user"), Some(bundled.clone()));

    let by_path = store.resolve(loose.to_str().unwrap()).unwrap();
    assert_eq!((by_path.name.as_str(), by_path.bundled), ("Loose", false));
    let by_name = store.resolve("DEMO").unwrap();
    assert_eq!(
        (by_name.dir.as_path(), by_name.bundled),
        (bundled.join("demo").as_path(), true)
    );
    let err = store.resolve("nothing").unwrap_err().to_string();
    assert!(err.contains("no model called \"nothing\""), "{err}");
    assert!(err.contains(&bundled.display().to_string()), "{err}");
}
