//! Decoding pixel data to stored values exactly as pydicom's `pixel_array` gives them:
//! native data read directly, encapsulated data through dicom-pixeldata's codecs (pure Rust
//! JPEG, RLE and JPEG 2000; CharLS built from vendored source for JPEG-LS).

use std::path::Path;

use dafne_core::{DType, Voxels};
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::PixelDecoder;

use super::header::SliceHeader;
use super::DicomError;

/// Stored values of every frame, in (frame, row, column, sample) order.
#[derive(Clone, Debug)]
pub struct Frames {
    pub rows: usize,
    pub cols: usize,
    pub frames: usize,
    pub samples: usize,
    pub voxels: Voxels,
}

/// The type stored values have, from Bits Allocated and Pixel Representation.
pub fn stored_dtype(h: &SliceHeader) -> Option<DType> {
    Some(match (h.bits_allocated, h.signed) {
        (1, _) => DType::U8,
        (8, false) => DType::U8,
        (8, true) => DType::I8,
        (16, false) => DType::U16,
        (16, true) => DType::I16,
        (32, false) => DType::U32,
        (32, true) => DType::I32,
        _ => return None,
    })
}

/// Decodes all frames of a fully read object.
pub fn decode(obj: &DefaultDicomObject, h: &SliceHeader) -> Result<Frames, DicomError> {
    let path = h.path.as_path();
    let dtype = stored_dtype(h).ok_or_else(|| DicomError::Unsupported {
        path: path.to_path_buf(),
        reason: format!("{} bits allocated", h.bits_allocated),
    })?;
    let pixels = obj
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| DicomError::NotAnImage {
            path: path.to_path_buf(),
            reason: "no pixel data".into(),
        })?;
    let count = h
        .rows
        .checked_mul(h.cols)
        .and_then(|n| n.checked_mul(h.frames))
        .and_then(|n| n.checked_mul(h.samples_per_pixel))
        .ok_or_else(|| corrupt(path, "image dimensions overflow"))?;
    let voxels = match pixels.value() {
        Value::Primitive(p) if h.planar && h.samples_per_pixel > 1 => {
            interleave(native(p, dtype, count, h)?, h)
        }
        Value::Primitive(p) => native(p, dtype, count, h)?,
        Value::PixelSequence(_) => encapsulated(obj, dtype, count, h)?,
        Value::Sequence(_) => return Err(corrupt(path, "pixel data is a sequence")),
    };
    let voxels = fix_bits(voxels, h);
    Ok(Frames {
        rows: h.rows,
        cols: h.cols,
        frames: h.frames,
        samples: h.samples_per_pixel,
        voxels,
    })
}

fn corrupt(path: &Path, reason: &str) -> DicomError {
    DicomError::DecodePixels {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn too_short(path: &Path, got: usize, expected: usize) -> DicomError {
    corrupt(
        path,
        &format!("pixel data is shorter than the image needs ({got} of {expected} bytes)"),
    )
}

/// Native (uncompressed) pixel data. dicom-parser already gives values in machine order.
fn native(
    p: &PrimitiveValue,
    dtype: DType,
    count: usize,
    h: &SliceHeader,
) -> Result<Voxels, DicomError> {
    let path = h.path.as_path();
    let size = dtype.size_bytes();
    if h.bits_allocated == 1 {
        let bytes = p.to_bytes();
        let needed = count.div_ceil(8);
        if bytes.len() < needed {
            return Err(too_short(path, bytes.len(), needed));
        }
        let bits = bytes
            .iter()
            .flat_map(|b| (0..8).map(move |bit| (b >> bit) & 1))
            .take(count)
            .collect();
        return Ok(Voxels::U8(bits));
    }
    let voxels = match (p, dtype) {
        (PrimitiveValue::U16(v), DType::U16) => Voxels::U16(take(v, count, path, size)?.to_vec()),
        (PrimitiveValue::U16(v), DType::I16) => Voxels::I16(
            take(v, count, path, size)?
                .iter()
                .map(|x| *x as i16)
                .collect(),
        ),
        (PrimitiveValue::I16(v), DType::I16) => Voxels::I16(take(v, count, path, size)?.to_vec()),
        (PrimitiveValue::I16(v), DType::U16) => Voxels::U16(
            take(v, count, path, size)?
                .iter()
                .map(|x| *x as u16)
                .collect(),
        ),
        (PrimitiveValue::U32(v), DType::U32) => Voxels::U32(take(v, count, path, size)?.to_vec()),
        (PrimitiveValue::U32(v), DType::I32) => Voxels::I32(
            take(v, count, path, size)?
                .iter()
                .map(|x| *x as i32)
                .collect(),
        ),
        (PrimitiveValue::I32(v), DType::I32) => Voxels::I32(take(v, count, path, size)?.to_vec()),
        (PrimitiveValue::I32(v), DType::U32) => Voxels::U32(
            take(v, count, path, size)?
                .iter()
                .map(|x| *x as u32)
                .collect(),
        ),
        // OB or a byte buffer: little-endian bytes.
        _ => from_le_bytes(&p.to_bytes(), dtype, count, path)?,
    };
    Ok(voxels)
}

fn take<'a, T>(v: &'a [T], count: usize, path: &Path, size: usize) -> Result<&'a [T], DicomError> {
    v.get(..count)
        .ok_or_else(|| too_short(path, v.len() * size, count * size))
}

fn from_le_bytes(
    bytes: &[u8],
    dtype: DType,
    count: usize,
    path: &Path,
) -> Result<Voxels, DicomError> {
    let size = dtype.size_bytes();
    let needed = count * size;
    let b = bytes
        .get(..needed)
        .ok_or_else(|| too_short(path, bytes.len(), needed))?;
    Ok(crate::values::decode_voxels(b, dtype, false))
}

/// JPEG Extended (Process 2 & 4): the only syntax whose 12-bit form dicom-pixeldata's decoder lacks.
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
/// JPEG 2000 Image Compression (Lossless Only) and JPEG 2000 Image Compression.
const JPEG_2000: [&str; 2] = ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"];

/// Decodes every frame with our own per-frame decoder (`decode(stream, bytes_per_sample)` gives
/// little-endian, sample-interleaved bytes) and converts them to stored values.
fn per_frame(
    obj: &DefaultDicomObject,
    dtype: DType,
    count: usize,
    h: &SliceHeader,
    decode: impl Fn(&[u8], usize) -> Result<Vec<u8>, String>,
) -> Result<Voxels, DicomError> {
    let path = h.path.as_path();
    let bytes_per_sample = (h.bits_allocated as usize).div_ceil(8);
    let mut bytes = Vec::with_capacity(count * bytes_per_sample);
    for stream in frame_streams(obj, h)? {
        let frame = contain_panic(path, || decode(&stream, bytes_per_sample))?
            .map_err(|reason| corrupt(path, &reason))?;
        bytes.extend(frame);
    }
    from_le_bytes(&bytes, dtype, count, path)
}

/// The bytes of each frame: one fragment per frame, or every fragment of a single frame.
fn frame_streams(obj: &DefaultDicomObject, h: &SliceHeader) -> Result<Vec<Vec<u8>>, DicomError> {
    let path = h.path.as_path();
    let Some(Value::PixelSequence(seq)) = obj.get(tags::PIXEL_DATA).map(|e| e.value()) else {
        return Err(corrupt(path, "no encapsulated pixel data"));
    };
    let fragments = seq.fragments();
    if fragments.len() == h.frames {
        Ok(fragments.iter().map(|f| f.to_vec()).collect())
    } else if h.frames == 1 {
        Ok(vec![fragments.iter().flatten().copied().collect()])
    } else {
        Err(DicomError::Unsupported {
            path: path.to_path_buf(),
            reason: format!("{} frames in {} fragments", h.frames, fragments.len()),
        })
    }
}

fn encapsulated(
    obj: &DefaultDicomObject,
    dtype: DType,
    count: usize,
    h: &SliceHeader,
) -> Result<Voxels, DicomError> {
    let path = h.path.as_path();
    if h.transfer_syntax == JPEG_EXTENDED && h.bits_stored > 8 {
        return jpeg12(obj, dtype, count, h);
    }
    let (rows, cols, samples) = (h.rows, h.cols, h.samples_per_pixel);
    if h.transfer_syntax == RLE_LOSSLESS {
        return per_frame(obj, dtype, count, h, |stream, bps| {
            super::rle::decode_frame(stream, rows * cols, samples, bps)
        });
    }
    if JPEG_2000.contains(&h.transfer_syntax.as_str()) {
        return per_frame(obj, dtype, count, h, |stream, bps| {
            super::j2k::decode_frame(stream, rows, cols, samples, bps)
        });
    }
    let decoded = contain_panic(path, || obj.decode_pixel_data())?
        .map_err(|e| corrupt(path, &e.to_string()))?;
    from_le_bytes(decoded.data(), dtype, count, path)
}

/// Runs a third-party codec so that a panic on corrupt data becomes an error for this file
/// instead of taking the application down. (Fuzzing still sees such panics: libfuzzer-sys
/// aborts on any panic, caught or not, so they get reported and fixed at the source.)
fn contain_panic<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T, DicomError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| corrupt(path, "the codec failed on corrupt compressed data"))
}

/// Native colour data with PlanarConfiguration 1 comes plane by plane (RRR..GGG..BBB per frame):
/// interleave it to (row, column, sample) like pydicom.
fn interleave(voxels: Voxels, h: &SliceHeader) -> Voxels {
    let plane = h.rows * h.cols;
    let samples = h.samples_per_pixel;
    dafne_core::map_voxels!(voxels, v => {
        let mut out = Vec::with_capacity(v.len());
        for frame in v.chunks(plane * samples) {
            for p in 0..plane {
                for s in 0..samples {
                    if let Some(x) = frame.get(s * plane + p) {
                        out.push(*x);
                    }
                }
            }
        }
        out
    })
}

/// Signed data with fewer stored than allocated bits is sign-extended from the high stored bit.
fn fix_bits(voxels: Voxels, h: &SliceHeader) -> Voxels {
    let shift = h.bits_allocated.saturating_sub(h.bits_stored) as u32;
    if !h.signed || shift == 0 || h.bits_stored == 0 {
        return voxels;
    }
    match voxels {
        Voxels::I16(v) => Voxels::I16(v.into_iter().map(|x| (x << shift) >> shift).collect()),
        Voxels::I32(v) => Voxels::I32(v.into_iter().map(|x| (x << shift) >> shift).collect()),
        Voxels::I8(v) => Voxels::I8(v.into_iter().map(|x| (x << shift) >> shift).collect()),
        other => other,
    }
}

/// 12-bit lossy JPEG through libjpeg-turbo-rs (pure Rust), one frame per fragment (or all
/// fragments of a single frame concatenated).
fn jpeg12(
    obj: &DefaultDicomObject,
    dtype: DType,
    count: usize,
    h: &SliceHeader,
) -> Result<Voxels, DicomError> {
    let path = h.path.as_path();
    let streams = frame_streams(obj, h)?;
    let mut samples: Vec<i16> = Vec::with_capacity(count);
    for stream in &streams {
        check_sequential_scans(stream).map_err(|reason| corrupt(path, &reason))?;
        let image = contain_panic(path, || libjpeg_turbo_rs::decompress_12bit(stream))?
            .map_err(|e| corrupt(path, &format!("12-bit JPEG: {e}")))?;
        samples.extend_from_slice(&image.data);
    }
    if samples.len() < count {
        return Err(too_short(path, samples.len() * 2, count * 2));
    }
    samples.truncate(count);
    Ok(match dtype {
        DType::I16 => Voxels::I16(samples),
        _ => Voxels::U16(samples.into_iter().map(|x| x as u16).collect()),
    })
}

/// A sequential-DCT stream must code the whole spectrum in each scan (Ss=0, Se=63, Ah=Al=0).
/// libjpeg-turbo-rs is lenient here and would return a flat image for a broken scan header,
/// where every reference decoder refuses the file.
fn check_sequential_scans(stream: &[u8]) -> Result<(), String> {
    let mut i = 0;
    let mut scans = 0;
    while i + 4 <= stream.len() {
        if stream[i] != 0xFF || stream[i + 1] != 0xDA {
            i += 1;
            continue;
        }
        let ns = *stream.get(i + 4).ok_or("truncated scan header")? as usize;
        let at = i + 5 + 2 * ns;
        let (ss, se, a) = match stream.get(at..at + 3) {
            Some(v) => (v[0], v[1], v[2]),
            None => return Err("truncated scan header".into()),
        };
        if ss != 0 || se != 63 || a != 0 {
            return Err(format!("JPEG scan codes coefficients {ss}..{se} (approximation {a:#04x}): not a valid sequential DCT scan"));
        }
        scans += 1;
        i = at + 3;
    }
    if scans == 0 {
        return Err("JPEG stream has no scan".into());
    }
    Ok(())
}
