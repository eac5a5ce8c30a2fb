//! Parsing a whole DICOM file from memory, including files with garbage after the pixel data.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, OpenFileOptions};

use super::{lengths, DicomError};

fn parse(body: &[u8]) -> Result<DefaultDicomObject, dicom_object::ReadError> {
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .read_to(tags::PIXEL_DATA)
        .from_reader(body)
}

/// The object in `bytes` (with or without the 128-byte preamble), up to and including PixelData.
pub fn parse_object(bytes: &[u8], path: &Path) -> Result<DefaultDicomObject, DicomError> {
    let body = match bytes.get(128..132) {
        Some(b"DICM") => &bytes[128..],
        _ => bytes,
    };
    let body = checked(body).map_err(|reason| DicomError::Parse {
        path: path.to_path_buf(),
        reason,
    })?;
    let err = match parse(body) {
        Ok(obj) => return Ok(obj),
        Err(e) => e,
    };
    // The parser reads one token past PixelData; when that token is garbage (trailing bytes
    // some writers leave), cut the buffer right after the pixel data and parse again.
    if let Some(end) = pixel_data_end(body) {
        if let Ok(obj) = parse(&body[..end]) {
            return Ok(obj);
        }
    }
    Err(DicomError::Parse {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })
}

/// The part of `body` the parser may safely read: all of it when every declared length fits,
/// else everything up to the end of PixelData when the trouble is only in bytes after it.
pub fn checked(body: &[u8]) -> Result<&[u8], String> {
    match lengths::check(body) {
        Ok(()) => Ok(body),
        Err(reason) => pixel_data_end(body)
            .map(|end| &body[..end])
            .filter(|head| lengths::check(head).is_ok())
            .ok_or(reason),
    }
}

/// End offset of a top-level, defined-length PixelData element, found by its tag bytes.
fn pixel_data_end(body: &[u8]) -> Option<usize> {
    let le = [0xE0u8, 0x7F, 0x10, 0x00];
    let be = [0x7Fu8, 0xE0, 0x00, 0x10];
    let mut from = 0;
    while let Some(rel) = body
        .get(from..)?
        .windows(4)
        .position(|w| w == le || w == be)
    {
        let at = from + rel;
        let big = body[at..at + 4] == be;
        let u32_at = |o: usize| -> Option<u32> {
            let b: [u8; 4] = body.get(o..o + 4)?.try_into().ok()?;
            Some(if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let vr = body.get(at + 4..at + 6)?;
        let (len, header) = if vr == b"OW" || vr == b"OB" {
            (u32_at(at + 8)?, 12)
        } else {
            (u32_at(at + 4)?, 8)
        };
        let end = at + header + len as usize;
        if len != u32::MAX && end <= body.len() {
            return Some(end);
        }
        from = at + 1;
    }
    None
}
