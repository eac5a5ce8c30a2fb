//! `dafne-bench stats --data DIR [--repeat N]`: ROI statistics (`dafne_roi::stats`) on the inputs
//! of the peer `bench_roi_stats.py`: the volume is `volume.npy` (slices, rows, cols) uint16 —
//! whose real values are the float32 the peer computes on —, the 10 ROIs are
//! `labels.npy == 1..10`, spacing 1.037037 x 1.037037 x 5 mm. Building the masks is not timed
//! (the peer builds its boolean volumes before timing too); each variant times the statistics
//! of all ten ROIs. Prints one JSON line whose `checks` use the peer's names.

use std::path::Path;

use dafne_core::{Geometry, GeometrySource, LinearMap, Rescale, SeriesInfo, Volume, Voxels};
use dafne_roi::stats::{self, RoiStats};
use dafne_roi::{Edit, Editor, Mode, RoiSet, SliceMask};
use serde_json::{json, Map, Value};

use crate::measure;
use crate::morphology::read_labels;

const ROIS: u8 = 10;
const SPACING_MM: [f64; 3] = [1.037037, 1.037037, 5.0];

/// `volume.npy` as numpy holds it: C order (slices, rows, cols), uint16.
fn read_volume(path: &Path) -> Result<([usize; 3], Vec<u16>), String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot read volume: {e}: {}", path.display());
    let bytes = std::fs::read(path).map_err(|e| cannot(&e))?;
    let array = dafne_io::numpy::read_npy_bytes(&bytes).map_err(|e| cannot(&e))?;
    let (&[slices, rows, cols], false, Voxels::U16(values)) =
        (array.shape.as_slice(), array.fortran_order, array.voxels)
    else {
        return Err(format!(
            "volume must be a C-order uint16 (slices, rows, cols) array: {}",
            path.display()
        ));
    };
    Ok(([slices, rows, cols], values))
}

/// ROIs `roi_01`..`roi_10` = `labels == 1..10`, through the editor as the app makes them.
fn roi_set(shape: [usize; 3], labels: &[u8]) -> Result<RoiSet, String> {
    let [slices, rows, cols] = shape;
    let plane = rows * cols;
    let mut ed = Editor::new(RoiSet::new(rows, cols, slices));
    for label in 1..=ROIS {
        let name = format!("roi_{label:02}");
        let id = ed
            .apply(Edit::AddRoi { name })
            .map_err(|e| e.to_string())?
            .1
            .ok_or("adding a ROI gave no id")?;
        for (slice, values) in labels.chunks_exact(plane.max(1)).enumerate() {
            let bytes: Vec<u8> = values.iter().map(|&v| u8::from(v == label)).collect();
            let patch = SliceMask::from_u8(rows, cols, &bytes).map_err(|e| e.to_string())?;
            if patch.is_empty() {
                continue;
            }
            let edit = Edit::Mask {
                roi: id,
                slice,
                patch,
                mode: Mode::Set,
            };
            ed.apply(edit).map_err(|e| e.to_string())?;
        }
    }
    Ok(ed.rois().clone())
}

pub fn run(data: &Path, repeat: usize) -> Result<(), String> {
    let (shape, stored) = read_volume(&data.join("volume.npy"))?;
    let (label_shape, labels) = read_labels(&data.join("labels.npy"))?;
    if label_shape != shape {
        return Err(format!(
            "labels {label_shape:?} and volume {shape:?} differ in shape"
        ));
    }
    let [slices, rows, cols] = shape;
    let volume = Volume::new(
        [cols, rows, slices, 1],
        Voxels::U16(stored),
        Rescale::Uniform(LinearMap::IDENTITY),
        Geometry::from_spacing(SPACING_MM, GeometrySource::Missing),
        SeriesInfo::default(),
    )
    .map_err(|e| e.to_string())?;
    let set = roi_set(shape, &labels)?;

    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| e.to_string())?;
    let global = || stats::global(&volume, &set).map_err(|e| e.to_string());
    let slicewise = || stats::slicewise(&volume, &set).map_err(|e| e.to_string());
    let keep = |rows: Vec<RoiStats>| {
        std::hint::black_box(rows);
    };
    // Each call takes milliseconds: more repeats for a stable median.
    let r = repeat * 10;
    let mut v = Map::new();
    let mut time = |name: &str, f: &mut dyn FnMut() -> Result<(), String>| {
        eprintln!("dafne-bench: {name}");
        measure(r, f).map(|m| v.insert(name.to_string(), m))
    };
    time("stats_global", &mut || global().map(keep))?;
    time("stats_global_1thread", &mut || {
        one_thread.install(global).map(keep)
    })?;
    time("stats_slicewise", &mut || slicewise().map(keep))?;
    time("stats_global_csv", &mut || {
        std::hint::black_box(stats::to_csv(&global()?, false));
        Ok(())
    })?;

    let rows = global()?;
    let first = rows.first().ok_or("no ROI rows")?;
    let s = first
        .values
        .ok_or_else(|| format!("{} is empty", first.roi_name))?;
    let [p0, p25, p50, p75, p100] = s.percentiles;
    let checks = json!({
        "roi_01": {"voxels": first.voxels, "mean": s.mean, "std": s.standard_deviation,
                   "p0": p0, "p25": p25, "p50": p50, "p75": p75, "p100": p100},
        "slices_per_roi": rows.iter().map(|r| r.slices).collect::<Vec<_>>(),
        "voxels_per_roi": rows.iter().map(|r| r.voxels).collect::<Vec<_>>(),
    });
    let result: Value = json!({
        "bench": "dafne_roi_stats",
        "threads": rayon::current_num_threads(),
        "shape_zyx": shape,
        "rois": rows.len(),
        "slicewise_rows": slicewise()?.len(),
        "variants": v,
        "checks": checks,
    });
    println!("{result}");
    Ok(())
}
