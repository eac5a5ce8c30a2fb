//! [`Segmenter`]: a package's network plus the apply pipeline. Both crops of a slice go
//! through the network as one batch; the class per pixel is the first maximum of the softmax
//! (numpy's `argmax`).

use std::time::Instant;

use candle_core::{Device, Tensor};
use dafne_core::Progress;

use super::prepare::{prepare_slice, PreparedSlice};
use super::{SegmentOptions, SliceImage, SliceSegmentation};
use crate::package::Manifest;
use crate::{CosciaUnet, MlError, Package};

/// Seconds spent in each step of [`Segmenter::segment_slice_timed`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTimes {
    pub resample_s: f64,
    pub bias_s: f64,
    pub split_s: f64,
    pub forward_s: f64,
    /// Argmax, paste back, zoom back and the masks.
    pub rest_s: f64,
}

/// A model ready to segment slices; `Send + Sync`, so one can serve several threads.
#[derive(Debug)]
pub struct Segmenter {
    manifest: Manifest,
    net: CosciaUnet,
    device: Device,
}

impl Segmenter {
    /// Builds the package's network on `device`.
    ///
    /// Errors: the network cannot be built, its input size is not the manifest's crop size,
    /// or a label's class index is not one of the network's outputs.
    pub fn new(package: &Package, device: &Device) -> Result<Segmenter, MlError> {
        let net = package.coscia_unet(device)?;
        let manifest = package.manifest.clone();
        let cfg = net.config();
        if cfg.input_size != manifest.preprocessing.crop_px {
            return Err(MlError::BadConfig {
                why: format!(
                    "network input is {:?} px but the preprocessing crops {:?} px",
                    cfg.input_size, manifest.preprocessing.crop_px
                ),
            });
        }
        if let Some(l) = manifest
            .labels
            .iter()
            .find(|l| l.value == 0 || l.value as usize >= cfg.classes)
        {
            return Err(MlError::BadConfig {
                why: format!(
                    "label {:?} has class {} but the network outputs classes 1..{}",
                    l.long_name,
                    l.value,
                    cfg.classes.saturating_sub(1)
                ),
            });
        }
        Ok(Segmenter {
            manifest,
            net,
            device: device.clone(),
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Segments one slice. A blank slice (no value above zero) gives empty masks.
    pub fn segment_slice(
        &self,
        image: &SliceImage,
        opts: &SegmentOptions,
    ) -> Result<SliceSegmentation, MlError> {
        self.segment_slice_timed(image, opts).map(|(s, _)| s)
    }

    /// [`Segmenter::segment_slice`] with the time of each step.
    pub fn segment_slice_timed(
        &self,
        image: &SliceImage,
        opts: &SegmentOptions,
    ) -> Result<(SliceSegmentation, StepTimes), MlError> {
        image.check()?;
        if image.is_blank() {
            return Ok((self.empty(image, opts), StepTimes::default()));
        }
        let prepared = prepare_slice(&self.manifest.preprocessing, image, opts.side)?;
        let t0 = Instant::now();
        let classes = self.classify(prepared.crops())?;
        let t1 = Instant::now();
        let seg = self.masks(&prepared, &classes, image, opts);
        let t2 = Instant::now();
        let p = prepared.times();
        Ok((
            seg,
            StepTimes {
                resample_s: p.resample_s,
                bias_s: p.bias_s,
                split_s: p.split_s,
                forward_s: (t1 - t0).as_secs_f64(),
                rest_s: (t2 - t1).as_secs_f64(),
            },
        ))
    }

    /// Segments a prepared slice (tests start from the original's bias-corrected canvas).
    pub fn segment_prepared(
        &self,
        prepared: &PreparedSlice,
        image: &SliceImage,
        opts: &SegmentOptions,
    ) -> Result<SliceSegmentation, MlError> {
        let classes = self.classify(prepared.crops())?;
        Ok(self.masks(prepared, &classes, image, opts))
    }

    /// Every slice in order; reports progress and stops with [`MlError::Cancelled`] when asked
    /// to between slices. An input error names the slice (1-based).
    pub fn segment_slices(
        &self,
        images: &[SliceImage],
        opts: &SegmentOptions,
        progress: &dyn Progress,
    ) -> Result<Vec<SliceSegmentation>, MlError> {
        let total = images.len() as u64;
        let mut out = Vec::with_capacity(images.len());
        for (i, image) in images.iter().enumerate() {
            if progress.cancelled() {
                return Err(MlError::Cancelled);
            }
            progress.report(i as u64, total, "segmenting slices");
            let seg = self.segment_slice(image, opts).map_err(|e| match e {
                MlError::Input { why } => MlError::Input {
                    why: format!("slice {} of {total}: {why}", i + 1),
                },
                other => other,
            })?;
            out.push(seg);
        }
        progress.report(total, total, "segmenting slices");
        Ok(out)
    }

    /// Class index (argmax, first maximum) per pixel of each crop, all crops in one batch.
    pub fn classify(&self, crops: &[Vec<f32>]) -> Result<Vec<Vec<u8>>, MlError> {
        let [h, w] = self.manifest.preprocessing.crop_px;
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        let mut flat = Vec::with_capacity(crops.len() * h * w);
        for c in crops {
            if c.len() != h * w {
                return Err(MlError::Input {
                    why: format!("crop has {} values, expected {h} × {w}", c.len()),
                });
            }
            flat.extend_from_slice(c);
        }
        let x = Tensor::from_vec(flat, (crops.len(), h, w, 1), &self.device)?;
        let probs = self.net.forward(&x)?;
        let classes = self.net.config().classes;
        let values: Vec<f32> = probs.flatten_all()?.to_vec1()?;
        Ok(values
            .chunks(h * w * classes)
            .map(|image| {
                image
                    .chunks(classes)
                    .map(|p| {
                        let mut best = 0;
                        for (k, &v) in p.iter().enumerate() {
                            if v > p[best] {
                                best = k;
                            }
                        }
                        best as u8
                    })
                    .collect()
            })
            .collect())
    }

    fn masks(
        &self,
        prepared: &PreparedSlice,
        crop_classes: &[Vec<u8>],
        image: &SliceImage,
        opts: &SegmentOptions,
    ) -> SliceSegmentation {
        let sides = prepared.paste_back_sides(crop_classes);
        let is_right = prepared.crop_is_right();
        let mut masks = Vec::new();
        for label in &self.manifest.labels {
            let value = label.value as u8;
            let of = |map: &Vec<u8>| map.iter().map(|&c| c == value).collect::<Vec<bool>>();
            if opts.split_lr && sides.len() == 2 {
                masks.push((format!("{}_R", label.long_name), of(&sides[0])));
                masks.push((format!("{}_L", label.long_name), of(&sides[1])));
            } else if opts.split_lr && opts.side != super::Side::Both {
                let suffix = if is_right[0] { "_R" } else { "_L" };
                masks.push((format!("{}{suffix}", label.long_name), of(&sides[0])));
            } else {
                let mut m = vec![false; image.rows * image.cols];
                for side in &sides {
                    for (o, &c) in m.iter_mut().zip(side) {
                        *o |= c == value;
                    }
                }
                masks.push((label.long_name.clone(), m));
            }
        }
        SliceSegmentation {
            rows: image.rows,
            cols: image.cols,
            masks,
        }
    }

    fn empty(&self, image: &SliceImage, opts: &SegmentOptions) -> SliceSegmentation {
        let n = image.rows * image.cols;
        let split_model = self.manifest.preprocessing.split_laterality;
        let names: Vec<String> = self
            .manifest
            .labels
            .iter()
            .flat_map(|l| {
                let n = &l.long_name;
                match (opts.split_lr, opts.side) {
                    (true, super::Side::Both) if split_model => {
                        vec![format!("{n}_R"), format!("{n}_L")]
                    }
                    (true, super::Side::Left) => vec![format!("{n}_L")],
                    (true, super::Side::Right) => vec![format!("{n}_R")],
                    _ => vec![n.clone()],
                }
            })
            .collect();
        SliceSegmentation {
            rows: image.rows,
            cols: image.cols,
            masks: names
                .into_iter()
                .map(|name| (name, vec![false; n]))
                .collect(),
        }
    }
}

/// `name` without the `_R`/`_L` the segmenter appends for a side, `None` when it has neither
/// (or is nothing but the suffix).
pub fn without_side(name: &str) -> Option<&str> {
    name.strip_suffix("_R")
        .or_else(|| name.strip_suffix("_L"))
        .filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn segmenter_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Segmenter>();
    }
}
