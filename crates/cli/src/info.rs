use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use dafne_io::{Description, SeriesSummary};

use crate::Error;

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A DICOM file or folder, .nii/.nii.gz/.hdr, .npy or .npz.
    path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &InfoArgs) -> Result<ExitCode, Error> {
    let d = dafne_io::describe(&args.path)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print_text(&d);
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt_row(r: &[f64; 4]) -> String {
    // Round first so that -0.00001 does not print as "-0.0000".
    r.iter()
        .map(|v| format!("{:>11.4}", (v * 1e4).round() / 1e4 + 0.0))
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_series(s: &SeriesSummary, selected: bool) {
    let mark = if selected { " (selected file)" } else { "" };
    println!(
        "series {}{mark}: {}",
        s.index,
        s.info.description.as_deref().unwrap_or("(no description)")
    );
    if let Some(m) = &s.info.modality {
        println!("  modality        {m}");
    }
    if let Some(uid) = &s.info.series_uid {
        println!("  series UID      {uid}");
    }
    if let Some(date) = &s.info.series_date {
        println!("  date            {date}");
    }
    println!("  format          {}", s.info.format);
    println!("  shape           {:?}  ({} file(s))", s.shape, s.files);
    println!(
        "  dtype           {}",
        s.dtype.as_deref().unwrap_or("unknown")
    );
    println!(
        "  spacing_mm      {:.4} x {:.4} x {:.4}",
        s.spacing_mm[0], s.spacing_mm[1], s.spacing_mm[2]
    );
    println!(
        "  orientation     {} (geometry from {:?})",
        s.axcodes, s.geometry_source
    );
    match s.rescale.uniform() {
        Some(m) => println!(
            "  rescale         slope {} intercept {}",
            m.slope, m.intercept
        ),
        None => println!("  rescale         per slice"),
    }
    println!("  affine (RAS)");
    for row in &s.affine_ras[..3] {
        println!("    {}", fmt_row(row));
    }
    for w in &s.warnings {
        println!("  warning: {w}");
    }
    if let Some(r) = &s.refused {
        println!("  cannot load: {r}");
    }
}

fn print_text(d: &Description) {
    println!("{}: {} series", d.path.display(), d.series.len());
    for s in &d.series {
        print_series(s, d.selected == Some(s.index));
    }
    if !d.skipped.is_empty() {
        println!("{} file(s) skipped:", d.skipped.len());
        for s in &d.skipped {
            println!("  {}: {}", s.path.display(), s.reason);
        }
    }
}
