//! One ROI's masks as files carry them: the unit every mask reader and writer in dafne-io
//! exchanges (the editing model, `dafne_roi::RoiSet`, converts to and from it).

use std::collections::BTreeMap;

use crate::SliceMask;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedMasks {
    pub name: String,
    /// One mask per slice index; a slice without an entry is empty. All masks share the
    /// dataset's (rows, cols).
    pub slices: BTreeMap<usize, SliceMask>,
}

impl NamedMasks {
    pub fn new(name: impl Into<String>) -> Self {
        NamedMasks {
            name: name.into(),
            slices: BTreeMap::new(),
        }
    }

    /// Whether the pixel (row, col) of `slice` is set.
    pub fn get(&self, slice: usize, row: usize, col: usize) -> bool {
        self.slices.get(&slice).is_some_and(|m| m.get(row, col))
    }

    /// Set voxels over every slice.
    pub fn count(&self) -> usize {
        self.slices.values().map(SliceMask::count).sum()
    }
}
