//! `.npy`: every dtype, byte order and storage order, the kit's arrays, round trips, corrupt input.

use std::time::{Duration, Instant};

use dafne_core::{DType, GeometrySource, LinearMap, Rescale, Voxels};
use dafne_io::numpy::{self, NpyArray, NumpyError};

use crate::{common, npy, oblique_volume, truth};

#[test]
fn every_dtype_in_both_byte_orders_reads_native_values() {
    macro_rules! check {
        ($code:literal, $t:ty, $variant:ident, $values:expr) => {{
            let values: Vec<$t> = $values;
            let shape = format!("({},)", values.len());
            for (order, data) in [
                ("<", bytes_of!(values, to_le_bytes)),
                (">", bytes_of!(values, to_be_bytes)),
            ] {
                let array = numpy::read_npy_bytes(&npy(
                    1,
                    &format!("{order}{}", $code),
                    false,
                    &shape,
                    &data,
                ))
                .unwrap_or_else(|e| panic!("{order}{}: {e}", $code));
                assert_eq!(
                    array.voxels,
                    Voxels::$variant(values.clone()),
                    "{order}{}",
                    $code
                );
                assert_eq!(array.shape, vec![values.len()]);
            }
        }};
    }
    check!("u1", u8, U8, vec![0, 1, 200, 255]);
    check!("i1", i8, I8, vec![-128, -1, 0, 127]);
    check!("u2", u16, U16, vec![0, 1, 40000, 65535]);
    check!("i2", i16, I16, vec![-32768, -2, 300, 32767]);
    check!("u4", u32, U32, vec![0, 1, 3_000_000_000, u32::MAX]);
    check!("i4", i32, I32, vec![i32::MIN, -5, 70000, i32::MAX]);
    check!("u8", u64, U64, vec![0, 1, 1 << 40, u64::MAX]);
    check!("i8", i64, I64, vec![i64::MIN, -7, 1 << 40, i64::MAX]);
    check!("f4", f32, F32, vec![-1.5, 0.0, 3.25e-5, f32::MAX]);
    check!("f8", f64, F64, vec![-1.5, 0.0, 3.25e-300, f64::MAX]);

    // Single-byte types as numpy spells them, native order, and bool (any non-zero byte is True).
    for descr in ["|u1", "=u1", "u1"] {
        assert_eq!(
            numpy::read_npy_bytes(&npy(1, descr, false, "(2,)", &[7, 9]))
                .expect(descr)
                .voxels,
            Voxels::U8(vec![7, 9])
        );
    }
    let b = numpy::read_npy_bytes(&npy(1, "|b1", false, "(4,)", &[0, 1, 0, 2])).expect("bool");
    assert_eq!(b.voxels, Voxels::U8(vec![0, 1, 0, 1]));
    let native =
        numpy::read_npy_bytes(&npy(1, "=i2", false, "(1,)", &(-3i16).to_le_bytes())).expect("=i2");
    assert_eq!(native.voxels, Voxels::I16(vec![-3]));
}

#[test]
fn versions_one_two_and_three_are_read() {
    let data = bytes_of!([1.0f32, 2.0], to_le_bytes);
    for version in [1, 2, 3] {
        let array =
            numpy::read_npy_bytes(&npy(version, "<f4", false, "(2,)", &data)).expect("version");
        assert_eq!(array.voxels, Voxels::F32(vec![1.0, 2.0]));
    }
    let err = numpy::read_npy_bytes(&npy(4, "<f4", false, "(2,)", &data)).expect_err("version 4");
    assert!(
        matches!(err, NumpyError::Version { major: 4, .. }),
        "{err:?}"
    );
}

/// Value encoding the NumPy index (row h, column w, slice z, frame t).
fn code(h: usize, w: usize, z: usize, t: usize) -> i32 {
    (h * 1000 + w * 100 + z * 10 + t) as i32
}

fn c_and_fortran_fixtures(h: usize, w: usize, z: usize, t: usize) -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    for a in 0..h {
        for b in 0..w {
            for k in 0..z {
                for f in 0..t {
                    c.extend_from_slice(&code(a, b, k, f).to_le_bytes());
                }
            }
        }
    }
    let mut f = Vec::new();
    for fr in 0..t {
        for k in 0..z {
            for b in 0..w {
                for a in 0..h {
                    f.extend_from_slice(&code(a, b, k, fr).to_le_bytes());
                }
            }
        }
    }
    (c, f)
}

#[test]
fn c_and_fortran_arrays_map_rows_to_axis_1_and_columns_to_axis_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (h, w, z, t) in [(3, 4, 2, 1), (5, 3, 4, 2), (6, 7, 1, 1)] {
        let shape = if t > 1 {
            format!("({h}, {w}, {z}, {t})")
        } else {
            format!("({h}, {w}, {z})")
        };
        let (c, f) = c_and_fortran_fixtures(h, w, z, t);
        for (fortran, data) in [(false, c), (true, f)] {
            let path = dir.path().join("a.npy");
            std::fs::write(&path, npy(1, "<i4", fortran, &shape, &data)).expect("write");
            let volume = numpy::read_npy_volume(&path).expect("read");
            assert_eq!(volume.dims(), [w, h, z, t], "{shape} fortran={fortran}");
            for (a, b, k, fr) in [
                (0, 0, 0, 0),
                (h - 1, 0, 0, 0),
                (0, w - 1, z - 1, t - 1),
                (h - 1, w - 1, z - 1, t - 1),
                (1, 2, z / 2, t / 2),
            ] {
                assert_eq!(
                    volume.real_value([b, a, k, fr]),
                    Some(code(a, b, k, fr) as f64),
                    "{shape} fortran={fortran}"
                );
            }
            assert_eq!(volume.geometry.source, GeometrySource::Missing);
            assert_eq!(volume.geometry.spacing_mm(), [1.0; 3]);
        }
    }
    // A 2-D array is one slice.
    let (c, _) = c_and_fortran_fixtures(6, 7, 1, 1);
    let path = dir.path().join("slice.npy");
    std::fs::write(&path, npy(1, "<i4", false, "(6, 7)", &c)).expect("write");
    let volume = numpy::read_npy_volume(&path).expect("2-D");
    assert_eq!(volume.dims(), [7, 6, 1, 1]);
    assert_eq!(
        volume.real_value([3, 5, 0, 0]),
        Some(code(5, 3, 0, 0) as f64)
    );
}

#[test]
fn unsupported_dtypes_are_refused_with_a_clear_message() {
    for (descr, words) in [
        ("<c8", "complex"),
        ("<c16", "complex"),
        ("|O", "object"),
        ("<U5", "string"),
        ("|S4", "byte-string"),
        ("|V8", "void"),
        ("<f2", "float16"),
        ("<M8[ns]", "datetime"),
    ] {
        let err = numpy::read_npy_bytes(&npy(1, descr, false, "(1,)", &[0; 32])).expect_err(descr);
        assert!(
            matches!(err, NumpyError::UnsupportedDtype { .. }),
            "{descr}: {err:?}"
        );
        assert!(err.to_string().contains(words), "{descr}: {err}");
    }
    let dict = "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }\n";
    let mut structured = b"\x93NUMPY\x01\x00".to_vec();
    structured.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    structured.extend_from_slice(dict.as_bytes());
    structured.extend_from_slice(&[0; 4]);
    let err = numpy::read_npy_bytes(&structured).expect_err("structured");
    assert!(err.to_string().contains("structured"), "{err}");
}

#[test]
fn t1_coronal_slice_matches_expected() {
    let e = common::expected()
        .into_iter()
        .find(|e| e["path"] == "numpy/t1_coronal_slice.npy")
        .expect("EXPECTED entry");
    let path = common::data_dir().join("numpy/t1_coronal_slice.npy");
    let array = numpy::read_npy_bytes(&std::fs::read(&path).expect("kit")).expect("read");
    assert_eq!(array.shape, vec![256, 256]);
    assert!(!array.fortran_order);
    assert_eq!(array.voxels.dtype(), DType::F64);
    assert_eq!(
        common::sha256_hex(&array.voxels.to_le_bytes()),
        e["sha256"].as_str().expect("sha256")
    );
    let volume = numpy::read_npy_volume(&path).expect("volume");
    assert_eq!(volume.dims(), [256, 256, 1, 1]);
    // Row 10, column 200 of the array is our voxel (200, 10).
    let Voxels::F64(v) = &array.voxels else {
        panic!("f64")
    };
    assert_eq!(volume.real_value([200, 10, 0, 0]), Some(v[10 * 256 + 200]));
}

#[test]
fn legacy_mask_npy_files_match_their_truth() {
    let dir = common::data_dir().join("dafne-legacy/exports");
    let truth = truth();
    for (name, facts) in truth["files"]["masks_npy"]["files"]
        .as_object()
        .expect("masks_npy")
    {
        let path = dir.join("masks_npy").join(name);
        if facts["dtype"].as_str() == Some("<U1") {
            // The spurious orientation.npy: a string array, not an image.
            let err = numpy::read_npy_volume(&path).expect_err("string array");
            assert!(
                matches!(err, NumpyError::UnsupportedDtype { .. }),
                "{err:?}"
            );
            continue;
        }
        let volume = numpy::read_npy_volume(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(volume.dims(), [64, 64, 3, 1]);
        let nonzero = (0..volume.voxel_count())
            .filter(|&i| volume.voxels().get_f64(i) != Some(0.0))
            .count();
        assert_eq!(
            nonzero as u64,
            facts["nonzero"].as_u64().expect("nonzero"),
            "{name}"
        );
    }
}

#[test]
fn npy_volumes_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let identity = Rescale::Uniform(LinearMap::IDENTITY);
    let cases = [
        oblique_volume(
            [5, 4, 3, 1],
            Voxels::I16((0..60).map(|i| i * 37 - 900).collect()),
            identity.clone(),
        ),
        oblique_volume(
            [3, 2, 4, 5],
            Voxels::U16((0..120).map(|i| i * 500).collect()),
            identity.clone(),
        ),
        oblique_volume(
            [7, 6, 1, 1],
            Voxels::F64((0..42).map(|i| i as f64 / 7.0).collect()),
            identity,
        ),
    ];
    for volume in &cases {
        let path = dir.path().join("v.npy");
        numpy::write_npy_volume(volume, &path).expect("write");
        let back = numpy::read_npy_volume(&path).expect("read");
        assert_eq!(back.dims(), volume.dims());
        assert_eq!(back.voxels(), volume.voxels());
        // The array on disk is C-order (rows, cols, slices[, frames]).
        let array = numpy::read_npy_bytes(&std::fs::read(&path).expect("bytes")).expect("array");
        let [w, h, z, t] = volume.dims();
        let shape = if t > 1 {
            vec![h, w, z, t]
        } else {
            vec![h, w, z]
        };
        assert_eq!(array.shape, shape);
        assert!(!array.fortran_order);
    }
    // A non-identity rescale is written as float32 real values.
    let scaled = oblique_volume(
        [2, 2, 1, 1],
        Voxels::I16(vec![1, 2, 3, 4]),
        Rescale::Uniform(LinearMap {
            slope: 0.5,
            intercept: 10.0,
        }),
    );
    let path = dir.path().join("real.npy");
    numpy::write_npy_volume(&scaled, &path).expect("write");
    assert_eq!(
        numpy::read_npy_volume(&path).expect("read").voxels(),
        &Voxels::F32(vec![10.5, 11.0, 11.5, 12.0])
    );
}

#[test]
fn npy_arrays_round_trip_with_their_storage_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let array = NpyArray {
        shape: vec![2, 3],
        voxels: Voxels::I64(vec![1, -2, 3, -4, 5, -6]),
        fortran_order: true,
    };
    let path = dir.path().join("a.npy");
    numpy::write_npy(&array, &path).expect("write");
    assert_eq!(
        numpy::read_npy_bytes(&std::fs::read(&path).expect("bytes")).expect("read"),
        array
    );
    let bad = NpyArray {
        shape: vec![4],
        voxels: Voxels::U8(vec![1, 2]),
        fortran_order: false,
    };
    assert!(matches!(
        numpy::write_npy(&bad, &path),
        Err(NumpyError::Shape { .. })
    ));
}

#[test]
fn truncated_and_malformed_npy_are_refused() {
    let data = bytes_of!([1i16, 2, 3, 4, 5, 6], to_le_bytes);
    let good = npy(1, "<i2", false, "(2, 3)", &data);
    assert!(numpy::read_npy_bytes(&good).is_ok());
    for len in 0..good.len() {
        assert!(
            numpy::read_npy_bytes(&good[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    let err = numpy::read_npy_bytes(&good[..good.len() - 1]).expect_err("short data");
    assert!(matches!(err, NumpyError::Truncated { .. }), "{err:?}");
    assert!(matches!(
        numpy::read_npy_bytes(b"PK\x03\x04 not npy"),
        Err(NumpyError::NotNpy { .. })
    ));
    for dict in [
        "[1, 2]",
        "{'descr': '<i2', 'shape': (2, 3), }",
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
        "{'descr': '<i2', 'fortran_order': False, 'shape': (2, x)}",
    ] {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.extend_from_slice(&data);
        assert!(
            matches!(
                numpy::read_npy_bytes(&bytes),
                Err(NumpyError::Header { .. })
            ),
            "{dict}"
        );
    }
    // A header length pointing past the end of the file.
    let mut long = good.clone();
    long[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(matches!(
        numpy::read_npy_bytes(&long),
        Err(NumpyError::Header { .. })
    ));
    // Version 2 with a 4 GiB header length.
    let mut v2 = npy(2, "<i2", false, "(2, 3)", &data);
    v2[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(numpy::read_npy_bytes(&v2).is_err());
}

#[test]
fn absurd_shapes_fail_fast() {
    let start = Instant::now();
    let err = numpy::read_npy_bytes(&npy(
        1,
        "<f8",
        false,
        "(1099511627776, 1099511627776)",
        &[0; 64],
    ))
    .expect_err("huge");
    assert!(
        matches!(
            err,
            NumpyError::Header { .. } | NumpyError::Truncated { .. }
        ),
        "{err:?}"
    );
    let err = numpy::read_npy_bytes(&npy(
        1,
        "<f8",
        false,
        "(4294967296, 4294967296, 4294967296)",
        &[0; 64],
    ))
    .expect_err("overflow");
    assert!(matches!(err, NumpyError::Header { .. }), "{err:?}");
    let err = numpy::read_npy_bytes(&npy(
        1,
        "<f8",
        false,
        "(99999999999999999999999,)",
        &[0; 64],
    ))
    .expect_err("too big");
    assert!(matches!(err, NumpyError::Header { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    // Arrays that cannot be images.
    let dir = tempfile::tempdir().expect("tempdir");
    for shape in ["(4,)", "(1, 1, 1, 1, 4)", "()", "(0, 4, 1)"] {
        let path = dir.path().join("x.npy");
        std::fs::write(&path, npy(1, "|u1", false, shape, &[1; 4])).expect("write");
        assert!(
            matches!(numpy::read_npy_volume(&path), Err(NumpyError::Shape { .. })),
            "{shape}"
        );
    }
}
