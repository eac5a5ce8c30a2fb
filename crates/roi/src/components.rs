//! Connected components of the set (or unset) pixels of a [`SliceMask`], found on runs: each
//! row's runs are read off the words with bit scans, runs of consecutive rows that touch are
//! joined in a union-find, and components are numbered in raster order of their first pixel (the
//! order scipy.ndimage.label uses). Work is proportional to the number of runs, not pixels.

use crate::morphology::Connectivity;
use dafne_core::{SliceMask, WORD_BITS};

/// Columns `start..end` of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub row: u32,
    pub start: u32,
    pub end: u32,
}

#[derive(Debug)]
pub(crate) struct Components {
    /// Every run, in raster order.
    pub runs: Vec<Run>,
    /// The component of each run, `0..count`, numbered by first pixel in raster order.
    pub component_of_run: Vec<u32>,
    /// Pixels in each component.
    pub sizes: Vec<usize>,
    /// Whether each component has a pixel on the first/last row or column.
    pub touches_border: Vec<bool>,
}

impl Components {
    /// The runs of the components `keep` accepts, with their component index.
    pub fn runs_where<'a>(
        &'a self,
        keep: impl Fn(usize) -> bool + 'a,
    ) -> impl Iterator<Item = Run> + 'a {
        self.runs
            .iter()
            .zip(&self.component_of_run)
            .filter(move |(_, &c)| keep(c as usize))
            .map(|(run, _)| *run)
    }
}

/// Components of the pixels whose value is `value` (`true`: the mask; `false`: its background).
pub(crate) fn components(mask: &SliceMask, value: bool, connectivity: Connectivity) -> Components {
    // Runs of the previous row touch a run of this row when their column ranges, widened by
    // `reach` on each side, overlap.
    let reach = match connectivity {
        Connectivity::Four => 0,
        Connectivity::Eight => 1,
    };
    let invert = if value { 0 } else { !0u64 };
    let last_mask = mask.last_word_mask();
    let cols = mask.cols() as u32;

    let mut runs: Vec<Run> = Vec::new();
    let mut parent: Vec<u32> = Vec::new();
    let mut previous_row = 0..0;
    for (row, row_words) in mask.row_chunks().enumerate() {
        let row = row as u32;
        let row_start = runs.len();
        push_row_runs(row_words, invert, last_mask, cols, row, &mut runs);
        parent.extend(row_start as u32..runs.len() as u32);
        let current_row = row_start..runs.len();
        let (mut i, mut j) = (previous_row.start, current_row.start);
        while i < previous_row.end && j < current_row.end {
            let (a, b) = (runs[i], runs[j]);
            if a.end + reach <= b.start {
                i += 1;
            } else if b.end + reach <= a.start {
                j += 1;
            } else {
                union(&mut parent, i as u32, j as u32);
                // The run that ends first cannot touch anything further right in the other row.
                if a.end < b.end {
                    i += 1;
                } else {
                    j += 1;
                }
            }
        }
        previous_row = current_row;
    }

    // Union keeps the smaller index as the root, so a root is its component's first run and
    // every other run's parent comes before it: one forward pass numbers the components.
    let last_row = mask.rows().saturating_sub(1) as u32;
    let mut component_of_run = vec![0u32; runs.len()];
    let mut sizes = Vec::new();
    let mut touches_border = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let up = parent[i] as usize;
        let c = if up == i {
            sizes.push(0);
            touches_border.push(false);
            (sizes.len() - 1) as u32
        } else {
            component_of_run[up]
        };
        component_of_run[i] = c;
        let c = c as usize;
        sizes[c] += (run.end - run.start) as usize;
        touches_border[c] |=
            run.row == 0 || run.row == last_row || run.start == 0 || run.end == cols;
    }
    Components {
        runs,
        component_of_run,
        sizes,
        touches_border,
    }
}

/// Appends the runs of one row: set bits of `word ^ invert` (padding masked off).
fn push_row_runs(
    row_words: &[u64],
    invert: u64,
    last_mask: u64,
    cols: u32,
    row: u32,
    runs: &mut Vec<Run>,
) {
    let mut open: Option<u32> = None;
    let last = row_words.len().saturating_sub(1);
    for (w, &word) in row_words.iter().enumerate() {
        let mut word = word ^ invert;
        if w == last {
            word &= last_mask;
        }
        let base = (w * WORD_BITS) as u32;
        if let Some(start) = open {
            let ones = (!word).trailing_zeros();
            if ones == 64 {
                continue;
            }
            runs.push(Run {
                row,
                start,
                end: base + ones,
            });
            open = None;
            word &= !0u64 << ones;
        }
        while word != 0 {
            let zeros = word.trailing_zeros();
            let ones = (!(word >> zeros)).trailing_zeros();
            if zeros + ones == 64 {
                open = Some(base + zeros);
                break;
            }
            runs.push(Run {
                row,
                start: base + zeros,
                end: base + zeros + ones,
            });
            word &= !0u64 << (zeros + ones);
        }
    }
    if let Some(start) = open {
        runs.push(Run {
            row,
            start,
            end: cols,
        });
    }
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let grandparent = parent[parent[x as usize] as usize];
        parent[x as usize] = grandparent;
        x = grandparent;
    }
    x
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_masks::mask;

    #[test]
    fn runs_across_word_boundaries() {
        for cols in [63usize, 64, 65, 128, 130] {
            let mut m = SliceMask::new(1, cols).unwrap();
            m.set_run(0, 0, 3);
            m.set_run(0, 60, cols);
            let c = components(&m, true, Connectivity::Four);
            assert_eq!(
                c.runs,
                vec![
                    Run {
                        row: 0,
                        start: 0,
                        end: 3
                    },
                    Run {
                        row: 0,
                        start: 60,
                        end: cols as u32
                    }
                ],
                "{cols}"
            );
            let bg = components(&m, false, Connectivity::Four);
            assert_eq!(
                bg.runs,
                vec![Run {
                    row: 0,
                    start: 3,
                    end: 60
                }],
                "{cols}"
            );
        }
    }

    #[test]
    fn full_words_stay_one_run() {
        let m = SliceMask::full(2, 192).unwrap();
        let c = components(&m, true, Connectivity::Four);
        assert_eq!(c.runs.len(), 2);
        assert_eq!(c.sizes, vec![384]);
        assert!(components(&m, false, Connectivity::Four).runs.is_empty());
    }

    #[test]
    fn diagonal_touch_joins_only_with_eight() {
        let m = mask(&["#..", ".#.", "..#"]);
        assert_eq!(components(&m, true, Connectivity::Four).sizes.len(), 3);
        assert_eq!(components(&m, true, Connectivity::Eight).sizes.len(), 1);
    }

    #[test]
    fn u_shape_merges_into_the_first_run() {
        // Two arms meet at the bottom: the component is numbered by its first pixel.
        let m = mask(&["#..#.#", "#..#..", "####..", "......"]);
        let c = components(&m, true, Connectivity::Four);
        assert_eq!(c.sizes.len(), 2);
        assert_eq!(c.sizes, vec![8, 1]);
        assert_eq!(c.component_of_run, vec![0, 0, 1, 0, 0, 0]);
        assert_eq!(c.touches_border, vec![true, true]);
    }

    #[test]
    fn border_flags_of_background() {
        let m = mask(&["#####", "#..##", "#####", "#.###"]);
        let c = components(&m, false, Connectivity::Four);
        assert_eq!(c.sizes, vec![2, 1]);
        assert_eq!(c.touches_border, vec![false, true]);
    }
}
