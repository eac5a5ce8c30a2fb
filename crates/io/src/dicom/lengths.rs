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

#[derive(Clone, Copy)]
struct Syntax {
    explicit: bool,
    big: bool,
}

struct Walker<'a> {
    buf: &'a [u8],
}

impl Walker<'_> {
    fn u16_at(&self, at: usize, big: bool) -> Result<u16, String> {
        let b = self.buf.get(at..at + 2).ok_or("file ends inside an element header")?;
        Ok(if big { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) })
    }

    fn u32_at(&self, at: usize, big: bool) -> Result<u32, String> {
        let b = self.buf.get(at..at + 4).ok_or("file ends inside an element header")?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    }

    /// Walks elements from `pos` to `end`; returns where it stopped (after a delimiter or at
    /// the end of the top-level PixelData).
    /// `raw_items`: items hold bytes (encapsulated pixel data fragments), not data sets.
    fn walk(&self, mut pos: usize, end: usize, syntax: Syntax, depth: usize, raw_items: bool) -> Result<usize, String> {
        if depth > MAX_DEPTH {
            return Err("sequences nested too deep".into());
        }
        while pos + 8 <= end {
            // Item tags and delimiters are always encoded like the rest of the data set's byte order.
            let tag = (self.u16_at(pos, syntax.big)?, self.u16_at(pos + 2, syntax.big)?);
            if tag == ITEM_END || tag == SEQUENCE_END {
                return Ok(pos + 8);
            }
            if tag == ITEM {
                let len = self.u32_at(pos + 4, syntax.big)?;
                pos = self.value(pos + 8, len, end, syntax, depth, (!raw_items).then_some(false), tag)?;
                continue;
            }
            let (len, header, is_seq) = if syntax.explicit {
                let vr = self.buf.get(pos + 4..pos + 6).ok_or("file ends inside an element header")?;
                let long = matches!(vr, b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"OV" | b"SQ" | b"UT" | b"UN" | b"UC" | b"UR" | b"SV" | b"UV");
                if long {
                    (self.u32_at(pos + 8, syntax.big)?, 12, vr == b"SQ")
                } else {
                    (self.u16_at(pos + 6, syntax.big)? as u32, 8, false)
                }
            } else {
                // Implicit VR: an undefined length means a sequence, unless it is pixel data.
                (self.u32_at(pos + 4, syntax.big)?, 8, tag != PIXEL_DATA)
            };
            // Defined-length values are opaque here (a defined-length sequence is bounded by them);
            // undefined-length ones are walked: data-set items for sequences, byte items otherwise.
            let inside = (len == UNDEFINED).then_some(!is_seq);
            pos = self.value(pos + header, len, end, syntax, depth, inside, tag)?;
            if depth == 0 && tag == PIXEL_DATA {
                return Ok(pos);
            }
        }
        Ok(pos)
    }

    /// Checks one value. `walk_as`: None = opaque bytes; Some(raw_items) = walk inside it.
    #[allow(clippy::too_many_arguments)]
    fn value(&self, start: usize, len: u32, end: usize, syntax: Syntax, depth: usize, walk_as: Option<bool>, tag: (u16, u16)) -> Result<usize, String> {
        if len == UNDEFINED {
            // Undefined length: walk to the matching delimiter.
            return self.walk(start, end, syntax, depth + 1, walk_as.unwrap_or(true));
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
/// "DICM", or a bare data set). Deflated data sets are not walked (their lengths are bounded
/// by the inflater).
pub fn check(body: &[u8]) -> Result<(), String> {
    let w = Walker { buf: body };
    let (mut pos, mut syntax) = (0, Syntax { explicit: false, big: false });
    if body.starts_with(b"DICM") {
        // File meta group: explicit VR little endian; its transfer syntax decides the rest.
        pos = 4;
        let mut ts = String::new();
        while pos + 8 <= body.len() && w.u16_at(pos, false)? == 0x0002 {
            let elem = w.u16_at(pos + 2, false)?;
            let vr = body.get(pos + 4..pos + 6).ok_or("file ends inside the file meta group")?;
            let (len, header) = if matches!(vr, b"OB" | b"UN" | b"SQ" | b"UT") {
                (w.u32_at(pos + 8, false)? as usize, 12)
            } else {
                (w.u16_at(pos + 6, false)? as usize, 8)
            };
            let value = body.get(pos + header..pos + header + len).ok_or("file ends inside the file meta group")?;
            if elem == 0x0010 {
                ts = String::from_utf8_lossy(value).trim_end_matches(['\0', ' ']).to_string();
            }
            pos += header + len;
        }
        syntax = match ts.as_str() {
            "1.2.840.10008.1.2" => Syntax { explicit: false, big: false },
            "1.2.840.10008.1.2.2" => Syntax { explicit: true, big: true },
            "1.2.840.10008.1.2.1.99" => return Ok(()),
            _ => Syntax { explicit: true, big: false },
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
        f.extend(explicit_element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1\0"));
        f.extend(explicit_element(0x0008, 0x0060, b"CS", b"MR"));
        assert!(check(&f).is_ok());
        // OB element declaring 3 GB
        f.extend([0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
        f.extend(3_000_000_000u32.to_le_bytes());
        f.extend([1, 2, 3]);
        let err = check(&f).unwrap_err();
        assert!(err.contains("(0009,0010) declares 3000000000 bytes"), "{err}");
    }
}
