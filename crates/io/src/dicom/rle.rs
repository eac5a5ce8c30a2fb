//! RLE Lossless (DICOM PS3.5 Annex G), decoded here rather than by dicom-pixeldata, whose
//! adapter panics on some corrupt segments (fuzz finding). Every read is bounds-checked.

/// Decodes one frame into little-endian, sample-interleaved bytes: for each pixel, each
/// sample, its bytes least significant first (what pydicom's `pixel_array` holds).
pub fn decode_frame(
    stream: &[u8],
    pixels: usize,
    samples: usize,
    bytes_per_sample: usize,
) -> Result<Vec<u8>, String> {
    let header = stream
        .get(..64)
        .ok_or("RLE frame shorter than its 64-byte header")?;
    let word = |i: usize| {
        u32::from_le_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ]) as usize
    };
    let segments = word(0);
    let expected = samples * bytes_per_sample;
    if segments != expected || segments > 15 {
        return Err(format!(
            "RLE frame has {segments} segments, the image needs {expected}"
        ));
    }
    let mut out = vec![0u8; pixels * expected];
    for seg in 0..segments {
        let start = word(1 + seg);
        let end = if seg + 1 < segments {
            word(2 + seg)
        } else {
            stream.len()
        };
        let data = stream
            .get(start..end)
            .filter(|_| start >= 64)
            .ok_or_else(|| {
                format!(
                    "RLE segment {seg} lies outside the frame ({start}..{end} of {})",
                    stream.len()
                )
            })?;
        let plane = unpack_bits(data, pixels)
            .ok_or_else(|| format!("RLE segment {seg} decodes to fewer than {pixels} bytes"))?;
        // Segments run from the most significant byte of sample 0 to the least of the last one.
        let sample = seg / bytes_per_sample;
        let byte = bytes_per_sample - 1 - seg % bytes_per_sample;
        for (p, v) in plane.iter().enumerate() {
            out[(p * samples + sample) * bytes_per_sample + byte] = *v;
        }
    }
    Ok(out)
}

/// PackBits: a control byte n >= 0 copies n+1 literal bytes, n in -127..=-1 repeats the next
/// byte 1-n times, -128 is a no-op. Stops once `len` bytes are produced (segments may be
/// padded); None when the data ends first.
fn unpack_bits(data: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while out.len() < len {
        let n = *data.get(i)? as i8;
        i += 1;
        if n >= 0 {
            let run = data.get(i..i + n as usize + 1)?;
            out.extend_from_slice(run);
            i += run.len();
        } else if n != -128 {
            let v = *data.get(i)?;
            i += 1;
            out.extend(std::iter::repeat_n(v, (1 - n as isize) as usize));
        }
    }
    out.truncate(len);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(segments: &[&[u8]]) -> Vec<u8> {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
        let mut body = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            let offset = 64 + body.len() as u32;
            header[4 + 4 * i..8 + 4 * i].copy_from_slice(&offset.to_le_bytes());
            body.extend_from_slice(s);
        }
        header.extend(body);
        header
    }

    #[test]
    fn sixteen_bit_segments_interleave_msb_and_lsb() {
        // 3 pixels: MSB segment "literal 3: 1 2 3", LSB segment "repeat 3 x 0xAA".
        let f = frame(&[&[2, 1, 2, 3], &[(-2i8) as u8, 0xAA]]);
        let out = decode_frame(&f, 3, 1, 2).unwrap();
        assert_eq!(out, vec![0xAA, 1, 0xAA, 2, 0xAA, 3]);
    }

    #[test]
    fn corrupt_frames_are_errors_not_panics() {
        assert!(decode_frame(&[0; 10], 4, 1, 1).is_err());
        assert!(decode_frame(&frame(&[&[5, 1]]), 4, 1, 1).is_err()); // literal runs past the end
        assert!(decode_frame(&frame(&[&[0, 1]]), 4, 1, 1).is_err()); // too few bytes
        assert!(decode_frame(&frame(&[&[0, 1], &[0, 1]]), 1, 1, 1).is_err()); // segment count
        let mut bad = frame(&[&[0, 7]]);
        bad[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert!(decode_frame(&bad, 1, 1, 1).is_err());
    }
}
