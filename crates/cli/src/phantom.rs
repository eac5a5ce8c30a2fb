use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use dafne_io::masks::{export_bundle, export_compact_nifti, export_nifti, Overlap};
use dafne_phantom::{generate, Domain, PhantomSpec};

use crate::Error;

#[derive(Args, Debug)]
pub struct PhantomArgs {
    /// `.npz`: the original's data + mask bundle; anything `dafne convert` writes: the image.
    out: PathBuf,
    /// Where the masks go when OUT is an image: a `.nii.gz` (one label map with its legend) or
    /// a folder (one NIfTI per ROI).
    #[arg(long)]
    masks: Option<PathBuf>,
    #[arg(long, default_value_t = 20)]
    slices: usize,
    /// `a`, `b`, or a number t in [0, 1] mixing them.
    #[arg(long, default_value = "a")]
    domain: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rows and columns (the original's working grid is 432 at 1.037 mm).
    #[arg(long, default_value_t = 432)]
    size: usize,
}

pub fn run(args: &PhantomArgs) -> Result<ExitCode, Error> {
    let domain = match args.domain.as_str() {
        "a" | "A" => Domain::a(),
        "b" | "B" => Domain::b(),
        t => match t.parse::<f64>() {
            Ok(t) if (0.0..=1.0).contains(&t) => Domain::mix(&Domain::a(), &Domain::b(), t),
            _ => {
                return Err(Error::InvalidInput(format!(
                    "--domain must be a, b or a number in [0, 1], got {t:?}"
                )))
            }
        },
    };
    let mut spec = PhantomSpec::thigh(args.slices, domain, args.seed);
    spec.rows = args.size;
    spec.cols = args.size;
    let phantom = generate(&spec).map_err(|e| Error::InvalidInput(e.to_string()))?;
    let is_npz = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    if is_npz {
        let comment = format!("dafne phantom: domain {}, seed {}", args.domain, args.seed);
        export_bundle(&args.out, &phantom.volume, &phantom.masks, Some(&comment))
            .map_err(dafne_session::SessionError::from)?;
    } else {
        dafne_io::save(&phantom.volume, &args.out)?;
        if let Some(masks) = &args.masks {
            let name = masks.to_string_lossy().to_ascii_lowercase();
            if name.ends_with(".nii") || name.ends_with(".nii.gz") {
                export_compact_nifti(masks, &phantom.volume, &phantom.masks, Overlap::Refuse)
                    .map_err(dafne_session::SessionError::from)?;
            } else {
                export_nifti(masks, &phantom.volume, &phantom.masks)
                    .map_err(dafne_session::SessionError::from)?;
            }
        }
    }
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
