//! `dafne-bench morphology --data DIR [--repeat N] [--slice 40] [--roi 3] [--min-size 25]`:
//! the mask-mode tools of `dafne-roi` on the inputs and operations of the peer
//! `bench_morphology.py`: the slice mask is `labels.npy[slice] == roi` (432 x 432), the volume
//! masks are `labels.npy[z] > 0` for each of the 80 slices, and each operation is timed once per
//! slice and as the loop over the 80 slices. The 3-D variants of the peer (3-D structuring
//! elements, marching cubes) have no counterpart yet. Prints one JSON line whose `variants` use
//! the peer's names, plus the pixel counts of each slice result (`checks`) so that the results
//! can be compared with the peer's.

use std::path::Path;

use dafne_core::Voxels;
use dafne_roi::morphology::{
    area_threshold, despeckle, fill_holes, fill_small_holes, grow, label, remove_small, shrink,
};
use dafne_roi::{Connectivity, SliceMask};
use serde_json::{json, Map, Value};

use crate::measure;

#[derive(Debug)]
pub struct Options {
    pub repeat: usize,
    pub slice: usize,
    pub roi: u8,
    pub min_size: usize,
}

/// `labels.npy` as numpy holds it: C order (slices, rows, cols), uint8.
pub(crate) fn read_labels(path: &Path) -> Result<([usize; 3], Vec<u8>), String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot read labels: {e}: {}", path.display());
    let bytes = std::fs::read(path).map_err(|e| cannot(&e))?;
    let array = dafne_io::numpy::read_npy_bytes(&bytes).map_err(|e| cannot(&e))?;
    let (&[slices, rows, cols], false, Voxels::U8(values)) =
        (array.shape.as_slice(), array.fortran_order, array.voxels)
    else {
        return Err(format!(
            "labels must be a C-order uint8 (slices, rows, cols) array: {}",
            path.display()
        ));
    };
    Ok(([slices, rows, cols], values))
}

pub fn run(data: &Path, o: &Options) -> Result<(), String> {
    let ([slices, rows, cols], labels) = read_labels(&data.join("labels.npy"))?;
    let plane = rows * cols;
    let mask_of = |z: usize, keep: &dyn Fn(u8) -> bool| -> Result<SliceMask, String> {
        let values = labels
            .get(z * plane..(z + 1) * plane)
            .ok_or_else(|| format!("slice {z} is outside the {slices} slices"))?;
        let bytes: Vec<u8> = values.iter().map(|&v| u8::from(keep(v))).collect();
        SliceMask::from_u8(rows, cols, &bytes).map_err(|e| e.to_string())
    };
    let roi = o.roi;
    let m2 = mask_of(o.slice, &|v| v == roi)?;
    let m3: Vec<SliceMask> = (0..slices)
        .map(|z| mask_of(z, &|v| v > 0))
        .collect::<Result<_, _>>()?;
    let n = o.min_size;
    let (r, r3) = (o.repeat * 3, o.repeat.max(3));
    let black_box = |m: SliceMask| {
        std::hint::black_box(m);
        Ok(())
    };

    let mut v = Map::new();
    let mut time = |name: &str, repeat: usize, f: &mut dyn FnMut() -> Result<(), String>| {
        eprintln!("dafne-bench: {name}");
        measure(repeat, f).map(|m| v.insert(name.to_string(), m))
    };
    // The per-slice operations take microseconds: more repeats for a stable median.
    let fast = r * 20;
    time("dilate_1px", fast, &mut || black_box(grow(&m2)))?;
    time("erode_1px", fast, &mut || black_box(shrink(&m2)))?;
    time("fill_holes_scipy", fast, &mut || black_box(fill_holes(&m2)))?;
    time("dafne_fill_holes_area_closing", fast, &mut || {
        black_box(fill_small_holes(&m2, n))
    })?;
    time("dafne_despeckle_area_opening", fast, &mut || {
        black_box(despeckle(&m2, n))
    })?;
    time("remove_small_components", fast, &mut || {
        black_box(remove_small(&m2, n, Connectivity::Four))
    })?;
    time("label_4", fast, &mut || {
        std::hint::black_box(label(&m2, Connectivity::Four));
        Ok(())
    })?;

    let per_slice = |op: &dyn Fn(&SliceMask) -> SliceMask| {
        let out: Vec<SliceMask> = m3.iter().map(op).collect();
        std::hint::black_box(out);
        Ok(())
    };
    time("dilate_1px_per_slice_loop", r3 * 5, &mut || {
        per_slice(&grow)
    })?;
    time("fill_holes_scipy_per_slice_loop", r3 * 5, &mut || {
        per_slice(&fill_holes)
    })?;
    time(
        "dafne_despeckle_area_opening_per_slice_loop",
        r3 * 5,
        &mut || per_slice(&|m| despeckle(m, n)),
    )?;
    time(
        "dafne_fill_holes_area_closing_per_slice_loop",
        r3 * 5,
        &mut || per_slice(&|m| fill_small_holes(m, n)),
    )?;

    let checks = json!({
        "slice_after_remove_small": remove_small(&m2, n, Connectivity::Four).count(),
        "slice_after_area_opening": despeckle(&m2, n).count(),
        "slice_after_fill_holes": fill_holes(&m2).count(),
        "slice_after_area_closing": fill_small_holes(&m2, n).count(),
        "slice_after_dilate": grow(&m2).count(),
        "slice_after_erode": shrink(&m2).count(),
        "volume_per_slice_after_area_opening": m3.iter().map(|m| despeckle(m, n).count()).sum::<usize>(),
        "volume_per_slice_after_area_closing": m3.iter().map(|m| fill_small_holes(m, n).count()).sum::<usize>(),
    });
    let result: Value = json!({
        "bench": "dafne_morphology",
        "threads": 1,
        "slice": o.slice,
        "roi": o.roi,
        "area_threshold": n,
        "default_area_threshold": area_threshold(dafne_roi::morphology::DEFAULT_RADIUS_PX),
        "slice_mask_pixels": m2.count(),
        "volume_mask_voxels": m3.iter().map(SliceMask::count).sum::<usize>(),
        "variants": v,
        "checks": checks,
    });
    println!("{result}");
    Ok(())
}
