//! `dafne models`: the model store seen from the command line (list, show one, import the
//! original's `.model` files). The store's folders are `dafne_session::models`'s: the user's
//! data folder (`DAFNE_MODELS_DIR` overrides) and the bundled models (`DAFNE_BUNDLED_MODELS`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use dafne_ml::Manifest;
use dafne_session::models::{import_dafne_file, ModelEntry, ModelStore};

use crate::Error;

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// The newest version of every model (user and bundled), with where it is stored.
    List(ListArgs),
    /// A model's manifest in short: labels, network, preprocessing, provenance.
    Info(InfoArgs),
    /// Convert an original Dafne `.model` file (Thigh, Leg) to a model package. The file is
    /// read as data: its embedded Python code is never run.
    ImportDafne(ImportArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// A model name (case-insensitive), a package folder, or an original `.model` file.
    model: String,
    /// Print the whole manifest as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The original's model file (`Thigh_1610001000.model`).
    model: PathBuf,
    /// Package folder to write (created; must not hold a package already).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also install the package in the user's model store.
    #[arg(long)]
    install: bool,
}

pub fn run(command: &ModelsCommand) -> Result<ExitCode, Error> {
    match command {
        ModelsCommand::List(a) => list(a),
        ModelsCommand::Info(a) => info(a),
        ModelsCommand::ImportDafne(a) => import(a),
    }
}

fn label_names(m: &Manifest) -> String {
    m.labels
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn list(args: &ListArgs) -> Result<ExitCode, Error> {
    let store = ModelStore::open_default()?;
    let (entries, warnings) = store.list_with_warnings()?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name, "version": e.version, "id": e.id,
                    "labels": e.manifest.labels.iter().map(|l| &l.name).collect::<Vec<_>>(),
                    "bundled": e.bundled, "path": e.dir,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!("no models (user folder {})", store.user_dir().display());
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.version.to_string(),
                e.id.clone(),
                label_names(&e.manifest),
                if e.bundled { "bundled" } else { "user" }.to_string(),
                e.dir.display().to_string(),
            ]
        })
        .collect();
    print_table(
        &["NAME", "VERSION", "ID", "LABELS", "SOURCE", "PATH"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

/// Columns padded to their widest cell; the last one is not padded.
fn print_table(header: &[&str; 6], rows: &[[String; 6]]) {
    let mut widths = header.map(str::len);
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn info(args: &InfoArgs) -> Result<ExitCode, Error> {
    let path = Path::new(&args.model);
    let (manifest, location) = if path.is_file() {
        let package = import_dafne_file(path)?;
        (
            package.manifest,
            format!("{} (original Dafne file, not imported)", path.display()),
        )
    } else {
        let store = ModelStore::open_default()?;
        let e: ModelEntry = store.resolve(&args.model)?;
        let source = if e.bundled { "bundled" } else { "user" };
        (e.manifest, format!("{} ({source})", e.dir.display()))
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        print_manifest(&manifest, &location)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_manifest(m: &Manifest, location: &str) -> Result<(), Error> {
    println!("{} (version {})", m.name, m.version);
    if !m.description.is_empty() {
        println!("  description     {}", m.description);
    }
    println!("  id              {}", m.id);
    println!("  location        {location}");
    let arch = m.architecture.parse().map_err(|e| {
        dafne_session::segmentation::ml_error("cannot read the model architecture", e)
    })?;
    let dafne_ml::package::Architecture::CosciaUnet(cfg) = arch;
    println!(
        "  network         {} widths {:?} bottleneck {} classes {} input {}x{} ({} parameters)",
        m.architecture.name,
        cfg.widths,
        cfg.bottleneck_width,
        cfg.classes,
        cfg.input_size[0],
        cfg.input_size[1],
        cfg.param_count()
    );
    println!("  labels          {}", m.labels.len());
    for l in &m.labels {
        println!("    {:>3} {:<5} {}", l.value, l.name, l.long_name);
    }
    let p = &m.preprocessing;
    println!(
        "  preprocessing   {} mm, canvas {} px, crop {}x{} px, max {}, split L/R {}, {}",
        p.resolution_mm,
        p.canvas_px,
        p.crop_px[0],
        p.crop_px[1],
        p.normalise_max,
        p.split_laterality,
        p.orientation
    );
    match &p.bias_correction {
        Some(b) => println!(
            "  bias correction N4 {} levels x {} iterations, Otsu {} bins, rescale below {}",
            b.levels, b.iterations, b.otsu_bins, b.rescale_below
        ),
        None => println!("  bias correction none"),
    }
    if !m.variants.is_empty() {
        println!("  variants        {:?}", m.variants);
    }
    match &m.incremental_learning {
        Some(il) => println!(
            "  learning        lr {} x {} epochs, batch {}, min {} images, boundary band {} px²",
            il.learning_rate,
            il.epochs,
            il.batch_size,
            il.min_training_images,
            il.boundary_band_px2
        ),
        None => println!("  learning        not supported"),
    }
    println!("  licence         {}", m.licence);
    println!("  provenance      {}", m.provenance.trained_on);
    if let Some(parent) = &m.provenance.parent {
        println!("    parent        {} version {}", parent.id, parent.version);
    }
    for (k, v) in &m.provenance.details {
        println!("    {k}: {v}");
    }
    Ok(())
}

fn import(args: &ImportArgs) -> Result<ExitCode, Error> {
    if args.out.is_none() && !args.install {
        return Err(Error::InvalidInput(
            "say where the package goes: --out FOLDER, --install, or both".into(),
        ));
    }
    let mut package = import_dafne_file(&args.model)?;
    if let Some(out) = &args.out {
        if out.join(dafne_ml::package::MANIFEST_FILE).exists() {
            return Err(Error::InvalidInput(format!(
                "a model package is already there; choose another folder: {}",
                out.display()
            )));
        }
        package
            .save(out)
            .map_err(|e| dafne_session::segmentation::ml_error("cannot write model package", e))?;
        println!("wrote {}", out.display());
    }
    if args.install {
        let store = ModelStore::open_default()?;
        let e = store.install(&mut package)?;
        println!(
            "installed {} version {} in {}",
            e.name,
            e.version,
            e.dir.display()
        );
    }
    let m = &package.manifest;
    println!(
        "{} version {}: {} labels ({}), input {}x{}",
        m.name,
        m.version,
        m.labels.len(),
        label_names(m),
        m.preprocessing.crop_px[0],
        m.preprocessing.crop_px[1]
    );
    Ok(ExitCode::SUCCESS)
}
