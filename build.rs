//! Compiles `proto/warden/v1/*.proto` with the pure-Rust `protox` compiler (no
//! system `protoc`), generates tonic services and prost messages, proto3 JSON
//! (serde) impls with `pbjson`, and writes the file descriptor set that the
//! reflection service embeds.
//!
//! It names the commit the binary is built from, for `warden --version`
//! ([`git_commit`]).
//!
//! It also makes sure the ONNX Runtime library the classifiers load at run
//! time is on this machine: the version pinned in `Cargo.toml`
//! (`[package.metadata.onnxruntime]`) is fetched once from its PyPI wheel into
//! a cache directory (see `scripts/fetch_onnxruntime.py`). A failed fetch is a
//! warning, not a build error: the binary then says at start-up where it
//! looked, and `model.allow_rules_only` can run it without the model.

use std::path::{Path, PathBuf};

const PROTOS: &[&str] = &[
    "proto/warden/v1/common.proto",
    "proto/warden/v1/risk.proto",
    "proto/warden/v1/audit.proto",
    "proto/warden/v1/approval.proto",
    "proto/warden/v1/compliance.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let fds = protox::compile(PROTOS, ["proto"])?;
    let descriptor_bytes = prost::Message::encode_to_vec(&fds);
    std::fs::write(out_dir.join("warden_descriptor.bin"), &descriptor_bytes)?;

    tonic_prost_build::configure()
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // Invalid UTF-8 in a string field must be INVALID_ARGUMENT, not the
        // INTERNAL that the stock codec answers for any decode error.
        .codec_path("crate::proto::codec::WardenCodec")
        .compile_fds(fds)?;

    pbjson_build::Builder::new().register_descriptors(&descriptor_bytes)?.build(&[".warden.v1"])?;

    println!("cargo:rustc-env=BUILD_GIT_COMMIT={}", git_commit());
    onnxruntime()?;
    Ok(())
}

/// The commit this source tree is, 12 hex digits: `BUILD_GIT_COMMIT` when a
/// packager sets it (not `WARDEN_*`: cargo passes the result to the tests'
/// environment, where that prefix is read as configuration), else from git in a clone, else from the
/// `.cargo_vcs_info.json` that `cargo package` writes into a crate tarball;
/// "unknown" when none of them says.
fn git_commit() -> String {
    println!("cargo:rerun-if-env-changed=BUILD_GIT_COMMIT");
    if let Ok(commit) = std::env::var("BUILD_GIT_COMMIT") {
        return commit;
    }
    // A crate tarball says which commit it was packaged from; check it
    // first, since the tarball may be unpacked inside another repository.
    if let Ok(info) = std::fs::read_to_string(".cargo_vcs_info.json") {
        println!("cargo:rerun-if-changed=.cargo_vcs_info.json");
        // {"git": {"sha1": "<40 hex>"}, "path_in_vcs": ""}
        let sha1 = info.find("\"sha1\"").and_then(|i| {
            let rest = &info[i + 6..];
            let start = rest.find('"')? + 1;
            rest.get(start..start + 12).filter(|h| h.chars().all(|c| c.is_ascii_hexdigit())).map(str::to_string)
        });
        return sha1.unwrap_or_else(|| "unknown".into());
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown".into();
    };
    // A new commit or a checkout changes HEAD or the branch it names.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        // Only files that exist: cargo reruns a script on every build while
        // one it watches is missing (a repository without packed refs).
        if let Some(path) = git(&["rev-parse", "--git-path", &name]).filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    commit
}

/// Reads the pinned ONNX Runtime version, checks it against ort's `api-NN`
/// feature, tells the crate where the cache is, and fetches the library if it
/// is not there yet.
fn onnxruntime() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=scripts/fetch_onnxruntime.py");
    for var in ["ORT_DYLIB_PATH", "ONNXRUNTIME_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "SKIP_ONNXRUNTIME_FETCH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let manifest = std::fs::read_to_string("Cargo.toml")?;
    let version = metadata_value(&manifest, "version").ok_or("Cargo.toml: [package.metadata.onnxruntime] version")?;
    let minor = version.split('.').nth(1).ok_or("onnxruntime version must be MAJOR.MINOR.PATCH")?;
    let api_feature = format!("\"api-{minor}\"");
    let ort_line = manifest.lines().find(|l| l.starts_with("ort =")).ok_or("Cargo.toml: no `ort` dependency")?;
    if !ort_line.contains(&api_feature) {
        return Err(format!(
            "onnxruntime {version} needs the ort feature {api_feature}; the ort dependency says: {ort_line}"
        )
        .into());
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH")?;
    let os = std::env::var("CARGO_CFG_TARGET_OS")?;
    let sha = metadata_value(&manifest, &format!("sha256-{os}-{arch}"));
    println!("cargo:rustc-env=BUILD_ONNXRUNTIME_VERSION={version}");
    let cache = cache_root().join(format!("onnxruntime-{version}"));
    println!("cargo:rustc-env=BUILD_ONNXRUNTIME_CACHE={}", cache.display());

    let lib = cache.join(format!("libonnxruntime.so.{version}"));
    let explicit = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from).filter(|p| p.exists());
    if lib.exists() || explicit.is_some() || std::env::var_os("SKIP_ONNXRUNTIME_FETCH").is_some() || os != "linux" {
        return Ok(());
    }
    let Some(sha) = sha else {
        println!("cargo:warning=no pinned onnxruntime sha256 for {os}-{arch}; set ORT_DYLIB_PATH to a libonnxruntime {version}");
        return Ok(());
    };
    let status = std::process::Command::new("python3")
        .arg("scripts/fetch_onnxruntime.py")
        .args([version.as_str(), sha.as_str()])
        .arg(&cache)
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => println!("cargo:warning=fetching onnxruntime {version} into {} failed ({s})", cache.display()),
        Err(e) => println!("cargo:warning=cannot run python3 to fetch onnxruntime {version}: {e}"),
    }
    Ok(())
}

/// `key = "value"` inside `[package.metadata.onnxruntime]`.
fn metadata_value(manifest: &str, key: &str) -> Option<String> {
    let section = manifest.split("[package.metadata.onnxruntime]").nth(1)?;
    let section = section.split("\n[").next()?;
    section.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// `$ONNXRUNTIME_CACHE_DIR`, else `$XDG_CACHE_HOME/warden`, else `~/.cache/warden`
/// (the same order `src/model/runtime.rs` searches at run time).
fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("ONNXRUNTIME_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Path::new(&dir).join("warden");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("warden")
}
