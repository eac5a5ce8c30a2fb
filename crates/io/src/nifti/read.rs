//! Header parsing (NIfTI-1 and NIfTI-2, either byte order), nibabel's load-time fixes and its
//! choice of affine, and assembling the volume.

use std::path::{Path, PathBuf};

use dafne_core::{Affine, DType, Geometry, GeometrySource, LinearMap, Rescale, SeriesInfo, Volume};

use super::data::Source;
use super::NiftiError;

const NIFTI1_HEADER_BYTES: usize = 348;
const NIFTI2_HEADER_BYTES: usize = 540;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NiftiVersion {
    Nifti1,
    Nifti2,
}

/// What a NIfTI header says, after the fixes nibabel applies when it loads one (qfac not ±1 -> 1,
/// pixdim[1..=3] of 0 -> 1 and negative -> absolute value, invalid xform codes -> 0).
#[derive(Clone, Debug, PartialEq)]
pub struct NiftiHeaderInfo {
    pub version: NiftiVersion,
    pub big_endian: bool,
    /// Magic `n+1`/`n+2` (header and data in one file) rather than `ni1`/`ni2` (pair).
    pub single_file: bool,
    /// `dim[1..=dim[0]]`, as nibabel's `get_data_shape`.
    pub shape: Vec<usize>,
    pub datatype_code: i16,
    /// None for types that cannot be read (complex, RGB, ...).
    pub dtype: Option<DType>,
    /// `pixdim[1..=dim[0]]`, as nibabel's `get_zooms`.
    pub zooms: Vec<f64>,
    pub vox_offset: u64,
    /// `scl_slope` / `scl_inter` as stored.
    pub scl_slope: f64,
    pub scl_inter: f64,
    /// The scaling nibabel applies: identity when the slope is 0 or not finite.
    pub scaling: LinearMap,
    pub qform_code: i32,
    pub sform_code: i32,
    /// The affine the quaternion fields describe (whatever qform_code says), RAS.
    pub qform_ras: Affine,
    /// The affine the srow fields describe (whatever sform_code says), RAS.
    pub sform_ras: Affine,
    /// nibabel's `get_best_affine`: sform, else qform, else the pixdim fallback.
    pub affine_ras: Affine,
    pub affine_source: GeometrySource,
    pub description: Option<String>,
    pub xyzt_units: i32,
}

impl NiftiHeaderInfo {
    /// Bytes of voxel data the header asks for (overflow-checked).
    fn data_bytes(&self) -> Result<usize, NiftiError> {
        let size = self.dtype.map(DType::size_bytes).unwrap_or(1) as u128;
        let total = self
            .shape
            .iter()
            .fold(size, |acc, &n| acc.saturating_mul(n as u128));
        usize::try_from(total)
            .ok()
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or(NiftiError::TooLarge { bytes: total })
    }
}

/// Reads a NIfTI-1/2 image: `.nii`, `.nii.gz`, or either file of a `.hdr`/`.img` pair.
pub fn read(path: &Path) -> Result<Volume, NiftiError> {
    if let Some(header_path) = header_of_image(path) {
        let header_bytes = read_file(&header_path)?;
        let image_bytes = read_file(path)?;
        return read_pair(&header_bytes, &image_bytes);
    }
    let bytes = read_file(path)?;
    let mut source = Source::new(&bytes);
    let header = parse_header(&mut source)?;
    if header.single_file {
        return decode_volume(&header, &mut source);
    }
    let image_path = image_of_header(path);
    let image_bytes = read_file(&image_path).map_err(|e| match e {
        NiftiError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            NiftiError::MissingImage { image: path }
        }
        other => other,
    })?;
    decode_volume(&header, &mut Source::new(&image_bytes))
}

/// Reads a single-file image (`.nii`, or `.nii.gz` detected by its gzip magic) held in memory.
pub fn read_bytes(header_and_data: &[u8]) -> Result<Volume, NiftiError> {
    let mut source = Source::new(header_and_data);
    let header = parse_header(&mut source)?;
    if !header.single_file {
        return Err(NiftiError::Header {
            reason: "magic says header/image pair, but only one file was given".into(),
        });
    }
    decode_volume(&header, &mut source)
}

/// Reads only the header (of a single file or of a pair's `.hdr`): works without the `.img`.
pub fn read_header(path: &Path) -> Result<NiftiHeaderInfo, NiftiError> {
    let header_path = header_of_image(path).unwrap_or_else(|| path.to_path_buf());
    let bytes = read_file(&header_path)?;
    parse_header(&mut Source::new(&bytes))
}

fn read_pair(header_bytes: &[u8], image_bytes: &[u8]) -> Result<Volume, NiftiError> {
    let header = parse_header(&mut Source::new(header_bytes))?;
    decode_volume(&header, &mut Source::new(image_bytes))
}

fn read_file(path: &Path) -> Result<Vec<u8>, NiftiError> {
    std::fs::read(path).map_err(|source| NiftiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Splits `name.ext[.gz]` into the stem, the extension and the gz suffix, case kept.
fn split_name(path: &Path) -> Option<(&str, &str, &str)> {
    let name = path.file_name()?.to_str()?;
    let (base, gz) = match name.len().checked_sub(3) {
        Some(cut) if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(".gz") => {
            name.split_at(cut)
        }
        _ => (name, ""),
    };
    let (stem, ext) = base.rsplit_once('.')?;
    Some((stem, ext, gz))
}

/// The sibling with extension `ext` (upper case when the original's was), trying the same
/// compression first and then the other.
fn sibling(path: &Path, ext: &str) -> PathBuf {
    let Some((stem, old_ext, gz)) = split_name(path) else {
        return path.with_extension(ext);
    };
    let upper = old_ext.chars().all(|c| c.is_ascii_uppercase());
    let ext = if upper {
        ext.to_ascii_uppercase()
    } else {
        ext.to_string()
    };
    let same = path.with_file_name(format!("{stem}.{ext}{gz}"));
    if same.exists() {
        return same;
    }
    let other_gz = if gz.is_empty() { ".gz" } else { "" };
    let other = path.with_file_name(format!("{stem}.{ext}{other_gz}"));
    if other.exists() {
        other
    } else {
        same
    }
}

/// For a pair's `.img[.gz]`, the `.hdr[.gz]` that describes it.
fn header_of_image(path: &Path) -> Option<PathBuf> {
    let (_, ext, _) = split_name(path)?;
    ext.eq_ignore_ascii_case("img")
        .then(|| sibling(path, "hdr"))
}

fn image_of_header(path: &Path) -> PathBuf {
    sibling(path, "img")
}

/// Reads little- or big-endian fields at fixed offsets of a header block.
struct Fields<'a> {
    bytes: &'a [u8],
    big_endian: bool,
}

impl Fields<'_> {
    fn array<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.bytes.get(offset..offset + N) {
            out.copy_from_slice(src);
        }
        if self.big_endian {
            out.reverse();
        }
        out
    }
    fn u8(&self, offset: usize) -> u8 {
        self.bytes.get(offset).copied().unwrap_or(0)
    }
    fn i16(&self, offset: usize) -> i16 {
        i16::from_le_bytes(self.array(offset))
    }
    fn i32(&self, offset: usize) -> i32 {
        i32::from_le_bytes(self.array(offset))
    }
    fn i64(&self, offset: usize) -> i64 {
        i64::from_le_bytes(self.array(offset))
    }
    fn f32(&self, offset: usize) -> f64 {
        f32::from_le_bytes(self.array(offset)) as f64
    }
    fn f64(&self, offset: usize) -> f64 {
        f64::from_le_bytes(self.array(offset))
    }
    fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        self.bytes.get(offset..offset + len).unwrap_or(&[])
    }
}

/// Where each field sits, per version; everything else is shared logic.
struct Raw {
    version: NiftiVersion,
    big_endian: bool,
    magic: Vec<u8>,
    dim: [i64; 8],
    datatype: i16,
    pixdim: [f64; 8],
    vox_offset: f64,
    scl_slope: f64,
    scl_inter: f64,
    qform_code: i32,
    sform_code: i32,
    quatern: [f64; 3],
    qoffset: [f64; 3],
    srow: [[f64; 4]; 3],
    descrip: Vec<u8>,
    xyzt_units: i32,
}

fn raw_fields(block: &[u8]) -> Result<Raw, NiftiError> {
    let first = block.get(..4).ok_or(NiftiError::Truncated {
        what: "the header",
        needed: 4,
        available: block.len() as u64,
    })?;
    let le = i32::from_le_bytes([first[0], first[1], first[2], first[3]]);
    let (version, big_endian) = match (le, le.swap_bytes()) {
        (348, _) => (NiftiVersion::Nifti1, false),
        (_, 348) => (NiftiVersion::Nifti1, true),
        (540, _) => (NiftiVersion::Nifti2, false),
        (_, 540) => (NiftiVersion::Nifti2, true),
        _ => {
            return Err(NiftiError::NotNifti {
                reason: format!(
                    "sizeof_hdr is {le}, not 348 (NIfTI-1) or 540 (NIfTI-2) in either byte order"
                ),
            })
        }
    };
    let size = if version == NiftiVersion::Nifti1 {
        NIFTI1_HEADER_BYTES
    } else {
        NIFTI2_HEADER_BYTES
    };
    if block.len() < size {
        return Err(NiftiError::Truncated {
            what: "the header",
            needed: size as u64,
            available: block.len() as u64,
        });
    }
    let f = Fields {
        bytes: block,
        big_endian,
    };
    let raw = match version {
        NiftiVersion::Nifti1 => Raw {
            version,
            big_endian,
            magic: f.bytes(344, 4).to_vec(),
            dim: std::array::from_fn(|i| f.i16(40 + 2 * i) as i64),
            datatype: f.i16(70),
            pixdim: std::array::from_fn(|i| f.f32(76 + 4 * i)),
            vox_offset: f.f32(108),
            scl_slope: f.f32(112),
            scl_inter: f.f32(116),
            qform_code: f.i16(252) as i32,
            sform_code: f.i16(254) as i32,
            quatern: std::array::from_fn(|i| f.f32(256 + 4 * i)),
            qoffset: std::array::from_fn(|i| f.f32(268 + 4 * i)),
            srow: std::array::from_fn(|r| std::array::from_fn(|c| f.f32(280 + 16 * r + 4 * c))),
            descrip: f.bytes(148, 80).to_vec(),
            xyzt_units: f.u8(123) as i32,
        },
        NiftiVersion::Nifti2 => Raw {
            version,
            big_endian,
            magic: f.bytes(4, 8).to_vec(),
            dim: std::array::from_fn(|i| f.i64(16 + 8 * i)),
            datatype: f.i16(12),
            pixdim: std::array::from_fn(|i| f.f64(104 + 8 * i)),
            vox_offset: f.i64(168) as f64,
            scl_slope: f.f64(176),
            scl_inter: f.f64(184),
            qform_code: f.i32(344),
            sform_code: f.i32(348),
            quatern: std::array::from_fn(|i| f.f64(352 + 8 * i)),
            qoffset: std::array::from_fn(|i| f.f64(376 + 8 * i)),
            srow: std::array::from_fn(|r| std::array::from_fn(|c| f.f64(400 + 32 * r + 8 * c))),
            descrip: f.bytes(240, 80).to_vec(),
            xyzt_units: f.i32(500),
        },
    };
    Ok(raw)
}

fn parse_header(source: &mut Source) -> Result<NiftiHeaderInfo, NiftiError> {
    let block = source.prefix(NIFTI2_HEADER_BYTES)?;
    let raw = raw_fields(block)?;
    let single_file = match (raw.version, raw.magic.get(..4)) {
        (NiftiVersion::Nifti1, Some(b"n+1\0")) | (NiftiVersion::Nifti2, Some(b"n+2\0")) => true,
        (NiftiVersion::Nifti1, Some(b"ni1\0")) | (NiftiVersion::Nifti2, Some(b"ni2\0")) => false,
        _ => {
            let shown = String::from_utf8_lossy(raw.magic.get(..3).unwrap_or(&[]));
            return Err(NiftiError::NotNifti {
                reason: format!("magic string {shown:?} is not a NIfTI magic"),
            });
        }
    };
    header_info(&raw, single_file)
}

fn header_info(raw: &Raw, single_file: bool) -> Result<NiftiHeaderInfo, NiftiError> {
    let ndim = raw.dim[0];
    if !(1..=7).contains(&ndim) {
        return Err(NiftiError::Header {
            reason: format!("dim[0] is {ndim}, must be 1 to 7"),
        });
    }
    let ndim = ndim as usize;
    let mut shape = Vec::with_capacity(ndim);
    for (axis, &n) in raw.dim[1..=ndim].iter().enumerate() {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| NiftiError::Header {
                reason: format!("dim[{}] is {n}, must be at least 1", axis + 1),
            })?;
        shape.push(n);
    }

    // nibabel's load-time fixes (Nifti1Header._chk_qfac, AnalyzeHeader._chk_pixdims).
    let mut pixdim = raw.pixdim;
    if pixdim[0] != 1.0 && pixdim[0] != -1.0 {
        pixdim[0] = 1.0;
    }
    for p in &mut pixdim[1..4] {
        *p = if *p == 0.0 { 1.0 } else { p.abs() };
    }
    let valid_code = |c: i32| if (0..=5).contains(&c) { c } else { 0 };
    let (qform_code, sform_code) = (valid_code(raw.qform_code), valid_code(raw.sform_code));

    let qform_ras = qform_affine(raw.quatern, raw.qoffset, pixdim, raw.version);
    let mut sform_ras = IDENTITY;
    for (r, row) in raw.srow.iter().enumerate() {
        sform_ras[r] = *row;
    }
    let (affine_ras, affine_source) = if sform_code != 0 {
        (sform_ras, GeometrySource::NiftiSform)
    } else if qform_code != 0 {
        (qform_ras, GeometrySource::NiftiQform)
    } else {
        (
            fallback_affine(&shape, &pixdim),
            GeometrySource::NiftiFallback,
        )
    };

    let min_offset = match raw.version {
        NiftiVersion::Nifti1 => NIFTI1_HEADER_BYTES + 4,
        NiftiVersion::Nifti2 => NIFTI2_HEADER_BYTES + 4,
    } as f64;
    if !raw.vox_offset.is_finite() || raw.vox_offset < 0.0 || raw.vox_offset > u64::MAX as f64 / 2.0
    {
        return Err(NiftiError::Header {
            reason: format!("vox_offset {} is not a valid byte offset", raw.vox_offset),
        });
    }
    // A single file's data cannot start inside its header; nifti1_io and nibabel's checker move
    // an offset that is too small (usually 0) to the end of the header.
    let vox_offset = if single_file {
        raw.vox_offset.max(min_offset)
    } else {
        raw.vox_offset
    } as u64;

    let scaling = if raw.scl_slope == 0.0 || !raw.scl_slope.is_finite() {
        LinearMap::IDENTITY
    } else {
        let intercept = if raw.scl_inter.is_finite() {
            raw.scl_inter
        } else {
            0.0
        };
        LinearMap {
            slope: raw.scl_slope,
            intercept,
        }
    };
    let end = raw
        .descrip
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(raw.descrip.len());
    let description = String::from_utf8_lossy(&raw.descrip[..end])
        .trim()
        .to_string();

    Ok(NiftiHeaderInfo {
        version: raw.version,
        big_endian: raw.big_endian,
        single_file,
        zooms: pixdim[1..=ndim].to_vec(),
        shape,
        datatype_code: raw.datatype,
        dtype: dtype_of(raw.datatype).ok(),
        vox_offset,
        scl_slope: raw.scl_slope,
        scl_inter: raw.scl_inter,
        scaling,
        qform_code,
        sform_code,
        qform_ras,
        sform_ras,
        affine_ras,
        affine_source,
        description: (!description.is_empty()).then_some(description),
        xyzt_units: raw.xyzt_units,
    })
}

const IDENTITY: Affine = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// nibabel's `get_qform`: quaternion (b, c, d) with a = sqrt(1 - b² - c² - d²) (0 when that is
/// negative), rotation normalised by the quaternion norm, zooms pixdim[1..=3], the third one
/// times qfac.
///
/// `a` is computed in the precision the fields are stored in (float32 for NIfTI-1), as nibabel
/// does: near a 180° rotation a ≈ 0 and sqrt magnifies the last bit of b, c, d into errors of
/// 1e-4, so the precision decides whether the rounding residue counts.
fn qform_affine(
    bcd: [f64; 3],
    offset: [f64; 3],
    pixdim: [f64; 8],
    version: NiftiVersion,
) -> Affine {
    let [b, c, d] = bcd;
    let w2 = match version {
        NiftiVersion::Nifti1 => {
            let (b, c, d) = (b as f32, c as f32, d as f32);
            (1.0f32 - (b * b + c * c + d * d)) as f64
        }
        NiftiVersion::Nifti2 => 1.0 - (b * b + c * c + d * d),
    };
    let a = if w2 > 0.0 { w2.sqrt() } else { 0.0 };
    let rot = quaternion_to_matrix([a, b, c, d]);
    let zooms = [pixdim[1], pixdim[2], pixdim[3] * pixdim[0]];
    let mut out = IDENTITY;
    for r in 0..3 {
        for c in 0..3 {
            out[r][c] = rot[r][c] * zooms[c];
        }
        out[r][3] = offset[r];
    }
    out
}

/// Rotation matrix of a quaternion (w, x, y, z), as transforms3d's `quat2mat`.
pub(super) fn quaternion_to_matrix(q: [f64; 4]) -> [[f64; 3]; 3] {
    let [w, x, y, z] = q;
    let nq = w * w + x * x + y * y + z * z;
    if nq < f64::EPSILON {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    }
    let s = 2.0 / nq;
    let (xs, ys, zs) = (x * s, y * s, z * s);
    let (wx, wy, wz) = (w * xs, w * ys, w * zs);
    let (xx, xy, xz) = (x * xs, x * ys, x * zs);
    let (yy, yz, zz) = (y * ys, y * zs, z * zs);
    [
        [1.0 - (yy + zz), xy - wz, xz + wy],
        [xy + wz, 1.0 - (xx + zz), yz - wx],
        [xz - wy, yz + wx, 1.0 - (xx + yy)],
    ]
}

/// nibabel's `shape_zoom_affine(shape, zooms, x_flip=True)`: diag(-zx, zy, zz) centred so voxel
/// (n - 1) / 2 sits at the origin.
fn fallback_affine(shape: &[usize], pixdim: &[f64; 8]) -> Affine {
    let mut out = IDENTITY;
    for axis in 0..3 {
        let n = shape.get(axis).copied().unwrap_or(1) as f64;
        let zoom = if axis < shape.len() {
            pixdim[axis + 1]
        } else {
            1.0
        };
        let zoom = if axis == 0 { -zoom } else { zoom };
        out[axis][axis] = zoom;
        out[axis][3] = -(n - 1.0) / 2.0 * zoom;
    }
    out
}

fn dtype_of(code: i16) -> Result<DType, NiftiError> {
    let unsupported = |name| Err(NiftiError::UnsupportedDatatype { code, name });
    match code {
        2 => Ok(DType::U8),
        4 => Ok(DType::I16),
        8 => Ok(DType::I32),
        16 => Ok(DType::F32),
        64 => Ok(DType::F64),
        256 => Ok(DType::I8),
        512 => Ok(DType::U16),
        768 => Ok(DType::U32),
        1024 => Ok(DType::I64),
        1280 => Ok(DType::U64),
        0 => unsupported("unknown"),
        1 => unsupported("binary (1 bit)"),
        32 => unsupported("complex64"),
        128 => unsupported("RGB24"),
        1536 => unsupported("float128"),
        1792 => unsupported("complex128"),
        2048 => unsupported("complex256"),
        2304 => unsupported("RGBA32"),
        _ => unsupported("not defined by NIfTI"),
    }
}

fn decode_volume(header: &NiftiHeaderInfo, data: &mut Source) -> Result<Volume, NiftiError> {
    let dtype = dtype_of(header.datatype_code)?;
    if header.shape.iter().skip(4).any(|&n| n > 1) {
        return Err(NiftiError::UnsupportedDims {
            shape: header.shape.clone(),
        });
    }
    let dims: [usize; 4] = std::array::from_fn(|a| header.shape.get(a).copied().unwrap_or(1));
    let data_bytes = header.data_bytes()?;
    let offset = usize::try_from(header.vox_offset).unwrap_or(usize::MAX);
    let needed = offset.checked_add(data_bytes).ok_or(NiftiError::TooLarge {
        bytes: data_bytes as u128,
    })?;
    // Refuse before allocating when the file cannot possibly hold the data.
    if needed > data.max_len() {
        return Err(NiftiError::Truncated {
            what: "the image data",
            needed: needed as u64,
            available: data.max_len() as u64,
        });
    }
    let voxels = data.voxels(offset, data_bytes, dtype, header.big_endian)?;
    let geometry = Geometry::from_ras(header.affine_ras, header.affine_source);
    let info = SeriesInfo {
        format: match header.version {
            NiftiVersion::Nifti1 => "NIfTI-1",
            NiftiVersion::Nifti2 => "NIfTI-2",
        }
        .to_string(),
        description: header.description.clone(),
        ..SeriesInfo::default()
    };
    Volume::new(
        dims,
        voxels,
        Rescale::Uniform(header.scaling),
        geometry,
        info,
    )
    .map_err(|source| NiftiError::Volume { source })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pair_siblings_keep_case_and_compression() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = dir.path().join("Brain.HDR");
        assert_eq!(header_of_image(&dir.path().join("Brain.IMG")), Some(hdr));
        std::fs::write(dir.path().join("x.img.gz"), b"").unwrap();
        assert_eq!(
            image_of_header(&dir.path().join("x.hdr")),
            dir.path().join("x.img.gz")
        );
        assert_eq!(
            image_of_header(&dir.path().join("y.hdr.gz")),
            dir.path().join("y.img.gz")
        );
        assert_eq!(header_of_image(&dir.path().join("y.nii")), None);
    }

    #[test]
    fn fallback_affine_flips_x_and_centres() {
        let mut pixdim = [1.0; 8];
        pixdim[1..4].copy_from_slice(&[2.0, 3.0, 4.0]);
        let a = fallback_affine(&[5, 7, 9], &pixdim);
        assert_eq!(a[0], [-2.0, 0.0, 0.0, 4.0]);
        assert_eq!(a[1], [0.0, 3.0, 0.0, -9.0]);
        assert_eq!(a[2], [0.0, 0.0, 4.0, -16.0]);
    }

    #[test]
    fn negative_w2_within_rounding_gives_a_zero() {
        // b² + c² + d² slightly above 1: a = 0, rotation by 180° about the normalised axis.
        let m = qform_affine(
            [1.0 + 1e-8, 0.0, 0.0],
            [0.0; 3],
            [1.0; 8],
            NiftiVersion::Nifti2,
        );
        assert!(
            (m[0][0] - 1.0).abs() < 1e-7
                && (m[1][1] + 1.0).abs() < 1e-7
                && (m[2][2] + 1.0).abs() < 1e-7
        );
    }
}
