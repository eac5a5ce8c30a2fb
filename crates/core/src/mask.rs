//! [`SliceMask`]: one bit per pixel, each row padded to whole `u64` words so that row operations
//! (shifts for grow/shrink, run extraction for labelling) never straddle two rows.

use std::fmt;
use std::ops::Range;

pub const WORD_BITS: usize = 64;

/// The largest number of pixels a mask may hold, so that every pixel index and every label fits
/// in a `u32` (a 2-D slice never comes near it: 65535 x 65535 fits).
pub const MAX_PIXELS: usize = u32::MAX as usize;

/// What went wrong building a mask.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    #[error("cannot create a {rows} x {cols} mask: more than {MAX_PIXELS} pixels")]
    CreateMask { rows: usize, cols: usize },
    #[error("run of pixels {start}..{end} lies outside a mask of {pixels} pixels")]
    RunOutside {
        start: usize,
        end: usize,
        pixels: usize,
    },
    #[error("cannot build a {rows} x {cols} mask from {len} pixel values")]
    MaskFromPixels {
        rows: usize,
        cols: usize,
        len: usize,
    },
}

/// A 2-D binary mask of `rows x cols` pixels, bit-packed.
///
/// Pixel `(row, col)` is bit `col % 64` of word `col / 64` of row `row`; `row` is the image row
/// (y) and `col` the column (x), as NumPy's `mask[row, col]`. The padding bits after the last
/// column of each row are always zero, so equality and counting work on whole words.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SliceMask {
    rows: usize,
    cols: usize,
    words_per_row: usize,
    words: Vec<u64>,
}

/// The smallest rectangle holding every set pixel, as half-open ranges.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BoundingBox {
    pub rows: Range<usize>,
    pub cols: Range<usize>,
}

impl SliceMask {
    /// An empty (all unset) mask.
    pub fn new(rows: usize, cols: usize) -> Result<Self, MaskError> {
        match rows.checked_mul(cols) {
            Some(n) if n <= MAX_PIXELS => {}
            _ => return Err(MaskError::CreateMask { rows, cols }),
        }
        let words_per_row = cols.div_ceil(WORD_BITS);
        Ok(SliceMask {
            rows,
            cols,
            words_per_row,
            words: vec![0; rows * words_per_row],
        })
    }

    /// A mask with every pixel set.
    pub fn full(rows: usize, cols: usize) -> Result<Self, MaskError> {
        let mut mask = Self::new(rows, cols)?;
        mask.words.fill(!0);
        mask.clear_padding();
        Ok(mask)
    }

    /// From row-major pixels (`pixels[row * cols + col]`), as a C-order NumPy bool array.
    pub fn from_bools(rows: usize, cols: usize, pixels: &[bool]) -> Result<Self, MaskError> {
        Self::from_row_major(rows, cols, pixels, |&p| p)
    }

    /// From row-major bytes; any non-zero byte is set (NumPy's `astype(bool)`), so both 0/1 masks
    /// and label values work.
    pub fn from_u8(rows: usize, cols: usize, pixels: &[u8]) -> Result<Self, MaskError> {
        Self::from_row_major(rows, cols, pixels, |&p| p != 0)
    }

    fn from_row_major<T>(
        rows: usize,
        cols: usize,
        pixels: &[T],
        is_set: impl Fn(&T) -> bool,
    ) -> Result<Self, MaskError> {
        let mut mask = Self::new(rows, cols)?;
        if pixels.len() != rows * cols {
            return Err(MaskError::MaskFromPixels {
                rows,
                cols,
                len: pixels.len(),
            });
        }
        if cols == 0 {
            return Ok(mask);
        }
        for (row_words, row_pixels) in mask
            .words
            .chunks_exact_mut(mask.words_per_row)
            .zip(pixels.chunks_exact(cols))
        {
            for (word, chunk) in row_words.iter_mut().zip(row_pixels.chunks(WORD_BITS)) {
                *word = chunk
                    .iter()
                    .enumerate()
                    .fold(0u64, |w, (bit, p)| w | (u64::from(is_set(p)) << bit));
            }
        }
        Ok(mask)
    }

    /// Row-major pixels, `true` where set.
    pub fn to_bools(&self) -> Vec<bool> {
        self.to_row_major(|set| set)
    }

    /// Row-major pixels, 1 where set and 0 elsewhere.
    pub fn to_u8(&self) -> Vec<u8> {
        self.to_row_major(u8::from)
    }

    fn to_row_major<T>(&self, value: impl Fn(bool) -> T) -> Vec<T> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for row_words in self.row_chunks() {
            for col in 0..self.cols {
                let word = row_words.get(col / WORD_BITS).copied().unwrap_or(0);
                out.push(value(word >> (col % WORD_BITS) & 1 == 1));
            }
        }
        out
    }

    /// Whether `other` has the same rows and columns.
    pub fn same_shape(&self, other: &SliceMask) -> bool {
        self.rows == other.rows && self.cols == other.cols
    }

    /// Combines `other` into this mask word by word (`op(self_word, other_word)`). Masks of
    /// another shape change nothing and return false.
    pub fn combine(&mut self, other: &SliceMask, op: impl Fn(u64, u64) -> u64) -> bool {
        if !self.same_shape(other) {
            return false;
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a = op(*a, *b);
        }
        true
    }

    /// The words that differ from `other` (same shape), as `(word index, xor)` pairs: what an
    /// undo step stores, in proportion to the change rather than to the slice.
    pub fn xor_words(&self, other: &SliceMask) -> Vec<(u32, u64)> {
        if !self.same_shape(other) {
            return Vec::new();
        }
        self.words
            .iter()
            .zip(&other.words)
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| (i as u32, a ^ b))
            .collect()
    }

    /// Flips the bits given by [`SliceMask::xor_words`]; applying the same list twice restores
    /// the mask. Indices outside the mask are ignored.
    pub fn toggle_words(&mut self, changes: &[(u32, u64)]) {
        for (i, x) in changes {
            if let Some(w) = self.words.get_mut(*i as usize) {
                *w ^= x;
            }
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Whether `(row, col)` is set; pixels outside the mask read as unset.
    pub fn get(&self, row: usize, col: usize) -> bool {
        self.word_index(row, col)
            .and_then(|i| self.words.get(i))
            .is_some_and(|w| w >> (col % WORD_BITS) & 1 == 1)
    }

    /// Sets or clears `(row, col)`. Returns whether the pixel lies inside the mask; pixels outside
    /// are ignored, so a brush can be stamped across the edge.
    pub fn set(&mut self, row: usize, col: usize, value: bool) -> bool {
        let Some(word) = self
            .word_index(row, col)
            .and_then(|i| self.words.get_mut(i))
        else {
            return false;
        };
        let bit = 1u64 << (col % WORD_BITS);
        if value {
            *word |= bit;
        } else {
            *word &= !bit;
        }
        true
    }

    /// Number of set pixels.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether no pixel is set.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Unsets every pixel.
    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// The smallest rectangle holding every set pixel; `None` for an empty mask.
    pub fn bounding_box(&self) -> Option<BoundingBox> {
        let occupied = |row: &&[u64]| row.iter().any(|&w| w != 0);
        let first_row = self.row_chunks().position(|r| occupied(&r))?;
        let last_row = self.rows - 1 - self.row_chunks().rev().position(|r| occupied(&r))?;
        // The union of the occupied rows holds the extreme columns.
        let mut union = vec![0u64; self.words_per_row];
        for row_words in self
            .row_chunks()
            .skip(first_row)
            .take(last_row + 1 - first_row)
        {
            for (u, w) in union.iter_mut().zip(row_words) {
                *u |= w;
            }
        }
        let first_word = union.iter().position(|&w| w != 0)?;
        let last_word = union.iter().rposition(|&w| w != 0)?;
        let first_col = first_word * WORD_BITS + union[first_word].trailing_zeros() as usize;
        let last_col =
            last_word * WORD_BITS + (WORD_BITS - 1 - union[last_word].leading_zeros() as usize);
        Some(BoundingBox {
            rows: first_row..last_row + 1,
            cols: first_col..last_col + 1,
        })
    }

    fn word_index(&self, row: usize, col: usize) -> Option<usize> {
        (row < self.rows && col < self.cols).then(|| row * self.words_per_row + col / WORD_BITS)
    }

    /// An empty mask of the same shape (no size check needed: this one passed it).
    pub fn empty_like(&self) -> Self {
        SliceMask {
            rows: self.rows,
            cols: self.cols,
            words_per_row: self.words_per_row,
            words: vec![0; self.words.len()],
        }
    }

    pub fn words_per_row(&self) -> usize {
        self.words_per_row
    }

    /// The words of each row, top to bottom (none when the mask has no columns).
    pub fn row_chunks(&self) -> std::slice::ChunksExact<'_, u64> {
        self.words.chunks_exact(self.words_per_row.max(1))
    }

    pub fn row_chunks_mut(&mut self) -> std::slice::ChunksExactMut<'_, u64> {
        self.words.chunks_exact_mut(self.words_per_row.max(1))
    }

    /// The bits a row may use in its last word (all ones when `cols` is a multiple of 64).
    pub fn last_word_mask(&self) -> u64 {
        match self.cols % WORD_BITS {
            0 => !0,
            used => (1u64 << used) - 1,
        }
    }

    fn clear_padding(&mut self) {
        let keep = self.last_word_mask();
        for row_words in self.row_chunks_mut() {
            if let Some(last) = row_words.last_mut() {
                *last &= keep;
            }
        }
    }

    /// The set pixels as runs `(start, length)` over the row-major pixel index
    /// `row * cols + col`; a run may continue from the end of one row into the next.
    pub fn runs(&self) -> Vec<(u32, u32)> {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for (row, words) in self.row_chunks().enumerate() {
            for (w, &word) in words.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let start = bits.trailing_zeros() as usize;
                    let len = (bits >> start).trailing_ones() as usize;
                    let index = (row * self.cols + w * WORD_BITS + start) as u32;
                    match runs.last_mut() {
                        Some((s, l)) if *s + *l == index => *l += len as u32,
                        _ => runs.push((index, len as u32)),
                    }
                    bits = if start + len >= WORD_BITS {
                        0
                    } else {
                        bits & (!0u64 << (start + len))
                    };
                }
            }
        }
        runs
    }

    /// The mask holding `runs` (as [`SliceMask::runs`] gives them). Runs past the last pixel
    /// are an error, so a corrupt file cannot paint outside the slice.
    pub fn from_runs(rows: usize, cols: usize, runs: &[(u32, u32)]) -> Result<Self, MaskError> {
        let mut mask = SliceMask::new(rows, cols)?;
        let total = rows * cols;
        for &(start, len) in runs {
            let (start, end) = (start as usize, start as usize + len as usize);
            if end > total {
                return Err(MaskError::RunOutside {
                    start,
                    end,
                    pixels: total,
                });
            }
            let mut at = start;
            while at < end {
                let (row, col) = (at / cols.max(1), at % cols.max(1));
                let stop = end.min((row + 1) * cols);
                mask.set_run(row, col, col + (stop - at));
                at = stop;
            }
        }
        Ok(mask)
    }

    /// Sets columns `start..end` of `row` (clamped to the mask).
    pub fn set_run(&mut self, row: usize, start: usize, end: usize) {
        let end = end.min(self.cols);
        if row >= self.rows || start >= end {
            return;
        }
        let base = row * self.words_per_row;
        let Some(row_words) = self.words.get_mut(base..base + self.words_per_row) else {
            return;
        };
        let (first, last) = (start / WORD_BITS, (end - 1) / WORD_BITS);
        let head = !0u64 << (start % WORD_BITS);
        let tail = !0u64 >> (WORD_BITS - 1 - (end - 1) % WORD_BITS);
        if first == last {
            if let Some(w) = row_words.get_mut(first) {
                *w |= head & tail;
            }
            return;
        }
        if let Some(w) = row_words.get_mut(first) {
            *w |= head;
        }
        if let Some(middle) = row_words.get_mut(first + 1..last) {
            middle.fill(!0);
        }
        if let Some(w) = row_words.get_mut(last) {
            *w |= tail;
        }
    }
}

impl fmt::Debug for SliceMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SliceMask")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("set_pixels", &self.count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_trip_across_words_and_rows() {
        let (rows, cols) = (5, 70);
        let mut m = SliceMask::new(rows, cols).unwrap();
        for (r, c) in [
            (0, 0),
            (0, 63),
            (0, 64),
            (0, 69),
            (1, 0),
            (1, 1),
            (3, 10),
            (4, 69),
        ] {
            m.set(r, c, true);
        }
        m.set_run(2, 5, 70);
        let runs = m.runs();
        // (0,69) (1,0) (1,1) join into one run across the row end.
        assert!(runs.contains(&(69, 3)), "{runs:?}");
        assert_eq!(SliceMask::from_runs(rows, cols, &runs).unwrap(), m);
        assert_eq!(runs.iter().map(|r| r.1 as usize).sum::<usize>(), m.count());
        assert!(SliceMask::from_runs(rows, cols, &[(340, 20)]).is_err());
    }

    #[test]
    fn one_bit_per_pixel() {
        let mask = SliceMask::new(512, 512).unwrap();
        assert_eq!(mask.words.len() * 8, 32 * 1024);
    }

    #[test]
    fn get_set_and_round_trip_with_odd_width() {
        let (rows, cols) = (5, 130);
        let pixels: Vec<bool> = (0..rows * cols).map(|i| i % 3 == 0 || i % 7 == 0).collect();
        let mask = SliceMask::from_bools(rows, cols, &pixels).unwrap();
        assert_eq!(mask.to_bools(), pixels);
        assert_eq!(mask.count(), pixels.iter().filter(|&&p| p).count());
        for (i, &p) in pixels.iter().enumerate() {
            assert_eq!(mask.get(i / cols, i % cols), p);
        }
        let bytes = mask.to_u8();
        assert_eq!(SliceMask::from_u8(rows, cols, &bytes).unwrap(), mask);
    }

    #[test]
    fn outside_pixels_read_unset_and_are_not_written() {
        let mut mask = SliceMask::new(3, 4).unwrap();
        assert!(!mask.set(3, 0, true));
        assert!(!mask.set(0, 4, true));
        assert!(mask.is_empty());
        assert!(!mask.get(0, 4));
        assert!(mask.set(2, 3, true));
        assert!(mask.get(2, 3));
        assert!(mask.set(2, 3, false));
        assert!(mask.is_empty());
    }

    #[test]
    fn wrong_pixel_count_is_refused() {
        let err = SliceMask::from_u8(3, 4, &[0; 11]).unwrap_err();
        assert_eq!(
            err,
            MaskError::MaskFromPixels {
                rows: 3,
                cols: 4,
                len: 11
            }
        );
        assert_eq!(
            err.to_string(),
            "cannot build a 3 x 4 mask from 11 pixel values"
        );
    }

    #[test]
    fn oversized_mask_is_refused() {
        assert!(matches!(
            SliceMask::new(1 << 20, 1 << 20),
            Err(MaskError::CreateMask { .. })
        ));
        assert!(SliceMask::new(usize::MAX, 2).is_err());
    }

    #[test]
    fn full_mask_keeps_padding_clear() {
        let mask = SliceMask::full(3, 70).unwrap();
        assert_eq!(mask.count(), 210);
        let mut rebuilt = SliceMask::new(3, 70).unwrap();
        for r in 0..3 {
            rebuilt.set_run(r, 0, 70);
        }
        assert_eq!(rebuilt, mask);
    }

    #[test]
    fn empty_shapes() {
        for (rows, cols) in [(0, 0), (0, 5), (5, 0)] {
            let mask = SliceMask::full(rows, cols).unwrap();
            assert!(mask.is_empty());
            assert_eq!(mask.bounding_box(), None);
            assert!(mask.to_bools().is_empty());
            assert_eq!(SliceMask::from_u8(rows, cols, &[]).unwrap(), mask);
        }
    }

    #[test]
    fn bounding_box_spans_words() {
        let mut mask = SliceMask::new(10, 200).unwrap();
        assert_eq!(mask.bounding_box(), None);
        mask.set(3, 63, true);
        mask.set(7, 130, true);
        mask.set(5, 64, true);
        assert_eq!(
            mask.bounding_box(),
            Some(BoundingBox {
                rows: 3..8,
                cols: 63..131
            })
        );
        mask.set(9, 199, true);
        mask.set(0, 0, true);
        assert_eq!(
            mask.bounding_box(),
            Some(BoundingBox {
                rows: 0..10,
                cols: 0..200
            })
        );
    }

    #[test]
    fn set_run_within_and_across_words() {
        for (start, end) in [
            (0, 1),
            (5, 64),
            (63, 65),
            (0, 128),
            (10, 140),
            (64, 192),
            (100, 100),
        ] {
            let mut mask = SliceMask::new(2, 192).unwrap();
            mask.set_run(1, start, end);
            let expected: Vec<bool> = (0..384)
                .map(|i| i >= 192 + start && i < 192 + end)
                .collect();
            assert_eq!(mask.to_bools(), expected, "{start}..{end}");
        }
        let mut mask = SliceMask::new(2, 70).unwrap();
        mask.set_run(0, 60, 500);
        assert_eq!(mask.count(), 10);
        mask.set_run(5, 0, 10);
        assert_eq!(mask.count(), 10);
    }

    #[test]
    fn equality_ignores_how_the_mask_was_built() {
        let a = SliceMask::from_bools(2, 2, &[true, false, false, true]).unwrap();
        let mut b = SliceMask::new(2, 2).unwrap();
        b.set(0, 0, true);
        b.set(1, 1, true);
        assert_eq!(a, b);
        b.set(0, 1, true);
        assert_ne!(a, b);
    }
}
