//! Finding and loading the ONNX Runtime shared library.
//!
//! `ort` is built with `load-dynamic`: the library is opened at run time, once
//! per process. The version is pinned in `Cargo.toml`
//! (`[package.metadata.onnxruntime]`), and `build.rs` fetches it from the
//! official PyPI wheel into the cache directory below. Search order:
//!
//! 1. `ORT_DYLIB_PATH` (an explicit path must exist; it is not second-guessed);
//! 2. next to the binary, or in `../lib` from it (the container image);
//! 3. `$ONNXRUNTIME_CACHE_DIR/onnxruntime-<version>/`, else
//!    `$XDG_CACHE_HOME/warden/…`, else `~/.cache/warden/…`;
//! 4. the cache directory `build.rs` used when this binary was built.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The ONNX Runtime release this binary was built for.
pub const ORT_VERSION: &str = env!("BUILD_ONNXRUNTIME_VERSION");

fn library_name() -> String {
    format!("libonnxruntime.so.{ORT_VERSION}")
}

/// Every place searched, in order.
pub fn candidates() -> Vec<PathBuf> {
    let name = library_name();
    let mut out = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            out.push(dir.join(&name));
            out.push(dir.join("../lib").join(&name));
        }
    }
    let root = if let Some(dir) = std::env::var_os("ONNXRUNTIME_CACHE_DIR") {
        Some(PathBuf::from(dir))
    } else if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        Some(Path::new(&dir).join("warden"))
    } else {
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache").join("warden"))
    };
    if let Some(root) = root {
        out.push(root.join(format!("onnxruntime-{ORT_VERSION}")).join(&name));
    }
    out.push(Path::new(env!("BUILD_ONNXRUNTIME_CACHE")).join(&name));
    // The run-time cache is usually where the build put it: list it once.
    out.dedup();
    out
}

/// Where the library is, or a message that says where it was looked for and
/// how to get it.
pub fn locate() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        let path = PathBuf::from(path);
        return if path.exists() { Ok(path) } else { Err(format!("ORT_DYLIB_PATH={} does not exist", path.display())) };
    }
    let searched = candidates();
    searched.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        format!(
            "ONNX Runtime {ORT_VERSION} not found (looked in {}); fetch it with `python3 scripts/fetch_onnxruntime.py` \
             (build.rs does this once) or set ORT_DYLIB_PATH",
            searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The loaded library and the process-wide environment sessions belong to.
pub struct Runtime {
    pub path: PathBuf,
    pub env: ort::environment::Environment,
}

/// Loads the library and creates the environment, once per process. Later
/// calls return the first outcome.
pub fn init() -> Result<&'static Runtime, String> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let outcome = RUNTIME.get_or_init(|| {
        let path = locate()?;
        let builder = ort::init_from(&path).map_err(|e| format!("loading {}: {e}", path.display()))?;
        let env = builder.with_name("warden").build().map_err(|e| format!("ONNX Runtime environment: {e}"))?;
        Ok(Runtime { path, env })
    });
    outcome.as_ref().map_err(Clone::clone)
}
