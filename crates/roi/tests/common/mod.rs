//! What the reference tests of dafne-roi share: reproducible random numbers, the reference
//! Python, the data kit and `.npy` fixtures. Each test file uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use dafne_core::Voxels;
use dafne_io::numpy::NpyArray;

/// splitmix64: reproducible cases without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() <= p
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// The reference Python: `$DAFNE_PYTHON`, else the `.venv` that `scripts/setup.sh --test` makes.
pub fn python() -> PathBuf {
    match std::env::var_os("DAFNE_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    }
}

/// Runs `tests/reference/<script>` with `args` in the reference Python and returns its output;
/// fails the test with the script's stderr when it does not succeed.
pub fn run_reference<I, A>(script: &str, args: I) -> std::process::Output
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    let python = python();
    assert!(
        python.exists(),
        "reference Python not found at {}: run `scripts/setup.sh --test` (creates .venv from \
         tests/reference/requirements.txt) or set DAFNE_PYTHON",
        python.display()
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(script);
    let output = std::process::Command::new(&python)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A C-order 2-D array the reference scripts write: (rows, cols, values).
pub fn read_npy_2d(path: &Path) -> (usize, usize, Voxels) {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("reference output missing ({e}): {}", path.display()));
    let array = dafne_io::numpy::read_npy_bytes(&bytes).unwrap();
    assert!(!array.fortran_order, "{}", path.display());
    let [rows, cols] = array.shape[..] else {
        panic!("not 2-D: {:?}", array.shape)
    };
    (rows, cols, array.voxels)
}

/// The real-data kit: `$DAFNE_TEST_DATA`, else `../shared/data` beside the repository.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("DAFNE_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Writes a C-order `.npy` with the project's own NumPy writer.
pub fn write_npy(path: &Path, shape: &[usize], voxels: Voxels) {
    let array = NpyArray {
        shape: shape.to_vec(),
        voxels,
        fortran_order: false,
    };
    dafne_io::numpy::write_npy(&array, path).unwrap();
}
