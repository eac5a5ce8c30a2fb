//! DICOM mask output and input against real peers: dciodvfy (dicom3tools) validates every
//! object we write, highdicom and dcmqi read our SEG back, and the original Dafne's DICOM
//! exports read back into its reference masks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use dafne_core::{NamedMasks, SliceMask};
use dafne_io::masks::dicom_series::{export_compact_dicom, export_dicom_series, import_dicom};
use dafne_io::masks::dicom_source::DicomSource;
use dafne_io::masks::label_map::Overlap;
use dafne_io::masks::seg::export_seg;
use dafne_io::masks::seg_read::Target;

fn python() -> PathBuf {
    std::env::var_os("DAFNE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"))
}

fn small_series() -> PathBuf {
    common::data_dir().join("dafne-legacy/input/dicom_mr_small_3slices")
}

fn oblique_series() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/dicom/ge_pd_axial_oblique")
}

fn legacy_exports() -> PathBuf {
    common::data_dir().join("dafne-legacy/exports")
}

/// A disk of `radius` px at (row, col).
fn disk(rows: usize, cols: usize, row: usize, col: usize, radius: usize) -> SliceMask {
    let mut m = SliceMask::new(rows, cols).unwrap();
    for r in 0..rows {
        for c in 0..cols {
            let (dr, dc) = (r as i64 - row as i64, c as i64 - col as i64);
            if dr * dr + dc * dc <= (radius * radius) as i64 {
                m.set(r, c, true);
            }
        }
    }
    m
}

/// ROIs over every slice pattern that matters: several slices, a non-ASCII name, an empty ROI,
/// a name that is not file-system safe, overlapping ROIs, and a single-pixel edge mask.
fn test_rois(source: &DicomSource) -> Vec<NamedMasks> {
    let (rows, cols, n) = (source.rows, source.cols, source.slices.len());
    let mut vl = NamedMasks::new("Vastus Lateralis_R");
    for k in 0..n {
        vl.slices
            .insert(k, disk(rows, cols, rows / 3 + k, cols / 3, 4 + k % 3));
    }
    let mut other = NamedMasks::new("Muscle é");
    other.slices.insert(
        n - 1,
        disk(rows, cols, rows * 3 / 4, cols * 3 / 4, rows / 8),
    );
    let empty = NamedMasks::new("Empty ROI");
    let mut odd = NamedMasks::new("Gracilis_L: a/b?");
    let mut edge = SliceMask::new(rows, cols).unwrap();
    edge.set(rows - 1, cols - 1, true);
    edge.set(0, 0, true);
    odd.slices.insert(0, edge);
    // Overlaps VL on slice 0 (allowed in SEG and per-ROI series).
    let mut sart = NamedMasks::new("Sartorius_R");
    sart.slices
        .insert(0, disk(rows, cols, rows / 3, cols / 3 + 3, 3));
    // Longer than SegmentLabel (LO, 64) can hold, with a backslash LO cannot hold.
    let mut long = NamedMasks::new(format!("Adductor\\Magnus {}", "x".repeat(70)));
    let mut dot = SliceMask::new(rows, cols).unwrap();
    dot.set(1, cols - 2, true);
    long.slices.insert(n / 2, dot);
    vec![vl, other, empty, odd, sart, long]
}

fn sources() -> Vec<(&'static str, PathBuf)> {
    vec![("small", small_series()), ("oblique", oblique_series())]
}

fn without_overlap(rois: &[NamedMasks]) -> Vec<NamedMasks> {
    rois.iter()
        .filter(|r| r.name != "Sartorius_R")
        .cloned()
        .collect()
}

/// dciodvfy's errors and warnings for `file`, with the errors caused by the source's
/// illegal `0.0.0.0` UIDs (copied Study and Frame of Reference, referenced instances) removed.
fn dciodvfy(file: &Path) -> (Vec<String>, Vec<String>) {
    let out = Command::new("dciodvfy")
        .arg(file)
        .output()
        .expect("dciodvfy (dicom3tools) is installed");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for line in text.lines() {
        let inherited = line.starts_with("Error - Illegal root for UID - \"0.0.0.0.");
        if line.starts_with("Error") && !inherited {
            errors.push(line.to_string());
        } else if line.starts_with("Warning") {
            warnings.push(line.to_string());
        }
    }
    (errors, warnings)
}

fn assert_same(got: &[NamedMasks], want: &[NamedMasks], what: &str) {
    let names = |r: &[NamedMasks]| r.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{what}: ROI names");
    for (g, w) in got.iter().zip(want) {
        let nonempty = |r: &NamedMasks| {
            r.slices
                .iter()
                .filter(|(_, m)| !m.is_empty())
                .map(|(k, m)| (*k, m.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(nonempty(g), nonempty(w), "{what}: masks of {:?}", w.name);
    }
}

#[test]
fn seg_round_trips_and_dciodvfy_finds_no_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (label, path) in sources() {
        let source = DicomSource::load(&path, None).unwrap();
        let rois = test_rois(&source);
        let out = dir.path().join(format!("{label}.seg.dcm"));
        export_seg(&rois, &source, &out).unwrap();
        let (errors, warnings) = dciodvfy(&out);
        eprintln!(
            "{label} SEG dciodvfy warnings:\n  {}",
            warnings.join("\n  ")
        );
        assert!(
            errors.is_empty(),
            "{label} SEG dciodvfy errors:\n{}",
            errors.join("\n")
        );
        let (back, w) = import_dicom(&out, &Target::of_source(&source)).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_same(&back, &rois, label);
        // Placed by position alone (no source instances known) gives the same masks.
        let loaded = dafne_io::load(&path, None).unwrap();
        let (by_position, _) = import_dicom(&out, &Target::of_volume(&loaded.volume)).unwrap();
        assert_same(&by_position, &rois, label);
    }
}

/// Runs `script` with the test Python and parses its last stdout line as JSON.
fn run_python(script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("JSON on the last line")
}

/// (slice, row, col) of every set voxel of `roi`.
fn voxels(roi: &NamedMasks) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for (&k, m) in &roi.slices {
        for r in 0..m.rows() {
            for c in 0..m.cols() {
                if m.get(r, c) {
                    out.push((k, r, c));
                }
            }
        }
    }
    out
}

fn json_voxels(v: &serde_json::Value) -> Vec<(usize, usize, usize)> {
    let mut out: Vec<(usize, usize, usize)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let t = t.as_array().unwrap();
            let u = |i: usize| t[i].as_u64().unwrap() as usize;
            (u(0), u(1), u(2))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn mask_series_and_compact_series_round_trip_and_pass_dciodvfy() {
    let dir = tempfile::tempdir().unwrap();
    for (label, path) in sources() {
        let source = DicomSource::load(&path, None).unwrap();
        let rois = test_rois(&source);
        let target = Target::of_source(&source);

        let series_dir = dir.path().join(format!("{label}_series"));
        export_dicom_series(&rois, &source, &series_dir).unwrap();
        let (back, warnings) = import_dicom(&series_dir, &target).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        // Sub-folders come back in name order.
        let mut want = rois.clone();
        want.sort_by(|a, b| {
            dafne_io::masks::names::encode_folder(&a.name)
                .cmp(&dafne_io::masks::names::encode_folder(&b.name))
        });
        assert_same(&back, &want, label);

        let compact_dir = dir.path().join(format!("{label}_compact"));
        let report =
            export_compact_dicom(&rois, &source, &compact_dir, Overlap::FirstWins).unwrap();
        assert_eq!(
            report.pairs.len(),
            1,
            "VL and Sartorius overlap: {report:?}"
        );
        assert_eq!(
            (
                report.pairs[0].first.as_str(),
                report.pairs[0].second.as_str()
            ),
            ("Vastus Lateralis_R", "Sartorius_R")
        );
        let clean = without_overlap(&rois);
        let clean_dir = dir.path().join(format!("{label}_clean"));
        let report = export_compact_dicom(&clean, &source, &clean_dir, Overlap::Refuse).unwrap();
        assert!(report.is_empty());
        let (back, warnings) = import_dicom(&clean_dir, &target).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_same(&back, &clean, label);
        assert_eq!(
            std::fs::read_to_string(clean_dir.join("legend.csv"))
                .unwrap()
                .lines()
                .next(),
            Some("Value,Label")
        );
        assert!(clean_dir.join("legend_itk-snap.txt").is_file());

        // Every file: valid, new UIDs, and referencing its source slice.
        let mut files: Vec<PathBuf> = Vec::new();
        for d in [&compact_dir, &clean_dir] {
            files.extend(
                std::fs::read_dir(d)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "dcm")),
            );
        }
        for sub in std::fs::read_dir(&series_dir).unwrap() {
            files.extend(
                std::fs::read_dir(sub.unwrap().path())
                    .unwrap()
                    .map(|e| e.unwrap().path()),
            );
        }
        assert_eq!(files.len(), source.slices.len() * (2 + rois.len()));
        let mut all_warnings = std::collections::BTreeSet::new();
        for f in &files {
            let (errors, warnings) = dciodvfy(f);
            assert!(
                errors.is_empty(),
                "{label} {}: dciodvfy errors:\n{}",
                f.display(),
                errors.join("\n")
            );
            all_warnings.extend(warnings);
            let obj = dafne_io::dicom::source::read_header_object(f).unwrap();
            let text = |t| {
                obj.get(t)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .trim_end_matches('\0')
                    .to_string()
            };
            use dicom_dictionary_std::tags;
            let sop = text(tags::SOP_INSTANCE_UID);
            assert!(
                sop.starts_with("2.25.")
                    && source
                        .slices
                        .iter()
                        .all(|s| s.header.sop_instance_uid.as_deref() != Some(sop.as_str()))
            );
            assert!(text(tags::SERIES_INSTANCE_UID).starts_with("2.25."));
            assert!(text(tags::IMAGE_TYPE).starts_with("DERIVED\\SECONDARY"));
            assert!(
                obj.get(tags::RESCALE_SLOPE).is_none() && obj.get(tags::WINDOW_CENTER).is_none()
            );
            assert!(obj.get(tags::SPACING_BETWEEN_SLICES).is_none());
            let n: usize = text(tags::INSTANCE_NUMBER).parse().unwrap();
            let referenced = obj
                .get(tags::SOURCE_IMAGE_SEQUENCE)
                .unwrap()
                .items()
                .unwrap()[0]
                .get(tags::REFERENCED_SOP_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0')
                .to_string();
            assert_eq!(
                Some(referenced.as_str()),
                source.slices[n - 1].header.sop_instance_uid.as_deref()
            );
            assert_eq!(
                text(tags::STUDY_INSTANCE_UID),
                text_of(&source.slices[0].object, tags::STUDY_INSTANCE_UID)
            );
        }
        eprintln!("{label} mask series dciodvfy warnings: {all_warnings:#?}");
    }
}

fn text_of(obj: &dicom_object::InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .to_string()
}

const HIGHDICOM_READ: &str = r#"
import sys, json, highdicom as hd, numpy as np
seg = hd.seg.segread(sys.argv[1])
uids = sys.argv[2:]
out = {"labels": [], "masks": {}}
numbers = list(seg.segment_numbers)
for n in numbers:
    out["labels"].append(seg.get_segment_description(n).segment_label)
px = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=numbers,
        assert_missing_frames_are_empty=True, ignore_spatial_locations=True)
for j, n in enumerate(numbers):
    idx = np.argwhere(px[..., j] > 0)
    out["masks"][str(n)] = idx.tolist()
print(json.dumps(out))
"#;

#[test]
fn highdicom_reads_our_seg_with_the_right_labels_and_pixels() {
    let dir = tempfile::tempdir().unwrap();
    for (label, path) in sources() {
        let source = DicomSource::load(&path, None).unwrap();
        let rois = test_rois(&source);
        let out = dir.path().join("seg.dcm");
        export_seg(&rois, &source, &out).unwrap();
        let uids: Vec<String> = source
            .slices
            .iter()
            .map(|s| s.header.sop_instance_uid.clone().unwrap())
            .collect();
        let mut args = vec![out.to_str().unwrap()];
        args.extend(uids.iter().map(String::as_str));
        let got = run_python(HIGHDICOM_READ, &args);
        let labels: Vec<&str> = got["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let names: Vec<String> = rois
            .iter()
            .map(|r| dafne_io::masks::seg::segment_label(&r.name))
            .collect();
        assert_eq!(labels, names, "{label}");
        for (i, roi) in rois.iter().enumerate() {
            // Index k of the array is the k-th UID passed, i.e. slice k of the dataset.
            assert_eq!(
                json_voxels(&got["masks"][(i + 1).to_string()]),
                voxels(roi),
                "{label} {}",
                roi.name
            );
        }
    }
}

const HIGHDICOM_WRITE: &str = r#"
import sys, json, glob, highdicom as hd, numpy as np, pydicom
from pydicom.sr.codedict import codes
files = sorted(glob.glob(sys.argv[1] + "/*"))
dsets = [pydicom.dcmread(f) for f in files]
rows, cols = dsets[0].Rows, dsets[0].Columns
mask = np.zeros((len(dsets), rows, cols, 2), dtype=bool)
for i in range(len(dsets)):
    mask[i, 5 + 3 * i : 20 + 3 * i, 10:30, 0] = True
mask[1, 40:50, 40:44, 1] = True
descs = [hd.seg.SegmentDescription(segment_number=n + 1, segment_label=l,
          segmented_property_category=codes.SCT.Tissue, segmented_property_type=codes.SCT.Muscle,
          algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
         for n, l in enumerate(["Rectus Femoris_R", "Other"])]
seg = hd.seg.Segmentation(source_images=dsets, pixel_array=mask,
          segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=descs,
          series_instance_uid=hd.UID(), series_number=5, sop_instance_uid=hd.UID(), instance_number=1,
          manufacturer="test", manufacturer_model_name="test", software_versions="0", device_serial_number="0")
seg.save_as(sys.argv[2])
out = {}
for j, name in enumerate(["Rectus Femoris_R", "Other"]):
    out[name] = {d.SOPInstanceUID: np.argwhere(mask[i, :, :, j]).tolist() for i, d in enumerate(dsets)}
print(json.dumps(out))
"#;

#[test]
fn seg_written_by_highdicom_is_imported_on_the_right_slices() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_series();
    let source = DicomSource::load(&path, None).unwrap();
    let out = dir.path().join("hd.seg.dcm");
    let want = run_python(
        HIGHDICOM_WRITE,
        &[path.to_str().unwrap(), out.to_str().unwrap()],
    );
    for target in [
        Target::of_source(&source),
        Target::of_volume(&dafne_io::load(&path, None).unwrap().volume),
    ] {
        let (rois, warnings) = import_dicom(&out, &target).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            rois.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["Rectus Femoris_R", "Other"]
        );
        for roi in &rois {
            let mut expected = Vec::new();
            for (k, s) in source.slices.iter().enumerate() {
                let uid = s.header.sop_instance_uid.clone().unwrap();
                for rc in want[&roi.name][&uid].as_array().unwrap() {
                    let rc = rc.as_array().unwrap();
                    expected.push((
                        k,
                        rc[0].as_u64().unwrap() as usize,
                        rc[1].as_u64().unwrap() as usize,
                    ));
                }
            }
            expected.sort();
            assert!(!expected.is_empty());
            assert_eq!(voxels(roi), expected, "{}", roi.name);
        }
    }
}

const DCMQI_READ: &str = r#"
import sys, json, glob, os, subprocess, numpy as np, nibabel as nib
seg, outdir, affine = sys.argv[1], sys.argv[2], np.array(json.loads(sys.argv[3]))
exe = os.path.join(os.path.dirname(sys.executable), "segimage2itkimage")
subprocess.run([exe, "--inputDICOM", seg, "--outputDirectory", outdir, "--outputType", "nifti", "-p", "s"], check=True, capture_output=True)
meta = json.load(open(os.path.join(outdir, "s-meta.json")))
inv = np.linalg.inv(affine)
flip = np.diag([-1.0, -1.0, 1.0, 1.0])
out = {}
for i, attrs in enumerate(meta["segmentAttributes"]):
    for a in attrs:
        img = nib.load(os.path.join(outdir, "s-%d.nii.gz" % (i + 1)))
        ijk = np.argwhere(np.asarray(img.dataobj) > 0)
        lps = flip @ img.affine @ np.c_[ijk, np.ones(len(ijk))].T
        ours = np.rint(inv @ lps).astype(int).T[:, :3]
        out[a["SegmentLabel"]] = sorted([int(k), int(r), int(c)] for c, r, k in ours)
print(json.dumps(out))
"#;

#[test]
fn dcmqi_converts_our_seg_back_to_the_same_masks() {
    let dir = tempfile::tempdir().unwrap();
    for (label, path) in sources() {
        let source = DicomSource::load(&path, None).unwrap();
        let rois = test_rois(&source);
        let seg = dir.path().join(format!("{label}.seg.dcm"));
        export_seg(&rois, &source, &seg).unwrap();
        let outdir = dir.path().join(format!("{label}_dcmqi"));
        std::fs::create_dir_all(&outdir).unwrap();
        let affine = serde_json::to_string(&source.geometry.affine_lps).unwrap();
        let got = run_python(
            DCMQI_READ,
            &[seg.to_str().unwrap(), outdir.to_str().unwrap(), &affine],
        );
        for roi in rois.iter().filter(|r| r.count() > 0) {
            let name = dafne_io::masks::seg::segment_label(&roi.name);
            assert_eq!(
                json_voxels(&got[&name]),
                voxels(roi),
                "{label} {}",
                roi.name
            );
        }
    }
}

/// `mask_<ROI>` arrays (rows, cols, slices) of a legacy npz as ROIs.
fn reference_masks(npz: &Path) -> Vec<NamedMasks> {
    let script = r#"
import sys, json, numpy as np
z = np.load(sys.argv[1])
print(json.dumps([[k[5:], np.argwhere(np.asarray(z[k]) != 0).tolist(), list(z[k].shape)] for k in z.files if k.startswith("mask_")]))
"#;
    let got = run_python(script, &[npz.to_str().unwrap()]);
    got.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let shape: Vec<usize> = e[2]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let mut roi = NamedMasks::new(e[0].as_str().unwrap());
            for v in e[1].as_array().unwrap() {
                let v: Vec<usize> = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect();
                roi.slices
                    .entry(v[2])
                    .or_insert_with(|| SliceMask::new(shape[0], shape[1]).unwrap())
                    .set(v[0], v[1], true);
            }
            roi
        })
        .collect()
}

#[test]
fn original_dafne_dicom_exports_read_back_into_its_reference_masks() {
    let dataset = dafne_io::load(&small_series(), None).unwrap().volume;
    let target = Target::of_volume(&dataset);
    let exports = legacy_exports();
    let reference = reference_masks(&exports.join("reference_masks_calcOutputData.npz"));
    let (rois, warnings) = import_dicom(&exports.join("masks_dicom"), &target).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut want = reference.clone();
    want.sort_by(|a, b| a.name.cmp(&b.name));
    assert_same(&rois, &want, "masks_dicom");

    let clean = reference_masks(&exports.join("reference_masks_clean.npz"));
    let (rois, warnings) = import_dicom(&exports.join("clean_compact_dicom"), &target).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_same(&rois, &clean, "clean_compact_dicom");

    // The overlapping export holds sums: each value read back is exactly the reference label
    // map's voxels of that value, values beyond the legend named by value with a warning.
    let labels = run_python(
        "import sys, json, numpy as np\nl = np.load(sys.argv[1])\nprint(json.dumps({int(v): np.argwhere(l == v).tolist() for v in np.unique(l) if v}))",
        &[exports.join("reference_compact_labels.npy").to_str().unwrap()],
    );
    let (rois, warnings) = import_dicom(&exports.join("masks_compact_dicom"), &target).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("6, 7, 8, 9, 10"), "{warnings:?}");
    let legend = [
        "Vastus Lateralis_R",
        "Muscle é",
        "Sartorius_R",
        "Empty ROI",
        "VL or Muscle (union)",
    ];
    for (value, voxels_rc) in labels.as_object().unwrap() {
        let v: usize = value.parse().unwrap();
        let name = legend
            .get(v - 1)
            .map(|s| s.to_string())
            .unwrap_or(value.clone());
        let roi = rois.iter().find(|r| r.name == name).unwrap();
        let mut want: Vec<(usize, usize, usize)> = voxels_rc
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let t = t.as_array().unwrap();
                (
                    t[2].as_u64().unwrap() as usize,
                    t[0].as_u64().unwrap() as usize,
                    t[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        want.sort();
        assert_eq!(voxels(roi), want, "label {v}");
    }
    assert_eq!(rois.len(), 10);
}

#[test]
fn segment_codes_are_real_dicom_codes() {
    let mut args: Vec<String> = Vec::new();
    for c in dafne_io::masks::codes::ALL {
        args.push(format!("{}|{}|{}", c.scheme, c.value, c.meaning));
    }
    let script = r#"
import sys, json
from pydicom.sr._concepts_dict import concepts
bad = []
for a in sys.argv[1:]:
    scheme, value, meaning = a.split("|")
    found = [m for kw, codes in concepts[scheme].items() for v, (m, cids) in codes.items() if v == value]
    if meaning not in found:
        bad.append([a, found])
print(json.dumps(bad))
"#;
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let bad = run_python(script, &refs);
    assert_eq!(
        bad,
        serde_json::json!([]),
        "codes not in pydicom's dictionary"
    );
    // And a wrong code would be caught.
    let wrong = run_python(script, &["SCT|91723000|Muscle"]);
    assert_eq!(wrong.as_array().unwrap().len(), 1);
}

#[test]
fn dicom_export_of_a_dataset_not_read_from_dicom_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let volume = dafne_io::load(&small_series(), None).unwrap().volume;
    let nii = dir.path().join("v.nii.gz");
    dafne_io::save(&volume, &nii).unwrap();
    let err = DicomSource::load(&nii, None).unwrap_err();
    assert!(
        matches!(err, dafne_io::masks::MaskIoError::Unsupported { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("DICOM"), "{err}");
}

#[test]
fn slices_map_to_their_own_files_when_the_loader_drops_an_unreadable_first_slice() {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(small_series()).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    // Cut the pixel data of the first slice: its header still reads, its pixels do not.
    let first = dir.path().join("IM0001.dcm");
    let bytes = std::fs::read(&first).unwrap();
    std::fs::write(&first, &bytes[..bytes.len() - 4000]).unwrap();
    let loaded = dafne_io::load(dir.path(), None).unwrap();
    assert_eq!(
        loaded.volume.dims()[2],
        2,
        "the loader drops the unreadable first slice"
    );
    let source = DicomSource::for_volume(&loaded.volume, dir.path()).unwrap();
    let names: Vec<String> = source
        .slices
        .iter()
        .map(|s| {
            s.header
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["IM0002.dcm", "IM0003.dcm"]);
}

#[test]
fn awkward_names_survive_series_folders_and_the_compact_legend() {
    let dir = tempfile::tempdir().unwrap();
    let source = DicomSource::load(&small_series(), None).unwrap();
    let target = Target::of_source(&source);
    let names = [
        "Biceps, \"long\" head",
        "trail.",
        "CON",
        "50% fat",
        "a/b",
        "Muscle é",
    ];
    let rois: Vec<NamedMasks> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut roi = NamedMasks::new(*name);
            roi.slices.insert(
                i % source.slices.len(),
                disk(source.rows, source.cols, 10 + 12 * i, 20, 4),
            );
            roi
        })
        .collect();

    let series_dir = dir.path().join("series");
    export_dicom_series(&rois, &source, &series_dir).unwrap();
    let mut folders: Vec<String> = std::fs::read_dir(&series_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut want_folders: Vec<String> = names
        .iter()
        .map(|n| dafne_io::masks::names::encode_folder(n))
        .collect();
    want_folders.sort();
    assert_eq!(folders, want_folders);
    assert!(folders.contains(&"trail%2E".to_string()), "{folders:?}");
    let (back, warnings) = import_dicom(&series_dir, &target).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut want = rois.clone();
    want.sort_by_key(|r| dafne_io::masks::names::encode_folder(&r.name));
    assert_same(&back, &want, "series");

    let compact_dir = dir.path().join("compact");
    export_compact_dicom(&rois, &source, &compact_dir, Overlap::Refuse).unwrap();
    // Python's csv module (how the original reads a legend) sees the same names.
    let legend = run_python(
        "import sys, csv, json\nrows = list(csv.reader(open(sys.argv[1], encoding='utf-8', newline='')))\nprint(json.dumps([r[1] for r in rows[1:]]))",
        &[compact_dir.join("legend.csv").to_str().unwrap()],
    );
    assert_eq!(legend, serde_json::json!(names));
    let (back, warnings) = import_dicom(&compact_dir, &target).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_same(&back, &rois, "compact");
}
