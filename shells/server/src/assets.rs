//! The demo page and the JS SDK, embedded at build time from
//! `shells/web/public/`, served with an ETag and CDN-friendly caching.

use std::collections::HashMap;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// One embedded file, ready to serve.
#[derive(Debug)]
pub struct Asset {
    /// The file's bytes.
    pub body: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// A strong ETag: a quoted prefix of the content's SHA-256.
    pub etag: String,
}

/// `Cache-Control` for every embedded file: short enough that a new release
/// shows within minutes, long enough for a CDN to absorb a crowd.
pub const CACHE_CONTROL: &str = "public, max-age=300";

/// The file served at URL `path` (`/` is `index.html`).
pub fn get(path: &str) -> Option<&'static Asset> {
    static TABLE: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        embedded::FILES
            .iter()
            .map(|(name, body)| {
                let digest = Sha256::digest(body);
                let etag = digest[..12].iter().fold(String::from("\""), |mut s, b| {
                    s.push_str(&format!("{b:02x}"));
                    s
                }) + "\"";
                let asset = Asset {
                    body,
                    content_type: content_type(name),
                    etag,
                };
                (*name, asset)
            })
            .collect()
    });
    let name = path.trim_start_matches('/');
    let name = if name.is_empty() { "index.html" } else { name };
    table.get(name)
}

/// How many files are embedded.
pub fn count() -> usize {
    embedded::FILES.len()
}

fn content_type(name: &str) -> &'static str {
    let ext = if name.ends_with(".d.ts") {
        "d.ts"
    } else {
        name.rsplit_once('.').map_or("", |(_, ext)| ext)
    };
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "d.ts" | "ts" => "application/typescript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(
            content_type("sdk/onbeat.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("sdk/onbeat.d.ts"),
            "application/typescript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }

    #[test]
    fn unknown_paths_are_absent() {
        assert!(get("/no/such/file.js").is_none());
        assert!(get("/../Cargo.toml").is_none());
    }
}
