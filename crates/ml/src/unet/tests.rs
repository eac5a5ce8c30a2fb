//! The CPU pass against candle's tensor ops on random weights (BatchNorm statistics included),
//! odd sizes (output padding on both axes), a batch of two, and 1 to 3 convs per residual
//! block; parameter counts of the configurable block.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

use super::{Config, CosciaUnet};

/// A narrow network with every variable random: BN variances in [0.5, 1.5).
fn random_net(cfg: &Config) -> VarMap {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    CosciaUnet::new(cfg, vb).unwrap(); // creates every variable
    for (name, var) in varmap.data().lock().unwrap().iter() {
        let shape = var.shape().clone();
        let value = if name.ends_with("running_var") {
            Tensor::rand(0.5f32, 1.5, shape, &Device::Cpu)
        } else {
            Tensor::randn(0f32, 0.5, shape, &Device::Cpu)
        };
        var.set(&value.unwrap()).unwrap();
    }
    varmap
}

fn small(res_convs: usize) -> Config {
    // 37 → 18 → 9 → 3 (bottleneck) rows, 45 → 22 → 11 → 3 columns: the up-convs pad 1, 0, 2.
    let mut cfg = Config::doubling(4, 3, 5, [37, 45]);
    cfg.res_convs = res_convs;
    cfg
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn cpu_pass_equals_candle_ops() {
    for res_convs in 1..=3 {
        let cfg = small(res_convs);
        let varmap = random_net(&cfg);
        let vb = || VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let fast = CosciaUnet::new(&cfg, vb()).unwrap();
        let reference = CosciaUnet::new_with_candle_ops(&cfg, vb()).unwrap();
        let x = Tensor::randn(0f32, 1.0, (2, 37, 45, 1), &Device::Cpu).unwrap();
        let ours = fast.forward_activations(&x).unwrap();
        let want = reference.forward_activations(&x).unwrap();
        assert_eq!(ours.len(), 9, "3 + 1 + 3 levels, logits, softmax");
        assert_eq!(ours.len(), want.len());
        let mut logits_scale = 1f32;
        for ((name, a), (want_name, b)) in ours.iter().zip(&want) {
            assert_eq!(name, want_name);
            assert_eq!(a.dims(), b.dims(), "{name}");
            let (a, b) = (values(a), values(b));
            let mut scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
            if name == "logits" {
                logits_scale = scale;
            }
            if name == "softmax" {
                // A softmax moves by at most half the change of its logits' differences: its
                // bound is the logits' (these random weights give logits in the hundreds).
                scale = logits_scale;
            }
            let diff = a
                .iter()
                .zip(&b)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                diff <= 1e-5 * scale,
                "res_convs {res_convs}, {name}: {diff} (scale {scale})"
            );
        }
        let probs = values(&fast.forward(&x).unwrap());
        assert_eq!(probs.len(), 2 * 37 * 45 * 5);
        for px in probs.chunks(5) {
            assert!((px.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}

#[test]
fn residual_blocks_of_one_to_three_convs_have_the_counted_parameters() {
    for res_convs in 1..=3 {
        let cfg = small(res_convs);
        let varmap = random_net(&cfg);
        let stored: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
        assert_eq!(stored, cfg.param_count(), "res_convs {res_convs}");
        // Each block conv is 3×3 (in w or 2w, out w) + a 4-number BN per channel.
        let names = varmap
            .data()
            .lock()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>();
        let convs = names
            .iter()
            .filter(|n| n.contains(".pair.conv") && n.ends_with("weight"));
        assert_eq!(convs.count(), 2 * 3 * res_convs, "enc + dec levels × convs");
    }
    // The full-width thigh: every extra conv per block adds 9w² + w + 4w in the encoder and in
    // the decoder at each width w ∈ {32, …, 512}: 2·(9·349184 + 5·992) = 6,295,232.
    let mut cfg = Config::thigh();
    assert_eq!(cfg.param_count(), 26_578_445);
    cfg.res_convs = 1;
    assert_eq!(cfg.param_count(), 26_578_445 - 6_295_232);
    cfg.res_convs = 3;
    assert_eq!(cfg.param_count(), 26_578_445 + 6_295_232);
    assert!(cfg.flops() > Config::thigh().flops());
}

#[test]
fn no_conv_per_block_is_refused() {
    let mut cfg = small(0);
    assert!(cfg.validate().is_err());
    cfg.res_convs = 1;
    cfg.validate().unwrap();
}

#[test]
fn cpu_pass_refuses_a_wrong_input_size() {
    let cfg = small(2);
    let varmap = random_net(&cfg);
    let net = CosciaUnet::new(
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let x = Tensor::zeros((1, 36, 45, 1), DType::F32, &Device::Cpu).unwrap();
    assert!(net.forward(&x).is_err());
}
