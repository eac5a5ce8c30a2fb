//! `.npz` bundles: the original's files, round trips, corrupt archives.

use std::time::{Duration, Instant};

use dafne_core::{DType, GeometrySource, LinearMap, Rescale, Volume, Voxels};
use dafne_io::numpy::{self, Bundle, BundleMask, BundleParts, Contrast, NumpyError};

use crate::{common, npy, oblique_volume, truth, write_zip};

fn sum(volume: &Volume) -> f64 {
    (0..volume.voxel_count())
        .map(|i| volume.voxels().get_f64(i).expect("voxel"))
        .sum()
}

#[test]
fn legacy_bundles_read_as_the_original_wrote_them() {
    let truth = truth();
    let dir = common::data_dir().join("dafne-legacy/exports");
    for file in ["bundle_single_contrast.npz", "bundle_two_contrasts.npz"] {
        let facts = &truth["files"][file]["content"];
        let bundle = numpy::read_bundle(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let volume = &bundle.volume;
        assert_eq!(volume.dims(), [64, 64, 3, 1], "{file}");
        assert_eq!(volume.voxels().dtype(), DType::F32);
        assert_eq!(
            sum(volume),
            facts["data"]["sum"].as_f64().expect("sum"),
            "{file}"
        );
        assert_eq!(bundle.resolution_mm, Some([0.3125, 0.3125, 2.0]));
        assert_eq!(
            bundle.comment.as_deref(),
            facts["comment"]["value"].as_str()
        );
        assert_eq!(volume.info.description, bundle.comment);

        // The stored affine's columns follow the array axes (rows, cols, slices); ours swap the
        // first two. MR_small is axial: our axis 0 (columns) runs to patient left, axis 1 (rows)
        // to posterior, as the DICOM reader lays it out.
        let array_affine: Vec<Vec<f64>> = facts["affine"]["value"]
            .as_array()
            .expect("affine")
            .iter()
            .map(|r| {
                r.as_array()
                    .expect("row")
                    .iter()
                    .map(|v| v.as_f64().expect("num"))
                    .collect()
            })
            .collect();
        let ras = volume.geometry.affine_ras();
        for r in 0..4 {
            assert_eq!(
                [ras[r][0], ras[r][1], ras[r][2], ras[r][3]],
                [
                    array_affine[r][1],
                    array_affine[r][0],
                    array_affine[r][2],
                    array_affine[r][3]
                ]
            );
        }
        assert_eq!(volume.geometry.source, GeometrySource::NumpyAffine);
        assert_eq!(volume.geometry.axcodes_ras(), "LPS");
        assert_eq!(volume.geometry.spacing_mm(), [0.3125, 0.3125, 2.0]);

        let want: Vec<(String, u64)> = facts
            .as_object()
            .expect("content")
            .iter()
            .filter_map(|(k, v)| {
                Some((k.strip_prefix("mask_")?.to_string(), v["nonzero"].as_u64()?))
            })
            .collect();
        let got: Vec<(String, u64)> = bundle
            .masks
            .iter()
            .map(|m| (m.name.clone(), m.voxels.iter().map(|&v| v as u64).sum()))
            .collect();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want_sorted, "{file}: masks");
        assert_eq!(bundle.masks.len(), 5);
        assert!(bundle
            .masks
            .iter()
            .all(|m| m.dims == [64, 64, 3, 1] && m.voxels.iter().all(|&v| v <= 1)));

        if let Some(data2) = facts.get("data2") {
            assert_eq!(bundle.contrasts.len(), 1);
            assert_eq!(bundle.contrasts[0].name, "Flipped half");
            assert_eq!(
                sum(&bundle.contrasts[0].volume),
                data2["sum"].as_f64().expect("sum")
            );
        } else {
            assert!(bundle.contrasts.is_empty());
        }
    }
}

#[test]
fn bundle_masks_sit_on_the_same_voxels_as_the_exported_npy_masks() {
    let dir = common::data_dir().join("dafne-legacy/exports");
    let bundle = numpy::read_bundle(&dir.join("bundle_single_contrast.npz")).expect("bundle");
    for mask in &bundle.masks {
        let npy = numpy::read_npy_volume(&dir.join("masks_npy").join(format!("{}.npy", mask.name)))
            .expect("npy mask");
        let from_npy: Vec<u8> = (0..npy.voxel_count())
            .map(|i| (npy.voxels().get_f64(i).expect("voxel") > 0.0) as u8)
            .collect();
        assert_eq!(mask.voxels, from_npy, "{}", mask.name);
    }
}

#[test]
fn bundles_round_trip_with_masks_contrasts_and_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dims = [5, 4, 3, 1];
    let volume = oblique_volume(
        dims,
        Voxels::I16((0..60).collect()),
        Rescale::Uniform(LinearMap::IDENTITY),
    );
    let contrast = Contrast {
        name: "Flipped é".into(),
        volume: oblique_volume(
            dims,
            Voxels::F32((0..60).map(|i| i as f32 * 0.5).collect()),
            Rescale::Uniform(LinearMap::IDENTITY),
        ),
    };
    let masks = vec![
        BundleMask {
            name: "Vastus Lateralis_R".into(),
            dims,
            voxels: (0..60).map(|i| (i % 3 == 0) as u8).collect(),
        },
        BundleMask {
            name: "Muscle é".into(),
            dims,
            voxels: (0..60).map(|i| (i > 40) as u8).collect(),
        },
    ];
    let contrasts = [contrast];
    let parts = BundleParts {
        volume: &volume,
        contrasts: &contrasts,
        masks: &masks,
        comment: Some("a comment, ünïcödé"),
    };
    let path = dir.path().join("bundle.npz");
    numpy::write_bundle_parts(&parts, &path).expect("write");
    let back: Bundle = numpy::read_bundle(&path).expect("read");
    assert_eq!(back.volume.voxels(), volume.voxels());
    assert_eq!(back.volume.dims(), dims);
    assert_eq!(back.comment.as_deref(), Some("a comment, ünïcödé"));
    assert_eq!(back.masks, masks);
    assert_eq!(back.contrasts.len(), 1);
    assert_eq!(back.contrasts[0].name, "Flipped é");
    assert_eq!(
        back.contrasts[0].volume.voxels(),
        contrasts[0].volume.voxels()
    );
    let (a, b) = (back.volume.geometry.affine_lps, volume.geometry.affine_lps);
    for r in 0..4 {
        for c in 0..4 {
            assert!((a[r][c] - b[r][c]).abs() < 1e-12, "affine {a:?} vs {b:?}");
        }
    }
    assert_eq!(back.volume.geometry.source, GeometrySource::NumpyAffine);
    let s = volume.geometry.spacing_mm();
    let res = back.resolution_mm.expect("resolution");
    for (got, want) in res.iter().zip([s[1], s[0], s[2]]) {
        assert!((got - want).abs() < 1e-12);
    }

    // Written as numpy's savez_compressed: deflated `<key>.npy` members, comment a 0-d `<U` array.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).expect("open")).expect("zip");
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.expect("name").to_string())
        .collect();
    for key in [
        "data.npy",
        "data2.npy",
        "contrast_names.npy",
        "resolution.npy",
        "affine.npy",
        "comment.npy",
        "mask_Muscle é.npy",
    ] {
        assert!(
            names.iter().any(|n| n == key),
            "{key} missing from {names:?}"
        );
    }
    let mut comment = zip.by_name("comment.npy").expect("comment");
    assert_eq!(comment.compression(), zip::CompressionMethod::Deflated);
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut comment, &mut text).expect("read");
    assert!(String::from_utf8_lossy(&text)
        .contains("{'descr': '<U18', 'fortran_order': False, 'shape': (), }"));
}

#[test]
fn write_bundle_stores_real_values_and_the_description_as_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let volume = oblique_volume(
        [2, 2, 1, 1],
        Voxels::I16(vec![1, 2, 3, 4]),
        Rescale::Uniform(LinearMap {
            slope: 2.0,
            intercept: -1.0,
        }),
    );
    let path = dir.path().join("b.npz");
    numpy::write_bundle(&volume, &path).expect("write");
    let back = numpy::read_bundle(&path).expect("read");
    assert_eq!(back.volume.voxels(), &Voxels::F32(vec![1.0, 3.0, 5.0, 7.0]));
    assert_eq!(back.comment, volume.info.description);
    assert!(back.masks.is_empty());
}

#[test]
fn four_d_bundles_accept_full_and_single_frame_masks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dims = [3, 2, 2, 2];
    let volume = oblique_volume(
        dims,
        Voxels::U8((0..24).collect()),
        Rescale::Uniform(LinearMap::IDENTITY),
    );
    let masks = vec![
        BundleMask {
            name: "all".into(),
            dims,
            voxels: (0..24).map(|i| (i % 2) as u8).collect(),
        },
        BundleMask {
            name: "frame".into(),
            dims: [3, 2, 2, 1],
            voxels: (0..12).map(|i| (i % 5 == 0) as u8).collect(),
        },
    ];
    let path = dir.path().join("4d.npz");
    numpy::write_bundle_parts(
        &BundleParts {
            volume: &volume,
            contrasts: &[],
            masks: &masks,
            comment: None,
        },
        &path,
    )
    .expect("write");
    let back = numpy::read_bundle(&path).expect("read");
    assert_eq!(back.volume.voxels(), volume.voxels());
    assert_eq!(back.masks, masks);
    assert_eq!(back.comment, None);
    let wrong = [BundleMask {
        name: "bad".into(),
        dims: [2, 3, 2, 1],
        voxels: vec![0; 12],
    }];
    let err = numpy::write_bundle_parts(
        &BundleParts {
            volume: &volume,
            contrasts: &[],
            masks: &wrong,
            comment: None,
        },
        &path,
    )
    .expect_err("wrong dims");
    assert!(matches!(err, NumpyError::BundleEntry { .. }), "{err:?}");
}

#[test]
fn bundle_without_affine_takes_spacing_from_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: Vec<u8> = (0..24u8).collect();
    let members = [
        ("image.npy", npy(1, "|u1", false, "(2, 3, 4)", &data)),
        (
            "resolution.npy",
            npy(
                1,
                "<f8",
                false,
                "(2,)",
                &bytes_of!([0.7f64, 0.8], to_le_bytes),
            ),
        ),
    ];
    let path = dir.path().join("plain.npz");
    write_zip(&path, &members, zip::CompressionMethod::Stored);
    let bundle = numpy::read_bundle(&path).expect("read");
    assert_eq!(bundle.volume.dims(), [3, 2, 4, 1]);
    assert_eq!(bundle.volume.geometry.source, GeometrySource::Missing);
    assert_eq!(bundle.volume.geometry.spacing_mm(), [0.8, 0.7, 1.0]);
    assert_eq!(bundle.resolution_mm, Some([0.7, 0.8, 1.0]));
}

#[test]
fn broken_bundles_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let legacy =
        std::fs::read(common::data_dir().join("dafne-legacy/exports/bundle_single_contrast.npz"))
            .expect("kit");
    assert!(numpy::read_bundle_bytes(&legacy).is_ok());
    for cut in [0, 10, legacy.len() / 2, legacy.len() - 30] {
        assert!(
            numpy::read_bundle_bytes(&legacy[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    // A data-less npz (the "npz masks" export) is not a bundle.
    let masks =
        std::fs::read(common::data_dir().join("dafne-legacy/exports/masks.npz")).expect("kit");
    assert!(matches!(
        numpy::read_bundle_bytes(&masks),
        Err(NumpyError::MissingData)
    ));

    let data = npy(1, "|u1", false, "(2, 3, 4)", &[1; 24]);
    type Members<'a> = Vec<(&'a str, Vec<u8>)>;
    let cases: [(&str, Members); 4] = [
        (
            "mask shape",
            vec![
                ("data.npy", data.clone()),
                ("mask_x.npy", npy(1, "|u1", false, "(3, 2, 4)", &[1; 24])),
            ],
        ),
        (
            "affine shape",
            vec![
                ("data.npy", data.clone()),
                ("affine.npy", npy(1, "<f8", false, "(3, 4)", &[0; 96])),
            ],
        ),
        (
            "resolution",
            vec![
                ("data.npy", data.clone()),
                (
                    "resolution.npy",
                    npy(
                        1,
                        "<f8",
                        false,
                        "(3,)",
                        &bytes_of!([1.0f64, -1.0, 2.0], to_le_bytes),
                    ),
                ),
            ],
        ),
        (
            "contrast shape",
            vec![
                ("data.npy", data.clone()),
                ("data2.npy", npy(1, "|u1", false, "(2, 3, 2)", &[1; 12])),
            ],
        ),
    ];
    for (what, members) in cases {
        let path = dir.path().join("bad.npz");
        write_zip(&path, &members, zip::CompressionMethod::Deflated);
        let err = numpy::read_bundle(&path).expect_err(what);
        assert!(
            matches!(err, NumpyError::BundleEntry { .. }),
            "{what}: {err:?}"
        );
    }
    // A member whose npy is corrupt names the member.
    let path = dir.path().join("corrupt.npz");
    write_zip(
        &path,
        &[("data.npy", data[..40].to_vec())],
        zip::CompressionMethod::Stored,
    );
    let err = numpy::read_bundle(&path).expect_err("corrupt member");
    assert!(err.to_string().contains("data.npy"), "{err}");
}

#[test]
fn lying_member_sizes_are_refused_without_allocating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("liar.npz");
    write_zip(
        &path,
        &[("data.npy", npy(1, "|u1", false, "(2, 3, 4)", &[1; 24]))],
        zip::CompressionMethod::Stored,
    );
    let mut bytes = std::fs::read(&path).expect("zip");
    // Claim a 4 GB uncompressed size in the local header and the central directory.
    for (sig, offset) in [
        ([0x50u8, 0x4b, 0x03, 0x04], 22usize),
        ([0x50, 0x4b, 0x01, 0x02], 24),
    ] {
        let at = bytes.windows(4).position(|w| w == sig).expect("signature");
        bytes[at + offset..at + offset + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    }
    let start = Instant::now();
    assert!(numpy::read_bundle_bytes(&bytes).is_err());
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn byte_flips_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let volume = oblique_volume(
        [3, 2, 2, 1],
        Voxels::I16((0..12).collect()),
        Rescale::Uniform(LinearMap::IDENTITY),
    );
    let path = dir.path().join("small.npz");
    numpy::write_bundle(&volume, &path).expect("write");
    let bundle = std::fs::read(&path).expect("bytes");
    let npy_path = dir.path().join("small.npy");
    numpy::write_npy_volume(&volume, &npy_path).expect("write");
    let array = std::fs::read(&npy_path).expect("bytes");
    let mut state = 0x9e3779b97f4a7c15u64;
    for round in 0..4000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let source = if round % 2 == 0 { &bundle } else { &array };
        let mut bad = source.clone();
        let at = (state as usize) % bad.len();
        bad[at] ^= (state >> 40) as u8 | 1;
        let _ = numpy::read_bundle_bytes(&bad);
        let _ = numpy::read_npy_bytes(&bad);
    }
}
