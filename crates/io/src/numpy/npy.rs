//! The `.npy` format (versions 1.0, 2.0 and 3.0): a magic string, a Python-literal header dict
//! (`descr`, `fortran_order`, `shape`) and the raw array bytes.

use dafne_core::{with_voxels, DType, Voxels};

use super::NumpyError;

const MAGIC: &[u8] = b"\x93NUMPY";
/// numpy itself refuses headers over 10,000 bytes by default; this leaves room for odd writers
/// while keeping a corrupt length from driving the parser through megabytes.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// Nesting allowed in the header literal (a valid header needs 2).
const MAX_DEPTH: usize = 8;

/// An array as stored: its shape, its elements in file order (C or Fortran) converted to native
/// byte order, bool stored as 0/1 `U8`.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub voxels: Voxels,
    pub fortran_order: bool,
}

/// What one element is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Element {
    Number {
        dtype: DType,
        bool: bool,
    },
    /// numpy's `U<n>`: `chars` UTF-32 code units per element.
    Unicode {
        chars: usize,
    },
}

impl Element {
    fn size_bytes(self) -> usize {
        match self {
            Element::Number { dtype, .. } => dtype.size_bytes(),
            Element::Unicode { chars } => chars.saturating_mul(4),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Header {
    pub element: Element,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

impl Header {
    pub fn count(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
    }
}

/// Parses one `.npy` held in memory into its elements.
pub fn read_npy_bytes(bytes: &[u8]) -> Result<NpyArray, NumpyError> {
    let (header, dtype, bool, data) = parse_numeric(bytes)?;
    let voxels = match crate::values::decode_voxels(data, dtype, header.big_endian) {
        Voxels::U8(v) if bool => Voxels::U8(v.into_iter().map(|b| (b != 0) as u8).collect()),
        other => other,
    };
    Ok(NpyArray {
        shape: header.shape,
        voxels,
        fortran_order: header.fortran_order,
    })
}

/// Parses one `.npy` image straight into our layout: its NumPy shape, our dims and the voxels.
pub(crate) fn read_npy_layout(
    bytes: &[u8],
) -> Result<(Vec<usize>, [usize; 4], Voxels), NumpyError> {
    let (header, dtype, bool, data) = parse_numeric(bytes)?;
    let (dims, voxels) = super::layout::bytes_to_layout(
        &header.shape,
        header.fortran_order,
        data,
        dtype,
        header.big_endian,
        bool,
    )?;
    Ok((header.shape, dims, voxels))
}

/// The header, element type, bool flag and data of a numeric array; string arrays are refused.
fn parse_numeric(bytes: &[u8]) -> Result<(Header, DType, bool, &[u8]), NumpyError> {
    let (header, data) = parse(bytes)?;
    match header.element {
        Element::Number { dtype, bool } => Ok((header, dtype, bool, data)),
        Element::Unicode { .. } => Err(NumpyError::UnsupportedDtype {
            descr: descr_of(&header),
            reason: "a string array is not image data",
        }),
    }
}

/// The header and exactly the data bytes it describes (trailing bytes are ignored, as numpy does).
pub(super) fn parse(bytes: &[u8]) -> Result<(Header, &[u8]), NumpyError> {
    if !bytes.starts_with(MAGIC) {
        return Err(NumpyError::NotNpy {
            reason: "the \\x93NUMPY magic string is missing".into(),
        });
    }
    let version = bytes
        .get(6..8)
        .ok_or_else(|| truncated_header(bytes.len()))?;
    let (major, minor) = (version[0], version[1]);
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => return Err(NumpyError::Version { major, minor }),
    };
    let len_field = bytes
        .get(8..8 + len_bytes)
        .ok_or_else(|| truncated_header(bytes.len()))?;
    let header_len = len_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    if header_len > MAX_HEADER_BYTES {
        return Err(NumpyError::Header {
            reason: format!("header length {header_len} is implausibly large"),
        });
    }
    let start = 8 + len_bytes;
    let text = bytes
        .get(start..start + header_len)
        .ok_or_else(|| truncated_header(bytes.len()))?;
    let text = if utf8 {
        std::str::from_utf8(text).map_err(|_| header_error("header is not valid UTF-8"))?
    } else {
        if !text.is_ascii() {
            return Err(header_error("header of a version 1/2 file is not ASCII"));
        }
        std::str::from_utf8(text).map_err(|_| header_error("header is not ASCII"))?
    };
    let header = interpret(&Parser::new(text).document()?)?;
    let count = header
        .count()
        .ok_or_else(|| header_error("shape overflows"))?;
    let needed = (count as u128) * (header.element.size_bytes() as u128);
    let data = &bytes[start + header_len..];
    if needed > data.len() as u128 {
        return Err(NumpyError::Truncated {
            shape: header.shape.clone(),
            needed,
            available: data.len() as u64,
        });
    }
    Ok((header, &data[..needed as usize]))
}

fn truncated_header(len: usize) -> NumpyError {
    NumpyError::Header {
        reason: format!("file ends inside the header ({len} bytes)"),
    }
}

fn header_error(reason: &str) -> NumpyError {
    NumpyError::Header {
        reason: reason.to_string(),
    }
}

/// The subset of Python literals a header uses.
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Str(String),
    Bool(bool),
    Int(u64),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.rest().chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), NumpyError> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(NumpyError::Header {
                reason: format!("expected {c:?} at byte {}", self.pos),
            })
        }
    }

    /// The whole header: one dict, then only padding.
    fn document(&mut self) -> Result<Literal, NumpyError> {
        let value = self.value(0)?;
        if self.peek().is_some() {
            return Err(NumpyError::Header {
                reason: format!("unexpected text after the dict at byte {}", self.pos),
            });
        }
        Ok(value)
    }

    fn value(&mut self, depth: usize) -> Result<Literal, NumpyError> {
        if depth > MAX_DEPTH {
            return Err(header_error("header nests too deeply"));
        }
        match self.peek() {
            Some('{') => {
                let items = self.sequence('{', '}', depth, |p, d| {
                    let key = p.value(d)?;
                    p.expect(':')?;
                    Ok((key, p.value(d)?))
                })?;
                Ok(Literal::Dict(items))
            }
            Some('(') => Ok(Literal::Tuple(
                self.sequence('(', ')', depth, |p, d| p.value(d))?,
            )),
            Some('[') => Ok(Literal::List(
                self.sequence('[', ']', depth, |p, d| p.value(d))?,
            )),
            Some(q @ ('\'' | '"')) => self.string(q),
            Some(c) if c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let rest = self.rest();
                let word_len = rest
                    .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .unwrap_or(rest.len());
                let word = &rest[..word_len];
                self.pos += word_len;
                match word {
                    "True" => Ok(Literal::Bool(true)),
                    "False" => Ok(Literal::Bool(false)),
                    "None" => Ok(Literal::None),
                    _ => Err(NumpyError::Header {
                        reason: format!("unexpected word {word:?} in header"),
                    }),
                }
            }
            Some(c) => Err(NumpyError::Header {
                reason: format!("unexpected {c:?} at byte {}", self.pos),
            }),
            None => Err(header_error("header ends early")),
        }
    }

    /// `open item, item, ... close`, a trailing comma allowed.
    fn sequence<T>(
        &mut self,
        open: char,
        close: char,
        depth: usize,
        mut item: impl FnMut(&mut Self, usize) -> Result<T, NumpyError>,
    ) -> Result<Vec<T>, NumpyError> {
        self.expect(open)?;
        let mut out = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(out);
            }
            out.push(item(self, depth + 1)?);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(NumpyError::Header {
                        reason: format!("expected ',' or {close:?} at byte {}", self.pos),
                    })
                }
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<Literal, NumpyError> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(Literal::Str(out));
                }
                '\\' => match chars.next() {
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(header_error("unterminated string in header"))
    }

    fn int(&mut self) -> Result<Literal, NumpyError> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let value = rest[..len]
            .parse::<u64>()
            .map_err(|_| header_error("integer in header is too large"))?;
        self.pos += len;
        // Python 2 wrote long integers with an L suffix.
        if self.rest().starts_with('L') {
            self.pos += 1;
        }
        Ok(Literal::Int(value))
    }
}

fn interpret(literal: &Literal) -> Result<Header, NumpyError> {
    let Literal::Dict(items) = literal else {
        return Err(header_error("header is not a dict"));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in items {
        let Literal::Str(key) = key else {
            return Err(header_error("header dict has a non-string key"));
        };
        match (key.as_str(), value) {
            ("descr", Literal::Str(s)) => descr = Some(s.clone()),
            ("descr", Literal::List(_)) => {
                return Err(NumpyError::UnsupportedDtype {
                    descr: "[...]".into(),
                    reason: "structured (record) arrays are not image data",
                })
            }
            ("fortran_order", Literal::Bool(b)) => fortran = Some(*b),
            ("shape", Literal::Tuple(dims)) => {
                let dims = dims
                    .iter()
                    .map(|d| match d {
                        Literal::Int(n) => {
                            usize::try_from(*n).map_err(|_| header_error("shape is too large"))
                        }
                        _ => Err(header_error("shape holds something other than integers")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                shape = Some(dims);
            }
            (other, _) => {
                return Err(NumpyError::Header {
                    reason: format!("unexpected key or value type for {other:?}"),
                })
            }
        }
    }
    let (Some(descr), Some(fortran_order), Some(shape)) = (descr, fortran, shape) else {
        return Err(header_error(
            "header lacks one of 'descr', 'fortran_order', 'shape'",
        ));
    };
    let (element, big_endian) = parse_descr(&descr)?;
    Ok(Header {
        element,
        big_endian,
        fortran_order,
        shape,
    })
}

/// `<i2`, `>f8`, `|u1`, `|b1`, `<U52`, ... -> element type and byte order.
fn parse_descr(descr: &str) -> Result<(Element, bool), NumpyError> {
    let unsupported = |reason| {
        Err(NumpyError::UnsupportedDtype {
            descr: descr.to_string(),
            reason,
        })
    };
    let (big_endian, code) = match descr.as_bytes().first() {
        Some(b'<') | Some(b'|') | Some(b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr),
    };
    let number = |dtype| Ok((Element::Number { dtype, bool: false }, big_endian));
    match code {
        "b1" | "?" => Ok((
            Element::Number {
                dtype: DType::U8,
                bool: true,
            },
            big_endian,
        )),
        "u1" | "B" => number(DType::U8),
        "i1" | "b" => number(DType::I8),
        "u2" | "H" => number(DType::U16),
        "i2" | "h" => number(DType::I16),
        "u4" | "I" => number(DType::U32),
        "i4" | "i" => number(DType::I32),
        "u8" | "Q" => number(DType::U64),
        "i8" | "q" => number(DType::I64),
        "f4" | "f" => number(DType::F32),
        "f8" | "d" => number(DType::F64),
        c if c.starts_with('U') => match c[1..].parse::<usize>() {
            Ok(chars) => Ok((Element::Unicode { chars }, big_endian)),
            Err(_) => unsupported("malformed unicode string type"),
        },
        c if c.starts_with('c') => unsupported("complex values are not image data"),
        "f2" | "e" => unsupported("float16 is not supported"),
        c if c.starts_with('f') => unsupported("extended-precision floats are not supported"),
        "O" => unsupported("object arrays (pickled Python objects) are never loaded"),
        c if c.starts_with('S') || c.starts_with('a') => {
            unsupported("byte-string arrays are not image data")
        }
        c if c.starts_with('V') => unsupported("void/structured arrays are not image data"),
        c if c.starts_with('M') || c.starts_with('m') => {
            unsupported("datetime arrays are not image data")
        }
        _ => unsupported("unknown type code"),
    }
}

fn descr_of(header: &Header) -> String {
    let order = if header.big_endian { '>' } else { '<' };
    match header.element {
        Element::Number { dtype, .. } => descr_for(dtype).to_string(),
        Element::Unicode { chars } => format!("{order}U{chars}"),
    }
}

/// How numpy spells a little-endian dtype.
fn descr_for(dtype: DType) -> &'static str {
    match dtype {
        DType::U8 => "|u1",
        DType::I8 => "|i1",
        DType::U16 => "<u2",
        DType::I16 => "<i2",
        DType::U32 => "<u4",
        DType::I32 => "<i4",
        DType::U64 => "<u8",
        DType::I64 => "<i8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// The strings of a `U<n>` array in element order, trailing NULs dropped.
pub(super) fn decode_strings(header: &Header, data: &[u8]) -> Result<Vec<String>, NumpyError> {
    let Element::Unicode { chars } = header.element else {
        return Err(NumpyError::UnsupportedDtype {
            descr: descr_of(header),
            reason: "expected a string array",
        });
    };
    if chars == 0 {
        return Ok(vec![String::new(); header.count().unwrap_or(0)]);
    }
    let (units, _) = data.as_chunks::<4>();
    Ok(units
        .chunks(chars)
        .map(|element| {
            let text: String = element
                .iter()
                .map(|u| {
                    if header.big_endian {
                        u32::from_be_bytes(*u)
                    } else {
                        u32::from_le_bytes(*u)
                    }
                })
                .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            text.trim_end_matches('\0').to_string()
        })
        .collect())
}

/// The `.npy` bytes of an array (little-endian; version 1.0, or 2.0 when the header needs it).
pub fn npy_bytes(array: &NpyArray) -> Vec<u8> {
    let mut out = preamble(
        descr_for(array.voxels.dtype()),
        array.fortran_order,
        &array.shape,
    );
    out.reserve(array.voxels.len() * array.voxels.dtype().size_bytes());
    with_voxels!(&array.voxels, v => {
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    });
    out
}

/// The `.npy` bytes of a string array (`<U<n>`, UTF-32LE, n = longest string, at least 1).
pub(crate) fn unicode_npy_bytes(strings: &[&str], shape: &[usize]) -> Vec<u8> {
    let chars = strings
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = preamble(&format!("<U{chars}"), false, shape);
    for s in strings {
        let mut n = 0;
        for c in s.chars() {
            out.extend_from_slice(&(c as u32).to_le_bytes());
            n += 1;
        }
        out.resize(out.len() + 4 * (chars - n), 0);
    }
    out
}

/// Magic, version, header length and the header dict padded with spaces and a newline so the
/// data starts on a 64-byte boundary, as numpy writes it.
fn preamble(descr: &str, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let fortran = if fortran_order { "True" } else { "False" };
    let dict =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}");
    let unpadded = 10 + dict.len() + 1;
    let (version, len_bytes) = if unpadded.div_ceil(64) * 64 - 10 <= u16::MAX as usize {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let fixed = 8 + len_bytes;
    let total = (fixed + dict.len() + 1).div_ceil(64) * 64;
    let header_len = total - fixed;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if len_bytes == 2 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn header_parser_accepts_what_numpy_and_python2_write() {
        let h = interpret(
            &Parser::new("{'descr': '<f8', 'fortran_order': False, 'shape': (256, 256), }  \n")
                .document()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(h.shape, vec![256, 256]);
        assert_eq!(
            h.element,
            Element::Number {
                dtype: DType::F64,
                bool: false
            }
        );
        let h = interpret(
            &Parser::new("{\"shape\": (3L,), \"fortran_order\": True, \"descr\": \">i2\"}")
                .document()
                .unwrap(),
        )
        .unwrap();
        assert!(h.fortran_order && h.big_endian);
        assert_eq!(h.shape, vec![3]);
        let h = interpret(
            &Parser::new("{'descr': '<U52', 'fortran_order': False, 'shape': ()}")
                .document()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(h.element, Element::Unicode { chars: 52 });
        assert_eq!(h.count(), Some(1));
    }

    #[test]
    fn header_parser_refuses_junk() {
        for text in [
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': ()}",
            "[1, 2]",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "{'a': ((((((((((1,),),),),),),),),),)}",
            "{'descr': '<f8' 'x'}",
        ] {
            let parsed = Parser::new(text).document().and_then(|l| interpret(&l));
            assert!(parsed.is_err(), "{text}");
        }
    }

    #[test]
    fn preamble_is_aligned_to_64_bytes() {
        for shape in [vec![], vec![3], vec![80, 432, 432]] {
            let p = preamble("<i2", false, &shape);
            assert_eq!(p.len() % 64, 0);
            assert_eq!(p.last(), Some(&b'\n'));
        }
    }
}
