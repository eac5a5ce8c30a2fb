//! Stacking a series into one volume, fast: every file is read into a reused per-thread buffer,
//! and native pixel data is converted straight into its slice of a buffer allocated once.
//! Encapsulated (compressed) or unusual files go through the general decoder.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;

use dafne_core::{DType, Rescale, Volume, Voxels};
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::OpenFileOptions;
use rayon::prelude::*;

use super::header::{header_of, SliceHeader};
use super::series::SeriesEntry;
use super::{decode_in, short_reason, DicomError, Frames};
use crate::progress::{Counter, Progress};
use crate::SkippedFile;

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// A stored sample type DICOM pixel data can have.
trait Sample: Copy + Default + Send + Sync {
    const SIZE: usize;
    fn from_le(b: &[u8]) -> Self;
    fn take(v: Voxels) -> Option<Vec<Self>>;
    fn wrap(v: Vec<Self>) -> Voxels;
    /// Sign-extends from the high stored bit (signed types only).
    fn extend_sign(self, _shift: u32) -> Self {
        self
    }
}

macro_rules! sample {
    ($t:ty, $variant:ident, signed) => {
        sample!($t, $variant, fn extend_sign(self, shift: u32) -> Self { (self << shift) >> shift });
    };
    ($t:ty, $variant:ident, unsigned) => {
        sample!($t, $variant,);
    };
    ($t:ty, $variant:ident, $($extra:item)?) => {
        impl Sample for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn from_le(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
            fn take(v: Voxels) -> Option<Vec<Self>> {
                match v {
                    Voxels::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> Voxels {
                Voxels::$variant(v)
            }
            $($extra)?
        }
    };
}
sample!(u8, U8, unsigned);
sample!(i8, I8, signed);
sample!(u16, U16, unsigned);
sample!(i16, I16, signed);
sample!(u32, U32, unsigned);
sample!(i32, I32, signed);

thread_local! {
    /// File bytes, reused from file to file on each worker thread.
    static FILE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), DicomError> {
    buf.clear();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .map(|_| ())
        .map_err(|e| DicomError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Offset of the pixel bytes of a native little-endian file: the PixelData element whose
/// declared length is what the header says the image needs (+1 for odd-length padding).
fn native_pixel_offset(body: &[u8], expected: usize, explicit: bool) -> Option<usize> {
    let tag = [0xE0u8, 0x7F, 0x10, 0x00];
    let mut from = body.len().saturating_sub(expected + 16);
    // Pixel data is nearly always last: look near the end first, then everywhere.
    for start in [from, 0] {
        from = start;
        while let Some(rel) = body.get(from..)?.windows(4).position(|w| w == tag) {
            let at = from + rel;
            let (len_at, data_at) = if explicit {
                (at + 8, at + 12)
            } else {
                (at + 4, at + 8)
            };
            if let Some(b) = body.get(len_at..len_at + 4) {
                let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                if (len == expected || len == expected + 1) && data_at + expected <= body.len() {
                    return Some(data_at);
                }
            }
            from = at + 1;
        }
    }
    None
}

/// Decodes one single-frame file into `out` (one slice).
fn decode_slice_into<T: Sample>(path: &Path, out: &mut [T]) -> Result<(), DicomError> {
    FILE_BUFFER.with(|cell| {
        let mut buf = cell.borrow_mut();
        read_into(path, &mut buf)?;
        let body = match buf.get(128..132) {
            Some(b"DICM") => &buf[128..],
            _ => &buf[..],
        };
        let body = super::parse::checked(body).map_err(|reason| DicomError::Parse {
            path: path.to_path_buf(),
            reason,
        })?;
        let head = OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .read_until(tags::PIXEL_DATA)
            .from_reader(body)
            .map_err(|e| DicomError::Parse {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let h = header_of(&head, path)?;
        check_shape(&h, out.len(), path)?;
        let native = h.transfer_syntax == EXPLICIT_LE || h.transfer_syntax == IMPLICIT_LE;
        let expected = out.len() * T::SIZE;
        if native && h.bits_allocated as usize == T::SIZE * 8 {
            if let Some(at) = native_pixel_offset(body, expected, h.transfer_syntax == EXPLICIT_LE)
            {
                let shift = h.bits_allocated.saturating_sub(h.bits_stored) as u32;
                let sign = h.signed && shift > 0 && h.bits_stored > 0;
                for (o, b) in out
                    .iter_mut()
                    .zip(body[at..at + expected].chunks_exact(T::SIZE))
                {
                    let v = T::from_le(b);
                    *o = if sign { v.extend_sign(shift) } else { v };
                }
                return Ok(());
            }
        }
        // Compressed, big-endian or unusual: the general decoder.
        let (_, frames) = decode_in(&buf, path)?;
        copy_frames(frames, out, path)
    })
}

fn check_shape(h: &SliceHeader, plane: usize, path: &Path) -> Result<(), DicomError> {
    if h.samples_per_pixel != 1 {
        return Err(DicomError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(
                "{} samples per pixel (colour images are not volumes)",
                h.samples_per_pixel
            ),
        });
    }
    if h.rows * h.cols * h.frames != plane {
        return Err(DicomError::Inconsistent {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn copy_frames<T: Sample>(frames: Frames, out: &mut [T], path: &Path) -> Result<(), DicomError> {
    let values = T::take(frames.voxels).ok_or_else(|| DicomError::Inconsistent {
        path: path.to_path_buf(),
    })?;
    if values.len() != out.len() {
        return Err(DicomError::Inconsistent {
            path: path.to_path_buf(),
        });
    }
    out.copy_from_slice(&values);
    Ok(())
}

/// Decodes every file of an entry in parallel into one buffer and builds the volume, reporting
/// slices decoded and giving up with [`DicomError::Cancelled`] between files when asked.
pub fn load_entry(
    entry: &SeriesEntry,
    progress: &dyn Progress,
) -> Result<(Volume, Vec<SkippedFile>), DicomError> {
    match entry.dtype {
        Some(DType::U8) => load_typed::<u8>(entry, progress),
        Some(DType::I8) => load_typed::<i8>(entry, progress),
        Some(DType::U16) => load_typed::<u16>(entry, progress),
        Some(DType::I16) => load_typed::<i16>(entry, progress),
        Some(DType::U32) => load_typed::<u32>(entry, progress),
        Some(DType::I32) => load_typed::<i32>(entry, progress),
        _ => Err(DicomError::Unsupported {
            path: entry.files[0].clone(),
            reason: "pixel type".into(),
        }),
    }
}

fn load_typed<T: Sample>(
    entry: &SeriesEntry,
    progress: &dyn Progress,
) -> Result<(Volume, Vec<SkippedFile>), DicomError> {
    let [cols, rows, slices, _] = entry.dims;
    let plane = rows * cols;
    if let Some(order) = &entry.frame_order {
        // One file: nothing to count between, so only its start and end.
        let counter = Counter::start(progress, 1, "decoding frames");
        let loaded = load_multi_frame::<T>(entry, plane, order)?;
        counter.tick();
        return Ok(loaded);
    }
    if entry.files.len() != slices {
        // One file per slice is what the per-file path assumes; anything else is a bug upstream.
        return Err(DicomError::Inconsistent {
            path: entry.files[0].clone(),
        });
    }
    let mut data = vec![T::default(); plane * slices];
    let counter = Counter::start(progress, slices, "decoding slices");
    let results: Vec<Result<(), DicomError>> = data
        .par_chunks_mut(plane.max(1))
        .zip(entry.files.par_iter())
        .map(|(chunk, file)| {
            if counter.cancelled() {
                return Err(DicomError::Cancelled);
            }
            let r = decode_slice_into(file, chunk);
            counter.tick();
            r
        })
        .collect();
    if counter.cancelled() {
        return Err(DicomError::Cancelled);
    }
    let bad: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    let skipped: Vec<SkippedFile> = entry
        .files
        .iter()
        .zip(&results)
        .filter_map(|(f, r)| {
            r.as_ref().err().map(|e| SkippedFile {
                path: f.clone(),
                reason: short_reason(e),
            })
        })
        .collect();
    let (first, last) = kept_range(slices, &bad).ok_or_else(|| {
        let s = &skipped[0];
        DicomError::DecodePixels {
            path: s.path.clone(),
            reason: format!(
                "{} of {} slices unreadable ({}); the series cannot be stacked without them",
                bad.len(),
                slices,
                s.reason
            ),
        }
    })?;
    if first > 0 || last < slices {
        data = data[first * plane..last * plane].to_vec();
    }
    let mut geometry = entry.geometry.clone();
    for r in 0..3 {
        // Dropped leading slices move the origin by whole steps.
        geometry.affine_lps[r][3] += geometry.affine_lps[r][2] * first as f64;
    }
    let rescale = match &entry.rescale {
        Rescale::PerPlane(maps) => Rescale::PerPlane(maps[first..last].to_vec()),
        uniform => uniform.clone(),
    };
    let dims = [cols, rows, last - first, 1];
    let volume =
        Volume::new(dims, T::wrap(data), rescale, geometry, entry.info.clone()).map_err(|e| {
            DicomError::DecodePixels {
                path: entry.files[0].clone(),
                reason: e.to_string(),
            }
        })?;
    Ok((volume, skipped))
}

/// The slices that can be kept: all of them, or all but unreadable ones at either end. A gap
/// in the middle would silently shift every later slice, so it is refused (None).
fn kept_range(n: usize, bad: &[usize]) -> Option<(usize, usize)> {
    let lead = (0..n).take_while(|i| bad.contains(i)).count();
    let trail = (0..n).rev().take_while(|i| bad.contains(i)).count();
    let ok = bad.is_empty() || (lead + trail >= bad.len() && lead + trail < n);
    ok.then_some((lead, n - trail))
}

fn load_multi_frame<T: Sample>(
    entry: &SeriesEntry,
    plane: usize,
    order: &[usize],
) -> Result<(Volume, Vec<SkippedFile>), DicomError> {
    let path = &entry.files[0];
    let bytes = std::fs::read(path).map_err(|e| DicomError::Parse {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let (_, frames) = decode_in(&bytes, path)?;
    let all =
        T::take(frames.voxels).ok_or_else(|| DicomError::Inconsistent { path: path.clone() })?;
    let mut data = Vec::with_capacity(all.len());
    for &f in order {
        let chunk = all
            .get(f * plane..(f + 1) * plane)
            .ok_or_else(|| DicomError::Inconsistent { path: path.clone() })?;
        data.extend_from_slice(chunk);
    }
    let volume = Volume::new(
        entry.dims,
        T::wrap(data),
        entry.rescale.clone(),
        entry.geometry.clone(),
        entry.info.clone(),
    )
    .map_err(|e| DicomError::DecodePixels {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok((volume, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreadable_slices_at_the_ends_may_be_dropped() {
        assert_eq!(kept_range(5, &[]), Some((0, 5)));
        assert_eq!(kept_range(5, &[0, 4]), Some((1, 4)));
        assert_eq!(kept_range(5, &[2]), None);
        assert_eq!(kept_range(1, &[0]), None);
        assert_eq!(kept_range(2, &[0, 1]), None);
    }
}
