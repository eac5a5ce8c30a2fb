//! Bytes to typed voxel values, in one pass and in either byte order: shared by the readers.

use dafne_core::{DType, Voxels};

/// Typed values built from bytes that arrive in arbitrary pieces.
pub(crate) struct VoxelSink {
    voxels: Voxels,
    big_endian: bool,
    /// Bytes of an element split across two pieces.
    carry: [u8; 8],
    carry_len: usize,
}

impl VoxelSink {
    pub fn new(dtype: DType, big_endian: bool, capacity: usize) -> Self {
        let voxels = match dtype {
            DType::U8 => Voxels::U8(Vec::with_capacity(capacity)),
            DType::I8 => Voxels::I8(Vec::with_capacity(capacity)),
            DType::U16 => Voxels::U16(Vec::with_capacity(capacity)),
            DType::I16 => Voxels::I16(Vec::with_capacity(capacity)),
            DType::U32 => Voxels::U32(Vec::with_capacity(capacity)),
            DType::I32 => Voxels::I32(Vec::with_capacity(capacity)),
            DType::U64 => Voxels::U64(Vec::with_capacity(capacity)),
            DType::I64 => Voxels::I64(Vec::with_capacity(capacity)),
            DType::F32 => Voxels::F32(Vec::with_capacity(capacity)),
            DType::F64 => Voxels::F64(Vec::with_capacity(capacity)),
        };
        VoxelSink {
            voxels,
            big_endian,
            carry: [0; 8],
            carry_len: 0,
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        let size = self.voxels.dtype().size_bytes();
        if self.carry_len > 0 {
            let take = (size - self.carry_len).min(bytes.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&bytes[..take]);
            self.carry_len += take;
            bytes = &bytes[take..];
            if self.carry_len < size {
                return;
            }
            let element = self.carry;
            self.extend(&element[..size]);
            self.carry_len = 0;
        }
        let whole = bytes.len() / size * size;
        self.extend(&bytes[..whole]);
        let rest = &bytes[whole..];
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
    }

    /// Appends whole elements.
    fn extend(&mut self, bytes: &[u8]) {
        let big_endian = self.big_endian;
        macro_rules! typed {
            ($v:expr, $t:ty, $n:literal) => {{
                let (chunks, _) = bytes.as_chunks::<$n>();
                if big_endian {
                    $v.extend(chunks.iter().map(|c| <$t>::from_be_bytes(*c)))
                } else {
                    $v.extend(chunks.iter().map(|c| <$t>::from_le_bytes(*c)))
                }
            }};
        }
        match &mut self.voxels {
            Voxels::U8(v) => v.extend_from_slice(bytes),
            Voxels::I8(v) => v.extend(bytes.iter().map(|&b| b as i8)),
            Voxels::U16(v) => typed!(v, u16, 2),
            Voxels::I16(v) => typed!(v, i16, 2),
            Voxels::U32(v) => typed!(v, u32, 4),
            Voxels::I32(v) => typed!(v, i32, 4),
            Voxels::U64(v) => typed!(v, u64, 8),
            Voxels::I64(v) => typed!(v, i64, 8),
            Voxels::F32(v) => typed!(v, f32, 4),
            Voxels::F64(v) => typed!(v, f64, 8),
        }
    }

    /// The values; a trailing partial element is dropped.
    pub fn finish(self) -> Voxels {
        self.voxels
    }
}

/// Bytes to typed values in one pass, converting the byte order to native.
pub(crate) fn decode_voxels(bytes: &[u8], dtype: DType, big_endian: bool) -> Voxels {
    let mut sink = VoxelSink::new(dtype, big_endian, bytes.len() / dtype.size_bytes());
    sink.push(bytes);
    sink.finish()
}
