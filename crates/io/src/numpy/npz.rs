//! The original Dafne's "numpy bundle" (`.npz`, `np.savez_compressed`): keys `data` (or
//! `image`), `data2`…, `contrast_names`, `resolution` ([row_mm, col_mm, slice_mm]), `affine`
//! (4x4 RAS whose columns follow the array axes), `comment` and `mask_<ROI>`.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use dafne_core::{
    Affine, Geometry, GeometrySource, LinearMap, Rescale, SeriesInfo, Volume, Voxels,
};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use super::layout::{numpy_shape, to_c_order, to_layout};
use super::npy::{self, NpyArray};
use super::{volume_array, NumpyError};

/// Deflate cannot expand data by more than about 1032:1; members claiming more are corrupt.
const MAX_DEFLATE_RATIO: u64 = 1032;
const SIZE_SLACK: u64 = 1 << 16;
/// `affine` columns that disagree with `resolution` by more than this are rescaled to it.
const SPACING_RTOL: f64 = 1e-3;

/// A bundle as the original writes it.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// `data` (or `image`), with the geometry of `affine` or `resolution`. Its description is
    /// the bundle's comment.
    pub volume: Volume,
    /// `data2`, `data3`, … named by `contrast_names`, sharing the volume's geometry.
    pub contrasts: Vec<Contrast>,
    /// `mask_<ROI>` in the order stored (the original's ROI order).
    pub masks: Vec<BundleMask>,
    pub comment: Option<String>,
    /// `resolution` as stored, padded to 3: [row_mm, col_mm, slice_mm].
    pub resolution_mm: Option<[f64; 3]>,
}

#[derive(Clone, Debug)]
pub struct Contrast {
    pub name: String,
    pub volume: Volume,
}

/// One ROI mask: 1 where the stored value is > 0, in the volume's layout (axis 0 fastest).
#[derive(Clone, Debug, PartialEq)]
pub struct BundleMask {
    pub name: String,
    /// The volume's dims, or only its first frame's ([W, H, Z, 1]) for a 3-D mask of 4-D data.
    pub dims: [usize; 4],
    pub voxels: Vec<u8>,
}

/// What to write into a bundle, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct BundleParts<'a> {
    pub volume: &'a Volume,
    pub contrasts: &'a [Contrast],
    pub masks: &'a [BundleMask],
    pub comment: Option<&'a str>,
}

impl Bundle {
    pub fn parts(&self) -> BundleParts<'_> {
        BundleParts {
            volume: &self.volume,
            contrasts: &self.contrasts,
            masks: &self.masks,
            comment: self.comment.as_deref(),
        }
    }
}

/// Reads a bundle file; see [`read_bundle_bytes`].
pub fn read_bundle(path: &Path) -> Result<Bundle, NumpyError> {
    let bytes = std::fs::read(path).map_err(|source| NumpyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_bundle_bytes(&bytes)
}

/// Reads a bundle held in memory. Keys other than the ones above are ignored.
pub fn read_bundle_bytes(bytes: &[u8]) -> Result<Bundle, NumpyError> {
    let members = npz_members(bytes, is_bundle_key)?;
    let member = |key: &str| {
        members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, b)| b.as_slice())
    };
    let (data_key, data_bytes) = match (member("data"), member("image")) {
        (Some(b), _) => ("data", b),
        (None, Some(b)) => ("image", b),
        (None, None) => return Err(NumpyError::MissingData),
    };
    let (data_shape, dims, voxels) = layout(data_key, data_bytes)?;

    let resolution_mm = member("resolution").map(resolution).transpose()?;
    let affine = member("affine").map(array_affine).transpose()?;
    let geometry = bundle_geometry(resolution_mm, affine);
    // A comment numpy cannot hold as `<U` (bytes, an object) is not worth refusing the bundle.
    let comment = member("comment")
        .and_then(|b| strings(b).ok())
        .and_then(|s| s.into_iter().next())
        .filter(|c| !c.is_empty());
    let info = SeriesInfo {
        format: "NumPy bundle".into(),
        description: comment.clone(),
        ..SeriesInfo::default()
    };

    let volume = new_volume(dims, voxels, geometry.clone(), info.clone())?;

    let names = member("contrast_names")
        .and_then(|b| strings(b).ok())
        .unwrap_or_default();
    let mut numbered: Vec<(u32, &str, &[u8])> = members
        .iter()
        .filter_map(|(k, b)| {
            Some((
                k.strip_prefix("data")?
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n >= 2)?,
                k.as_str(),
                b.as_slice(),
            ))
        })
        .collect();
    numbered.sort_by_key(|(n, _, _)| *n);
    let mut contrasts = Vec::with_capacity(numbered.len());
    for (n, key, bytes) in numbered {
        let (shape, dims, voxels) = layout(key, bytes)?;
        if shape != data_shape {
            return Err(entry(
                key,
                format!("shape {shape:?} differs from the data's {data_shape:?}"),
            ));
        }
        let name = names
            .get(n as usize - 2)
            .cloned()
            .unwrap_or_else(|| key.to_string());
        contrasts.push(Contrast {
            name,
            volume: new_volume(dims, voxels, geometry.clone(), info.clone())?,
        });
    }

    let mut masks = Vec::new();
    for (key, bytes) in &members {
        let Some(name) = key.strip_prefix("mask_") else {
            continue;
        };
        let arr = array(key, bytes)?;
        if arr.shape != data_shape && (data_shape.len() != 4 || arr.shape[..] != data_shape[..3]) {
            return Err(entry(
                key,
                format!(
                    "shape {:?} differs from the data's {data_shape:?}",
                    arr.shape
                ),
            ));
        }
        let (dims, voxels) = to_layout(&arr.shape, arr.fortran_order, arr.voxels)
            .map_err(|e| member_error(key, e))?;
        // The macro expands for every voxel type, f64 included.
        #[allow(clippy::unnecessary_cast)]
        let voxels = dafne_core::with_voxels!(&voxels, v => v.iter().map(|&x| (x as f64 > 0.0) as u8).collect());
        masks.push(BundleMask {
            name: name.to_string(),
            dims,
            voxels,
        });
    }
    Ok(Bundle {
        volume,
        contrasts,
        masks,
        comment,
        resolution_mm,
    })
}

/// Whether the bundle reader uses a member.
fn is_bundle_key(key: &str) -> bool {
    matches!(
        key,
        "data" | "image" | "resolution" | "affine" | "comment" | "contrast_names"
    ) || key.starts_with("mask_")
        || key
            .strip_prefix("data")
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// The `.npy` members whose key (name without `.npy`) is `wanted`, decompressed, in archive
/// order.
pub(crate) fn npz_members(
    bytes: &[u8],
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Vec<u8>)>, NumpyError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|source| NumpyError::Zip { source })?;
    // All members together cannot hold more than deflate can expand the archive to (this also
    // stops archives whose entries overlap to reuse the same compressed bytes).
    let mut budget = (bytes.len() as u64)
        .saturating_mul(MAX_DEFLATE_RATIO)
        .saturating_add(SIZE_SLACK);
    let mut out = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|source| NumpyError::Zip { source })?;
        let name = file
            .name()
            .map_err(|source| NumpyError::Zip { source })?
            .into_owned();
        let Some(key) = name.strip_suffix(".npy") else {
            continue;
        };
        if !wanted(key) {
            continue;
        }
        let claimed = file.size();
        if claimed > budget {
            return Err(NumpyError::MemberSize {
                name,
                claimed,
                reason: "the archive cannot hold that much",
            });
        }
        budget -= claimed;
        let mut buf = Vec::with_capacity(claimed as usize);
        if let Err(source) = file.by_ref().take(claimed + 1).read_to_end(&mut buf) {
            return Err(NumpyError::Inflate { name, source });
        }
        if buf.len() as u64 != claimed {
            return Err(NumpyError::MemberSize {
                name,
                claimed,
                reason: "it decompresses to a different size",
            });
        }
        out.push((key.to_string(), buf));
    }
    Ok(out)
}

fn entry(key: &str, reason: String) -> NumpyError {
    NumpyError::BundleEntry {
        key: key.to_string(),
        reason,
    }
}

fn member_error(key: &str, source: NumpyError) -> NumpyError {
    NumpyError::Member {
        name: format!("{key}.npy"),
        source: Box::new(source),
    }
}

fn array(key: &str, bytes: &[u8]) -> Result<NpyArray, NumpyError> {
    npy::read_npy_bytes(bytes).map_err(|e| member_error(key, e))
}

fn strings(bytes: &[u8]) -> Result<Vec<String>, NumpyError> {
    let (header, data) = npy::parse(bytes)?;
    npy::decode_strings(&header, data)
}

/// Values of a 1-D or 2-D numeric array in C order (row-major), whatever its storage order.
fn c_order_values(key: &str, bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>), NumpyError> {
    let arr = array(key, bytes)?;
    #[allow(clippy::unnecessary_cast)]
    let flat: Vec<f64> =
        dafne_core::with_voxels!(&arr.voxels, v => v.iter().map(|&x| x as f64).collect());
    match (arr.fortran_order, arr.shape.as_slice()) {
        (true, &[rows, cols]) => {
            let c_order = (0..rows * cols)
                .map(|i| flat[(i % cols) * rows + i / cols])
                .collect();
            Ok((arr.shape, c_order))
        }
        (_, shape) if shape.len() <= 2 => Ok((arr.shape, flat)),
        _ => Err(entry(
            key,
            format!("shape {:?} has more than 2 axes", arr.shape),
        )),
    }
}

fn resolution(bytes: &[u8]) -> Result<[f64; 3], NumpyError> {
    let (shape, values) = c_order_values("resolution", bytes)?;
    let res = match (shape.as_slice(), values.as_slice()) {
        ([2], &[r, c]) => [r, c, 1.0],
        ([3], &[r, c, s]) => [r, c, s],
        _ => {
            return Err(entry(
                "resolution",
                format!("shape {shape:?} is not (2,) or (3,)"),
            ))
        }
    };
    if res.iter().any(|v| !v.is_finite() || *v <= 0.0) {
        return Err(entry(
            "resolution",
            format!("{res:?} is not a positive spacing"),
        ));
    }
    Ok(res)
}

fn array_affine(bytes: &[u8]) -> Result<Affine, NumpyError> {
    let (shape, values) = c_order_values("affine", bytes)?;
    if shape != [4, 4] || values.iter().any(|v| !v.is_finite()) {
        return Err(entry(
            "affine",
            format!("shape {shape:?} is not a finite 4x4 matrix"),
        ));
    }
    Ok(std::array::from_fn(|r| {
        std::array::from_fn(|c| values[4 * r + c])
    }))
}

/// Our geometry: the affine with its first two columns swapped (array rows/cols -> our axes
/// 1/0), RAS -> LPS. When the affine's column lengths disagree with `resolution` (a bundle made
/// from an array with an identity affine), the spacing the original displayed and measured with
/// wins: the columns keep their directions and take the resolution's lengths.
fn bundle_geometry(resolution_mm: Option<[f64; 3]>, affine: Option<Affine>) -> Geometry {
    let spacing = resolution_mm.map(|[r, c, s]| [c, r, s]);
    let Some(array_affine) = affine else {
        return Geometry::from_spacing(spacing.unwrap_or([1.0; 3]), GeometrySource::Missing);
    };
    let mut ras = array_affine;
    for row in ras.iter_mut() {
        row.swap(0, 1);
    }
    ras[3] = [0.0, 0.0, 0.0, 1.0];
    if let Some(spacing) = spacing {
        for (c, &want) in spacing.iter().enumerate() {
            let norm = (0..3).map(|r| ras[r][c] * ras[r][c]).sum::<f64>().sqrt();
            if norm > 0.0 && ((norm - want) / want).abs() > SPACING_RTOL {
                for row in ras.iter_mut().take(3) {
                    row[c] *= want / norm;
                }
            }
        }
    }
    Geometry::from_ras(ras, GeometrySource::NumpyAffine)
}

fn layout(key: &str, bytes: &[u8]) -> Result<(Vec<usize>, [usize; 4], Voxels), NumpyError> {
    npy::read_npy_layout(bytes).map_err(|e| member_error(key, e))
}

/// A volume of NumPy values: stored as they are, no rescale.
pub(super) fn new_volume(
    dims: [usize; 4],
    voxels: Voxels,
    geometry: Geometry,
    info: SeriesInfo,
) -> Result<Volume, NumpyError> {
    Volume::new(
        dims,
        voxels,
        Rescale::Uniform(LinearMap::IDENTITY),
        geometry,
        info,
    )
    .map_err(|source| NumpyError::Volume { source })
}

/// Writes a volume as a bundle, its description as the comment.
pub fn write_bundle(volume: &Volume, path: &Path) -> Result<(), NumpyError> {
    let parts = BundleParts {
        volume,
        contrasts: &[],
        masks: &[],
        comment: volume.info.description.as_deref(),
    };
    write_bundle_parts(&parts, path)
}

/// Writes a bundle as the original does (`np.savez_compressed`): `data` (stored values, or real
/// values as float32 when the rescale is not the identity), `resolution` (float64 [row, col,
/// slice] mm), `affine` (float64 RAS, columns in array-axis order), `comment` (a 0-d `<U` string),
/// `data2`… with `contrast_names`, and `mask_<ROI>` as uint8 — deflated, written atomically.
pub fn write_bundle_parts(parts: &BundleParts, path: &Path) -> Result<(), NumpyError> {
    let volume = parts.volume;
    let dims = volume.dims();
    let mut members: Vec<(String, Vec<u8>)> =
        vec![("data".into(), npy::npy_bytes(&volume_array(volume)))];

    for (i, contrast) in parts.contrasts.iter().enumerate() {
        let key = format!("data{}", i + 2);
        if contrast.volume.dims() != dims {
            return Err(entry(
                &key,
                format!(
                    "dims {:?} differ from the volume's {dims:?}",
                    contrast.volume.dims()
                ),
            ));
        }
        members.push((key, npy::npy_bytes(&volume_array(&contrast.volume))));
    }
    if !parts.contrasts.is_empty() {
        let names: Vec<&str> = parts.contrasts.iter().map(|c| c.name.as_str()).collect();
        members.push((
            "contrast_names".into(),
            npy::unicode_npy_bytes(&names, &[names.len()]),
        ));
    }

    let spacing = volume.geometry.spacing_mm();
    let resolution = [spacing[1], spacing[0], spacing[2]];
    members.push(("resolution".into(), float_npy(&resolution, vec![3])));
    let mut ras = volume.geometry.affine_ras();
    for row in ras.iter_mut() {
        row.swap(0, 1);
    }
    members.push(("affine".into(), float_npy(ras.as_flattened(), vec![4, 4])));
    if let Some(comment) = parts.comment {
        members.push(("comment".into(), npy::unicode_npy_bytes(&[comment], &[])));
    }

    let frame_dims = [dims[0], dims[1], dims[2], 1];
    for mask in parts.masks {
        let key = format!("mask_{}", mask.name);
        if (mask.dims != dims && mask.dims != frame_dims)
            || mask.voxels.len() != mask.dims.iter().product::<usize>()
        {
            return Err(entry(
                &key,
                format!("dims {:?} do not match the volume's {dims:?}", mask.dims),
            ));
        }
        let array = NpyArray {
            shape: numpy_shape(mask.dims),
            voxels: Voxels::U8(to_c_order(&mask.voxels, mask.dims)),
            fortran_order: false,
        };
        members.push((key, npy::npy_bytes(&array)));
    }

    write_npz(path, &members)
}

/// Writes `.npy` members (`key` -> `key.npy`) as a deflated `.npz`, atomically.
pub(crate) fn write_npz(path: &Path, members: &[(String, Vec<u8>)]) -> Result<(), NumpyError> {
    crate::fs::write_atomically(path, |out| {
        let mut zip = zip::ZipWriter::new(out);
        for (key, bytes) in members {
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(crate::nifti::GZIP_LEVEL as i64))
                .large_file(bytes.len() as u64 >= u32::MAX as u64);
            zip.start_file(format!("{key}.npy"), options)
                .map_err(std::io::Error::other)?;
            zip.write_all(bytes)?;
        }
        zip.finish().map_err(std::io::Error::other)?;
        Ok(())
    })
    .map_err(|source| NumpyError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn float_npy(values: &[f64], shape: Vec<usize>) -> Vec<u8> {
    npy::npy_bytes(&NpyArray {
        shape,
        voxels: Voxels::F64(values.to_vec()),
        fortran_order: false,
    })
}
