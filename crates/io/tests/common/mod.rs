//! Shared test helpers: where the real-data kit lives and how its reference values are read.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data` beside the repository (override with DAFNE_TEST_DATA).
pub fn data_dir() -> PathBuf {
    if let Ok(p) = std::env::var("DAFNE_TEST_DATA") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Every line of EXPECTED.jsonl.
pub fn expected() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(data_dir().join("EXPECTED.jsonl"))
        .expect("EXPECTED.jsonl in the data kit");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}
