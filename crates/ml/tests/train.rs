//! The training engine: the trainable network runs through the inference path unchanged
//! (eval mode = `CosciaUnet` on `weights()`), its gradients match finite differences, Adam
//! follows Keras's formula, `fit` stops early keeping the best weights and honours cancel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use dafne_core::{NoProgress, Progress};
use dafne_ml::package::IncrementalLearning;
use dafne_ml::train::{
    fit, loss, Adam, EarlyStopping, FitOptions, Param, TrainCrop, TrainableUnet,
};
use dafne_ml::{CosciaUnet, MlError, UnetConfig};

fn tiny(res_convs: usize) -> UnetConfig {
    let mut cfg = UnetConfig::doubling(3, 3, 4, [24, 24]);
    cfg.res_convs = res_convs;
    cfg
}

fn il() -> IncrementalLearning {
    IncrementalLearning {
        learning_rate: 1e-3,
        epochs: 5,
        batch_size: 5,
        min_training_images: 5,
        boundary_weight: 10.0,
        boundary_band_px2: 49.0,
        class_frequency_weights: true,
    }
}

/// Crops of a bright disc split into quadrant classes on a dark noisy background.
fn crops(n: usize, size: usize, classes: u8, seed: u64) -> Vec<TrainCrop> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as f64 / (1u64 << 31) as f64) as f32
    };
    (0..n)
        .map(|k| {
            let c = size as f32 / 2.0 + (k % 3) as f32 - 1.0;
            let r = size as f32 * 0.35;
            let mut image = Vec::new();
            let mut labels = Vec::new();
            for i in 0..size {
                for j in 0..size {
                    let (dy, dx) = (i as f32 - c, j as f32 - c);
                    let inside = dy * dy + dx * dx < r * r;
                    let class = if inside {
                        1 + (u8::from(dy > 0.0) * 2 + u8::from(dx > 0.0)) % (classes - 1)
                    } else {
                        0
                    };
                    labels.push(class);
                    image.push(
                        if inside {
                            200.0 + 40.0 * class as f32
                        } else {
                            20.0
                        } + 30.0 * rnd(),
                    );
                }
            }
            TrainCrop { image, labels }
        })
        .collect()
}

fn opts(epochs: usize) -> FitOptions {
    FitOptions {
        learning_rate: 1e-3,
        epochs,
        batch_size: 3,
        amsgrad: true,
        early_stopping: None,
        seed: 7,
        il: il(),
        batch_norm: dafne_ml::train::BatchNormMode::BatchStatistics,
    }
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn images(crops: &[TrainCrop], size: usize) -> Tensor {
    let v: Vec<f32> = crops.iter().flat_map(|c| c.image.clone()).collect();
    Tensor::from_vec(v, (crops.len(), size, size, 1), &Device::Cpu).unwrap()
}

#[test]
fn eval_mode_matches_the_inference_network_after_training() {
    let cfg = tiny(2);
    let mut net = TrainableUnet::new_random(&cfg, 1, &Device::Cpu).unwrap();
    let train = crops(6, 24, 4, 3);
    let history = fit(&mut net, &train, &[], &opts(2), &NoProgress).unwrap();
    assert_eq!(history.len(), 2);
    let weights = net.weights().unwrap();
    // The moving statistics moved off their initial 0/1 (BN ran in training mode).
    let mean = values(&weights["enc.1.bn0.running_mean"]);
    assert!(mean.iter().any(|v| v.abs() > 1e-3), "{mean:?}");
    let inference = CosciaUnet::new(
        &cfg,
        VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let x = images(&crops(2, 24, 4, 11), 24);
    let ours = values(&net.predict(&x).unwrap());
    let theirs = values(&inference.forward(&x).unwrap());
    let diff = ours
        .iter()
        .zip(&theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!("max |trainable eval − CosciaUnet| = {diff:.2e}");
    assert!(diff < 1e-4, "{diff}");
}

#[test]
fn weights_round_trip_through_from_weights() {
    let cfg = tiny(2);
    let net = TrainableUnet::new_random(&cfg, 5, &Device::Cpu).unwrap();
    let w = net.weights().unwrap();
    assert_eq!(w["enc.1.down.weight"].dims(), [6, 3, 2, 2]);
    assert_eq!(w["dec.2.up.weight"].dims(), [24, 12, 3, 3]);
    assert_eq!(w["head.weight"].dims(), [4, 3, 1, 1]);
    let again = TrainableUnet::from_weights(&cfg, &w, &Device::Cpu).unwrap();
    let w2 = again.weights().unwrap();
    for (k, t) in &w {
        assert_eq!(values(t), values(&w2[k]), "{k}");
    }
    let mut missing = w.clone();
    missing.remove("dec.0.pair.bn2.running_var");
    let err = TrainableUnet::from_weights(&cfg, &missing, &Device::Cpu).unwrap_err();
    assert!(
        err.to_string().contains("dec.0.pair.bn2.running_var"),
        "{err}"
    );
}

#[test]
fn other_residual_depths_train_and_name_their_layers() {
    for res_convs in [1, 3] {
        let cfg = tiny(res_convs);
        let mut net = TrainableUnet::new_random(&cfg, 2, &Device::Cpu).unwrap();
        fit(&mut net, &crops(3, 24, 4, 1), &[], &opts(1), &NoProgress).unwrap();
        let w = net.weights().unwrap();
        let last = format!("enc.0.pair.conv{res_convs}.weight");
        assert!(w.contains_key(&last), "{res_convs}: {last}");
        assert!(!w.contains_key(&format!("enc.0.pair.conv{}.weight", res_convs + 1)));
    }
    assert!(TrainableUnet::new_random(&tiny(0), 2, &Device::Cpu).is_err());
}

/// The loss of a batch in training mode (BN on batch statistics), in f64.
fn batch_loss(net: &TrainableUnet, x: &Tensor, t: &Tensor, w: &Tensor) -> f64 {
    let logits = net.logits_batch_stats(x).unwrap();
    loss::weighted_cross_entropy(&logits, t, w)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

#[test]
fn gradients_match_finite_differences() {
    let mut cfg = tiny(2);
    cfg.input_size = [12, 12];
    let net = TrainableUnet::new_random_dtype(&cfg, 9, DType::F64, &Device::Cpu).unwrap();
    let data = crops(2, 12, 4, 5);
    let x = images(&data, 12).to_dtype(DType::F64).unwrap();
    let labels: Vec<&[u8]> = data.iter().map(|c| c.labels.as_slice()).collect();
    let t = loss::one_hot(&labels, 4, 12, 12, DType::F64, &Device::Cpu).unwrap();
    let wv: Vec<f64> = (0..2 * 144).map(|i| 0.5 + (i % 7) as f64 * 0.25).collect();
    let w = Tensor::from_vec(wv, (2, 12, 12), &Device::Cpu).unwrap();
    let logits = net.logits_batch_stats(&x).unwrap();
    let grads = loss::weighted_cross_entropy(&logits, &t, &w)
        .unwrap()
        .backward()
        .unwrap();
    let params: Vec<Param> = net.params();
    let mut checked = 0;
    for name in [
        "enc.0.down.weight",
        "enc.1.pair.conv1.weight",
        "enc.2.pair.conv2.bias",
        "bottleneck.conv.weight",
        "dec.2.up.weight",
        "dec.1.pair.conv1.weight",
        "dec.0.bn0.weight",
        "dec.0.pair.bn2.bias",
        "head.weight",
    ] {
        let p = params.iter().find(|p| p.name == name).expect(name);
        let g = values(grads.get(p.var.as_tensor()).unwrap());
        let base: Vec<f64> = p.var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let shape = p.var.as_tensor().shape().clone();
        for idx in [0, base.len() / 2, base.len() - 1] {
            let at = |delta: f64| {
                let mut v = base.clone();
                v[idx] += delta;
                p.var
                    .set(&Tensor::from_vec(v, shape.clone(), &Device::Cpu).unwrap())
                    .unwrap();
                batch_loss(&net, &x, &t, &w)
            };
            let h = 1e-5;
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            at(0.0);
            let analytic = f64::from(g[idx]);
            let tol = 1e-4 * numeric.abs().max(1.0);
            assert!(
                (numeric - analytic).abs() < tol,
                "{name}[{idx}]: autograd {analytic}, finite difference {numeric}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 27);
}

#[test]
fn adam_follows_keras_with_amsgrad() {
    // One parameter, gradients 1, −3, 0.5: Keras's update by hand.
    let var = Var::from_tensor(&Tensor::new(&[2.0f64], &Device::Cpu).unwrap()).unwrap();
    let params = [Param {
        name: "w".into(),
        var: var.clone(),
        regularised: false,
    }];
    let mut adam = Adam::new(1e-3, true);
    let (mut m, mut v, mut vh, mut theta) = (0f64, 0f64, 0f64, 2f64);
    for (t, g) in [1.0f64, -3.0, 0.5].into_iter().enumerate() {
        // loss = g·w gives gradient g.
        let loss = (var.as_tensor() * g).unwrap().sum_all().unwrap();
        adam.step(&params, &loss.backward().unwrap(), 0.0).unwrap();
        let t = (t + 1) as i32;
        let alpha = 1e-3 * (1.0 - 0.999f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t));
        m += (g - m) * 0.1;
        v += (g * g - v) * 0.001;
        vh = vh.max(v);
        theta -= m * alpha / (vh.sqrt() + 1e-8);
        let got = var.as_tensor().to_vec1::<f64>().unwrap()[0];
        assert!((got - theta).abs() < 1e-12, "step {t}: {got} vs {theta}");
    }
}

#[test]
fn l2_applies_to_kernels_only() {
    let net = TrainableUnet::new_random(&tiny(2), 1, &Device::Cpu).unwrap();
    for p in net.params() {
        let kernel = p.name.ends_with(".weight") && !p.name.contains(".bn");
        assert_eq!(p.regularised, kernel, "{}", p.name);
    }
}

struct CancelAfter {
    reports: AtomicU64,
    after: u64,
    cancel: AtomicBool,
}

impl Progress for CancelAfter {
    fn report(&self, done: u64, _total: u64, _what: &'static str) {
        self.reports.store(done, Ordering::SeqCst);
        if done >= self.after {
            self.cancel.store(true, Ordering::SeqCst);
        }
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

#[test]
fn fit_cancels_between_batches() {
    let mut net = TrainableUnet::new_random(&tiny(2), 1, &Device::Cpu).unwrap();
    let p = CancelAfter {
        reports: AtomicU64::new(0),
        after: 3,
        cancel: AtomicBool::new(false),
    };
    let err = fit(&mut net, &crops(6, 24, 4, 2), &[], &opts(10), &p).unwrap_err();
    assert!(matches!(err, MlError::Cancelled), "{err}");
    assert_eq!(p.reports.load(Ordering::SeqCst), 3);
}

#[test]
fn early_stopping_keeps_the_best_weights() {
    let cfg = tiny(2);
    let mut net = TrainableUnet::new_random(&cfg, 4, &Device::Cpu).unwrap();
    let train = crops(6, 24, 4, 1);
    // A validation set whose labels disagree with training: its loss soon rises.
    let mut val = crops(3, 24, 4, 9);
    for c in &mut val {
        for l in &mut c.labels {
            *l = (*l + 1) % 4;
        }
    }
    let mut o = opts(12);
    o.learning_rate = 1e-2;
    o.early_stopping = Some(EarlyStopping {
        patience: 2,
        min_epochs: 1,
    });
    let history = fit(&mut net, &train, &val, &o, &NoProgress).unwrap();
    let losses: Vec<f64> = history.iter().map(|e| e.val_loss.unwrap()).collect();
    println!("validation losses: {losses:?}");
    let best = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    let val_set = dafne_ml::train::PreparedSet::new(&net, &val, &o.il).unwrap();
    let now = dafne_ml::train::evaluate(&net, &val_set, o.batch_size, o.batch_norm).unwrap();
    assert!(
        (now - best).abs() <= 1e-6 * best.abs(),
        "restored {now}, best {best}"
    );
    if history.len() < 12 {
        let last = history.len() - 1;
        assert!(losses[last] > best && losses[last - 1] > best, "{losses:?}");
    }
}

#[test]
fn fit_refuses_bad_input() {
    let mut net = TrainableUnet::new_random(&tiny(2), 1, &Device::Cpu).unwrap();
    let mut bad = crops(2, 24, 4, 1);
    bad[1].labels[5] = 9;
    let err = fit(&mut net, &bad, &[], &opts(1), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("label 9"), "{err}");
    let small = crops(2, 20, 4, 1);
    assert!(fit(&mut net, &small, &[], &opts(1), &NoProgress).is_err());
    assert!(fit(&mut net, &[], &[], &opts(1), &NoProgress).is_err());
}
