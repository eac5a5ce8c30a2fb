//! The CPU training ops against the plain tensor-op paths (the GPU's, differentiated by
//! candle's autograd) in value and in every gradient, in f32, on small random cases with odd
//! sizes, channel counts that are not multiples of 8 and batch 3. (The finite-difference
//! checks in `tests/train.rs` run the same ops in f64 through the whole network.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use candle_core::{DType, Device, Tensor, Var};

use crate::train::rng::SplitMix;
use crate::train::{bn_op, conv_op, eltwise_op, patch_op};

fn random(rng: &mut SplitMix, shape: &[usize]) -> Var {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| (rng.next_f64() * 2.0 - 1.0) as f32)
        .collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap()).unwrap()
}

/// max |a − b| / max |b| over two tensors of the same shape.
fn rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims());
    let a: Vec<f64> = a
        .flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1()
        .unwrap();
    let b: Vec<f64> = b
        .flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1()
        .unwrap();
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter()
        .zip(&b)
        .fold(0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// Runs `fast` and `plain` on the same inputs, checks outputs and the gradients of
/// `Σ out ⊙ r` (r random) with respect to every input within 1e-4 relative.
fn check(
    what: &str,
    inputs: &[Var],
    fast: impl Fn(&[Tensor]) -> Tensor,
    plain: impl Fn(&[Tensor]) -> Tensor,
    rng: &mut SplitMix,
) {
    let ts: Vec<Tensor> = inputs.iter().map(|v| v.as_tensor().clone()).collect();
    let (yf, yp) = (fast(&ts), plain(&ts));
    let d = rel_diff(&yf, &yp);
    assert!(d < 1e-4, "{what}: outputs differ by {d:e}");
    let r = random(rng, yp.dims());
    let gf = (yf * r.as_tensor())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let gp = (yp * r.as_tensor())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for (i, v) in inputs.iter().enumerate() {
        let (a, b) = (gf.get(v).unwrap(), gp.get(v).unwrap());
        let d = rel_diff(a, b);
        assert!(d < 1e-4, "{what}: gradient of input {i} differs by {d:e}");
    }
}

#[test]
fn conv3x3_matches_tensor_ops_in_value_and_gradient() {
    let mut rng = SplitMix::new(7);
    for (h, w, c, cout) in [(7, 5, 3, 5), (9, 11, 13, 6), (1, 1, 2, 3), (18, 23, 16, 17)] {
        for relu_in in [false, true] {
            let x = random(&mut rng, &[3, h, w, c]);
            let k = random(&mut rng, &[9 * c, cout]);
            let b = random(&mut rng, &[cout]);
            check(
                &format!("conv {h}×{w}×{c}→{cout} relu_in {relu_in}"),
                &[x, k, b],
                |t| conv_op::same3x3(&t[0], &t[1], &t[2], relu_in).unwrap(),
                |t| conv_op::same3x3_reference(&t[0], &t[1], &t[2], relu_in).unwrap(),
                &mut rng,
            );
        }
    }
}

#[test]
fn batchnorm_matches_tensor_ops_in_value_gradient_and_statistics() {
    let mut rng = SplitMix::new(8);
    for (h, w, c) in [(7, 5, 3), (4, 9, 13)] {
        let x = random(&mut rng, &[3, h, w, c]);
        // An offset and a spread per channel, as conv outputs have.
        let x = Var::from_tensor(&((x.as_tensor() * 3.0).unwrap() + 2.0).unwrap()).unwrap();
        let gamma = random(&mut rng, &[c]);
        let beta = random(&mut rng, &[c]);
        let eps = 1e-3;
        check(
            &format!("batch norm {h}×{w}×{c}"),
            &[x.clone(), gamma.clone(), beta.clone()],
            |t| bn_op::bn_train(&t[0], &t[1], &t[2], eps).unwrap().0,
            |t| bn_op::bn_train_plain(&t[0], &t[1], &t[2], eps).unwrap().0,
            &mut rng,
        );
        let (_, mean, var) = bn_op::bn_train(x.as_tensor(), &gamma, &beta, eps).unwrap();
        let (_, pm, pv) = bn_op::bn_train_plain(x.as_tensor(), &gamma, &beta, eps).unwrap();
        let t = |v: Vec<f64>| Tensor::new(v.as_slice(), &Device::Cpu).unwrap();
        assert!(rel_diff(&t(mean), &pm) < 1e-5);
        assert!(rel_diff(&t(var), &pv) < 1e-5);
    }
}

#[test]
fn add_relu_and_concat_relu_match_tensor_ops() {
    let mut rng = SplitMix::new(9);
    let a = random(&mut rng, &[3, 5, 7, 11]);
    let b = random(&mut rng, &[3, 5, 7, 11]);
    check(
        "relu(a + b)",
        &[a, b],
        |t| eltwise_op::add_relu(&t[0], &t[1]).unwrap(),
        |t| (&t[0] + &t[1]).unwrap().relu().unwrap(),
        &mut rng,
    );
    let skip = random(&mut rng, &[3, 5, 7, 5]);
    let y = random(&mut rng, &[3, 5, 7, 11]);
    check(
        "concat(skip, relu(y))",
        &[skip, y],
        |t| eltwise_op::cat_relu(&t[0], &t[1]).unwrap(),
        |t| Tensor::cat(&[&t[0], &t[1].relu().unwrap()], 3).unwrap(),
        &mut rng,
    );
}

#[test]
fn patch_and_transposed_convs_match_tensor_ops() {
    let mut rng = SplitMix::new(10);
    // k = 1 (the head), 2 on an odd size (the crop), 3 (the bottleneck).
    for (k, h, w, c, cout) in [(1, 5, 7, 3, 13), (2, 9, 7, 5, 6), (3, 7, 10, 6, 11)] {
        let x = random(&mut rng, &[3, h, w, c]);
        let kern = random(&mut rng, &[k * k * c, cout]);
        let b = random(&mut rng, &[cout]);
        check(
            &format!("patch conv k {k}"),
            &[x, kern, b],
            |t| patch_op::patch_conv(&t[0], &t[1], &t[2], k).unwrap(),
            |t| crate::unet::graph::patch_conv(&t[0], &t[1], &t[2], k).unwrap(),
            &mut rng,
        );
    }
    // Output sizes with and without Keras's output padding.
    for (k, h, w, cin, cout, out) in [(2, 4, 3, 5, 3, (9, 6)), (3, 2, 3, 7, 5, (6, 10))] {
        let x = random(&mut rng, &[3, h, w, cin]);
        let kern = random(&mut rng, &[cin, k * k * cout]);
        let b = random(&mut rng, &[cout]);
        check(
            &format!("transposed conv k {k} → {out:?}"),
            &[x, kern, b],
            |t| patch_op::up_conv(&t[0], &t[1], &t[2], k, out).unwrap(),
            |t| patch_op::up_conv_plain(&t[0], &t[1], &t[2], k, out).unwrap(),
            &mut rng,
        );
    }
}

#[test]
fn ops_refuse_mismatched_sizes() {
    let mut rng = SplitMix::new(11);
    let x = random(&mut rng, &[1, 4, 4, 3]);
    let k = random(&mut rng, &[9 * 2, 4]);
    let b = random(&mut rng, &[4]);
    assert!(conv_op::same3x3(&x, &k, &b, false).is_err());
    let k = random(&mut rng, &[9 * 3, 4]);
    let b5 = random(&mut rng, &[5]);
    assert!(conv_op::same3x3(&x, &k, &b5, false).is_err());
    let k2 = random(&mut rng, &[4 * 2, 4]);
    assert!(patch_op::patch_conv(&x, &k2, &b, 2).is_err());
}
