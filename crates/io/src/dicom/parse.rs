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
/// else everything up to the end of PixelData when the trouble is only in bytes after it; in
/// both cases cut after a top-level native PixelData (see [`parser_walk`]).
pub fn checked(body: &[u8]) -> Result<&[u8], String> {
    let head = match lengths::check(body) {
        Ok(()) => body,
        Err(reason) => pixel_data_end(body)
            .map(|end| &body[..end])
            .filter(|head| lengths::check(head).is_ok())
            .ok_or(reason)?,
    };
    Ok(match parser_walk(head)? {
        Some(end) => &head[..end],
        None => head,
    })
}

/// A reader over a slice that tells how far it has been read.
struct Counting<'a> {
    data: &'a [u8],
    pos: std::rc::Rc<std::cell::Cell<usize>>,
}

impl std::io::Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.pos.get().min(self.data.len());
        let n = buf.len().min(self.data.len() - at);
        buf[..n].copy_from_slice(&self.data[at..at + n]);
        self.pos.set(at + n);
        Ok(n)
    }
}

/// dicom-parser's own walk over `body`'s data set, as `parse` will read it, up to the top-level
/// PixelData: a declared length longer than the file is refused before the parser reads (and
/// allocates, zero-filled) that value, and the end of a native PixelData is returned, where
/// `body` is cut: the object reader goes on reading any element after it whose tag is not
/// above PixelData's, which only a corrupt file has. `lengths::check` models the parser's
/// decoding; a corrupt file can steer the parser away from that model (a fuzzed SEG: a stray
/// delimiter, then zero bytes after the pixel data read as a 4 GiB `UN`: 4 GiB allocated and
/// zeroed, 40 s). Whatever the parser cannot read is left to `parse` to report; header values
/// are read twice, the pixel data is not read here.
fn parser_walk(body: &[u8]) -> Result<Option<usize>, String> {
    use dicom_core::header::HasLength;
    use dicom_parser::dataset::read::DataSetReader;
    use dicom_parser::dataset::DataToken;
    use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

    let mut cursor = std::io::Cursor::new(body);
    let Ok(meta) = dicom_object::meta::FileMetaTable::from_reader(&mut cursor) else {
        return Ok(None);
    };
    let Some(ts) = TransferSyntaxRegistry.get(meta.transfer_syntax()) else {
        return Ok(None);
    };
    // A deflated data set is read through its codec, which the token reader does not apply;
    // `lengths::check` inflates and walks it.
    if !(ts.is_codec_free() || ts.is_encapsulated_pixel_data()) {
        return Ok(None);
    }
    let start = cursor.position() as usize;
    let rest = body.get(start..).unwrap_or_default();
    let pos = std::rc::Rc::new(std::cell::Cell::new(0));
    let source = Counting {
        data: rest,
        pos: pos.clone(),
    };
    let Ok(reader) = DataSetReader::new_with_ts(source, ts) else {
        return Ok(None);
    };
    let too_long = |len: Option<u32>| len.is_some_and(|len| len as usize > rest.len());
    let mut depth = 0usize;
    for token in reader {
        let Ok(token) = token else { return Ok(None) };
        match token {
            DataToken::ElementHeader(h) => {
                let len = h.length().get();
                if too_long(len) {
                    return Err(format!(
                        "element {} declares {} bytes, more than the file's {}",
                        h.tag,
                        h.length().0,
                        rest.len()
                    ));
                }
                if depth == 0 && h.tag >= tags::PIXEL_DATA {
                    // The reader has consumed exactly this header: cut after its value.
                    return Ok(match (h.tag == tags::PIXEL_DATA, len) {
                        (true, Some(len)) => Some(start + pos.get() + len as usize),
                        _ => None,
                    });
                }
            }
            DataToken::PixelSequenceStart if depth == 0 => return Ok(None),
            DataToken::SequenceStart { len, .. } | DataToken::ItemStart { len } => {
                if too_long(len.get()) {
                    return Err(format!(
                        "a sequence or item declares {} bytes, more than the file's {}",
                        len.0,
                        rest.len()
                    ));
                }
                depth += 1;
            }
            DataToken::PixelSequenceStart => depth += 1,
            DataToken::SequenceEnd | DataToken::ItemEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(None)
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
