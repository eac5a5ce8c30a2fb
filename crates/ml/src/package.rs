//! Model packages: a folder with `manifest.json` and `weights.safetensors`. Data only: nothing
//! in a package is executed. The manifest names a known architecture and its config; loading
//! verifies the weights' sha256 before reading them. Format: `docs/model-package.md`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::unet::{self, CosciaUnet};
use crate::MlError;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// Manifests with a higher `format_version` are refused.
pub const FORMAT_VERSION: u32 = 1;

/// Everything about a model except its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Stable identity across versions (the original's `model_id`, a UUID).
    pub id: String,
    /// Increases with every update (the original's `timestamp_id`, unix seconds).
    pub version: u64,
    /// Display name ("Thigh").
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub architecture: ArchitectureSpec,
    /// What each image channel the network reads holds, in order (["image"]).
    pub input_channels: Vec<String>,
    /// Output classes; value 0 is the background and is not listed.
    pub labels: Vec<Label>,
    pub preprocessing: Preprocessing,
    /// The original's `variants` (`["", "Left", "Right"]`).
    #[serde(default)]
    pub variants: Vec<String>,
    /// Hierarchical categories (`[["MSK", "Muscle", "Lower limbs"]]`).
    #[serde(default)]
    pub categories: Vec<Vec<String>>,
    /// 2 (slice by slice) or 3.
    pub dimensionality: u8,
    /// Absent: the model cannot learn incrementally.
    #[serde(default)]
    pub incremental_learning: Option<IncrementalLearning>,
    /// Lowercase hex sha256 of `weights.safetensors`; written by [`Package::save`].
    pub weights_sha256: String,
    /// SPDX identifier or free text.
    pub licence: String,
    pub provenance: Provenance,
}

impl Manifest {
    /// The original's Thigh model as data (reference §3.4): its 12 labels, 1.037037 mm, a 432
    /// canvas split into two mirrored 250 × 250 crops, N4 8 × 50 on an Otsu mask of 200 bins
    /// (rescaled to 600 below 350), its incremental-learning recipe (band 49 px²); `cfg` is
    /// the network. Id, name, version and provenance are placeholders for the caller to set.
    pub fn original_thigh(cfg: &unet::Config) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            id: "thigh".into(),
            version: 1,
            name: "Thigh".into(),
            description: String::new(),
            architecture: ArchitectureSpec::coscia_unet(cfg),
            input_channels: vec!["image".into()],
            labels: dafne_core::THIGH_LABELS
                .iter()
                .enumerate()
                .map(|(i, (short, long))| Label {
                    value: i as u32 + 1,
                    name: (*short).into(),
                    long_name: (*long).into(),
                })
                .collect(),
            preprocessing: Preprocessing {
                resolution_mm: 1.037037,
                canvas_px: 432,
                crop_px: cfg.input_size,
                normalise_max: 600.0,
                bias_correction: Some(BiasCorrection {
                    levels: 8,
                    iterations: 50,
                    otsu_bins: 200,
                    rescale_below: 350.0,
                }),
                split_laterality: true,
                orientation: "axial".into(),
            },
            variants: vec![String::new()],
            categories: Vec::new(),
            dimensionality: 2,
            incremental_learning: Some(IncrementalLearning {
                learning_rate: 1e-3,
                epochs: 5,
                batch_size: 5,
                min_training_images: 5,
                boundary_weight: 10.0,
                boundary_band_px2: 49.0,
                class_frequency_weights: true,
            }),
            weights_sha256: String::new(),
            licence: "unspecified".into(),
            provenance: Provenance::default(),
        }
    }
}

/// Architecture name and its config (parsed by the architecture's own `Config`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureSpec {
    pub name: String,
    pub config: serde_json::Value,
}

/// A parsed, known architecture.
#[derive(Clone, Debug, PartialEq)]
pub enum Architecture {
    CosciaUnet(unet::Config),
}

/// Architectures this program can build.
pub const KNOWN_ARCHITECTURES: &[&str] = &[unet::ARCHITECTURE];

impl ArchitectureSpec {
    pub fn coscia_unet(cfg: &unet::Config) -> ArchitectureSpec {
        ArchitectureSpec {
            name: unet::ARCHITECTURE.into(),
            // A plain struct of numbers always serialises.
            config: serde_json::to_value(cfg).unwrap_or_default(),
        }
    }

    pub fn parse(&self) -> Result<Architecture, MlError> {
        match self.name.as_str() {
            unet::ARCHITECTURE => {
                let cfg: unet::Config =
                    serde_json::from_value(self.config.clone()).map_err(|source| {
                        MlError::ArchitectureConfig {
                            name: self.name.clone(),
                            source,
                        }
                    })?;
                cfg.validate()?;
                Ok(Architecture::CosciaUnet(cfg))
            }
            _ => Err(MlError::UnknownArchitecture {
                name: self.name.clone(),
                known: KNOWN_ARCHITECTURES.join(", "),
            }),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Class index in the network output (1..).
    pub value: u32,
    /// Short name ("VL").
    pub name: String,
    /// The ROI name the user sees ("Vastus Lateralis"; `_R`/`_L` are added when split).
    pub long_name: String,
}

/// How a slice becomes network input (the original's apply pipeline, reference §3.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Pixel size the network expects (1.037037 mm for the original's thigh and leg).
    pub resolution_mm: f64,
    /// Square canvas the resampled slice is padded/cropped to before the split (432).
    pub canvas_px: usize,
    /// Network input rows and columns (250 × 250 thigh).
    pub crop_px: [usize; 2],
    /// Intensities scaled so the maximum is this value (600).
    pub normalise_max: f64,
    #[serde(default)]
    pub bias_correction: Option<BiasCorrection>,
    /// Split into left/right crops, mirror the right one (the original's `split_mirror`).
    pub split_laterality: bool,
    /// Orientation the slices must be in: "axial" (rows anterior→posterior, columns patient
    /// right→left).
    pub orientation: String,
}

/// N4-like bias correction parameters (the original: 8 levels × 50 iterations, Otsu mask of
/// 200 bins, result rescaled to `normalise_max` when its maximum is below 350).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BiasCorrection {
    pub levels: usize,
    pub iterations: usize,
    pub otsu_bins: usize,
    pub rescale_below: f64,
}

/// The original's incremental-learning recipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalLearning {
    pub learning_rate: f64,
    pub epochs: usize,
    pub batch_size: usize,
    /// Fewer training images than this: no update.
    pub min_training_images: usize,
    /// Boundary weight `w_b · exp(-(d1+d2)² / (2·band))` (w_b 10, band 49 thigh / 64 leg).
    pub boundary_weight: f64,
    pub boundary_band_px2: f64,
    /// Adds `mean_freq / freq[class]` to each pixel's weight.
    pub class_frequency_weights: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The version this one was trained from; absent for a model trained from scratch or imported.
    #[serde(default)]
    pub parent: Option<ParentVersion>,
    /// What it was trained or imported from, in words.
    pub trained_on: String,
    /// Program and version that wrote the package.
    #[serde(default)]
    pub created_by: String,
    /// Extra facts (source file sha256, counts of slices used, ...), sorted by key.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParentVersion {
    pub id: String,
    pub version: u64,
    pub weights_sha256: String,
}

/// A manifest and its weights (named tensors, on one device).
#[derive(Clone, Debug)]
pub struct Package {
    pub manifest: Manifest,
    pub weights: HashMap<String, Tensor>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MlError + '_ {
    move |source| MlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Package {
    /// Reads `dir/manifest.json`, refuses newer formats and unknown architectures, checks the
    /// weights' sha256, then reads the weights onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Package, MlError> {
        let manifest = Package::read_manifest(dir)?;
        let path = dir.join(WEIGHTS_FILE);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        let found = sha256_hex(&bytes);
        if !found.eq_ignore_ascii_case(&manifest.weights_sha256) {
            return Err(MlError::WeightsHash {
                expected: manifest.weights_sha256,
                found,
                path,
            });
        }
        let weights = candle_core::safetensors::load_buffer(&bytes, device)?;
        Ok(Package { manifest, weights })
    }

    /// The manifest alone (for listings), checked as [`Package::load`] checks it.
    pub fn read_manifest(dir: &Path) -> Result<Manifest, MlError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read(&path).map_err(io_err(&path))?;
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|source| MlError::Manifest {
                path: path.clone(),
                source,
            })?;
        if manifest.format_version > FORMAT_VERSION {
            return Err(MlError::FormatVersion {
                found: manifest.format_version,
                supported: FORMAT_VERSION,
                path,
            });
        }
        manifest.architecture.parse()?;
        Ok(manifest)
    }

    /// Writes the weights, then the manifest with their sha256 (updated in `self`). Each file
    /// goes to a temporary name first and is renamed, so a crash never leaves a half file.
    pub fn save(&mut self, dir: &Path) -> Result<(), MlError> {
        self.manifest.architecture.parse()?;
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let tmp = dir.join(format!(".{WEIGHTS_FILE}.tmp"));
        candle_core::safetensors::save(&self.weights, &tmp)?;
        let bytes = std::fs::read(&tmp).map_err(io_err(&tmp))?;
        self.manifest.weights_sha256 = sha256_hex(&bytes);
        std::fs::rename(&tmp, &weights_path).map_err(io_err(&weights_path))?;

        let manifest_path = dir.join(MANIFEST_FILE);
        let text =
            serde_json::to_vec_pretty(&self.manifest).map_err(|source| MlError::Manifest {
                path: manifest_path.clone(),
                source,
            })?;
        let tmp = dir.join(format!(".{MANIFEST_FILE}.tmp"));
        let mut file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(&text).map_err(io_err(&tmp))?;
        file.write_all(b"\n").map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &manifest_path).map_err(io_err(&manifest_path))
    }

    pub fn architecture(&self) -> Result<Architecture, MlError> {
        self.manifest.architecture.parse()
    }

    /// Builds the package's network on `device`. A missing or mis-shaped tensor is an error.
    pub fn coscia_unet(&self, device: &Device) -> Result<CosciaUnet, MlError> {
        let Architecture::CosciaUnet(cfg) = self.architecture()?;
        let vb = VarBuilder::from_tensors(self.weights.clone(), DType::F32, device);
        CosciaUnet::new(&cfg, vb)
    }
}
