//! Building series from headers: group by SeriesInstanceUID, split what must not be stacked
//! (several orientations or image sizes), drop duplicate instances, sort by position along the
//! slice normal and derive the slice step from ImagePositionPatient.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dafne_core::{Affine, DType, Geometry, GeometrySource, LinearMap, Rescale, SeriesInfo};
use serde::Serialize;

use super::header::SliceHeader;
use super::pixels::stored_dtype;

/// Positions closer than this (mm) along the normal are the same slice position.
const SAME_POSITION_MM: f64 = 0.01;
/// Slice steps may differ from the median by this much (rounded positions) and still be regular.
const STEP_TOLERANCE_MM: f64 = 0.1;
/// Orientation cosines equal within this are the same plane.
const SAME_ORIENTATION: f64 = 1e-3;

/// One volume found in a folder, ready to be loaded (or refused, with the reason).
#[derive(Clone, Debug, Serialize)]
pub struct SeriesEntry {
    pub info: SeriesInfo,
    /// The files in slice order (one file for a multi-frame object).
    pub files: Vec<PathBuf>,
    pub dims: [usize; 4],
    pub dtype: Option<DType>,
    pub geometry: Geometry,
    pub rescale: Rescale,
    pub warnings: Vec<String>,
    /// Why this set of files cannot be loaded as a volume; None when it can.
    pub refused: Option<String>,
    /// For a multi-frame object: file frame index of each slice, in slice order.
    #[serde(skip)]
    pub(crate) frame_order: Option<Vec<usize>>,
}

fn normal(iop: &[f64; 6]) -> [f64; 3] {
    let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ]
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn same_iop(a: &Option<[f64; 6]>, b: &Option<[f64; 6]>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a
            .iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() < SAME_ORIENTATION),
        (None, None) => true,
        _ => false,
    }
}

fn info_of(h: &SliceHeader) -> SeriesInfo {
    SeriesInfo {
        format: "DICOM".into(),
        description: h.series_description.clone(),
        modality: h.modality.clone(),
        series_uid: h.series_uid.clone(),
        series_number: h.series_number,
        series_date: h.series_date.clone(),
        sop_class: h.sop_class_uid.clone(),
        transfer_syntax: Some(h.transfer_syntax.clone()),
    }
}

/// Groups headers into series entries, in a stable order (series number, then UID, then plane).
pub fn build_series(headers: Vec<SliceHeader>) -> Vec<SeriesEntry> {
    let mut by_uid: BTreeMap<(i64, String), Vec<SliceHeader>> = BTreeMap::new();
    for h in headers {
        let uid = h.series_uid.clone().unwrap_or_else(|| {
            format!(
                "(no series UID) {}",
                h.path
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        });
        by_uid
            .entry((h.series_number.unwrap_or(i64::MAX), uid))
            .or_default()
            .push(h);
    }
    let mut out = Vec::new();
    for (_, mut group) in by_uid {
        group.sort_by(|a, b| a.path.cmp(&b.path));
        // Multi-frame objects are volumes of their own.
        let (multi, single): (Vec<_>, Vec<_>) = group.into_iter().partition(|h| h.frames > 1);
        out.extend(multi.into_iter().map(multi_frame_entry));
        out.extend(split_single_frames(single));
    }
    out
}

/// Splits one series' single-frame files by image size and orientation.
fn split_single_frames(files: Vec<SliceHeader>) -> Vec<SeriesEntry> {
    if files.is_empty() {
        return Vec::new();
    }
    let mut planes: Vec<Vec<SliceHeader>> = Vec::new();
    for h in files {
        match planes
            .iter_mut()
            .find(|p| p[0].rows == h.rows && p[0].cols == h.cols && same_iop(&p[0].iop, &h.iop))
        {
            Some(p) => p.push(h),
            None => planes.push(vec![h]),
        }
    }
    let total: usize = planes.iter().map(|p| p.len()).sum();
    if planes.len() > 3 && planes.iter().all(|p| p.len() == 1) {
        // A radial set: every slice in its own plane. Refuse it whole rather than offer N one-slice volumes.
        let mut headers: Vec<SliceHeader> = planes.into_iter().flatten().collect();
        headers.sort_by_key(|h| h.instance_number);
        let mut e = entry_skeleton(
            &headers,
            [headers[0].cols, headers[0].rows, headers.len(), 1],
        );
        e.refused = Some(format!(
            "the orientation changes from slice to slice ({total} slices in {total} planes, a radial acquisition?): it cannot be stacked into one volume"
        ));
        return vec![e];
    }
    let split = planes.len() > 1;
    planes
        .into_iter()
        .map(|p| {
            let mut e = stack_entry(p);
            if split {
                e.warnings.push(format!(
                    "series split by orientation and size into several volumes ({} of {total} slices here; a localizer?)",
                    e.files.len()
                ));
            }
            e
        })
        .collect()
}

fn entry_skeleton(headers: &[SliceHeader], dims: [usize; 4]) -> SeriesEntry {
    let h = &headers[0];
    SeriesEntry {
        info: info_of(h),
        files: headers.iter().map(|h| h.path.clone()).collect(),
        dims,
        dtype: stored_dtype(h),
        geometry: Geometry::from_spacing([1.0; 3], GeometrySource::Missing),
        rescale: Rescale::Uniform(LinearMap::IDENTITY),
        warnings: Vec::new(),
        refused: None,
        frame_order: None,
    }
}

fn linear(r: Option<(f64, f64)>) -> LinearMap {
    r.map(|(slope, intercept)| LinearMap { slope, intercept })
        .unwrap_or(LinearMap::IDENTITY)
}

/// Affine from the in-plane geometry of the first slice and the step between slices (LPS).
fn affine(iop: &[f64; 6], spacing: &[f64; 2], first: &[f64; 3], step: [f64; 3]) -> Affine {
    // PixelSpacing is (row spacing, column spacing): moving along a row (axis 0) steps by the column spacing.
    let (dr, dc) = (spacing[0], spacing[1]);
    [
        [iop[0] * dc, iop[3] * dr, step[0], first[0]],
        [iop[1] * dc, iop[4] * dr, step[1], first[1]],
        [iop[2] * dc, iop[5] * dr, step[2], first[2]],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

/// Stacks single-frame files of one plane into a volume entry.
fn stack_entry(mut headers: Vec<SliceHeader>) -> SeriesEntry {
    let mut warnings = Vec::new();
    // Duplicates: the same SOP instance stored twice.
    let before = headers.len();
    let mut seen = std::collections::HashSet::new();
    headers.retain(|h| {
        h.sop_instance_uid
            .as_ref()
            .is_none_or(|uid| seen.insert(uid.clone()))
    });
    if headers.len() < before {
        warnings.push(format!(
            "{} duplicate instance(s) dropped (same SOPInstanceUID in several files)",
            before - headers.len()
        ));
    }
    let h0 = headers[0].clone();
    let dims = [h0.cols, h0.rows, headers.len(), 1];
    let iop = h0.iop.filter(|_| headers.iter().all(|h| h.ipp.is_some()));
    let Some(iop) = iop else {
        headers.sort_by_key(|h| h.instance_number);
        let mut e = entry_skeleton(&headers, dims);
        e.rescale =
            Rescale::PerPlane(headers.iter().map(|h| linear(h.rescale)).collect()).simplified();
        warnings.push("no ImagePositionPatient/ImageOrientationPatient: slices ordered by InstanceNumber, geometry unknown".into());
        if let Some(ps) = h0.pixel_spacing {
            e.geometry = Geometry::from_spacing(
                [ps[1], ps[0], h0.slice_thickness.unwrap_or(1.0)],
                GeometrySource::Missing,
            );
        }
        e.warnings = warnings;
        return e;
    };
    let n = normal(&iop);
    let pos = |h: &SliceHeader| h.ipp.map(|p| dot(&p, &n)).unwrap_or(0.0);
    headers.sort_by(|a, b| {
        pos(a)
            .total_cmp(&pos(b))
            .then(a.instance_number.cmp(&b.instance_number))
    });
    let mut e = entry_skeleton(&headers, dims);
    let positions: Vec<f64> = headers.iter().map(pos).collect();
    let steps: Vec<f64> = positions.windows(2).map(|w| w[1] - w[0]).collect();
    if let Some(min) = steps.iter().copied().reduce(f64::min) {
        if min < SAME_POSITION_MM {
            let shared = steps.iter().filter(|s| **s < SAME_POSITION_MM).count();
            e.refused = Some(format!(
                "{} slices share a position with another slice (several echoes or repeated acquisitions in one series): they cannot be stacked into one volume",
                shared + 1
            ));
            e.warnings = warnings;
            return e;
        }
    }
    let spacing = h0.pixel_spacing.unwrap_or_else(|| {
        warnings.push("no PixelSpacing: 1 mm assumed in plane".into());
        [1.0, 1.0]
    });
    let first = headers[0].ipp.unwrap_or_default();
    let step = if headers.len() > 1 {
        let last = headers[headers.len() - 1].ipp.unwrap_or_default();
        let k = (headers.len() - 1) as f64;
        [
            (last[0] - first[0]) / k,
            (last[1] - first[1]) / k,
            (last[2] - first[2]) / k,
        ]
    } else {
        let t = h0.slice_thickness.unwrap_or(1.0);
        [n[0] * t, n[1] * t, n[2] * t]
    };
    if steps.len() > 1 {
        let mut sorted = steps.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
        if hi - median > STEP_TOLERANCE_MM || median - lo > STEP_TOLERANCE_MM {
            warnings.push(format!(
                "slice spacing is not uniform ({lo:.3} to {hi:.3} mm, median {median:.3} mm): missing slices? Positions between slices are approximate"
            ));
        }
    }
    e.geometry = Geometry::new(affine(&iop, &spacing, &first, step), GeometrySource::Dicom);
    e.rescale = Rescale::PerPlane(headers.iter().map(|h| linear(h.rescale)).collect()).simplified();
    e.warnings = warnings;
    e
}

/// One enhanced (multi-frame) object: frames are the slices, geometry from functional groups.
fn multi_frame_entry(h: SliceHeader) -> SeriesEntry {
    let dims = [h.cols, h.rows, h.frames, 1];
    let mut e = entry_skeleton(std::slice::from_ref(&h), dims);
    e.frame_order = Some((0..h.frames).collect());
    let fg = &h.frame_geometry;
    let complete = fg.len() == h.frames && fg.iter().all(|f| f.ipp.is_some() && f.iop.is_some());
    e.rescale = if fg.len() == h.frames && fg.iter().any(|f| f.rescale.is_some()) {
        Rescale::PerPlane(fg.iter().map(|f| linear(f.rescale.or(h.rescale))).collect()).simplified()
    } else {
        Rescale::Uniform(linear(h.rescale))
    };
    if !complete {
        e.warnings.push(format!(
            "multi-frame object without per-frame geometry (no Plane Position/Orientation functional groups): {} frames stacked in file order, position in the patient unknown",
            h.frames
        ));
        return e;
    }
    let iop = fg[0].iop.unwrap_or_default();
    if fg.iter().any(|f| !same_iop(&f.iop, &Some(iop))) {
        e.refused = Some(
            "frames have different orientations: they cannot be stacked into one volume".into(),
        );
        return e;
    }
    let n = normal(&iop);
    let positions: Vec<f64> = fg
        .iter()
        .map(|f| dot(&f.ipp.unwrap_or_default(), &n))
        .collect();
    let mut order: Vec<usize> = (0..h.frames).collect();
    order.sort_by(|a, b| positions[*a].total_cmp(&positions[*b]));
    if order
        .windows(2)
        .any(|w| positions[w[1]] - positions[w[0]] < SAME_POSITION_MM)
    {
        e.refused = Some("several frames share a position (multi-echo or dynamic series): they cannot be stacked into one volume".into());
        return e;
    }
    let first = fg[order[0]].ipp.unwrap_or_default();
    let last = fg[order[h.frames - 1]].ipp.unwrap_or_default();
    let k = (h.frames - 1).max(1) as f64;
    let step = [
        (last[0] - first[0]) / k,
        (last[1] - first[1]) / k,
        (last[2] - first[2]) / k,
    ];
    let spacing = fg[0]
        .pixel_spacing
        .or(h.pixel_spacing)
        .unwrap_or([1.0, 1.0]);
    e.geometry = Geometry::new(
        affine(&iop, &spacing, &first, step),
        GeometrySource::DicomFunctionalGroups,
    );
    if let Rescale::PerPlane(maps) = &e.rescale {
        e.rescale = Rescale::PerPlane(order.iter().map(|i| maps[*i]).collect());
    }
    e.frame_order = Some(order);
    e
}
