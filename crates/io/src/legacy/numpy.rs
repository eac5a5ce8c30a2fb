//! The numpy parts of a pickle: dtypes (`numpy.dtype(name, align, copy)` + BUILD state with the
//! byte order), arrays (`_reconstruct` + `ndarray.__setstate__`, or protocol 5's `_frombuffer`)
//! and scalars (`scalar(dtype, bytes)`). Only plain numeric dtypes are accepted: bool,
//! signed/unsigned integers, floats and complex, either byte order.

use std::rc::Rc;

use super::pickle::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int,
    UInt,
    Float,
    Complex,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dtype {
    pub(crate) kind: Kind,
    pub(crate) itemsize: usize,
    pub(crate) big_endian: bool,
}

impl Dtype {
    /// From the type string numpy pickles (`'f8'`, `'u1'`, `'b1'`, optionally with a byte order).
    pub(crate) fn parse(name: &str) -> Result<Dtype, String> {
        let (big_endian, rest) = match name.as_bytes().first() {
            Some(b'>') => (true, name.get(1..).unwrap_or_default()),
            Some(b'<' | b'|' | b'=') => (false, name.get(1..).unwrap_or_default()),
            _ => (false, name),
        };
        let unsupported = || format!("unsupported numpy dtype {:?}", truncate(name));
        let mut chars = rest.chars();
        let kind = match chars.next() {
            Some('b') => Kind::Bool,
            Some('i') => Kind::Int,
            Some('u') => Kind::UInt,
            Some('f') => Kind::Float,
            Some('c') => Kind::Complex,
            _ => return Err(unsupported()),
        };
        let itemsize: usize = chars.as_str().parse().map_err(|_| unsupported())?;
        let valid = match kind {
            Kind::Bool => itemsize == 1,
            Kind::Int | Kind::UInt => matches!(itemsize, 1 | 2 | 4 | 8),
            Kind::Float => matches!(itemsize, 2 | 4 | 8),
            Kind::Complex => matches!(itemsize, 8 | 16),
        };
        if !valid {
            return Err(unsupported());
        }
        Ok(Dtype {
            kind,
            itemsize,
            big_endian,
        })
    }

    /// Applies the BUILD state `(version, byteorder, subarray, names, fields, elsize, alignment,
    /// flags[, metadata])`: only the byte order matters for plain dtypes.
    pub(crate) fn with_state(&self, state: &[Value]) -> Result<Dtype, String> {
        if state.len() < 8 {
            return Err("numpy dtype state is too short".into());
        }
        let order = match state.get(1) {
            Some(Value::Str(s)) => s.clone(),
            _ => return Err("numpy dtype byte order is not a string".into()),
        };
        if !state
            .get(2..5)
            .unwrap_or_default()
            .iter()
            .all(|v| matches!(v, Value::None))
        {
            return Err("structured or sub-array numpy dtypes are not supported".into());
        }
        let big_endian = match &*order {
            ">" => true,
            // '=' is the writer's native order; every platform the original ran on is little-endian.
            "<" | "|" | "=" => false,
            _ => return Err("numpy dtype byte order is not one of < > | =".into()),
        };
        Ok(Dtype {
            big_endian: big_endian && self.itemsize > 1,
            ..self.clone()
        })
    }

    fn name(&self) -> String {
        let k = match self.kind {
            Kind::Bool => 'b',
            Kind::Int => 'i',
            Kind::UInt => 'u',
            Kind::Float => 'f',
            Kind::Complex => 'c',
        };
        format!("{k}{}", self.itemsize)
    }

    /// Whether one element is non-zero (NumPy's `astype(bool)`: NaN is true, -0.0 false).
    fn is_nonzero(&self, element: &[u8]) -> bool {
        match self.kind {
            Kind::Bool | Kind::Int | Kind::UInt => element.iter().any(|&b| b != 0),
            Kind::Float => float_nonzero(element, self.big_endian),
            Kind::Complex => {
                let (re, im) = element.split_at(element.len() / 2);
                float_nonzero(re, self.big_endian) || float_nonzero(im, self.big_endian)
            }
        }
    }
}

/// Any bit set besides the sign bit means non-zero (±0.0 are the only zeros).
fn float_nonzero(bytes: &[u8], big_endian: bool) -> bool {
    let sign_at = if big_endian {
        0
    } else {
        bytes.len().saturating_sub(1)
    };
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| if i == sign_at { b & 0x7f != 0 } else { b != 0 })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// A numpy array: dtype, shape, memory order and the raw element bytes.
#[derive(Clone, Debug)]
pub(crate) struct NdArray {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) fortran: bool,
    pub(crate) data: Rc<[u8]>,
}

impl NdArray {
    /// Checks that `data` holds exactly the elements the shape needs.
    pub(crate) fn new(
        dtype: Dtype,
        shape: Vec<usize>,
        fortran: bool,
        data: Rc<[u8]>,
    ) -> Result<NdArray, String> {
        let needed = shape
            .iter()
            .try_fold(dtype.itemsize, |acc, &d| acc.checked_mul(d));
        if needed != Some(data.len()) {
            return Err(format!(
                "numpy array of shape {:?} and dtype {} does not match its {} data bytes",
                shape.iter().take(8).collect::<Vec<_>>(),
                dtype.name(),
                data.len()
            ));
        }
        Ok(NdArray {
            dtype,
            shape,
            fortran,
            data,
        })
    }

    pub(crate) fn dtype_name(&self) -> String {
        self.dtype.name()
    }

    /// The 2-D array as row-major "is set" flags.
    pub(crate) fn nonzero_row_major(&self) -> Result<Vec<bool>, String> {
        let [rows, cols] = self.shape.as_slice() else {
            return Err(format!("array has {} dimensions, not 2", self.shape.len()));
        };
        let (rows, cols) = (*rows, *cols);
        let size = self.dtype.itemsize;
        let flags: Vec<bool> = self
            .data
            .chunks_exact(size)
            .map(|e| self.dtype.is_nonzero(e))
            .collect();
        if !self.fortran || rows <= 1 || cols <= 1 {
            return Ok(flags);
        }
        // Column-major storage: element (r, c) is at c * rows + r.
        let mut out = vec![false; rows * cols];
        for (i, out_flag) in out.iter_mut().enumerate() {
            let (r, c) = (i / cols, i % cols);
            *out_flag = flags.get(c * rows + r).copied().unwrap_or(false);
        }
        Ok(out)
    }

    /// The array as unsigned bytes (np.packbits output), row-major.
    pub(crate) fn u8_row_major(&self) -> Result<Vec<u8>, String> {
        if self.dtype.kind != Kind::UInt || self.dtype.itemsize != 1 {
            return Err(format!(
                "packed mask has dtype {}, not u1",
                self.dtype.name()
            ));
        }
        match self.shape.as_slice() {
            [rows, cols] if self.fortran && *rows > 1 && *cols > 1 => {
                let (rows, cols) = (*rows, *cols);
                Ok((0..rows * cols)
                    .map(|i| {
                        let (r, c) = (i / cols, i % cols);
                        self.data.get(c * rows + r).copied().unwrap_or(0)
                    })
                    .collect())
            }
            _ => Ok(self.data.to_vec()),
        }
    }
}

/// Raw bytes of array data or a scalar: bytes, or (protocol 2 and Python 2 pickles) a str
/// whose characters are the bytes.
pub(crate) fn raw_bytes(value: &Value) -> Result<Rc<[u8]>, String> {
    match value {
        Value::Bytes(b) => Ok(b.clone()),
        Value::Str(s) => latin1_bytes(s),
        _ => Err("numpy data is not a byte string".into()),
    }
}

pub(crate) fn latin1_bytes(text: &str) -> Result<Rc<[u8]>, String> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| "text is not latin1".to_string()))
        .collect::<Result<Vec<u8>, String>>()
        .map(Rc::from)
}

/// `numpy.core.multiarray.scalar(dtype, bytes)` as a plain value.
pub(crate) fn scalar(dtype: &Dtype, data: &[u8]) -> Result<Value, String> {
    if data.len() != dtype.itemsize {
        return Err(format!(
            "numpy scalar of dtype {} has {} bytes",
            dtype.name(),
            data.len()
        ));
    }
    let mut le = data.to_vec();
    if dtype.big_endian {
        le.reverse();
    }
    let mut buf = [0u8; 8];
    let n = le.len().min(8);
    buf.get_mut(..n)
        .unwrap_or_default()
        .copy_from_slice(le.get(..n).unwrap_or_default());
    Ok(match (dtype.kind, dtype.itemsize) {
        (Kind::Bool, _) => Value::Bool(le.iter().any(|&b| b != 0)),
        (Kind::Float, 8) => Value::Float(f64::from_le_bytes(buf)),
        (Kind::Float, 4) => {
            let bits = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
            Value::Float(f64::from(f32::from_bits(bits)))
        }
        (Kind::Float, _) => Value::Float(f16_to_f64(u16::from_le_bytes([buf[0], buf[1]]))),
        (Kind::Int, size) => {
            // Sign-extend from the element's width.
            let shift = 64 - 8 * size as u32;
            Value::Int((i64::from_le_bytes(buf) << shift) >> shift)
        }
        (Kind::UInt, _) => {
            let v = u64::from_le_bytes(buf);
            Value::Int(i64::try_from(v).map_err(|_| "numpy uint64 scalar is too large")?)
        }
        (Kind::Complex, _) => return Err("complex numpy scalars are not supported".into()),
    })
}

fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn dtype_names_and_orders() {
        let f8 = Dtype::parse("f8").unwrap();
        assert_eq!(
            (f8.kind, f8.itemsize, f8.big_endian),
            (Kind::Float, 8, false)
        );
        assert!(Dtype::parse(">i2").unwrap().big_endian);
        for bad in ["O8", "U4", "f3", "V8", "", "b2", "i"] {
            assert!(Dtype::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zero_tests_follow_numpy() {
        let f8 = Dtype::parse("f8").unwrap();
        assert!(!f8.is_nonzero(&(-0.0f64).to_le_bytes()));
        assert!(f8.is_nonzero(&f64::NAN.to_le_bytes()));
        assert!(f8.is_nonzero(&1e-300f64.to_le_bytes()));
        let be = Dtype::parse(">f4").unwrap();
        assert!(!be.is_nonzero(&(-0.0f32).to_be_bytes()));
        assert!(be.is_nonzero(&2.0f32.to_be_bytes()));
    }

    #[test]
    fn scalars() {
        let f8 = Dtype::parse("f8").unwrap();
        assert!(
            matches!(scalar(&f8, &44.5f64.to_le_bytes()).unwrap(), Value::Float(v) if v == 44.5)
        );
        let i2 = Dtype::parse(">i2").unwrap();
        assert!(matches!(
            scalar(&i2, &(-3i16).to_be_bytes()).unwrap(),
            Value::Int(-3)
        ));
        let f2 = Dtype::parse("f2").unwrap();
        assert!(matches!(scalar(&f2, &[0x00, 0x3c]).unwrap(), Value::Float(v) if v == 1.0));
        assert!(scalar(&f8, &[0; 4]).is_err());
    }

    #[test]
    fn fortran_order_is_transposed() {
        let u1 = Dtype::parse("u1").unwrap();
        // [[1, 0, 0], [0, 0, 1]] stored column by column.
        let a = NdArray::new(u1, vec![2, 3], true, Rc::from(vec![1, 0, 0, 0, 0, 1])).unwrap();
        assert_eq!(
            a.nonzero_row_major().unwrap(),
            [true, false, false, false, false, true]
        );
        assert!(NdArray::new(
            Dtype::parse("u1").unwrap(),
            vec![2, 3],
            false,
            Rc::from(vec![0; 5])
        )
        .is_err());
    }
}
