//! Embeds every file under `shells/web/public/` (if the folder exists) as a
//! static table `(url path, bytes)`, so the binary serves the demo alone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let public = manifest.join("../web/public");
    let mut files = Vec::new();
    if public.is_dir() {
        collect(&public, &public, &mut files);
        println!("cargo:rerun-if-changed={}", public.display());
    } else {
        // Watch the parent so that the folder's arrival is noticed.
        println!("cargo:rerun-if-changed={}", manifest.join("..").display());
    }
    files.sort();
    let mut out =
        String::from("/// Embedded static files: (URL path without the leading `/`, bytes).\n");
    out.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (url, path) in &files {
        let _ = writeln!(
            out,
            "    ({url:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("assets.rs");
    if fs::read_to_string(&dest).ok().as_deref() != Some(out.as_str()) {
        fs::write(&dest, out).expect("OUT_DIR is writable");
    }
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let url = rel.to_string_lossy().replace('\\', "/");
            let abs = path.canonicalize().unwrap_or(path);
            files.push((url, abs));
        }
    }
}
