//! Voxel bytes: where they come from (plain or gzip data held in memory) and how they become
//! typed values in native byte order.
//!
//! Gzip data is inflated a block at a time and each block is converted at once, while it is
//! still in cache: no full-size byte buffer is ever built, which halves peak memory and saves
//! a pass over the data.

use std::io::Read;

use dafne_core::{DType, Voxels};

use super::NiftiError;
use crate::values::{decode_voxels, VoxelSink};

/// Deflate cannot expand data by more than about 1032:1, so a gzip file of `n` bytes never holds
/// more than this many times `n`: claims beyond it are truncated files, found before inflating.
const MAX_DEFLATE_RATIO: usize = 1032;
/// Slack for gzip member headers and tiny files.
const INFLATE_SLACK: usize = 1 << 16;
/// Inflate block: fits in L2 cache, large enough to keep per-call overhead negligible.
const BLOCK_BYTES: usize = 1 << 18;

/// File contents, inflated on demand when they are gzip data (detected by the magic 1f 8b).
pub(super) struct Source<'a> {
    raw: &'a [u8],
    gz: Option<Gz<'a>>,
}

struct Gz<'a> {
    decoder: flate2::bufread::MultiGzDecoder<&'a [u8]>,
    /// The start of the inflated stream, as far as [`Source::prefix`] needed it.
    head: Vec<u8>,
    /// ISIZE, the gzip trailer's uncompressed size (mod 2^32, of the last member only).
    size_hint: usize,
}

impl<'a> Source<'a> {
    pub fn new(raw: &'a [u8]) -> Self {
        let gz = raw.starts_with(&[0x1f, 0x8b]).then(|| {
            let size_hint = raw
                .len()
                .checked_sub(4)
                .and_then(|i| raw.get(i..))
                .and_then(|t| <[u8; 4]>::try_from(t).ok())
                .map_or(0, |t| u32::from_le_bytes(t) as usize);
            Gz {
                decoder: flate2::bufread::MultiGzDecoder::new(raw),
                head: Vec::new(),
                size_hint,
            }
        });
        Source { raw, gz }
    }

    /// The most bytes this source could hold (exact for plain data).
    pub fn max_len(&self) -> usize {
        match &self.gz {
            None => self.raw.len(),
            Some(_) => self
                .raw
                .len()
                .saturating_mul(MAX_DEFLATE_RATIO)
                .saturating_add(INFLATE_SLACK),
        }
    }

    /// The first `n` bytes, or all there are when the data is shorter. Meant for headers.
    pub fn prefix(&mut self, n: usize) -> Result<&[u8], NiftiError> {
        match &mut self.gz {
            None => Ok(&self.raw[..n.min(self.raw.len())]),
            Some(gz) => {
                if gz.head.len() < n {
                    let want = (n - gz.head.len()) as u64;
                    gz.head.reserve_exact(want as usize);
                    gz.decoder
                        .by_ref()
                        .take(want)
                        .read_to_end(&mut gz.head)
                        .map_err(|source| NiftiError::Decompress { source })?;
                }
                Ok(&gz.head[..n.min(gz.head.len())])
            }
        }
    }

    /// `len` bytes starting at `offset`, decoded as `dtype`. The caller has checked `offset +
    /// len` against [`Source::max_len`], so capacity reserved here is bounded by the file size.
    pub fn voxels(
        &mut self,
        offset: usize,
        len: usize,
        dtype: DType,
        big_endian: bool,
    ) -> Result<Voxels, NiftiError> {
        let needed = offset.saturating_add(len);
        let truncated = |available: usize| NiftiError::Truncated {
            what: "the image data",
            needed: needed as u64,
            available: available as u64,
        };
        let Some(gz) = &mut self.gz else {
            let body = self
                .raw
                .get(offset..needed)
                .ok_or_else(|| truncated(self.raw.len()))?;
            return Ok(decode_voxels(body, dtype, big_endian));
        };
        // ISIZE is a capacity hint only: exact for ordinary files, and when it is wrong (several
        // members, over 4 GiB, corrupt) the vector simply grows.
        let size = dtype.size_bytes();
        let hinted = gz.size_hint.saturating_sub(offset) / size;
        let mut sink = VoxelSink::new(dtype, big_endian, hinted.min(len / size));

        let mut consumed = 0;
        let mut position = gz.head.len();
        if let Some(ahead) = gz.head.get(offset..) {
            let take = ahead.len().min(len);
            sink.push(&ahead[..take]);
            consumed = take;
        }
        let mut block = vec![0u8; BLOCK_BYTES.min(needed.saturating_sub(position)).max(1)];
        // Skip to the data when it starts beyond what the header read inflated.
        while position < offset {
            let want = block.len().min(offset - position);
            let n = gz
                .decoder
                .read(&mut block[..want])
                .map_err(|source| NiftiError::Decompress { source })?;
            if n == 0 {
                return Err(truncated(position));
            }
            position += n;
        }
        while consumed < len {
            let want = block.len().min(len - consumed);
            let n = gz
                .decoder
                .read(&mut block[..want])
                .map_err(|source| NiftiError::Decompress { source })?;
            if n == 0 {
                return Err(truncated(offset + consumed));
            }
            sink.push(&block[..n]);
            consumed += n;
        }
        Ok(sink.finish())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn elements_split_across_pieces_are_joined() {
        let values: Vec<i32> = (0..50).map(|i| i * 100_003 - 2_000_000).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let mut sink = VoxelSink::new(DType::I32, true, 0);
        for piece in bytes.chunks(3) {
            sink.push(piece);
        }
        assert_eq!(sink.finish(), Voxels::I32(values));
    }

    #[test]
    fn gzip_data_is_streamed_from_any_offset() {
        use std::io::Write;
        let raw: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&raw).unwrap();
        let gz = e.finish().unwrap();
        for (offset, head) in [(0, 0), (352, 540), (1000, 540), (4000, 0)] {
            let mut source = Source::new(&gz);
            source.prefix(head).unwrap();
            let got = source.voxels(offset, 600, DType::U16, false).unwrap();
            assert_eq!(
                got,
                decode_voxels(&raw[offset..offset + 600], DType::U16, false),
                "offset {offset}"
            );
        }
        let mut source = Source::new(&gz);
        assert!(matches!(
            source.voxels(4900, 200, DType::U8, false),
            Err(NiftiError::Truncated { .. })
        ));
    }
}
