//! Typed voxel storage: values exactly as they were stored on disk.

use serde::{Deserialize, Serialize};

/// The numeric type voxels were stored with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl DType {
    pub fn size_bytes(self) -> usize {
        match self {
            DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::U16 => "uint16",
            DType::I16 => "int16",
            DType::U32 => "uint32",
            DType::I32 => "int32",
            DType::U64 => "uint64",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
}

/// Voxel values in their stored type, in the crate-wide layout (axis 0 fastest).
#[derive(Clone, Debug, PartialEq)]
pub enum Voxels {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Runs `$body` with `$v` bound to the inner `Vec` of whichever variant `$voxels` is.
#[macro_export]
macro_rules! with_voxels {
    ($voxels:expr, $v:ident => $body:expr) => {
        match $voxels {
            $crate::Voxels::U8($v) => $body,
            $crate::Voxels::I8($v) => $body,
            $crate::Voxels::U16($v) => $body,
            $crate::Voxels::I16($v) => $body,
            $crate::Voxels::U32($v) => $body,
            $crate::Voxels::I32($v) => $body,
            $crate::Voxels::U64($v) => $body,
            $crate::Voxels::I64($v) => $body,
            $crate::Voxels::F32($v) => $body,
            $crate::Voxels::F64($v) => $body,
        }
    };
}

/// Same as [`with_voxels!`] but rebuilds a `Voxels` of the same variant from `$body`'s `Vec`.
#[macro_export]
macro_rules! map_voxels {
    ($voxels:expr, $v:ident => $body:expr) => {
        match $voxels {
            $crate::Voxels::U8($v) => $crate::Voxels::U8($body),
            $crate::Voxels::I8($v) => $crate::Voxels::I8($body),
            $crate::Voxels::U16($v) => $crate::Voxels::U16($body),
            $crate::Voxels::I16($v) => $crate::Voxels::I16($body),
            $crate::Voxels::U32($v) => $crate::Voxels::U32($body),
            $crate::Voxels::I32($v) => $crate::Voxels::I32($body),
            $crate::Voxels::U64($v) => $crate::Voxels::U64($body),
            $crate::Voxels::I64($v) => $crate::Voxels::I64($body),
            $crate::Voxels::F32($v) => $crate::Voxels::F32($body),
            $crate::Voxels::F64($v) => $crate::Voxels::F64($body),
        }
    };
}

/// A stored value that converts losslessly enough to `f64` for rescaling and statistics.
pub trait Scalar: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
}

macro_rules! impl_scalar {
    ($($t:ty),*) => { $(impl Scalar for $t { #[inline] fn to_f64(self) -> f64 { self as f64 } })* };
}
impl_scalar!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

impl Voxels {
    pub fn dtype(&self) -> DType {
        match self {
            Voxels::U8(_) => DType::U8,
            Voxels::I8(_) => DType::I8,
            Voxels::U16(_) => DType::U16,
            Voxels::I16(_) => DType::I16,
            Voxels::U32(_) => DType::U32,
            Voxels::I32(_) => DType::I32,
            Voxels::U64(_) => DType::U64,
            Voxels::I64(_) => DType::I64,
            Voxels::F32(_) => DType::F32,
            Voxels::F64(_) => DType::F64,
        }
    }

    pub fn len(&self) -> usize {
        with_voxels!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored value at a linear index, widened to f64.
    pub fn get_f64(&self, index: usize) -> Option<f64> {
        with_voxels!(self, v => v.get(index).map(|x| x.to_f64()))
    }

    /// Stored values as little-endian bytes (the layout tests hash and writers emit).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        with_voxels!(self, v => v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    /// The smallest and largest stored values (NaN ignored); None when empty.
    pub fn min_max(&self) -> Option<(f64, f64)> {
        with_voxels!(self, v => {
            let mut it = v.iter().map(|x| x.to_f64()).filter(|x| !x.is_nan());
            let first = it.next()?;
            Some(it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x))))
        })
    }
}
