//! A cheap walk over the element headers of a file in memory, before dicom-parser sees it:
//! dicom-parser allocates (and zero-fills) an element's declared length before reading it, so a
//! corrupt 4-byte length would cost up to 4 GiB of memory. Here every declared length, at every
//! nesting level, is checked against the bytes that are actually left.

const UNDEFINED: u32 = u32::MAX;
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);
/// Nesting deeper than this is not a real file.
const MAX_DEPTH: usize = 32;

/// Deflate cannot expand data by more than about 1032:1; more means a corrupt stream.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// A deflated data set is inflated (bounded) and walked as explicit VR little endian.
fn check_deflated(deflated: &[u8], header_only: bool) -> Result<(), String> {
    use std::io::Read;
    let limit = (deflated.len() as u64).saturating_mul(MAX_DEFLATE_RATIO) + (1 << 20);
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(limit)
        .read_to_end(&mut inflated)
        .map_err(|e| format!("deflated data set is corrupt: {e}"))?;
    let w = Walker {
        buf: &inflated,
        header_only,
    };
    w.walk(
        0,
        inflated.len(),
        Syntax {
            explicit: true,
            big: false,
        },
        0,
        false,
    )
    .map(|_| ())
}

/// In implicit VR only the dictionary tells a sequence from opaque bytes.
fn dictionary_says_sequence(tag: (u16, u16)) -> bool {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    use dicom_core::VR;
    let entry = dicom_dictionary_std::StandardDataDictionary.by_tag(dicom_core::Tag(tag.0, tag.1));
    matches!(entry.map(|e| e.vr()), Some(VirtualVr::Exact(VR::SQ)))
}

#[derive(Clone, Copy)]
struct Syntax {
    explicit: bool,
    big: bool,
}

struct Walker<'a> {
    buf: &'a [u8],
    /// Stop at PixelData itself (a header-only parse, `read_until`) rather than after it.
    header_only: bool,
}

impl Walker<'_> {
    fn u16_at(&self, at: usize, big: bool) -> Result<u16, String> {
        let b = self
            .buf
            .get(at..at + 2)
            .ok_or("file ends inside an element header")?;
        Ok(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    }

    fn u32_at(&self, at: usize, big: bool) -> Result<u32, String> {
        let b = self
            .buf
            .get(at..at + 4)
            .ok_or("file ends inside an element header")?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    /// Walks elements from `pos` to `end`; returns where it stopped (after a delimiter, at
    /// PixelData for a header parse, else at the end). Elements after PixelData are checked
    /// too: dicom-parser may read a value past it (an out-of-order tag, an eagerly read UN),
    /// and garbage there is cut off by the caller (`parse::checked`).
    /// `raw_items`: items hold bytes (encapsulated pixel data fragments), not data sets.
    fn walk(
        &self,
        mut pos: usize,
        end: usize,
        syntax: Syntax,
        depth: usize,
        raw_items: bool,
    ) -> Result<usize, String> {
        if depth > MAX_DEPTH {
            return Err("sequences nested too deep".into());
        }
        while pos + 8 <= end {
            // Item tags and delimiters are always encoded like the rest of the data set's byte order.
            let tag = (
                self.u16_at(pos, syntax.big)?,
                self.u16_at(pos + 2, syntax.big)?,
            );
            if tag == ITEM_END || tag == SEQUENCE_END {
                return Ok(pos + 8);
            }
            if tag.0 == 0xFFFE {
                // Items and other group-FFFE elements have no VR: tag and a 4-byte length.
                let len = self.u32_at(pos + 4, syntax.big)?;
                let walk_as = (tag == ITEM && !raw_items).then_some(false);
                pos = self.value(pos + 8, len, end, syntax, depth, walk_as, tag)?;
                continue;
            }
            // (header size, length, syntax inside an undefined-length value, is a sequence)
            let (header, len, inner, is_seq) = if syntax.explicit {
                let vr = self
                    .buf
                    .get(pos + 4..pos + 6)
                    .ok_or("file ends inside an element header")?;
                // As dicom-parser decodes: these VRs have a 2-byte length; every other one,
                // unknown codes included (read as UN), a reserved field and a 4-byte length.
                let short = matches!(
                    vr,
                    b"AE"
                        | b"AS"
                        | b"AT"
                        | b"CS"
                        | b"DA"
                        | b"DS"
                        | b"DT"
                        | b"FL"
                        | b"FD"
                        | b"IS"
                        | b"LO"
                        | b"LT"
                        | b"PN"
                        | b"SH"
                        | b"SL"
                        | b"SS"
                        | b"ST"
                        | b"TM"
                        | b"UI"
                        | b"UL"
                        | b"US"
                );
                if short {
                    (8, self.u16_at(pos + 6, syntax.big)? as u32, syntax, false)
                } else {
                    let len = self.u32_at(pos + 8, syntax.big)?;
                    // An undefined-length UN is a sequence encoded in implicit VR little endian.
                    let inner = if vr == b"SQ" {
                        syntax
                    } else {
                        Syntax {
                            explicit: false,
                            big: false,
                        }
                    };
                    (12, len, inner, vr == b"SQ")
                }
            } else {
                (
                    8,
                    self.u32_at(pos + 4, syntax.big)?,
                    syntax,
                    dictionary_says_sequence(tag),
                )
            };
            // Sequences are walked item by item (the parser reads inside them); other defined-
            // length values are opaque; undefined-length ones are walked to their delimiter:
            // byte items for pixel data, data-set items otherwise.
            if depth == 0 && self.header_only && tag == PIXEL_DATA {
                // A header parse (read_until) stops at PixelData.
                return Ok(pos);
            }
            pos = if len == UNDEFINED && tag == PIXEL_DATA {
                self.walk(pos + header, end, syntax, depth + 1, true)?
            } else if len == UNDEFINED {
                self.walk(pos + header, end, inner, depth + 1, false)?
            } else {
                self.value(
                    pos + header,
                    len,
                    end,
                    syntax,
                    depth,
                    is_seq.then_some(false),
                    tag,
                )?
            };
            // Elements after PixelData whose tags are lower (out of order, or garbage) are
            // still read by the parser: keep walking.
        }
        Ok(pos)
    }

    /// Checks one value. `walk_as`: None = opaque bytes; Some(raw_items) = walk inside it.
    #[allow(clippy::too_many_arguments)]
    fn value(
        &self,
        start: usize,
        len: u32,
        end: usize,
        syntax: Syntax,
        depth: usize,
        walk_as: Option<bool>,
        tag: (u16, u16),
    ) -> Result<usize, String> {
        if len == UNDEFINED {
            // An undefined-length item: walk to its delimiter.
            return self.walk(start, end, syntax, depth + 1, walk_as.is_none());
        }
        let stop = start.checked_add(len as usize).filter(|s| *s <= end).ok_or_else(|| {
            format!(
                "element ({:04X},{:04X}) declares {len} bytes but only {} remain: truncated or corrupt file",
                tag.0,
                tag.1,
                end.saturating_sub(start)
            )
        })?;
        if let Some(raw_items) = walk_as {
            self.walk(start, stop, syntax, depth + 1, raw_items)?;
        }
        Ok(stop)
    }
}

/// Checks the declared lengths of `body` (the file without its 128-byte preamble, starting at
/// "DICM", or a bare data set). Deflated data sets are inflated first.
pub fn check(body: &[u8]) -> Result<(), String> {
    check_with(body, false)
}

/// As [`check`], for a parse that stops before PixelData (the rest need not be in `body`).
pub fn check_header(body: &[u8]) -> Result<(), String> {
    check_with(body, true)
}

fn check_with(body: &[u8], header_only: bool) -> Result<(), String> {
    let w = Walker {
        buf: body,
        header_only,
    };
    let (mut pos, mut syntax) = (
        0,
        Syntax {
            explicit: false,
            big: false,
        },
    );
    if body.starts_with(b"DICM") {
        // File meta group: explicit VR little endian; its transfer syntax decides the rest.
        pos = 4;
        let mut ts = String::new();
        while pos + 8 <= body.len() && w.u16_at(pos, false)? == 0x0002 {
            let elem = w.u16_at(pos + 2, false)?;
            let vr = body
                .get(pos + 4..pos + 6)
                .ok_or("file ends inside the file meta group")?;
            let (len, header) = if matches!(vr, b"OB" | b"UN" | b"SQ" | b"UT") {
                (w.u32_at(pos + 8, false)? as usize, 12)
            } else {
                (w.u16_at(pos + 6, false)? as usize, 8)
            };
            let value = body
                .get(pos + header..pos + header + len)
                .ok_or("file ends inside the file meta group")?;
            if elem == 0x0010 {
                ts = String::from_utf8_lossy(value)
                    .trim_end_matches(['\0', ' '])
                    .to_string();
            }
            pos += header + len;
        }
        syntax = match ts.as_str() {
            "1.2.840.10008.1.2" => Syntax {
                explicit: false,
                big: false,
            },
            "1.2.840.10008.1.2.2" => Syntax {
                explicit: true,
                big: true,
            },
            "1.2.840.10008.1.2.1.99" => return check_deflated(&body[pos..], header_only),
            _ => Syntax {
                explicit: true,
                big: false,
            },
        };
    }
    w.walk(pos, body.len(), syntax, 0, false).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit_element(group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(group.to_le_bytes());
        v.extend(elem.to_le_bytes());
        v.extend(vr);
        v.extend((value.len() as u16).to_le_bytes());
        v.extend(value);
        v
    }

    #[test]
    fn a_length_beyond_the_end_is_refused_before_any_allocation() {
        let mut f = b"DICM".to_vec();
        f.extend(explicit_element(
            0x0002,
            0x0010,
            b"UI",
            b"1.2.840.10008.1.2.1\0",
        ));
        f.extend(explicit_element(0x0008, 0x0060, b"CS", b"MR"));
        assert!(check(&f).is_ok());
        // OB element declaring 3 GB
        f.extend([0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
        f.extend(3_000_000_000u32.to_le_bytes());
        f.extend([1, 2, 3]);
        let err = check(&f).unwrap_err();
        assert!(
            err.contains("(0009,0010) declares 3000000000 bytes"),
            "{err}"
        );
    }

    #[test]
    fn unknown_vr_codes_read_as_un_with_a_long_length_are_checked_too() {
        // Regression (fuzz): a mutated VR "XX" in big-endian data is decoded by dicom-parser as
        // UN with a 4-byte length; reading it as a 2-byte length let 3 GB through.
        let mut f = b"DICM".to_vec();
        f.extend(explicit_element(
            0x0002,
            0x0010,
            b"UI",
            b"1.2.840.10008.1.2.2\0",
        ));
        f.extend([0x00, 0x09, 0x00, 0x10, b'X', b'X', 0, 0]);
        f.extend(3_000_000_000u32.to_be_bytes());
        f.extend([0; 16]);
        let err = check(&f).unwrap_err();
        assert!(err.contains("declares 3000000000 bytes"), "{err}");
    }

    #[test]
    fn nested_sequence_items_are_checked() {
        let mut f = b"DICM".to_vec();
        f.extend(explicit_element(
            0x0002,
            0x0010,
            b"UI",
            b"1.2.840.10008.1.2.1\0",
        ));
        // SQ of defined length 16 holding an item whose element declares 1 GB.
        f.extend([0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0]);
        f.extend(16u32.to_le_bytes());
        f.extend([0xFE, 0xFF, 0x00, 0xE0]);
        f.extend(8u32.to_le_bytes());
        f.extend([0x08, 0x00, 0x50, 0x11, b'O', b'B', 0, 0]);
        f.extend(1_000_000_000u32.to_le_bytes());
        let err = check(&f).unwrap_err();
        assert!(err.contains("declares"), "{err}");
    }

    #[test]
    fn out_of_order_elements_after_pixel_data_are_checked() {
        // Regression (fuzz): read_to(PixelData) keeps reading while tags are lower than
        // PixelData's, so a garbage "(04A0,1300)" after the pixel data declared 2 GB.
        let mut f = b"DICM".to_vec();
        f.extend(explicit_element(
            0x0002,
            0x0010,
            b"UI",
            b"1.2.840.10008.1.2.1\0",
        ));
        f.extend([0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0]);
        f.extend(4u32.to_le_bytes());
        f.extend([1, 2, 3, 4]);
        let mut after = f.clone();
        after.extend([0xA0, 0x04, 0x00, 0x13, b':', 0xE4, 0, 0]);
        after.extend(2_157_460_196u32.to_le_bytes());
        assert!(check(&after).unwrap_err().contains("(04A0,1300)"));
        // Whatever follows PixelData is checked; garbage there is cut off by `parse::checked`.
        let mut past = f.clone();
        past.extend([0xFC, 0xFF, 0xFC, 0xFF, b'O', b'B', 0, 0]);
        past.extend(2_000_000_000u32.to_le_bytes());
        assert!(check(&past).is_err());
        assert_eq!(crate::dicom::parse::checked(&past).unwrap(), &f[..]);
        // A header parse stops at PixelData.
        assert!(check_header(&past).is_ok());
    }

    #[test]
    fn deflated_data_sets_are_inflated_and_checked() {
        // Regression (fuzz): lengths inside a deflated data set went unchecked.
        use std::io::Write;
        let mut dataset = explicit_element(0x0008, 0x0060, b"CS", b"MR");
        dataset.extend([0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
        dataset.extend(3_000_000_000u32.to_le_bytes());
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&dataset).unwrap();
        let mut f = b"DICM".to_vec();
        f.extend(explicit_element(
            0x0002,
            0x0010,
            b"UI",
            b"1.2.840.10008.1.2.1.99",
        ));
        f.extend(enc.finish().unwrap());
        assert!(check(&f).unwrap_err().contains("declares 3000000000 bytes"));
    }
}
