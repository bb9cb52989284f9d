//! Build script: tauri-build reads `tauri.conf.json` (beside this file, where the Tauri CLI that
//! bundles the installers looks for it too) and compiles the capability files in `capabilities/`.
//! The window's files (`ui/dist`, built by `npm run build` in ui/) are embedded into the binary,
//! debug builds included (the configuration has no `devUrl`), so a UI rebuild triggers a rebuild here.

fn main() {
    println!("cargo:rerun-if-changed=tauri.conf.json");
    println!("cargo:rerun-if-changed=capabilities");
    println!("cargo:rerun-if-changed=../ui/dist");
    if !std::path::Path::new("../ui/dist/index.html").exists() {
        panic!(
            "the window's files are missing (ui/dist): run `npm ci && npm run build` in ui/ first"
        );
    }
    if let Err(error) = tauri_build::try_build(tauri_build::Attributes::new()) {
        panic!("tauri-build failed: {error:#}");
    }
}
