//! Compact label maps: one volume where voxel value k (1-based, in ROI order) means ROI k.
//! Where ROIs overlap, one ROI must win: [`Overlap`] says which, and [`OverlapReport`] says
//! how many voxels each pair shared, so the user learns what a label map could not keep.

use dafne_core::{NamedMasks, SliceMask};

use super::MaskIoError;

/// Which ROI keeps a voxel that several ROIs claim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overlap {
    /// The later ROI in the list wins (as painting it on top would look).
    #[default]
    LastWins,
    /// The earlier ROI in the list wins.
    FirstWins,
    /// Refuse to write a label map when any voxel is claimed twice.
    Refuse,
}

/// Voxels set in both `first` and `second` (names, first before second in ROI order), counted
/// pairwise: a voxel three ROIs claim counts once for each of the three pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlapCount {
    pub first: String,
    pub second: String,
    pub voxels: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OverlapReport {
    pub pairs: Vec<OverlapCount>,
}

impl OverlapReport {
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// One line per overlapping pair, for warnings.
    pub fn lines(&self) -> Vec<String> {
        self.pairs
            .iter()
            .map(|p| {
                format!(
                    "{} voxels of {:?} and {:?} overlap",
                    p.voxels, p.first, p.second
                )
            })
            .collect()
    }
}

/// A label volume, voxel (col, row, slice) at `labels[(slice * rows + row) * cols + col]`
/// (axis 0 = column fastest, the project's layout); label k names `names[k - 1]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelMap {
    pub rows: usize,
    pub cols: usize,
    pub slices: usize,
    pub labels: Vec<u16>,
    pub names: Vec<String>,
}

impl LabelMap {
    /// Label map of `rois` (label = 1-based position in `rois`), overlaps resolved by `policy`.
    pub fn build(
        rows: usize,
        cols: usize,
        slices: usize,
        rois: &[NamedMasks],
        policy: Overlap,
    ) -> Result<(LabelMap, OverlapReport), MaskIoError> {
        if rois.len() > usize::from(u16::MAX) {
            return Err(MaskIoError::TooManyLabels(rois.len()));
        }
        let plane = rows * cols;
        let mut labels = vec![0u16; plane * slices];
        for (index, roi) in rois.iter().enumerate() {
            let label = (index + 1) as u16;
            for (&slice, mask) in &roi.slices {
                if slice >= slices || mask.rows() != rows || mask.cols() != cols {
                    return Err(MaskIoError::RoiGrid {
                        roi: roi.name.clone(),
                        rows,
                        cols,
                        slices,
                        slice,
                        mask_rows: mask.rows(),
                        mask_cols: mask.cols(),
                    });
                }
                let out = &mut labels[slice * plane..(slice + 1) * plane];
                for (row, runs) in row_runs(mask) {
                    for at in &mut out[row * cols + runs.start..row * cols + runs.end] {
                        if *at == 0 || policy != Overlap::FirstWins {
                            *at = label;
                        }
                    }
                }
            }
        }
        let shared = pairwise_overlaps(rois, rows, cols, slices);
        let mut report = OverlapReport::default();
        for (i, row) in shared.iter().enumerate() {
            for (j, &voxels) in row.iter().enumerate() {
                if voxels > 0 {
                    report.pairs.push(OverlapCount {
                        first: rois[i].name.clone(),
                        second: rois[j].name.clone(),
                        voxels,
                    });
                }
            }
        }
        if policy == Overlap::Refuse && !report.is_empty() {
            return Err(MaskIoError::Overlap(report.lines().join("; ")));
        }
        let names = rois.iter().map(|r| r.name.clone()).collect();
        Ok((
            LabelMap {
                rows,
                cols,
                slices,
                labels,
                names,
            },
            report,
        ))
    }

    /// One [`NamedMasks`] per name (empty ROIs included, so names survive a round trip).
    /// Labels beyond `names` become ROIs named by their value.
    pub fn split(&self) -> Result<Vec<NamedMasks>, MaskIoError> {
        let plane = self.rows * self.cols;
        let max = self.labels.iter().copied().max().unwrap_or(0);
        let count = usize::from(max).max(self.names.len());
        let mut out: Vec<NamedMasks> = (1..=count)
            .map(|k| {
                let name = self
                    .names
                    .get(k - 1)
                    .cloned()
                    .unwrap_or_else(|| k.to_string());
                NamedMasks::new(name)
            })
            .collect();
        if plane == 0 {
            return Ok(out);
        }
        for (slice, values) in self.labels.chunks_exact(plane).enumerate() {
            for (row, line) in values.chunks_exact(self.cols).enumerate() {
                for (col, &label) in line.iter().enumerate() {
                    if label == 0 {
                        continue;
                    }
                    let roi = &mut out[usize::from(label) - 1];
                    let mask = match roi.slices.entry(slice) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(SliceMask::new(self.rows, self.cols)?)
                        }
                    };
                    mask.set(row, col, true);
                }
            }
        }
        Ok(out)
    }
}

/// `shared[i][j]` (i < j): voxels set in both ROI i and ROI j, whatever other ROIs claim them.
fn pairwise_overlaps(
    rois: &[NamedMasks],
    rows: usize,
    cols: usize,
    slices: usize,
) -> Vec<Vec<u64>> {
    let mut shared = vec![vec![0u64; rois.len()]; rois.len()];
    for (i, a) in rois.iter().enumerate() {
        for (j, b) in rois.iter().enumerate().skip(i + 1) {
            for (slice, ma) in a.slices.range(..slices) {
                let Some(mb) = b.slices.get(slice) else {
                    continue;
                };
                if ma.rows() != rows || ma.cols() != cols || !ma.same_shape(mb) {
                    continue;
                }
                shared[i][j] += ma
                    .row_chunks()
                    .zip(mb.row_chunks())
                    .flat_map(|(x, y)| x.iter().zip(y))
                    .map(|(x, y)| u64::from((x & y).count_ones()))
                    .sum::<u64>();
            }
        }
    }
    shared
}

/// The set columns of each row of a mask.
fn row_runs(mask: &SliceMask) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
    let cols = mask.cols();
    mask.runs().into_iter().map(move |(start, len)| {
        let start = start as usize;
        let row = start / cols.max(1);
        let col = start % cols.max(1);
        (row, col..col + len as usize)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn roi(name: &str, slice: usize, pixels: &[(usize, usize)]) -> NamedMasks {
        let mut mask = SliceMask::new(2, 3).unwrap();
        for &(r, c) in pixels {
            mask.set(r, c, true);
        }
        let mut roi = NamedMasks::new(name);
        roi.slices.insert(slice, mask);
        roi
    }

    #[test]
    fn overlapping_rois_are_resolved_and_reported_never_summed() {
        let rois = [
            roi("A", 0, &[(0, 0), (0, 1)]),
            roi("B", 0, &[(0, 1), (1, 2)]),
        ];
        let (last, report) = LabelMap::build(2, 3, 1, &rois, Overlap::LastWins).unwrap();
        assert_eq!(last.labels, vec![1, 2, 0, 0, 0, 2]);
        assert_eq!(report.pairs.len(), 1);
        assert_eq!(report.pairs[0].voxels, 1);
        let (first, _) = LabelMap::build(2, 3, 1, &rois, Overlap::FirstWins).unwrap();
        assert_eq!(first.labels, vec![1, 1, 0, 0, 0, 2]);
        assert!(matches!(
            LabelMap::build(2, 3, 1, &rois, Overlap::Refuse),
            Err(MaskIoError::Overlap(_))
        ));
    }

    #[test]
    fn a_voxel_claimed_three_times_counts_for_every_pair() {
        let rois = [
            roi("A", 0, &[(0, 0)]),
            roi("B", 0, &[(0, 0)]),
            roi("C", 0, &[(0, 0), (1, 1)]),
        ];
        let (map, report) = LabelMap::build(2, 3, 1, &rois, Overlap::LastWins).unwrap();
        assert_eq!(map.labels, vec![3, 0, 0, 0, 3, 0]);
        let pairs: Vec<(&str, &str, u64)> = report
            .pairs
            .iter()
            .map(|p| (p.first.as_str(), p.second.as_str(), p.voxels))
            .collect();
        assert_eq!(pairs, vec![("A", "B", 1), ("A", "C", 1), ("B", "C", 1)]);
    }

    #[test]
    fn a_roi_off_the_grid_is_an_error_not_skipped() {
        let rois = [roi("A", 2, &[(0, 0)])];
        assert!(matches!(
            LabelMap::build(2, 3, 2, &rois, Overlap::LastWins),
            Err(MaskIoError::RoiGrid { slice: 2, .. })
        ));
        assert!(LabelMap::build(2, 4, 3, &rois, Overlap::LastWins).is_err());
    }

    #[test]
    fn split_inverts_build_and_keeps_empty_rois() {
        let rois = vec![
            roi("A", 1, &[(0, 0), (1, 1)]),
            NamedMasks::new("empty"),
            roi("C", 0, &[(1, 2)]),
        ];
        let (map, report) = LabelMap::build(2, 3, 2, &rois, Overlap::Refuse).unwrap();
        assert!(report.is_empty());
        assert_eq!(map.split().unwrap(), rois);
    }
}
