//! Reproducible randomness without a dependency: splitmix64 streams, per-pixel hashed noise
//! (the same value whatever the thread order) and smooth random fields (sums of cosines).

/// splitmix64 step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) from a key.
pub(crate) fn unit(key: u64) -> f64 {
    (mix(key) >> 11) as f64 / (1u64 << 53) as f64
}

/// A stream of uniforms from a seed.
pub(crate) struct Stream(u64);

impl Stream {
    pub(crate) fn new(seed: u64, purpose: u64) -> Stream {
        Stream(mix(seed ^ mix(purpose)))
    }

    pub(crate) fn unit(&mut self) -> f64 {
        self.0 = mix(self.0);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    pub(crate) fn signed(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
}

/// Two independent standard normals for pixel `index` of stream `key` (Box-Muller).
pub(crate) fn normal_pair(key: u64, index: u64) -> (f64, f64) {
    let base = mix(key ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let u = unit(base).max(1e-300);
    let v = unit(base ^ 0xA5A5_A5A5_A5A5_A5A5);
    let r = (-2.0 * u.ln()).sqrt();
    let a = std::f64::consts::TAU * v;
    (r * a.cos(), r * a.sin())
}

/// A smooth random field in [-1, 1]: the mean of `terms` cosines with random directions and
/// phases at about `cycles_per_mm`.
#[derive(Clone, Debug)]
pub(crate) struct SmoothField {
    waves: Vec<[f64; 3]>,
}

impl SmoothField {
    pub(crate) fn new(seed: u64, purpose: u64, terms: usize, cycles_per_mm: f64) -> SmoothField {
        let mut s = Stream::new(seed, purpose);
        let waves = (0..terms)
            .map(|_| {
                let angle = s.unit() * std::f64::consts::TAU;
                let k = std::f64::consts::TAU * cycles_per_mm * (0.5 + s.unit());
                [
                    k * angle.cos(),
                    k * angle.sin(),
                    s.unit() * std::f64::consts::TAU,
                ]
            })
            .collect();
        SmoothField { waves }
    }

    pub(crate) fn at(&self, x_mm: f64, y_mm: f64) -> f64 {
        if self.waves.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .waves
            .iter()
            .map(|[kx, ky, phase]| (kx * x_mm + ky * y_mm + phase).cos())
            .sum();
        sum / self.waves.len() as f64
    }
}
