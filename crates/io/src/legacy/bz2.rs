//! bz2 with a ceiling on the output, so a small "bomb" cannot exhaust memory: decompression
//! stops as soon as the output passes the limit. Concatenated streams are read as one, as
//! Python's `bz2` module does.

use std::io::Read;

use super::DecodeError;

/// bz2 streams start with `BZh` and a block size digit; a pickle never does (protocol 2+ starts
/// with 0x80, older ones with an opcode such as `(`, `}` or `]`).
pub(crate) fn is_bz2(bytes: &[u8]) -> bool {
    matches!(bytes, [b'B', b'Z', b'h', b'1'..=b'9', ..])
}

/// Decompresses `bytes`; more than `limit` bytes of output is an error. Streams may follow
/// one another; bytes after the last stream that do not start a new one are ignored, as
/// Python's `BZ2File` (the original's loader) ignores them.
pub(crate) fn decompress(bytes: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut rest = bytes;
    loop {
        let mut decoder = bzip2::bufread::BzDecoder::new(rest);
        loop {
            let n = decoder.read(&mut chunk).map_err(|e| DecodeError::Bz2 {
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            if out.len() + n > limit {
                return Err(DecodeError::TooLarge { limit });
            }
            // Grow by doubling but never past the limit, so capacity stays within the ceiling.
            if out.capacity() - out.len() < n {
                let want = (out.capacity() * 2).max(out.len() + n).min(limit);
                out.reserve_exact(want - out.len());
            }
            out.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        let consumed = bytes.len() - rest.len();
        rest = decoder.into_inner();
        // A stream that ends without consuming anything would loop forever.
        if !is_bz2(rest) || bytes.len() - rest.len() == consumed {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::Write;

    fn compress(data: &[u8]) -> Vec<u8> {
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn round_trip_and_concatenated_streams() {
        let mut both = compress(b"hello ");
        both.extend(compress(b"world"));
        assert!(is_bz2(&both));
        assert_eq!(decompress(&both, 100).unwrap(), b"hello world");
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let bomb = compress(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 1000, "{}", bomb.len());
        match decompress(&bomb, 1 << 20) {
            Err(DecodeError::TooLarge { limit }) => assert_eq!(limit, 1 << 20),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trailing_bytes_after_the_last_stream_are_ignored() {
        let mut data = compress(b"pickle");
        data.extend_from_slice(b"\x00\x00 trailing");
        assert_eq!(decompress(&data, 100).unwrap(), b"pickle");
        // ... but a second stream that is broken is an error.
        data.truncate(data.len() - 11);
        data.extend_from_slice(b"BZh9 broken");
        assert!(decompress(&data, 100).is_err());
    }

    #[test]
    fn garbage_after_the_magic_is_an_error() {
        let err = decompress(b"BZh9garbage garbage garbage", 1000).unwrap_err();
        assert!(matches!(err, DecodeError::Bz2 { .. }), "{err:?}");
    }
}
