//! The deployment files: every kustomize overlay renders and validates
//! against the Kubernetes schemas (offline, `kubernetes-validate`), and the
//! Prometheus alert rules are well-formed, their PromQL parses, and every
//! metric they name is one Warden exports.
//!
//! Needs `kubectl` (for `kubectl kustomize`) and the Python packages in
//! `deploy/requirements.txt` (the README's test command installs them). A
//! missing tool fails the test with what to install; it never skips.

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run ({e}); see deploy/README.md for the tools"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_overlay_renders_and_validates() {
    let overlays = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/overlays");
    let dir = tempfile::tempdir().unwrap();
    let mut count = 0;
    for entry in std::fs::read_dir(&overlays).unwrap() {
        let overlay = entry.unwrap().path();
        let name = overlay.file_name().unwrap().to_string_lossy().to_string();
        let rendered =
            run(Command::new("kubectl").arg("kustomize").arg(&overlay), &format!("kubectl kustomize {name}"));
        assert!(rendered.contains("kind: Deployment"), "{name} renders a Deployment");
        // The sidecar: an init container that keeps running.
        assert!(rendered.contains("restartPolicy: Always"), "{name}: Warden is a native sidecar");
        for hardening in
            ["runAsNonRoot: true", "readOnlyRootFilesystem: true", "allowPrivilegeEscalation: false", "RuntimeDefault"]
        {
            assert!(rendered.contains(hardening), "{name}: {hardening}");
        }
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, &rendered).unwrap();
        let report = run(
            Command::new("python3").args(["-m", "kubernetes_validate", "--strict", "-k", "1.32.0"]).arg(&file),
            &format!("kubernetes-validate {name}"),
        );
        assert!(!report.contains("ERROR"), "{name}: {report}");
        count += 1;
    }
    assert!(count >= 2, "dev and production overlays");
}

#[test]
fn alert_rules_parse_and_name_real_metrics() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/alerts.yaml");
    let json = run(
        Command::new("python3")
            .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
            .arg(&path),
        "reading alerts.yaml (PyYAML)",
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let telemetry = include_str!("../src/telemetry.rs");
    let metric = regex::Regex::new(r"\bwarden_[a-z_]+").unwrap();
    let mut alerts = 0;
    for group in doc["groups"].as_array().expect("groups") {
        assert!(group["name"].is_string());
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["alert"].as_str().expect("alert name");
            let expr = rule["expr"].as_str().unwrap_or_else(|| panic!("{name}: expr"));
            promql_parser::parser::parse(expr).unwrap_or_else(|e| panic!("{name}: PromQL does not parse: {e}"));
            assert!(rule["for"].is_string(), "{name}: for");
            let severity = rule["labels"]["severity"].as_str().unwrap_or_else(|| panic!("{name}: severity"));
            assert!(["warning", "critical"].contains(&severity), "{name}: severity {severity}");
            assert!(rule["annotations"]["summary"].is_string() && rule["annotations"]["description"].is_string());
            for m in metric.find_iter(expr) {
                let m = m.as_str();
                let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| m.strip_suffix(s)).unwrap_or(m);
                assert!(
                    telemetry.contains(&format!("\"{m}\"")) || telemetry.contains(&format!("\"{base}\"")),
                    "{name}: {m} is not a metric Warden exports"
                );
            }
            alerts += 1;
        }
    }
    assert!(alerts >= 8);
}
