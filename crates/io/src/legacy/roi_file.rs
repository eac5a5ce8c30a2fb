//! Maps an unpickled ROI file onto [`LegacyRoiFile`], the way the original's `loadROIPickle`,
//! `ROIManager.__setstate__` and `RoiAndMaskPair.__setstate__`/`get_mask` read it: a dict with
//! `classifications` and `roiManager` (plus `roiManagers`/`currentTimepoint` when
//! time-resolved) or a bare `ROIManager`; per slice a pair whose state holds the knots of each
//! sub-ROI and the mask in one of three encodings (`version` 3: bz2(pickle(ndarray)); 2:
//! `np.packbits(mask, axis=-1)`; 1 or missing: the raw array).

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use dafne_core::SliceMask;

use super::numpy::NdArray;
use super::pickle::{self, Dict, Global, Node, Unpickled, Value};
use super::{bz2, DecodeError, LegacyRoi, LegacyRoiFile, LegacySlice, MAX_DECOMPRESSED_BYTES};

/// Pixels of one mask (16384 x 16384); an MRI slice is at most a few thousand pixels a side.
const MAX_SLICE_PIXELS: usize = 1 << 28;
/// Pixels of all masks of a file together (1 GiB of bit-packed masks; 30 ROIs on 300 slices of
/// 512 x 512 take 0.3 GiB), so that a small file that refers to one mask from millions of slices
/// cannot exhaust memory.
const MAX_TOTAL_PIXELS: usize = 1 << 33;
/// ROIs, slices and knots of a file together (a real file has a few hundred thousand).
const MAX_TOTAL_ITEMS: usize = 1 << 25;

pub(crate) fn convert(unpickled: &Unpickled) -> Result<LegacyRoiFile, DecodeError> {
    let mut cx = Converter {
        arena: &unpickled.arena,
        masks: HashMap::new(),
        total_items: 0,
        slices: HashMap::new(),
        total_pixels: 0,
    };
    let root = &unpickled.root;
    if is_object(cx.arena, root, Global::RoiManager) {
        let manager = cx.manager(root)?;
        return Ok(LegacyRoiFile {
            mask_size: manager.mask_size,
            restrict_boxes: manager.boxes,
            rois: manager.rois,
            ..LegacyRoiFile::default()
        });
    }
    let Some(top) = cx.dict(root) else {
        return Err(structure(format!(
            "the pickle holds a {}, not a dict or an ROIManager",
            root.kind(cx.arena)
        )));
    };
    let (Some(classifications), Some(current)) =
        (top.get_str("classifications"), top.get_str("roiManager"))
    else {
        return Err(structure(
            "the dict has no 'classifications' or no 'roiManager'",
        ));
    };
    let classifications = cx.classifications(classifications)?;
    let manager = cx.manager(current)?;
    let current_time_point = match top.get_str("currentTimepoint") {
        None | Some(Value::None) => None,
        Some(v) => Some(index(v).ok_or_else(|| structure("'currentTimepoint' is not an index"))?),
    };
    let mut time_points = BTreeMap::new();
    if let Some(managers) = top
        .get_str("roiManagers")
        .filter(|v| !matches!(v, Value::None))
    {
        let Some(managers) = cx.dict(managers) else {
            return Err(structure("'roiManagers' is not a dict"));
        };
        for (key, value) in &managers.entries {
            let t = index(key).ok_or_else(|| structure("a time point is not an index"))?;
            if matches!(value, Value::None) {
                time_points.insert(t, Vec::new());
                continue;
            }
            // The current frame is pickled once and referred to from both places.
            let frame = match (value, current) {
                (Value::Node(a), Value::Node(b)) if a == b => {
                    for slice in manager.rois.iter().flat_map(|r| r.slices.values()) {
                        cx.count_again(slice).map_err(structure)?;
                    }
                    Manager {
                        mask_size: manager.mask_size,
                        boxes: BTreeMap::new(),
                        rois: manager.rois.clone(),
                    }
                }
                _ => cx.manager(value)?,
            };
            if frame.mask_size != manager.mask_size {
                return Err(structure(format!(
                    "time point {t} has masks of {:?}, the current one {:?}",
                    frame.mask_size, manager.mask_size
                )));
            }
            time_points.insert(t, frame.rois);
        }
    }
    Ok(LegacyRoiFile {
        mask_size: manager.mask_size,
        classifications,
        restrict_boxes: manager.boxes,
        rois: manager.rois,
        time_points,
        current_time_point,
    })
}

fn structure(reason: impl Into<String>) -> DecodeError {
    DecodeError::Structure {
        reason: reason.into(),
    }
}

fn is_object(arena: &[Node], value: &Value, class: Global) -> bool {
    matches!(value, Value::Node(id) if matches!(arena.get(*id), Some(Node::Object { class: c, .. }) if *c == class))
}

/// A non-negative integer (slice index, time point, box coordinate).
fn index(value: &Value) -> Option<usize> {
    match value {
        Value::Int(i) => usize::try_from(*i).ok(),
        Value::Bool(b) => Some(usize::from(*b)),
        Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15 => Some(*f as usize),
        _ => None,
    }
}

type DecodedMask = Result<Option<SliceMask>, String>;
/// A pair's arena index and the mask size it is read with.
type PairKey = (usize, Option<(usize, usize)>);

#[derive(Clone)]
struct Manager {
    mask_size: Option<(usize, usize)>,
    boxes: BTreeMap<usize, [usize; 4]>,
    rois: Vec<LegacyRoi>,
}

/// Where a stored mask comes from: the address of v3's compressed bytes, or the arena index of
/// a v1/v2 array (and whether it is packed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    Bytes(usize),
    Array(usize, bool),
}

struct Converter<'a> {
    arena: &'a [Node],
    /// Decoded masks by (stored bytes or array, rows, cols), kept from the second use on: a
    /// mask referred to from many slices is decoded at most twice, and a mask used once is not
    /// held twice in memory.
    masks: HashMap<(Source, usize, usize), Option<DecodedMask>>,
    /// Slices, ROIs and knots output so far (a memoised manager or ROI may be referred to
    /// again and again; every copy counts).
    total_items: usize,
    /// Converted pairs by (arena index, mask size), kept from the second use on.
    slices: HashMap<PairKey, Option<LegacySlice>>,
    total_pixels: usize,
}

impl<'a> Converter<'a> {
    fn node(&self, value: &Value) -> Option<&'a Node> {
        match value {
            Value::Node(id) => self.arena.get(*id),
            _ => None,
        }
    }

    fn dict(&self, value: &Value) -> Option<&'a Dict> {
        match self.node(value) {
            Some(Node::Dict(d)) => Some(d),
            _ => None,
        }
    }

    fn sequence(&self, value: &Value) -> Option<&'a [Value]> {
        match self.node(value) {
            Some(Node::List(items) | Node::Tuple(items)) => Some(items),
            _ => None,
        }
    }

    /// The BUILD state dict of an instance of `class`.
    fn state(&self, value: &Value, class: Global) -> Result<&'a Dict, String> {
        match self.node(value) {
            Some(Node::Object {
                class: c,
                state: Some(state),
            }) if *c == class => self
                .dict(state)
                .ok_or_else(|| format!("{} state is not a dict", class.name())),
            Some(Node::Object { class: c, .. }) if *c == class => {
                Err(format!("{} has no state", class.name()))
            }
            _ => Err(format!(
                "expected {}, found {}",
                class.name(),
                value.kind(self.arena)
            )),
        }
    }

    fn classifications(&self, value: &Value) -> Result<Vec<String>, DecodeError> {
        let items = self
            .sequence(value)
            .ok_or_else(|| structure("'classifications' is not a list"))?;
        items
            .iter()
            .map(|v| match v {
                Value::Str(s) => Ok(s.to_string()),
                // An unknown classification becomes 'None' when the original loads the file.
                Value::None => Ok("None".to_string()),
                _ => Err(structure("a classification is not a string")),
            })
            .collect()
    }

    fn manager(&mut self, value: &Value) -> Result<Manager, DecodeError> {
        let state = self.state(value, Global::RoiManager).map_err(structure)?;
        let mask_size = match state.get_str("mask_size") {
            None | Some(Value::None) => None,
            Some(v) => Some(
                self.size(v)
                    .ok_or_else(|| structure("ROIManager 'mask_size' is not (rows, cols)"))?,
            ),
        };
        if let Some(size) = mask_size {
            check_size(size).map_err(structure)?;
        }
        let boxes = match state.get_str("autosegment_subregions") {
            None | Some(Value::None) => BTreeMap::new(),
            Some(v) => self.boxes(v)?,
        };
        let all = state
            .get_str("allROIs")
            .and_then(|v| self.dict(v))
            .ok_or_else(|| structure("ROIManager has no 'allROIs' dict"))?;
        let mut rois = Vec::with_capacity(all.entries.len());
        for (name, slices) in &all.entries {
            let Value::Str(name) = name else {
                return Err(structure("an ROI name is not a string"));
            };
            rois.push(self.roi(name, slices, mask_size)?);
        }
        Ok(Manager {
            mask_size,
            boxes,
            rois,
        })
    }

    fn size(&self, value: &Value) -> Option<(usize, usize)> {
        match self.sequence(value)? {
            [rows, cols] => Some((index(rows)?, index(cols)?)),
            _ => None,
        }
    }

    fn boxes(&self, value: &Value) -> Result<BTreeMap<usize, [usize; 4]>, DecodeError> {
        let dict = self
            .dict(value)
            .ok_or_else(|| structure("'autosegment_subregions' is not a dict"))?;
        let mut out = BTreeMap::new();
        for (key, region) in &dict.entries {
            let bad = || structure("an autosegment subregion is not 4 indices keyed by slice");
            let slice = index(key).ok_or_else(bad)?;
            let items = self.sequence(region).ok_or_else(bad)?;
            let [a, b, c, d] = items else {
                return Err(bad());
            };
            let region = [index(a), index(b), index(c), index(d)];
            let [Some(a), Some(b), Some(c), Some(d)] = region else {
                return Err(bad());
            };
            out.insert(slice, [a, b, c, d]);
        }
        Ok(out)
    }

    fn roi(
        &mut self,
        name: &Rc<str>,
        slices: &Value,
        mask_size: Option<(usize, usize)>,
    ) -> Result<LegacyRoi, DecodeError> {
        let dict = self
            .dict(slices)
            .ok_or_else(|| structure(format!("ROI {name:?} is not a dict of slices")))?;
        self.add_items(1).map_err(structure)?;
        let mut out = BTreeMap::new();
        for (key, pair) in &dict.entries {
            let slice = index(key).ok_or_else(|| {
                structure(format!("ROI {name:?} has a slice that is not an index"))
            })?;
            let err = |reason: String| DecodeError::Slice {
                roi: name.to_string(),
                slice,
                reason,
            };
            let decoded = self.slice(pair, mask_size).map_err(err)?;
            out.insert(slice, decoded);
        }
        Ok(LegacyRoi {
            name: name.to_string(),
            slices: out,
        })
    }

    /// One pair; a pair referred to from several slices is converted at most twice (then
    /// copied), and every copy counts against the output limits.
    fn slice(
        &mut self,
        pair: &Value,
        manager_size: Option<(usize, usize)>,
    ) -> Result<LegacySlice, String> {
        let Value::Node(id) = pair else {
            return self.convert_slice(pair, manager_size);
        };
        let key = (*id, manager_size);
        match self.slices.get(&key) {
            Some(Some(done)) => {
                let done = done.clone();
                self.count_again(&done)?;
                Ok(done)
            }
            Some(None) => {
                let done = self.convert_slice(pair, manager_size)?;
                self.slices.insert(key, Some(done.clone()));
                Ok(done)
            }
            None => {
                self.slices.insert(key, None);
                self.convert_slice(pair, manager_size)
            }
        }
    }

    fn convert_slice(
        &mut self,
        pair: &Value,
        manager_size: Option<(usize, usize)>,
    ) -> Result<LegacySlice, String> {
        self.add_items(1)?;
        let state = self.state(pair, Global::RoiAndMaskPair)?;
        let pair_size = match state.get_str("mask_size") {
            None | Some(Value::None) => None,
            Some(v) => Some(self.size(v).ok_or("'mask_size' is not (rows, cols)")?),
        };
        if let (Some(m), Some(p)) = (manager_size, pair_size) {
            if m != p {
                return Err(format!("mask size {p:?} differs from the file's {m:?}"));
            }
        }
        if let Some(size) = pair_size {
            check_size(size)?;
        }
        let size = manager_size.or(pair_size);
        let version = match state.get_str("version") {
            None => 1,
            Some(Value::Int(v)) => *v,
            Some(_) => return Err("'version' is not an integer".into()),
        };
        let contours = match state.get_str("roi") {
            None | Some(Value::None) => Vec::new(),
            Some(v) => self.contours(v)?,
        };
        let mask = match state.get_str("mask") {
            None | Some(Value::None) => None,
            Some(stored) => self.mask(stored, version, size)?,
        };
        Ok(LegacySlice { contours, mask })
    }

    fn contours(&mut self, value: &Value) -> Result<Vec<Vec<[f64; 2]>>, String> {
        let bad = || "knots are not a list of (x, y) lists".to_string();
        let subrois = self.sequence(value).ok_or_else(bad)?;
        let knots = subrois
            .iter()
            .map(|k| self.sequence(k).map_or(0, <[Value]>::len))
            .fold(0usize, usize::saturating_add);
        self.add_items(knots)?;
        subrois
            .iter()
            .map(|knots| {
                self.sequence(knots)
                    .ok_or_else(bad)?
                    .iter()
                    .map(|knot| match self.sequence(knot) {
                        Some([x, y]) => {
                            Ok([number(x).ok_or_else(bad)?, number(y).ok_or_else(bad)?])
                        }
                        _ => Err(bad()),
                    })
                    .collect()
            })
            .collect()
    }

    fn mask(
        &mut self,
        stored: &Value,
        version: i64,
        size: Option<(usize, usize)>,
    ) -> Result<Option<SliceMask>, String> {
        let mask = if version >= 3 {
            let Value::Bytes(bytes) = stored else {
                return Err(format!(
                    "version {version} mask is a {}, not bytes",
                    stored.kind(self.arena)
                ));
            };
            let (rows, cols) = size.ok_or("the file has no mask size")?;
            let key = (
                Source::Bytes(Rc::as_ptr(bytes) as *const u8 as usize),
                rows,
                cols,
            );
            self.cached(key, || decode_compressed(bytes, (rows, cols)))?
        } else {
            let (Value::Node(id), Some(Node::Array(Some(array)))) = (stored, self.node(stored))
            else {
                return Err(format!(
                    "version {version} mask is a {}, not a numpy array",
                    stored.kind(self.arena)
                ));
            };
            let size = if version == 2 {
                size.ok_or("the file has no mask size")?
            } else {
                let size = size.or(match array.shape.as_slice() {
                    [r, c] => Some((*r, *c)),
                    _ => None,
                });
                size.ok_or("the mask is not 2-D")?
            };
            let key = (Source::Array(*id, version == 2), size.0, size.1);
            self.cached(key, || {
                if version == 2 {
                    unpack(array, size).map(Some)
                } else {
                    from_array(array, size).map(Some)
                }
            })?
        };
        if let Some(m) = &mask {
            self.add_pixels(m.rows() * m.cols())?;
        }
        Ok(mask)
    }

    fn cached(
        &mut self,
        key: (Source, usize, usize),
        decode: impl FnOnce() -> DecodedMask,
    ) -> DecodedMask {
        match self.masks.get(&key) {
            Some(Some(done)) => done.clone(),
            Some(None) => {
                let done = decode();
                self.masks.insert(key, Some(done.clone()));
                done
            }
            None => {
                self.masks.insert(key, None);
                decode()
            }
        }
    }

    fn add_pixels(&mut self, pixels: usize) -> Result<(), String> {
        self.total_pixels = self.total_pixels.saturating_add(pixels);
        if self.total_pixels > MAX_TOTAL_PIXELS {
            return Err(format!(
                "the file's masks hold more than {MAX_TOTAL_PIXELS} pixels together"
            ));
        }
        Ok(())
    }

    fn add_items(&mut self, items: usize) -> Result<(), String> {
        self.total_items = self.total_items.saturating_add(items);
        if self.total_items > MAX_TOTAL_ITEMS {
            return Err(format!(
                "the file holds more than {MAX_TOTAL_ITEMS} ROIs, slices and knots together"
            ));
        }
        Ok(())
    }

    /// Counts a slice output a second time.
    fn count_again(&mut self, slice: &LegacySlice) -> Result<(), String> {
        let knots = slice.contours.iter().map(Vec::len).sum::<usize>();
        self.add_items(1 + knots)?;
        if let Some(m) = &slice.mask {
            self.add_pixels(m.rows() * m.cols())?;
        }
        Ok(())
    }
}

fn check_size((rows, cols): (usize, usize)) -> Result<(), String> {
    if rows.checked_mul(cols).is_none_or(|n| n > MAX_SLICE_PIXELS) {
        return Err(format!(
            "mask size {rows} x {cols} is larger than {MAX_SLICE_PIXELS} pixels"
        ));
    }
    Ok(())
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        _ => None,
    }
}

/// Version 3: a bz2-compressed pickle of the mask array (`compressed_dumps(mask)`).
fn decode_compressed(
    bytes: &[u8],
    (rows, cols): (usize, usize),
) -> Result<Option<SliceMask>, String> {
    // The array's data (at most 16 bytes per pixel) plus room for the pickle around it.
    let limit = (rows * cols)
        .saturating_mul(16)
        .saturating_add(1 << 20)
        .min(MAX_DECOMPRESSED_BYTES);
    let decompressed;
    let data = if bz2::is_bz2(bytes) {
        decompressed = bz2::decompress(bytes, limit).map_err(|e| format!("stored mask: {e}"))?;
        decompressed.as_slice()
    } else {
        bytes
    };
    let inner = pickle::unpickle(data).map_err(|e| format!("stored mask: {e}"))?;
    match &inner.root {
        Value::Node(id) => match inner.arena.get(*id) {
            Some(Node::Array(Some(array))) => from_array(array, (rows, cols)).map(Some),
            _ => Err(format!(
                "stored mask is a {}, not a numpy array",
                inner.root.kind(&inner.arena)
            )),
        },
        // `get_mask` turns a pickled None into an all-zero mask.
        Value::None => SliceMask::new(rows, cols)
            .map(Some)
            .map_err(|e| e.to_string()),
        other => Err(format!(
            "stored mask is a {}, not a numpy array",
            other.kind(&inner.arena)
        )),
    }
}

fn from_array(array: &NdArray, (rows, cols): (usize, usize)) -> Result<SliceMask, String> {
    if array.shape != [rows, cols] {
        return Err(format!(
            "mask of shape {:?} ({}) does not match the file's mask size {rows} x {cols}",
            array.shape.iter().take(8).collect::<Vec<_>>(),
            array.dtype_name()
        ));
    }
    let flags = array.nonzero_row_major()?;
    SliceMask::from_bools(rows, cols, &flags).map_err(|e| e.to_string())
}

/// Version 2: `np.packbits(mask.astype(bool), axis=-1)`, bits most significant first. A
/// (rows, ceil(cols / 8)) array is unpacked row by row (the exact inverse of the packing; the
/// original's flat `unpackbits(...)[:rows * cols]` only agrees when cols is a multiple of 8);
/// any other shape is unpacked flat, as the original does.
fn unpack(array: &NdArray, (rows, cols): (usize, usize)) -> Result<SliceMask, String> {
    let packed = array.u8_row_major()?;
    let bit = |i: usize| {
        packed
            .get(i / 8)
            .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
    };
    let per_row = cols.div_ceil(8);
    let flags: Vec<bool> = if array.shape == [rows, per_row] {
        (0..rows * cols)
            .map(|i| bit((i / cols) * per_row * 8 + i % cols))
            .collect()
    } else if packed.len().saturating_mul(8) >= rows * cols {
        (0..rows * cols).map(bit).collect()
    } else {
        return Err(format!(
            "packed mask of {} bytes cannot hold {rows} x {cols} pixels",
            packed.len()
        ));
    };
    SliceMask::from_bools(rows, cols, &flags).map_err(|e| e.to_string())
}
