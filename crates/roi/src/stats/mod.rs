//! Statistics of ROIs over a volume: the original Dafne's "Calculate statistics ▸ Global…" and
//! "▸ Slicewise…" tables (voxel count, slices, volume in mm³, mean, standard deviation and the
//! 0/25/50/75/100th percentiles), without re-running any model.
//!
//! Values are the volume's **real** values: stored value × slope + intercept of its plane,
//! computed in f64 (never through the f32 of `Volume::to_f32`). They agree with NumPy on the same
//! real values: `mean()` and `std()` (population, ddof 0, two passes, pairwise summation as NumPy
//! sums) and `np.percentile(v, q)` with the default 'linear' method; perc_0 and perc_100 are the
//! minimum and maximum, as the original's `c.min()` / `c.max()` (the same numbers as
//! `np.percentile` for finite values). Any NaN among a ROI's values makes every statistic of that
//! row NaN, as in NumPy. `tests/stats.rs` checks all of it against NumPy.
//!
//! Layout: ROI slice `k` is the volume's axis-2 index `k`, ROI `(row, col)` is axis 1 and axis 0,
//! so the voxel (row r, col c, slice k) is stored at `c + cols * (r + rows * k)` of its frame.
//! [`global`] and [`slicewise`] take 3-D volumes; pick one frame of a 4-D one (multi-contrast or
//! time series) with [`global_frame`] / [`slicewise_frame`].
//!
//! Each ROI (global) or each ROI slice (slicewise) is one parallel task: its values are gathered
//! by walking the set bits of its masks word by word, the moments take two pairwise passes, and
//! the percentiles come from quickselect (`select_nth_unstable`) on the few ranks they need,
//! O(n) rather than a sort.

use rayon::prelude::*;

use dafne_core::{with_voxels, LinearMap, SliceMask, Volume, WORD_BITS};

use crate::{Roi, RoiSet};

mod summary;

pub use summary::summarize;

/// The percentiles of every row, in column order.
pub const PERCENTILES: [f64; 5] = [0.0, 25.0, 50.0, 75.0, 100.0];

/// Header of [`to_csv`] for global rows, exactly as the original writes it.
pub const GLOBAL_HEADER: &str =
    "roi_name,slices,voxels,volume,mean,standard_deviation,perc_0,perc_25,perc_50,perc_75,perc_100";

/// Header of [`to_csv`] for slicewise rows, exactly as the original writes it.
pub const SLICEWISE_HEADER: &str =
    "roi_name,slice,voxels,volume,mean,standard_deviation,perc_0,perc_25,perc_50,perc_75,perc_100";

/// Why statistics cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    #[error(
        "cannot compute statistics: the ROIs are drawn on {roi_rows} x {roi_cols} x {roi_slices} \
         voxels (rows x columns x slices) but the volume has {rows} x {cols} x {slices}"
    )]
    ShapeMismatch {
        roi_rows: usize,
        roi_cols: usize,
        roi_slices: usize,
        rows: usize,
        cols: usize,
        slices: usize,
    },
    #[error(
        "cannot compute statistics over a volume of {frames} frames without choosing one \
         (global_frame / slicewise_frame)"
    )]
    NotThreeD { frames: usize },
    #[error("cannot compute statistics of frame {frame}: the volume has {frames} frames")]
    FrameOutOfRange { frame: usize, frames: usize },
    #[error(
        "cannot compute statistics of ROI {roi:?}: its mask on slice {slice} is {mask_rows} x \
         {mask_cols} or lies outside the {slices} slices"
    )]
    BadMask {
        roi: String,
        slice: usize,
        mask_rows: usize,
        mask_cols: usize,
        slices: usize,
    },
}

/// Mean, spread and percentiles of a non-empty set of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub mean: f64,
    /// Population standard deviation (ddof 0), as NumPy's `std()`.
    pub standard_deviation: f64,
    /// The [`PERCENTILES`]: minimum, 25th, median, 75th, maximum.
    pub percentiles: [f64; 5],
}

/// One row of the statistics table.
#[derive(Clone, Debug, PartialEq)]
pub struct RoiStats {
    pub roi_name: String,
    /// The slice of a slicewise row; `None` in a global row.
    pub slice: Option<usize>,
    /// Slices holding at least one voxel of the ROI (1 in a slicewise row).
    pub slices: usize,
    pub voxels: usize,
    /// `voxels` x the volume of one voxel.
    pub volume_mm3: f64,
    /// `None` when the ROI has no voxels: a mean of nothing is no number.
    pub values: Option<Summary>,
}

/// One row per ROI, in ROI order, over a 3-D volume. An empty ROI gets a row with 0 slices,
/// 0 voxels, volume 0 and no [`Summary`].
pub fn global(volume: &Volume, rois: &RoiSet) -> Result<Vec<RoiStats>, StatsError> {
    global_frame(volume, rois, only_frame(volume)?)
}

/// One row per ROI per slice where the ROI has voxels, in ROI order then slice order, over a
/// 3-D volume. An empty ROI has no rows.
pub fn slicewise(volume: &Volume, rois: &RoiSet) -> Result<Vec<RoiStats>, StatsError> {
    slicewise_frame(volume, rois, only_frame(volume)?)
}

/// [`global`] over one frame of a volume with any number of frames.
pub fn global_frame(
    volume: &Volume,
    rois: &RoiSet,
    frame: usize,
) -> Result<Vec<RoiStats>, StatsError> {
    let source = Source::new(volume, rois, frame)?;
    Ok(rois
        .rois()
        .par_iter()
        .map(|roi| {
            let masks: Vec<Occupied> = occupied(roi).collect();
            let (voxels, values) = source.summarize(&masks);
            RoiStats {
                roi_name: roi.name.clone(),
                slice: None,
                slices: masks.len(),
                voxels,
                volume_mm3: source.volume_mm3(voxels),
                values,
            }
        })
        .collect())
}

/// [`slicewise`] over one frame of a volume with any number of frames.
pub fn slicewise_frame(
    volume: &Volume,
    rois: &RoiSet,
    frame: usize,
) -> Result<Vec<RoiStats>, StatsError> {
    let source = Source::new(volume, rois, frame)?;
    let tasks: Vec<(&Roi, Occupied)> = rois
        .rois()
        .iter()
        .flat_map(|roi| occupied(roi).map(move |o| (roi, o)))
        .collect();
    Ok(tasks
        .par_iter()
        .map(|&(roi, o)| {
            let (voxels, values) = source.summarize(&[o]);
            RoiStats {
                roi_name: roi.name.clone(),
                slice: Some(o.slice),
                slices: 1,
                voxels,
                volume_mm3: source.volume_mm3(voxels),
                values,
            }
        })
        .collect())
}

/// The table as CSV: the original's header ([`GLOBAL_HEADER`] or [`SLICEWISE_HEADER`]), one line
/// per row, CRLF line ends and quoting as RFC 4180 (and Python's `csv` module). Numbers are
/// Rust's shortest round-trip form (`{}`); the statistics of an empty ROI are empty fields.
pub fn to_csv(rows: &[RoiStats], slicewise: bool) -> String {
    let mut out = String::new();
    out.push_str(if slicewise {
        SLICEWISE_HEADER
    } else {
        GLOBAL_HEADER
    });
    out.push_str("\r\n");
    for row in rows {
        let mut fields = vec![csv_field(&row.roi_name)];
        fields.push(if slicewise {
            row.slice.map(|k| k.to_string()).unwrap_or_default()
        } else {
            row.slices.to_string()
        });
        fields.push(row.voxels.to_string());
        fields.push(row.volume_mm3.to_string());
        match &row.values {
            Some(s) => {
                fields.push(s.mean.to_string());
                fields.push(s.standard_deviation.to_string());
                fields.extend(s.percentiles.iter().map(f64::to_string));
            }
            None => fields.extend(std::iter::repeat_n(String::new(), 7)),
        }
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A slice where a ROI has voxels.
#[derive(Clone, Copy)]
struct Occupied<'a> {
    slice: usize,
    mask: &'a SliceMask,
    voxels: usize,
}

/// The slices of a ROI that hold voxels, in slice order.
fn occupied(roi: &Roi) -> impl Iterator<Item = Occupied<'_>> {
    roi.masks
        .iter()
        .map(|(&slice, mask)| Occupied {
            slice,
            mask,
            voxels: mask.count(),
        })
        .filter(|o| o.voxels > 0)
}

/// The frame a 3-D volume has; 4-D volumes must name one.
fn only_frame(volume: &Volume) -> Result<usize, StatsError> {
    match volume.dims()[3] {
        1 => Ok(0),
        frames => Err(StatsError::NotThreeD { frames }),
    }
}

/// A checked view of one frame of a volume under a ROI set.
struct Source<'a> {
    volume: &'a Volume,
    rows: usize,
    cols: usize,
    slices: usize,
    frame: usize,
    voxel_mm3: f64,
}

impl<'a> Source<'a> {
    fn new(volume: &'a Volume, rois: &RoiSet, frame: usize) -> Result<Self, StatsError> {
        let [cols, rows, slices, frames] = volume.dims();
        if (rois.rows(), rois.cols(), rois.slices()) != (rows, cols, slices) {
            return Err(StatsError::ShapeMismatch {
                roi_rows: rois.rows(),
                roi_cols: rois.cols(),
                roi_slices: rois.slices(),
                rows,
                cols,
                slices,
            });
        }
        if frame >= frames {
            return Err(StatsError::FrameOutOfRange { frame, frames });
        }
        for roi in rois.rois() {
            for (&slice, mask) in &roi.masks {
                if slice >= slices || mask.rows() != rows || mask.cols() != cols {
                    return Err(StatsError::BadMask {
                        roi: roi.name.clone(),
                        slice,
                        mask_rows: mask.rows(),
                        mask_cols: mask.cols(),
                        slices,
                    });
                }
            }
        }
        // The volume of a voxel is |det| of the affine's 3x3 part: the product of the spacings
        // (what the original multiplies) for orthogonal geometry, and still right for sheared
        // (gantry-tilted) geometry, where the spacing product overestimates it.
        let a = &volume.geometry.affine_lps;
        let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
        Ok(Source {
            volume,
            rows,
            cols,
            slices,
            frame,
            voxel_mm3: det.abs(),
        })
    }

    fn volume_mm3(&self, voxels: usize) -> f64 {
        voxels as f64 * self.voxel_mm3
    }

    /// Voxel count and summary of the real values under `masks`.
    // `with_voxels!` instantiates `x as f64` once per stored type; for f64 it is a no-op.
    #[allow(clippy::unnecessary_cast)]
    fn summarize(&self, masks: &[Occupied]) -> (usize, Option<Summary>) {
        let mut values = Vec::with_capacity(masks.iter().map(|o| o.voxels).sum());
        with_voxels!(self.volume.voxels(), v => self.gather(v, |x| x as f64, masks, &mut values));
        (values.len(), summarize(&mut values))
    }

    /// Appends the real value of every voxel set in `masks`, slice by slice, row by row.
    fn gather<T: Copy>(
        &self,
        stored: &[T],
        to_f64: impl Fn(T) -> f64,
        masks: &[Occupied],
        out: &mut Vec<f64>,
    ) {
        let plane_len = self.rows * self.cols;
        if plane_len == 0 {
            return;
        }
        for &Occupied { slice, mask, .. } in masks {
            let plane = slice + self.slices * self.frame;
            let map: LinearMap = self.volume.rescale().for_plane(plane);
            let real = |x: T| map.apply(to_f64(x));
            let Some(plane_values) = stored.get(plane * plane_len..(plane + 1) * plane_len) else {
                continue;
            };
            for (row_words, row_values) in
                mask.row_chunks().zip(plane_values.chunks_exact(self.cols))
            {
                for (w, &word) in row_words.iter().enumerate() {
                    // Runs of set bits, not single bits: a ROI is mostly runs along a row, and
                    // a run is one contiguous copy.
                    let mut bits = word;
                    while bits != 0 {
                        let skip = bits.trailing_zeros();
                        let run = (bits >> skip).trailing_ones();
                        bits &= (!0u64).checked_shl(skip + run).unwrap_or(0);
                        let from = w * WORD_BITS + skip as usize;
                        if let Some(run) = row_values.get(from..from + run as usize) {
                            out.extend(run.iter().map(|&x| real(x)));
                        }
                    }
                }
            }
        }
    }
}

/// RFC 4180: a field holding a comma, a quote or a line break is quoted, quotes doubled.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{Edit, Editor, Mode};
    use dafne_core::{Geometry, GeometrySource, Rescale, SeriesInfo, Voxels};

    fn volume(dims: [usize; 4], stored: Vec<i16>, rescale: Rescale) -> Volume {
        let g = Geometry::from_spacing([0.5, 2.0, 3.0], GeometrySource::Missing);
        Volume::new(dims, Voxels::I16(stored), rescale, g, SeriesInfo::default()).unwrap()
    }

    /// ROIs named `names`, each with the pixels `(roi index, slice, row, col)` set.
    fn roi_set(
        shape: (usize, usize, usize),
        names: &[&str],
        pixels: &[(usize, usize, usize, usize)],
    ) -> RoiSet {
        let (rows, cols, slices) = shape;
        let mut ed = Editor::new(RoiSet::new(rows, cols, slices));
        let ids: Vec<_> = names
            .iter()
            .map(|n| {
                ed.apply(Edit::AddRoi {
                    name: n.to_string(),
                })
                .unwrap()
                .1
                .unwrap()
            })
            .collect();
        for &(i, slice, row, col) in pixels {
            let mut patch = SliceMask::new(rows, cols).unwrap();
            patch.set(row, col, true);
            let edit = Edit::Mask {
                roi: ids[i],
                slice,
                patch,
                mode: Mode::Add,
            };
            ed.apply(edit).unwrap();
        }
        ed.rois().clone()
    }

    #[test]
    fn global_and_slicewise_rows_on_a_tiny_volume() {
        // 2 rows x 3 cols x 2 slices; slice 1 rescaled by -1.
        let stored: Vec<i16> = (0..12).collect();
        let rescale = Rescale::PerPlane(vec![
            LinearMap::IDENTITY,
            LinearMap {
                slope: -1.0,
                intercept: 0.0,
            },
        ]);
        let vol = volume([3, 2, 2, 1], stored, rescale);
        // Index 5 -> 5, index 7 -> -7, index 9 -> -9; the empty ROI gets an empty mask on
        // slice 1 (a pixel added, then erased), which must not count as a slice.
        let mut set = roi_set(
            (2, 3, 2),
            &["a", "empty"],
            &[(0, 0, 1, 2), (0, 1, 0, 1), (0, 1, 1, 0), (1, 1, 0, 0)],
        );
        let mut ed = Editor::new(set);
        let empty = ed.rois().rois()[1].id;
        let patch = SliceMask::full(2, 3).unwrap();
        ed.apply(Edit::Mask {
            roi: empty,
            slice: 1,
            patch,
            mode: Mode::Remove,
        })
        .unwrap();
        set = ed.rois().clone();
        assert_eq!(set.rois()[1].masks.len(), 1);

        let rows = global(&vol, &set).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].slices, rows[0].voxels, rows[0].volume_mm3),
            (2, 3, 9.0)
        );
        let s = rows[0].values.unwrap();
        assert_eq!(s.percentiles, [-9.0, -8.0, -7.0, -1.0, 5.0]);
        assert_eq!(s.mean, -11.0 / 3.0);
        assert_eq!(
            rows[1],
            RoiStats {
                roi_name: "empty".into(),
                slice: None,
                slices: 0,
                voxels: 0,
                volume_mm3: 0.0,
                values: None
            }
        );

        let rows = slicewise(&vol, &set).unwrap();
        let keys: Vec<_> = rows.iter().map(|r| (r.slice, r.voxels)).collect();
        assert_eq!(keys, [(Some(0), 1), (Some(1), 2)]);
        assert_eq!(rows[1].values.unwrap().mean, -8.0);
    }

    #[test]
    fn mismatched_shapes_and_frames_are_refused() {
        let vol = volume(
            [3, 2, 2, 1],
            vec![0; 12],
            Rescale::Uniform(LinearMap::IDENTITY),
        );
        let err = global(&vol, &roi_set((3, 2, 2), &["a"], &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot compute statistics: the ROIs are drawn on 3 x 2 x 2 voxels (rows x columns x \
             slices) but the volume has 2 x 3 x 2"
        );
        let four_d = volume(
            [3, 2, 1, 2],
            vec![0; 12],
            Rescale::Uniform(LinearMap::IDENTITY),
        );
        let set = roi_set((2, 3, 1), &["a"], &[]);
        assert_eq!(
            slicewise(&four_d, &set),
            Err(StatsError::NotThreeD { frames: 2 })
        );
        assert!(global_frame(&four_d, &set, 1).is_ok());
        assert_eq!(
            global_frame(&four_d, &set, 2),
            Err(StatsError::FrameOutOfRange {
                frame: 2,
                frames: 2
            })
        );
    }

    #[test]
    fn frames_use_their_own_planes_and_rescale() {
        // 1 x 2 x 1 x 2: frame 1 holds [10, 20] scaled by 0.5.
        let rescale = Rescale::PerPlane(vec![
            LinearMap::IDENTITY,
            LinearMap {
                slope: 0.5,
                intercept: 0.0,
            },
        ]);
        let vol = volume([2, 1, 1, 2], vec![1, 2, 10, 20], rescale);
        let set = roi_set((1, 2, 1), &["a"], &[(0, 0, 0, 0), (0, 0, 0, 1)]);
        let rows = global_frame(&vol, &set, 1).unwrap();
        assert_eq!(
            rows[0].values.unwrap().percentiles,
            [5.0, 6.25, 7.5, 8.75, 10.0]
        );
    }

    #[test]
    fn csv_has_the_original_header_and_quotes_names() {
        let row = |name: &str, slice, values| RoiStats {
            roi_name: name.into(),
            slice,
            slices: 2,
            voxels: 4,
            volume_mm3: 12.5,
            values,
        };
        let s = Summary {
            mean: 0.1 + 0.2,
            standard_deviation: 2.0,
            percentiles: [-1.0, 0.25, 1.0, 3.5, 1e21],
        };
        let rows = [
            row("vastus, \"lat\"", None, Some(s)),
            row("empty", None, None),
        ];
        assert_eq!(
            to_csv(&rows, false),
            "roi_name,slices,voxels,volume,mean,standard_deviation,perc_0,perc_25,perc_50,perc_75,perc_100\r\n\
             \"vastus, \"\"lat\"\"\",2,4,12.5,0.30000000000000004,2,-1,0.25,1,3.5,1000000000000000000000\r\n\
             empty,2,4,12.5,,,,,,,\r\n"
        );
        let rows = [row("a", Some(7), Some(s))];
        let csv = to_csv(&rows, true);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(SLICEWISE_HEADER));
        assert!(lines.next().unwrap().starts_with("a,7,4,12.5,"));
    }
}
