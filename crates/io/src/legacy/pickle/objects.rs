//! The objects a pickle may build: the allowlisted globals and what REDUCE, NEWOBJ and BUILD
//! make of them (OrderedDicts, the original's ROI classes, numpy dtypes, arrays and scalars, and
//! the arrays that dill writes for model weights).

use super::{Dict, Node, Value, Vm, MAX_COPIED_ITEMS};
use crate::legacy::numpy::{self, Dtype, NdArray};
use crate::legacy::DecodeError;

/// The only globals an ROI or model file may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Global {
    OrderedDict,
    RoiManager,
    RoiAndMaskPair,
    NumpyReconstruct,
    NumpyNdarray,
    NumpyDtype,
    NumpyScalar,
    NumpyFromBuffer,
    CodecsEncode,
    /// dill's `_create_array(f, args, state, npdict)`, i.e. `f(*args).__setstate__(state)`:
    /// mapped onto the same `_reconstruct` + `ndarray.__setstate__` path, nothing is called.
    DillCreateArray,
}

impl Global {
    fn resolve(module: &str, name: &str) -> Option<Global> {
        let numpy_core = matches!(module, "numpy.core.multiarray" | "numpy._core.multiarray");
        let numpy_numeric = matches!(module, "numpy.core.numeric" | "numpy._core.numeric");
        let roi_module = matches!(module, "dafne.utils.ROIManager" | "utils.ROIManager");
        // dill moved its internals from `dill.dill` to `dill._dill` in 0.3.
        let dill = matches!(module, "dill._dill" | "dill.dill");
        Some(match name {
            "OrderedDict" if module == "collections" => Global::OrderedDict,
            "ROIManager" if roi_module => Global::RoiManager,
            "RoiAndMaskPair" if roi_module => Global::RoiAndMaskPair,
            "_reconstruct" if numpy_core => Global::NumpyReconstruct,
            "scalar" if numpy_core => Global::NumpyScalar,
            // What numpy's pickles use from protocol 5 on (Python 3.14's default protocol).
            "_frombuffer" if numpy_numeric => Global::NumpyFromBuffer,
            "ndarray" if module == "numpy" => Global::NumpyNdarray,
            "dtype" if module == "numpy" => Global::NumpyDtype,
            "encode" if module == "_codecs" => Global::CodecsEncode,
            "_create_array" if dill => Global::DillCreateArray,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Global::OrderedDict => "OrderedDict",
            Global::RoiManager => "ROIManager",
            Global::RoiAndMaskPair => "RoiAndMaskPair",
            Global::NumpyReconstruct => "numpy _reconstruct",
            Global::NumpyNdarray => "numpy.ndarray",
            Global::NumpyDtype => "numpy.dtype",
            Global::NumpyScalar => "numpy scalar",
            Global::NumpyFromBuffer => "numpy _frombuffer",
            Global::CodecsEncode => "_codecs.encode",
            Global::DillCreateArray => "dill _create_array",
        }
    }
}

impl Vm<'_> {
    pub(super) fn global(&mut self, module: &str, name: &str) -> Result<(), DecodeError> {
        match Global::resolve(module, name) {
            Some(g) => {
                self.stack.push(Value::Global(g));
                Ok(())
            }
            None => Err(DecodeError::Forbidden {
                global: format!("{module}.{name}").chars().take(200).collect(),
            }),
        }
    }

    fn tuple_items(&self, value: &Value, at: usize, what: &str) -> Result<Vec<Value>, DecodeError> {
        match self.node(value) {
            // Every callable here takes a handful of arguments: refusing long tuples keeps a
            // memoised huge tuple from being copied on every call.
            Some(Node::Tuple(items)) if items.len() <= 16 => Ok(items.clone()),
            Some(Node::Tuple(_)) => Err(self.bad(at, format!("too many arguments for {what}"))),
            _ => Err(self.bad(at, format!("arguments of {what} are not a tuple"))),
        }
    }

    /// Array or scalar data: bytes (shared), or a str whose characters are the bytes (protocol
    /// 2 and Python 2), which is converted and so counts against the data budget.
    fn raw_bytes(&mut self, value: &Value, at: usize) -> Result<std::rc::Rc<[u8]>, DecodeError> {
        if let Value::Str(text) = value {
            self.charge(text.len())?;
        }
        numpy::raw_bytes(value).map_err(|r| self.bad(at, r))
    }

    pub(super) fn reduce(
        &mut self,
        callable: Value,
        args: Value,
        at: usize,
    ) -> Result<Value, DecodeError> {
        let Value::Global(global) = callable else {
            return Err(self.bad(at, "REDUCE on something that is not an allowed class"));
        };
        let args = self.tuple_items(&args, at, global.name())?;
        let node = match global {
            Global::OrderedDict => {
                let id = self.new_node(Node::Dict(Dict::default()));
                if let Some(source) = args.first() {
                    let items = self.pairs_of(source, at)?;
                    self.set_items(id, items, at)?;
                }
                return Ok(Value::Node(id));
            }
            Global::NumpyReconstruct => {
                if !matches!(args.first(), Some(Value::Global(Global::NumpyNdarray))) {
                    return Err(self.bad(at, "numpy _reconstruct of something else than ndarray"));
                }
                Node::Array(None)
            }
            Global::NumpyDtype => {
                let Some(Value::Str(name)) = args.first() else {
                    return Err(self.bad(at, "numpy.dtype without a type name"));
                };
                Node::Dtype(Dtype::parse(name).map_err(|r| self.bad(at, r))?)
            }
            Global::NumpyScalar => {
                let (Some(dtype), Some(data)) = (args.first(), args.get(1)) else {
                    return Err(self.bad(at, "numpy scalar needs a dtype and its bytes"));
                };
                let data = self.raw_bytes(data, at)?;
                let Some(Node::Dtype(dtype)) = self.node(dtype) else {
                    return Err(self.bad(at, "numpy scalar without a dtype"));
                };
                return numpy::scalar(dtype, &data).map_err(|r| self.bad(at, r));
            }
            Global::NumpyFromBuffer => {
                let [buffer, dtype, shape, order] = args.as_slice() else {
                    return Err(self.bad(at, "numpy _frombuffer needs 4 arguments"));
                };
                let data = self.raw_bytes(buffer, at)?;
                let Some(Node::Dtype(dtype)) = self.node(dtype) else {
                    return Err(self.bad(at, "numpy _frombuffer without a dtype"));
                };
                let fortran = match order {
                    Value::Str(o) if &**o == "F" => true,
                    Value::Str(o) if &**o == "C" => false,
                    _ => return Err(self.bad(at, "numpy _frombuffer order is not 'C' or 'F'")),
                };
                let shape = self.shape_of(shape, at)?;
                let array = NdArray::new(dtype.clone(), shape, fortran, data)
                    .map_err(|r| self.bad(at, r))?;
                Node::Array(Some(array))
            }
            Global::CodecsEncode => {
                let (Some(Value::Str(text)), Some(Value::Str(encoding))) =
                    (args.first(), args.get(1))
                else {
                    return Err(self.bad(at, "_codecs.encode needs a string and an encoding"));
                };
                if !matches!(&**encoding, "latin1" | "latin-1" | "iso-8859-1") {
                    return Err(self.bad(at, "_codecs.encode with an encoding other than latin1"));
                }
                self.charge(text.len())?;
                let bytes = numpy::latin1_bytes(text).map_err(|r| self.bad(at, r))?;
                return Ok(Value::Bytes(bytes));
            }
            Global::DillCreateArray => {
                let (f, reconstruct_args, state) = match args.as_slice() {
                    [f, a, s] => (f, a, s),
                    [f, a, s, npdict] => {
                        // An ndarray subclass's instance attributes: plain weights have none.
                        let empty = matches!(npdict, Value::None)
                            || matches!(self.node(npdict), Some(Node::Dict(d)) if d.entries.is_empty());
                        if !empty {
                            return Err(self.bad(at, "dill _create_array with array attributes"));
                        }
                        (f, a, s)
                    }
                    _ => return Err(self.bad(at, "dill _create_array needs 3 or 4 arguments")),
                };
                if !matches!(f, Value::Global(Global::NumpyReconstruct)) {
                    return Err(
                        self.bad(at, "dill _create_array of something else than _reconstruct")
                    );
                }
                let reconstruct_args = self.tuple_items(reconstruct_args, at, "_reconstruct")?;
                if !matches!(
                    reconstruct_args.first(),
                    Some(Value::Global(Global::NumpyNdarray))
                ) {
                    return Err(self.bad(at, "numpy _reconstruct of something else than ndarray"));
                }
                Node::Array(Some(self.array_state(state, at)?))
            }
            Global::RoiManager | Global::RoiAndMaskPair | Global::NumpyNdarray => {
                return Err(self.bad(at, format!("{} cannot be called", global.name())))
            }
        };
        Ok(Value::Node(self.new_node(node)))
    }

    /// The key/value items of OrderedDict's optional argument (a list of pairs or a dict).
    fn pairs_of(&mut self, source: &Value, at: usize) -> Result<Vec<Value>, DecodeError> {
        // The items are copied (as Python does), so a memoised list passed again and again
        // counts against the budget each time.
        let len = match self.node(source) {
            Some(Node::Dict(d)) => d.entries.len(),
            Some(Node::List(items) | Node::Tuple(items)) => items.len(),
            _ => 0,
        };
        self.copied_items = self.copied_items.saturating_add(len);
        if self.copied_items > MAX_COPIED_ITEMS {
            return Err(DecodeError::Limit {
                what: "copied items",
                limit: MAX_COPIED_ITEMS,
            });
        }
        match self.node(source) {
            Some(Node::Dict(d)) => Ok(d
                .entries
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect()),
            Some(Node::List(items) | Node::Tuple(items)) => {
                let mut out = Vec::with_capacity(items.len() * 2);
                for item in items {
                    match self.node(item) {
                        Some(Node::Tuple(kv) | Node::List(kv)) if kv.len() == 2 => {
                            out.extend(kv.iter().cloned())
                        }
                        _ => return Err(self.bad(at, "OrderedDict item is not a pair")),
                    }
                }
                Ok(out)
            }
            _ => Err(self.bad(at, "OrderedDict argument is not a list of pairs")),
        }
    }

    fn shape_of(&self, value: &Value, at: usize) -> Result<Vec<usize>, DecodeError> {
        let items = match (value, self.node(value)) {
            (Value::Int(_), _) => vec![value.clone()],
            (_, Some(Node::Tuple(items) | Node::List(items))) if items.len() <= 32 => items.clone(),
            _ => return Err(self.bad(at, "array shape is not a tuple")),
        };
        items
            .iter()
            .map(|v| match v {
                Value::Int(n) => usize::try_from(*n).map_err(|_| self.bad(at, "negative shape")),
                _ => Err(self.bad(at, "array shape holds something else than integers")),
            })
            .collect()
    }

    pub(super) fn new_object(
        &mut self,
        class: Value,
        args: Value,
        at: usize,
    ) -> Result<Value, DecodeError> {
        match class {
            Value::Global(g @ (Global::RoiManager | Global::RoiAndMaskPair)) => {
                Ok(Value::Node(self.new_node(Node::Object {
                    class: g,
                    state: None,
                })))
            }
            Value::Global(Global::OrderedDict) => self.reduce(class, args, at),
            _ => Err(self.bad(at, "NEWOBJ of something that is not an allowed class")),
        }
    }

    pub(super) fn build(
        &mut self,
        target: Value,
        state: Value,
        at: usize,
    ) -> Result<(), DecodeError> {
        let Value::Node(id) = target else {
            return Err(self.bad(at, "BUILD on a plain value"));
        };
        let update = match self.arena.get(id) {
            Some(Node::Object { state: None, .. }) => None,
            Some(Node::Object { .. }) => return Err(self.bad(at, "object built twice")),
            Some(Node::Array(None)) => {
                let array = self.array_state(&state, at)?;
                Some(Node::Array(Some(array)))
            }
            Some(Node::Dtype(dtype)) => {
                let items = self.tuple_items(&state, at, "numpy.dtype state")?;
                let dtype = dtype.with_state(&items).map_err(|r| self.bad(at, r))?;
                Some(Node::Dtype(dtype))
            }
            // OrderedDict's state is its instance __dict__, empty for the ROI files.
            Some(Node::Dict(_)) if matches!(self.node(&state), Some(Node::Dict(d)) if d.entries.is_empty()) =>
            {
                return Ok(());
            }
            _ => return Err(self.bad(at, "BUILD on something that takes no state")),
        };
        let node = update.unwrap_or(Node::Object {
            class: match self.arena.get(id) {
                Some(Node::Object { class, .. }) => *class,
                _ => Global::RoiManager,
            },
            state: Some(state),
        });
        if let Some(slot) = self.arena.get_mut(id) {
            *slot = node;
        }
        Ok(())
    }

    /// numpy's `ndarray.__setstate__`: `(version, shape, dtype, is_fortran, rawdata)` (the
    /// version may be missing).
    fn array_state(&mut self, state: &Value, at: usize) -> Result<NdArray, DecodeError> {
        let items = self.tuple_items(state, at, "ndarray state")?;
        let items = match items.len() {
            5 => items.get(1..).unwrap_or_default(),
            4 => items.as_slice(),
            _ => return Err(self.bad(at, "ndarray state has the wrong length")),
        };
        let [shape, dtype, fortran, raw] = items else {
            return Err(self.bad(at, "ndarray state has the wrong length"));
        };
        let data = self.raw_bytes(raw, at)?;
        let shape = self.shape_of(shape, at)?;
        let Some(Node::Dtype(dtype)) = self.node(dtype) else {
            return Err(self.bad(at, "ndarray state without a dtype"));
        };
        let fortran = match fortran {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            _ => return Err(self.bad(at, "ndarray fortran flag is not a bool")),
        };
        NdArray::new(dtype.clone(), shape, fortran, data).map_err(|r| self.bad(at, r))
    }
}
