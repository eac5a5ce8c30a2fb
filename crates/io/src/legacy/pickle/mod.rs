//! A restricted pickle VM (protocols 2-5 plus the binary opcodes of 0-1) that builds a plain
//! value tree and never executes anything: a global is looked up in a fixed allowlist of the
//! classes the original's ROI files use ([`Global`]), and every other name is refused by name.
//!
//! Containers live in an arena and values refer to them by index, so memo references share
//! one container (the time-resolved file pickles `roiManager` once and refers to it again),
//! containers filled after being memoised are seen filled, and a self-referencing pickle makes
//! no reference cycle to leak. Work and memory are bounded by [`MAX_OPS`] and [`MAX_DATA_BYTES`];
//! every declared length is checked against the bytes that are really there before use.

use std::collections::HashMap;
use std::rc::Rc;

use super::numpy::{Dtype, NdArray};
use super::DecodeError;

mod objects;

pub(crate) use objects::Global;

/// Opcodes executed per pickle. Each one adds at most a few words of memory (a stack slot, a memo
/// entry, a container element), so this bounds the VM's memory to roughly 1 GiB worst case; a
/// large real ROI file (30 ROIs x 300 slices with masks) needs about 200,000.
pub(crate) const MAX_OPS: usize = 1 << 24;
/// Bytes of strings and byte strings created per pickle (copied out of the input or converted).
pub(crate) const MAX_DATA_BYTES: usize = 1 << 31;
/// Container items copied per pickle (`OrderedDict(list_of_pairs)`, the Python 2 form; protocol
/// 2+ files never copy), so that one memoised list passed again and again stays cheap.
pub(crate) const MAX_COPIED_ITEMS: usize = 1 << 20;

/// A pickled value. Strings and bytes are shared, containers are arena indices.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Global(Global),
    Node(usize),
}

impl Value {
    /// A short name for error messages (never the content, which may be anything).
    pub(crate) fn kind(&self, arena: &[Node]) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Global(_) => "class",
            Value::Node(id) => match arena.get(*id) {
                Some(Node::List(_)) => "list",
                Some(Node::Tuple(_)) => "tuple",
                Some(Node::Set(_)) => "set",
                Some(Node::Dict(_)) => "dict",
                Some(Node::Object { class, .. }) => class.name(),
                Some(Node::Array(_)) => "numpy array",
                Some(Node::Dtype(_)) => "numpy dtype",
                None => "?",
            },
        }
    }
}

/// A container or object in the arena.
#[derive(Debug)]
pub(crate) enum Node {
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Set(Vec<Value>),
    Dict(Dict),
    /// An instance of an allowlisted class (`ROIManager`, `RoiAndMaskPair`) and its BUILD state.
    Object {
        class: Global,
        state: Option<Value>,
    },
    /// A numpy array; `None` until BUILD gives `_reconstruct`'s empty array its state.
    Array(Option<NdArray>),
    Dtype(Dtype),
}

/// An insertion-ordered dict (Python dicts and OrderedDicts keep insertion order).
#[derive(Debug, Default)]
pub(crate) struct Dict {
    pub(crate) entries: Vec<(Value, Value)>,
    index: HashMap<Key, usize>,
}

/// Keys compared the way Python compares them for the key types a ROI file uses.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key {
    None,
    Int(i64),
    Float(u64),
    Str(Shared<str>),
    Bytes(Shared<[u8]>),
    Identity(usize),
}

/// A string key with its content hash computed once, so that one long string used as a key
/// over and over (through the memo) is not hashed again each time.
#[derive(Debug)]
struct Shared<T: ?Sized>(u64, Rc<T>);

impl<T: ?Sized + PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 && (Rc::ptr_eq(&self.1, &other.1) || self.1 == other.1)
    }
}

impl<T: ?Sized + PartialEq> Eq for Shared<T> {}

impl<T: ?Sized> std::hash::Hash for Shared<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

/// Content hashes of the strings used as keys, by address; holding the value keeps the address
/// from being reused by another string.
#[derive(Debug, Default)]
struct KeyHashes(HashMap<usize, (Value, u64)>);

impl KeyHashes {
    fn of(&mut self, value: &Value, address: usize, bytes: &[u8]) -> u64 {
        if let Some((_, h)) = self.0.get(&address) {
            return *h;
        }
        let h = content_hash(bytes);
        self.0.insert(address, (value.clone(), h));
        h
    }
}

impl Dict {
    fn key(value: &Value, arena: &[Node], hashes: &mut KeyHashes) -> Result<Key, String> {
        Ok(match value {
            Value::None => Key::None,
            Value::Bool(b) => Key::Int(i64::from(*b)),
            Value::Int(i) => Key::Int(*i),
            // 1.0 and 1 are the same key in Python.
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Key::Int(*f as i64),
            Value::Float(f) => Key::Float(f.to_bits()),
            Value::Str(s) => {
                let h = hashes.of(value, Rc::as_ptr(s) as *const u8 as usize, s.as_bytes());
                Key::Str(Shared(h, s.clone()))
            }
            Value::Bytes(b) => {
                let h = hashes.of(value, Rc::as_ptr(b) as *const u8 as usize, b);
                Key::Bytes(Shared(h, b.clone()))
            }
            Value::Global(g) => Key::Identity(usize::MAX - *g as usize),
            Value::Node(id) => match arena.get(*id) {
                Some(Node::List(_) | Node::Dict(_) | Node::Set(_)) => {
                    return Err(format!("unhashable dict key ({})", value.kind(arena)))
                }
                _ => Key::Identity(*id),
            },
        })
    }

    fn insert(&mut self, key: Key, k: Value, v: Value) {
        match self.index.get(&key) {
            Some(&at) => {
                if let Some(slot) = self.entries.get_mut(at) {
                    slot.1 = v;
                }
            }
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push((k, v));
            }
        }
    }

    /// The value under a string key.
    pub(crate) fn get_str(&self, key: &str) -> Option<&Value> {
        let probe = Key::Str(Shared(content_hash(key.as_bytes()), Rc::from(key)));
        let at = *self.index.get(&probe)?;
        self.entries.get(at).map(|(_, v)| v)
    }
}

/// The result of running a pickle: the top-level value and the arena it refers to.
#[derive(Debug)]
pub(crate) struct Unpickled {
    pub(crate) root: Value,
    pub(crate) arena: Vec<Node>,
}

/// Runs the pickle in `data` up to its STOP opcode (trailing bytes are ignored, as Python does).
pub(crate) fn unpickle(data: &[u8]) -> Result<Unpickled, DecodeError> {
    let mut vm = Vm {
        input: data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        arena: Vec::new(),
        data_bytes: 0,
        copied_items: 0,
        key_hashes: KeyHashes::default(),
    };
    let root = vm.run()?;
    Ok(Unpickled {
        root,
        arena: vm.arena,
    })
}

struct Vm<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Stack lengths at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    arena: Vec<Node>,
    data_bytes: usize,
    copied_items: usize,
    key_hashes: KeyHashes,
}

impl Vm<'_> {
    fn run(&mut self) -> Result<Value, DecodeError> {
        for _ in 0..MAX_OPS {
            let at = self.pos;
            let op = self.take(1)?.first().copied().unwrap_or_default();
            if op == b'.' {
                return self.pop(at);
            }
            self.step(op, at)?;
        }
        Err(DecodeError::Limit {
            what: "opcode count",
            limit: MAX_OPS,
        })
    }

    fn step(&mut self, op: u8, at: usize) -> Result<(), DecodeError> {
        match op {
            0x80 => {
                let proto = self.u8()?;
                if proto > 5 {
                    return Err(self.bad(at, format!("unsupported pickle protocol {proto}")));
                }
            }
            // FRAME only announces a length; the data follows inline.
            0x95 => {
                self.take(8)?;
            }
            b'(' => self.marks.push(self.stack.len()),
            b')' => self.push_node(Node::Tuple(Vec::new())),
            b']' => self.push_node(Node::List(Vec::new())),
            b'}' => self.push_node(Node::Dict(Dict::default())),
            0x8f => self.push_node(Node::Set(Vec::new())),
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool(true)),
            0x89 => self.stack.push(Value::Bool(false)),
            b'K' => {
                let v = self.u8()?;
                self.stack.push(Value::Int(i64::from(v)));
            }
            b'M' => {
                let v = u16::from_le_bytes(self.array::<2>()?);
                self.stack.push(Value::Int(i64::from(v)));
            }
            b'J' => {
                let v = i32::from_le_bytes(self.array::<4>()?);
                self.stack.push(Value::Int(i64::from(v)));
            }
            0x8a => {
                let n = usize::from(self.u8()?);
                self.long(n, at)?;
            }
            0x8b => {
                let n = self.len_u32()?;
                self.long(n, at)?;
            }
            b'G' => {
                let v = f64::from_be_bytes(self.array::<8>()?);
                self.stack.push(Value::Float(v));
            }
            0x8c => {
                let n = usize::from(self.u8()?);
                self.unicode(n, at)?;
            }
            b'X' => {
                let n = self.len_u32()?;
                self.unicode(n, at)?;
            }
            0x8d => {
                let n = self.len_u64()?;
                self.unicode(n, at)?;
            }
            // Python 2 `str`: the original's loader falls back to latin1, which maps every byte.
            b'U' => {
                let n = usize::from(self.u8()?);
                self.latin1(n)?;
            }
            b'T' => {
                let n = i32::from_le_bytes(self.array::<4>()?);
                let n = usize::try_from(n).map_err(|_| self.bad(at, "negative string length"))?;
                self.latin1(n)?;
            }
            b'C' => {
                let n = usize::from(self.u8()?);
                self.bytes(n)?;
            }
            b'B' => {
                let n = self.len_u32()?;
                self.bytes(n)?;
            }
            0x8e | 0x96 => {
                let n = self.len_u64()?;
                self.bytes(n)?;
            }
            // READONLY_BUFFER only changes mutability.
            0x98 => {}
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let items = self.pop_n(n, at)?;
                self.push_node(Node::Tuple(items));
            }
            b't' => {
                let items = self.pop_mark(at)?;
                self.push_node(Node::Tuple(items));
            }
            b'l' => {
                let items = self.pop_mark(at)?;
                self.push_node(Node::List(items));
            }
            b'd' => {
                let items = self.pop_mark(at)?;
                let id = self.new_node(Node::Dict(Dict::default()));
                self.set_items(id, items, at)?;
                self.stack.push(Value::Node(id));
            }
            0x91 => {
                let items = self.pop_mark(at)?;
                self.push_node(Node::Set(items));
            }
            b'a' => {
                let item = self.pop(at)?;
                self.extend(vec![item], at)?;
            }
            b'e' | 0x90 => {
                let items = self.pop_mark(at)?;
                self.extend(items, at)?;
            }
            b's' => {
                let items = self.pop_n(2, at)?;
                let id = self.top_node(at)?;
                self.set_items(id, items, at)?;
            }
            b'u' => {
                let items = self.pop_mark(at)?;
                let id = self.top_node(at)?;
                self.set_items(id, items, at)?;
            }
            b'0' => {
                self.pop(at)?;
            }
            b'1' => {
                self.pop_mark(at)?;
            }
            b'2' => {
                let top = self.peek(at)?.clone();
                self.stack.push(top);
            }
            0x94 => {
                let top = self.peek(at)?.clone();
                let index =
                    u32::try_from(self.memo.len()).map_err(|_| self.bad(at, "memo is full"))?;
                self.memo.insert(index, top);
            }
            b'q' => {
                let index = u32::from(self.u8()?);
                self.put(index, at)?;
            }
            b'r' => {
                let index = u32::from_le_bytes(self.array::<4>()?);
                self.put(index, at)?;
            }
            b'h' => {
                let index = u32::from(self.u8()?);
                self.get(index, at)?;
            }
            b'j' => {
                let index = u32::from_le_bytes(self.array::<4>()?);
                self.get(index, at)?;
            }
            b'c' => {
                let module = self.line(at)?;
                let name = self.line(at)?;
                self.global(&module, &name)?;
            }
            0x93 => {
                let name = self.pop(at)?;
                let module = self.pop(at)?;
                match (module, name) {
                    (Value::Str(module), Value::Str(name)) => self.global(&module, &name)?,
                    _ => return Err(self.bad(at, "STACK_GLOBAL needs two strings")),
                }
            }
            b'R' => {
                let args = self.pop(at)?;
                let callable = self.pop(at)?;
                let value = self.reduce(callable, args, at)?;
                self.stack.push(value);
            }
            0x81 => {
                let args = self.pop(at)?;
                let class = self.pop(at)?;
                let value = self.new_object(class, args, at)?;
                self.stack.push(value);
            }
            0x92 => {
                let kwargs = self.pop(at)?;
                let args = self.pop(at)?;
                let class = self.pop(at)?;
                if !matches!(self.node(&kwargs), Some(Node::Dict(d)) if d.entries.is_empty()) {
                    return Err(self.bad(at, "NEWOBJ_EX with keyword arguments"));
                }
                let value = self.new_object(class, args, at)?;
                self.stack.push(value);
            }
            b'b' => {
                let state = self.pop(at)?;
                let target = self.peek(at)?.clone();
                self.build(target, state, at)?;
            }
            _ => {
                return Err(DecodeError::Opcode {
                    opcode: op,
                    offset: at,
                })
            }
        }
        Ok(())
    }

    // --- input ---

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.input.len());
        let Some(end) = end else {
            return Err(DecodeError::Truncated { offset: self.pos });
        };
        let bytes = self.input.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn len_u32(&mut self) -> Result<usize, DecodeError> {
        Ok(u32::from_le_bytes(self.array::<4>()?) as usize)
    }

    fn len_u64(&mut self) -> Result<usize, DecodeError> {
        let n = u64::from_le_bytes(self.array::<8>()?);
        // Larger than the input means truncated, whatever the platform's usize.
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn line(&mut self, at: usize) -> Result<String, DecodeError> {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let Some(len) = rest.iter().take(4096).position(|&b| b == b'\n') else {
            return Err(self.bad(at, "GLOBAL name without an end of line"));
        };
        let text = self.take(len + 1)?;
        let text = text.get(..len).unwrap_or_default();
        std::str::from_utf8(text)
            .map(str::to_owned)
            .map_err(|_| self.bad(at, "GLOBAL name is not text"))
    }

    /// Counts `n` bytes of string data about to be read (after checking they are there).
    fn count_data(&mut self, n: usize) -> Result<(), DecodeError> {
        if n > self.input.len().saturating_sub(self.pos) {
            return Err(DecodeError::Truncated { offset: self.pos });
        }
        self.charge(n)
    }

    /// Counts `n` bytes of strings or converted data against [`MAX_DATA_BYTES`].
    fn charge(&mut self, n: usize) -> Result<(), DecodeError> {
        self.data_bytes = self.data_bytes.saturating_add(n);
        if self.data_bytes > MAX_DATA_BYTES {
            return Err(DecodeError::Limit {
                what: "string and bytes size",
                limit: MAX_DATA_BYTES,
            });
        }
        Ok(())
    }

    fn unicode(&mut self, n: usize, at: usize) -> Result<(), DecodeError> {
        self.count_data(n)?;
        let bytes = self.take(n)?;
        // Python's pickle decodes with surrogatepass; lone surrogates cannot be a ROI name.
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::Malformed {
            offset: at,
            reason: "string is not valid UTF-8".into(),
        })?;
        let text = Rc::from(text);
        self.stack.push(Value::Str(text));
        Ok(())
    }

    fn latin1(&mut self, n: usize) -> Result<(), DecodeError> {
        self.count_data(n)?;
        let text: String = self.take(n)?.iter().map(|&b| char::from(b)).collect();
        self.stack.push(Value::Str(Rc::from(text)));
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> Result<(), DecodeError> {
        self.count_data(n)?;
        let bytes = Rc::from(self.take(n)?);
        self.stack.push(Value::Bytes(bytes));
        Ok(())
    }

    fn long(&mut self, n: usize, at: usize) -> Result<(), DecodeError> {
        let bytes = self.take(n)?;
        if n > 8 {
            return Err(self.bad(at, format!("integer of {n} bytes is too large")));
        }
        // Little-endian two's complement, sign-extended from the last byte.
        let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
        let mut buf = if negative { [0xff; 8] } else { [0; 8] };
        buf.get_mut(..n).unwrap_or_default().copy_from_slice(bytes);
        self.stack.push(Value::Int(i64::from_le_bytes(buf)));
        Ok(())
    }

    // --- stack and memo ---

    fn bad(&self, at: usize, reason: impl Into<String>) -> DecodeError {
        DecodeError::Malformed {
            offset: at,
            reason: reason.into(),
        }
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self, at: usize) -> Result<Value, DecodeError> {
        if self.stack.len() <= self.floor() {
            return Err(self.bad(at, "stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.bad(at, "stack underflow"))
    }

    fn peek(&self, at: usize) -> Result<&Value, DecodeError> {
        if self.stack.len() <= self.floor() {
            return Err(self.bad(at, "stack underflow"));
        }
        self.stack
            .last()
            .ok_or_else(|| self.bad(at, "stack underflow"))
    }

    fn pop_n(&mut self, n: usize, at: usize) -> Result<Vec<Value>, DecodeError> {
        if self.stack.len() < self.floor() + n {
            return Err(self.bad(at, "stack underflow"));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_mark(&mut self, at: usize) -> Result<Vec<Value>, DecodeError> {
        let Some(mark) = self.marks.pop() else {
            return Err(self.bad(at, "no MARK on the stack"));
        };
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn put(&mut self, index: u32, at: usize) -> Result<(), DecodeError> {
        let top = self.peek(at)?.clone();
        self.memo.insert(index, top);
        Ok(())
    }

    fn get(&mut self, index: u32, at: usize) -> Result<(), DecodeError> {
        let value = self
            .memo
            .get(&index)
            .cloned()
            .ok_or_else(|| self.bad(at, format!("memo entry {index} is missing")))?;
        self.stack.push(value);
        Ok(())
    }

    fn new_node(&mut self, node: Node) -> usize {
        self.arena.push(node);
        self.arena.len() - 1
    }

    fn push_node(&mut self, node: Node) {
        let id = self.new_node(node);
        self.stack.push(Value::Node(id));
    }

    fn node(&self, value: &Value) -> Option<&Node> {
        match value {
            Value::Node(id) => self.arena.get(*id),
            _ => None,
        }
    }

    fn top_node(&self, at: usize) -> Result<usize, DecodeError> {
        match self.peek(at)? {
            Value::Node(id) => Ok(*id),
            _ => Err(self.bad(at, "SETITEM target is not a dict")),
        }
    }

    fn extend(&mut self, items: Vec<Value>, at: usize) -> Result<(), DecodeError> {
        let id = match self.peek(at)? {
            Value::Node(id) => *id,
            _ => return Err(self.bad(at, "APPEND target is not a list")),
        };
        match self.arena.get_mut(id) {
            Some(Node::List(list) | Node::Set(list)) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(self.bad(at, "APPEND target is not a list")),
        }
    }

    fn set_items(&mut self, id: usize, items: Vec<Value>, at: usize) -> Result<(), DecodeError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.bad(at, "SETITEMS with an odd number of items"));
        }
        let mut keyed = Vec::with_capacity(items.len() / 2);
        let mut iter = items.into_iter();
        while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
            let key = Dict::key(&k, &self.arena, &mut self.key_hashes);
            let key = key.map_err(|r| self.bad(at, r))?;
            keyed.push((key, k, v));
        }
        match self.arena.get_mut(id) {
            Some(Node::Dict(dict)) => {
                for (key, k, v) in keyed {
                    dict.insert(key, k, v);
                }
                Ok(())
            }
            _ => Err(self.bad(at, "SETITEM target is not a dict")),
        }
    }
}

#[cfg(test)]
mod tests;
