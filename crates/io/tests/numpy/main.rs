//! NumPy `.npy` and the original Dafne's `.npz` bundles: hand-made fixtures for every dtype, byte
//! order and storage order, the real files of the kit, round trips and corrupt input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

use std::io::Write;

use dafne_core::{Geometry, GeometrySource, Rescale, SeriesInfo, Volume, Voxels};
use serde_json::Value;

/// A `.npy` file built by hand: magic, version, header length, dict padded to 64 bytes, data.
fn npy(version: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    let fixed = if version == 1 { 10 } else { 12 };
    while (fixed + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

macro_rules! bytes_of {
    ($values:expr, $method:ident) => {
        $values
            .iter()
            .flat_map(|v| v.$method())
            .collect::<Vec<u8>>()
    };
}

mod npy;
mod npz;

fn oblique_volume(dims: [usize; 4], voxels: Voxels, rescale: Rescale) -> Volume {
    let ras = [
        [-0.9375, 0.0, 0.0, 120.5],
        [0.0, -0.929, 0.9391, 97.25],
        [0.0, 0.1258, 6.9367, -61.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let info = SeriesInfo {
        format: "test".into(),
        description: Some("Dafne é 日本".into()),
        ..SeriesInfo::default()
    };
    Volume::new(
        dims,
        voxels,
        rescale,
        Geometry::from_ras(ras, GeometrySource::Dicom),
        info,
    )
    .expect("volume")
}

fn truth() -> Value {
    let path = common::data_dir().join("dafne-legacy/exports/exports.truth.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("truth")).expect("json")
}

fn write_zip(path: &std::path::Path, members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("create"));
    for (name, bytes) in members {
        zip.start_file(
            *name,
            zip::write::SimpleFileOptions::default().compression_method(method),
        )
        .expect("start");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish");
}
