//! Tauri's build step (capabilities, context), plus: re-embed the UI whenever `ui/dist`
//! changes (tauri-build watches only its config), and say how to make it when it is missing.

fn main() {
    let dist = std::path::Path::new("../ui/dist");
    if !dist.is_dir() {
        println!(
            "cargo:warning=ui/dist is missing: build the UI first (cd ui && npm ci && npm run build)"
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
