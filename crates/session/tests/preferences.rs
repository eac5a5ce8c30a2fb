#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Preferences on disk: defaults, round trip, damaged files, unknown keys, ranges.
#![allow(clippy::field_reassign_with_default)]

use dafne_session::preferences::{self, Preferences, FILE_NAME};

#[test]
fn missing_file_gives_the_originals_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = preferences::load(dir.path());
    assert!(loaded.warning.is_none());
    let p = loaded.preferences;
    assert_eq!(p.autosave_interval, 30);
    assert_eq!(p.mask_layer_alpha, 0.4);
    assert_eq!(p.interpolation, "spline36");
    assert_eq!(p.roi_other_color, [0.0, 0.0, 1.0, 0.4]);
    assert!(!p.advanced_config);
}

#[test]
fn saved_values_come_back_and_unknown_keys_survive_a_save() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(FILE_NAME),
        r#"{"MASK_LAYER_ALPHA": 0.7, "FUTURE_KEY": [1, "two"], "COLORMAP": "viridis"}"#,
    )
    .unwrap();
    let mut p = preferences::load(dir.path()).preferences;
    assert_eq!(p.mask_layer_alpha, 0.7);
    assert_eq!(p.colormap, "viridis");
    assert_eq!(p.autosave_interval, 30, "absent keys take their default");
    p.autosave_interval = 12;
    preferences::save(dir.path(), &p).unwrap();
    let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["FUTURE_KEY"], serde_json::json!([1, "two"]));
    assert_eq!(json["AUTOSAVE_INTERVAL"], 12);
    assert_eq!(preferences::load(dir.path()).preferences, p);
    // Nothing but the file is left in the folder (the temporary was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_damaged_file_is_kept_aside_and_the_defaults_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(FILE_NAME),
        b"{\"MASK_LAYER_ALPHA\": 0.7,,, \xff",
    )
    .unwrap();
    let loaded = preferences::load(dir.path());
    assert_eq!(loaded.preferences, Preferences::default());
    let warning = loaded.warning.unwrap();
    assert!(warning.contains("damaged"), "{warning}");
    assert!(!dir.path().join(FILE_NAME).exists());
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].starts_with("preferences.json.damaged-"), "{kept:?}");
}

#[test]
fn out_of_range_values_are_refused_on_save_and_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Preferences::default();
    p.mask_layer_alpha = 1.5;
    let e = preferences::save(dir.path(), &p).unwrap_err().to_string();
    assert!(e.contains("MASK_LAYER_ALPHA"), "{e}");
    assert!(!dir.path().join(FILE_NAME).exists());
    for bad in [
        r#"{"AUTOSAVE_INTERVAL": 0}"#,
        r#"{"COLORMAP": "jet"}"#,
        r#"{"ROI_COLOR": [1, 0, 0, 2]}"#,
        r#"{"MOUSE_SCROLL_DEBOUNCE_TIME": -5}"#,
    ] {
        std::fs::write(dir.path().join(FILE_NAME), bad).unwrap();
        let loaded = preferences::load(dir.path());
        assert_eq!(loaded.preferences, Preferences::default(), "{bad}");
        assert!(loaded.warning.is_some(), "{bad}");
    }
}

#[test]
fn factory_settings_keep_only_the_named_keys() {
    let mut p = Preferences::default();
    p.mask_layer_alpha = 0.9;
    p.other
        .insert("API_KEY".into(), serde_json::json!("secret"));
    p.other.insert("OTHER".into(), serde_json::json!(1));
    let fresh = preferences::factory(&p, &["API_KEY"]);
    assert_eq!(fresh.mask_layer_alpha, 0.4);
    assert_eq!(
        fresh.other.get("API_KEY"),
        Some(&serde_json::json!("secret"))
    );
    assert!(!fresh.other.contains_key("OTHER"));
    assert!(preferences::factory(&p, &[]).other.is_empty());
}
