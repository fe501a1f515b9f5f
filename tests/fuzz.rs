//! The fuzz targets in `fuzz/` as part of `cargo test`.
//!
//! Always: every input of the committed corpus (`fuzz/corpus/<target>/`,
//! seeds and every input that once crashed) runs through the same checks the
//! fuzzers run (`fuzz/src/lib.rs`, included here), so a regression fails the
//! ordinary test run, with no fuzzer and no nightly toolchain.
//!
//! Under CI (`CI=true`), or wherever `cargo-fuzz` is installed, each target
//! is also fuzzed for a few seconds with libFuzzer (`cargo fuzz run
//! --sanitizer none`, which builds on the stable toolchain; see
//! docs/security.md). `WARDEN_FUZZ_SECONDS` sets the seconds per target
//! (0 skips the run outside CI). Under CI a missing `cargo-fuzz` fails the
//! test with what to install; it never skips.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Seconds each target is fuzzed for when nothing else is asked.
const DEFAULT_SECONDS: u64 = 20;
/// The committed corpus stays small: seeds and regressions, not a campaign.
const MAX_CORPUS_BYTES: u64 = 512 * 1024;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Every target has a source file, a `[[bin]]` in fuzz/Cargo.toml and a
/// corpus, and every corpus input passes the target's checks.
#[test]
fn committed_corpus_passes_every_target() {
    let sources: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut names: Vec<String> = targets::TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(sources, names, "fuzz/fuzz_targets/*.rs and warden_fuzz::TARGETS differ");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();

    let mut total = 0;
    for (name, check) in targets::TARGETS {
        assert!(manifest.contains(&format!("name = \"{name}\"")), "no [[bin]] {name} in fuzz/Cargo.toml");
        let inputs = files(&fuzz_dir().join("corpus").join(name));
        assert!(!inputs.is_empty(), "fuzz/corpus/{name} is empty");
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            total += data.len() as u64;
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("{name} fails on {} (replay: cargo fuzz run {name} {})", input.display(), input.display());
            }
        }
    }
    targets::remove_scratch();
    assert!(total <= MAX_CORPUS_BYTES, "the committed corpus is {total} bytes, more than {MAX_CORPUS_BYTES}");
}

/// The table in docs/security.md names every target, and only those.
#[test]
fn every_target_is_documented() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/security.md")).unwrap();
    let section = doc.split("\n## Fuzzing\n").nth(1).expect("a Fuzzing section in docs/security.md");
    let section = section.split("\n## ").next().unwrap();
    let mut documented: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| l.split('|').nth(1).unwrap().split('`').skip(1).step_by(2))
        .collect();
    documented.sort();
    let mut names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    names.sort();
    assert_eq!(documented, names, "the targets in docs/security.md and warden_fuzz::TARGETS differ");
}

/// `cargo-fuzz` on PATH, or where pip put it (scripts/install-test-deps.sh
/// installs it from PyPI with the test dependencies).
fn cargo_fuzz() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("cargo-fuzz")).find(|c| c.is_file()))
        .unwrap_or_default();
    on_path.or_else(|| {
        let out = Command::new("python3")
            .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
            .output()
            .ok()?;
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("cargo-fuzz");
        p.is_file().then_some(p)
    })
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run ({e})"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!("{what} failed ({}):\n{}\n{}", out.status, String::from_utf8_lossy(&out.stdout), tail.join("\n"));
    }
    stderr
}

/// Builds the targets with libFuzzer's instrumentation and fuzzes each one
/// for a few seconds, from the committed corpus; a crash, a timeout or a
/// broken invariant fails with libFuzzer's report (the input is in it).
#[test]
fn each_target_survives_a_short_fuzzing_run() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let seconds: u64 = std::env::var("WARDEN_FUZZ_SECONDS")
        .ok()
        .map(|s| s.parse().expect("WARDEN_FUZZ_SECONDS is a number of seconds"))
        .unwrap_or(DEFAULT_SECONDS);
    let tool = cargo_fuzz();
    let tool = match (tool, ci) {
        (Some(_), false) if seconds == 0 => return eprintln!("WARDEN_FUZZ_SECONDS=0: not fuzzing"),
        (Some(t), _) => t,
        (None, false) => return eprintln!("cargo-fuzz is not installed: not fuzzing (scripts/install-test-deps.sh)"),
        (None, true) => panic!(
            "cargo-fuzz is not installed; CI fuzzes every target (pip install -r fuzz/requirements.txt, which \
             scripts/install-test-deps.sh runs)"
        ),
    };
    let seconds = seconds.max(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lock = std::fs::read(fuzz_dir().join("Cargo.lock")).unwrap();
    let cargo_fuzz = |args: &[&str]| {
        let mut c = Command::new(&tool);
        c.arg("fuzz").args(args).current_dir(root);
        // The outer `cargo test`'s target dir and flags are not the fuzz
        // build's: it has its own workspace and target dir (fuzz/target).
        for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
            c.env_remove(var);
        }
        c
    };
    let started = std::time::Instant::now();
    run(&mut cargo_fuzz(&["build", "--sanitizer", "none"]), "cargo fuzz build");
    let built = started.elapsed();
    assert_eq!(lock, std::fs::read(fuzz_dir().join("Cargo.lock")).unwrap(), "fuzz/Cargo.lock is out of date");

    // In memory where there is a tmpfs: the journal target writes a log for
    // every input, and got through 1.6 times as many there as on the disk.
    let shm = Path::new("/dev/shm");
    let scratch = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    for (name, _) in targets::TARGETS {
        let corpus = scratch.path().join(name);
        std::fs::create_dir(&corpus).unwrap();
        let seeds = fuzz_dir().join("corpus").join(name);
        let report = run(
            cargo_fuzz(&["run", "--sanitizer", "none", name])
                .arg(&corpus)
                .arg(&seeds)
                // Where the journal target writes its log, removed with the rest.
                .env("TMPDIR", scratch.path())
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-timeout=10")
                .arg("-rss_limit_mb=2048")
                .arg("-print_final_stats=1"),
            &format!("cargo fuzz run {name}"),
        );
        let runs = report.lines().find_map(|l| l.strip_prefix("stat::number_of_executed_units:")).unwrap_or("?");
        eprintln!("{name}: {} inputs in {seconds} s", runs.trim());
    }
    eprintln!("fuzz build {:.0} s, runs {:.0} s", built.as_secs_f64(), (started.elapsed() - built).as_secs_f64());
}
