//! The deployment files: every kustomize overlay renders and validates
//! against the Kubernetes schemas (offline, `kubernetes-validate`), and the
//! Prometheus alert rules are well-formed, their PromQL parses, every
//! metric they name is one Warden exports, `promtool check rules` accepts
//! them and their unit tests (`deploy/prometheus/alerts.test.yaml`, a case
//! that fires and one that does not for every alert) pass under
//! `promtool test rules`.
//!
//! The Grafana dashboard (`deploy/grafana/warden.json`) is valid JSON whose
//! every query parses as PromQL and names only series that a running
//! server exposes at `/metrics` after a few calls.
//!
//! Needs `kubectl` (for `kubectl kustomize`), `promtool` (Debian's
//! `prometheus` package) and the Python packages in
//! `deploy/requirements.txt`; `scripts/install-test-deps.sh` installs them.
//! A missing tool fails the test with what to install; it never skips.

mod common;

use std::path::Path;
use std::process::Command;

/// Runs a tool from the crate's directory: `figment::Jail` (in the config
/// test below) moves the whole process into a temporary directory that it
/// deletes afterwards, and a tool started meanwhile would inherit that
/// directory (pyenv's `python3` then fails to start).
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run ({e}); see deploy/README.md for the tools"));
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
        // A StatefulSet: each replica's sidecar keeps its own journal.
        assert!(rendered.contains("kind: StatefulSet"), "{name} renders a StatefulSet");
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
        // kubernetes-validate has no schema for custom resources (it warns
        // and passes them); the ServiceMonitor is checked below instead. Any
        // other warning fails.
        for line in report.lines().filter(|l| l.contains("WARN")) {
            assert!(line.contains("ServiceMonitor"), "{name}: {line}");
        }
        check_service_monitors(&name, &render(&overlay));
        count += 1;
    }
    assert!(count >= 2, "dev and production overlays");
}

/// The rendered manifests as JSON documents (PyYAML reads the YAML).
fn render(overlay: &Path) -> Vec<serde_json::Value> {
    let name = overlay.file_name().unwrap().to_string_lossy().to_string();
    let rendered = run(Command::new("kubectl").arg("kustomize").arg(overlay), &format!("kubectl kustomize {name}"));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), rendered).unwrap();
    let json = run(
        Command::new("python3")
            .args(["-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"])
            .arg(file.path()),
        "reading the rendered manifests (PyYAML)",
    );
    serde_json::from_str(&json).unwrap()
}

/// A ServiceMonitor scrapes something only if its selector matches a
/// Service's labels, its endpoint names a port of that Service, and that port
/// leads to the sidecar's metrics port; the operator's own schema checks none
/// of that.
fn check_service_monitors(name: &str, docs: &[serde_json::Value]) {
    for sm in docs.iter().filter(|d| d["kind"] == "ServiceMonitor") {
        assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1", "{name}");
        let selector = sm["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels");
        let service = docs
            .iter()
            .filter(|d| d["kind"] == "Service")
            .find(|svc| selector.iter().all(|(k, v)| &svc["metadata"]["labels"][k] == v))
            .unwrap_or_else(|| panic!("{name}: the ServiceMonitor's selector matches no Service"));
        for ep in sm["spec"]["endpoints"].as_array().expect("endpoints") {
            let port = ep["port"].as_str().expect("endpoint port name");
            let svc_port = service["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == port)
                .unwrap_or_else(|| panic!("{name}: the Service has no port {port}"));
            assert_eq!(svc_port["targetPort"], "metrics", "{name}: {port} leads to the metrics port");
            assert_eq!(ep["path"], "/metrics", "{name}");
            assert!(["http", "https"].contains(&ep["scheme"].as_str().unwrap_or("http")), "{name}");
            let interval = ep["interval"].as_str().unwrap_or("30s");
            assert!(interval.ends_with('s') || interval.ends_with('m'), "{name}: interval {interval}");
        }
    }
}

/// The sidecar container of a rendered overlay's StatefulSet.
fn sidecar(workload: &serde_json::Value) -> &serde_json::Value {
    workload["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "warden")
        .expect("the warden sidecar")
}

/// Where a file the sidecar reads comes from: the Secret key behind `path`,
/// found through the container's mounts and the pod's Secret volumes.
fn secret_key_of(workload: &serde_json::Value, path: &Path) -> Option<String> {
    let container = sidecar(workload);
    let volumes = workload["spec"]["template"]["spec"]["volumes"].as_array().unwrap();
    container["volumeMounts"].as_array()?.iter().find_map(|mount| {
        let rest = path.strip_prefix(mount["mountPath"].as_str()?).ok()?;
        let volume = volumes.iter().find(|v| v["name"] == mount["name"])?;
        let items = volume["secret"]["items"].as_array()?;
        items.iter().find(|i| Path::new(i["path"].as_str().unwrap()) == rest).map(|i| i["key"].to_string())
    })
}

/// What the sidecar would do at start-up with the overlay's config file and
/// the environment and files its container gets: the config loads (an
/// environment variable named `WARDEN_*` that is not a config key would stop
/// it), every token's variable or file is provided by the manifest (a file
/// through a mounted Secret's item), and the authenticator accepts them.
/// Reviewers have tokens of their own, and there is an auditor.
#[test]
fn every_overlay_config_loads_with_its_container_environment() {
    let overlays = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/overlays");
    for entry in std::fs::read_dir(&overlays).unwrap() {
        let overlay = entry.unwrap().path();
        let name = overlay.file_name().unwrap().to_string_lossy().to_string();
        let docs = render(&overlay);
        let workload = docs.iter().find(|d| d["kind"] == "StatefulSet").expect("a StatefulSet");
        let env: Vec<String> = sidecar(workload)["env"]
            .as_array()
            .map(|e| e.iter().map(|v| v["name"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        // A token file exists only in the pod: check the manifest provides
        // it (a mounted Secret's item), then point the config at a stand-in.
        let files = tempfile::tempdir().unwrap();
        let mut text = std::fs::read_to_string(overlay.join("config.toml")).unwrap();
        let token_file = regex::Regex::new(r#"(?m)^token_file = "([^"]+)""#).unwrap();
        let paths: Vec<String> = token_file.captures_iter(&text).map(|c| c[1].to_string()).collect();
        for (i, path) in paths.iter().enumerate() {
            let key = secret_key_of(workload, Path::new(path))
                .unwrap_or_else(|| panic!("{name}: no Secret item is mounted at {path}"));
            let stand_in = files.path().join(format!("token-{i}"));
            std::fs::write(&stand_in, format!("file-token-{name}-{i}-{key}-0123456789\n")).unwrap();
            text = text.replace(&format!("\"{path}\""), &format!("{:?}", stand_in.display().to_string()));
        }
        let config_file = files.path().join("config.toml");
        std::fs::write(&config_file, &text).unwrap();
        figment::Jail::expect_with(|jail| {
            for (i, var) in env.iter().enumerate() {
                jail.set_env(var, format!("token-for-{name}-{i}-0123456789abcdef"));
            }
            let config = warden::Config::load(Some(&config_file), &warden::config::Overrides::default())
                .map_err(|e| format!("{name}: {e}"))?;
            let auth = warden::auth::Authenticator::from_config(&config.auth).map_err(|e| format!("{name}: {e}"))?;
            drop(auth);
            let with_role = |role| -> Vec<&str> {
                config.auth.tokens.iter().filter(|t| t.roles.contains(&role)).map(|t| t.identity.as_str()).collect()
            };
            let reviewers = with_role(warden::auth::Role::Reviewer);
            assert!(reviewers.len() >= 2, "{name}: one token per reviewer, got {reviewers:?}");
            let distinct: std::collections::BTreeSet<&&str> = reviewers.iter().collect();
            assert_eq!(distinct.len(), reviewers.len(), "{name}: reviewers share an identity");
            assert!(!with_role(warden::auth::Role::Auditor).is_empty(), "{name}: an auditor's token");
            let period = workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap();
            assert!(
                config.shutdown_grace_seconds + 1 + 10 <= period,
                "{name}: Warden's shutdown ({} s + 1) leaves the app at least 10 s of the {period} s",
                config.shutdown_grace_seconds
            );
            Ok(())
        });
    }
}

/// A memory quantity (`768Mi`, `1Gi`) in MiB.
fn mebibytes(quantity: &str) -> u64 {
    let (number, unit) = quantity.split_at(quantity.find(|c: char| !c.is_ascii_digit()).unwrap_or(quantity.len()));
    let n: u64 = number.parse().unwrap();
    match unit {
        "Mi" => n,
        "Gi" => n * 1024,
        other => panic!("unexpected memory unit {other:?} in {quantity}"),
    }
}

/// The production overlay scales out: replicas with a journal volume each,
/// mounted where the config keeps the journal, a PodDisruptionBudget over
/// those pods, a memory limit above the largest measured report, tokens
/// from files only, and patches that address list items by name.
#[test]
fn production_scales_out_with_a_journal_per_replica() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/overlays");
    let production = dir.join("production");
    let docs = render(&production);
    let workload = docs.iter().find(|d| d["kind"] == "StatefulSet").expect("a StatefulSet");
    let spec = &workload["spec"];
    let replicas = spec["replicas"].as_u64().unwrap();
    assert!(replicas >= 2, "replicas {replicas}");
    let claims: Vec<&str> = spec["volumeClaimTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(claims, ["data"]);
    let volumes = spec["template"]["spec"]["volumes"].as_array().unwrap();
    assert!(volumes.iter().all(|v| v["name"] != "data"), "the claim, not a pod volume, backs `data`");
    let container = sidecar(workload);
    let text = std::fs::read_to_string(production.join("config.toml")).unwrap();
    let data_dir = text.lines().find_map(|l| l.strip_prefix("data_dir = ")).unwrap().trim_matches('"');
    let mount = container["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == "data").unwrap();
    assert_eq!(mount["mountPath"], data_dir);
    assert!(!text.contains("token_env"), "production reads every token from a file");
    assert!(container["env"].as_array().is_none_or(|e| e.is_empty()), "no token in the sidecar's environment");

    let pdb = docs.iter().find(|d| d["kind"] == "PodDisruptionBudget").expect("a PodDisruptionBudget");
    let labels = &spec["template"]["metadata"]["labels"];
    for (k, v) in pdb["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&labels[k], v, "the budget selects the replicas");
    }
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);

    // 577 MiB: the peak of a compliance report over 515,165 records
    // (docs/compliance.md), which the sidecar builds in-process.
    let limit = mebibytes(container["resources"]["limits"]["memory"].as_str().unwrap());
    assert!(limit * 10 >= 577 * 13, "memory limit {limit} MiB: at least 30% above 577 MiB");

    for overlay in ["dev", "production"] {
        let kustomization = std::fs::read_to_string(dir.join(overlay).join("kustomization.yaml")).unwrap();
        assert!(!kustomization.contains("op:"), "{overlay}: a JSON patch, which addresses list items by index");
    }
}

/// The fleet service's own Deployment (`deploy/kubernetes/fleet`): renders,
/// validates, is hardened like the sidecar, probes the service it serves,
/// and its config loads as the container would load it.
#[test]
fn the_fleet_service_renders_validates_and_its_config_loads() {
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/fleet");
    let rendered = run(Command::new("kubectl").arg("kustomize").arg(&fleet), "kubectl kustomize fleet");
    for hardening in
        ["runAsNonRoot: true", "readOnlyRootFilesystem: true", "allowPrivilegeEscalation: false", "RuntimeDefault"]
    {
        assert!(rendered.contains(hardening), "fleet: {hardening}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.yaml");
    std::fs::write(&file, &rendered).unwrap();
    let report = run(
        Command::new("python3").args(["-m", "kubernetes_validate", "--strict", "-k", "1.32.0"]).arg(&file),
        "kubernetes-validate fleet",
    );
    assert!(!report.contains("ERROR") && !report.contains("WARN"), "fleet: {report}");
    let docs = render(&fleet);
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").expect("a Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][0], "fleet", "runs `warden fleet`");
    assert_eq!(container["readinessProbe"]["grpc"]["service"], "warden.v1.ApprovalService");
    let env: Vec<String> =
        container["env"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect();
    let period = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap();
    let config_file = fleet.join("config.toml");
    figment::Jail::expect_with(|jail| {
        for (i, var) in env.iter().enumerate() {
            jail.set_env(var, format!("token-for-fleet-{i}-0123456789abcdef"));
        }
        let config = warden::Config::load(Some(&config_file), &warden::config::Overrides::default())
            .map_err(|e| format!("fleet: {e}"))?;
        warden::auth::Authenticator::from_config(&config.auth).map_err(|e| format!("fleet: {e}"))?;
        assert!(config.fleet.central.starts_with("postgres://"), "fleet.central");
        assert!(config.sinks.urls.iter().any(|u| u.starts_with("nats://")), "its decisions ship to JetStream");
        assert!(config.tls.enabled(), "reviewers connect from outside the pod: TLS");
        assert!(config.shutdown_grace_seconds + 1 <= period, "the stop fits the grace period");
        Ok(())
    });
}

/// A YAML file under `deploy/prometheus/`, read with PyYAML, as JSON.
fn prometheus_yaml(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus").join(name);
    let json = run(
        Command::new("python3")
            .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
            .arg(&path),
        &format!("reading {name} (PyYAML)"),
    );
    serde_json::from_str(&json).unwrap()
}

#[test]
fn alert_rules_parse_and_name_real_metrics() {
    let doc = prometheus_yaml("alerts.yaml");
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

/// Runs promtool; a missing promtool fails with what to install.
fn promtool(args: &[&str]) -> String {
    run(
        Command::new("promtool").args(args),
        &format!("promtool {} (install Debian's `prometheus` package: scripts/install-test-deps.sh)", args.join(" ")),
    )
}

/// The rules load in Prometheus itself, and each alert fires on the series
/// it is meant for (counters that start at 0, a first burst, a counter that
/// appears with its first event) and stays quiet on the near misses; the
/// expanded summaries and descriptions are part of each case.
#[test]
fn alert_rules_pass_their_promtool_tests() {
    // The rules are deployed as this plain rule file (a PrometheusRule
    // would carry the same groups under `spec`), so promtool reads them as
    // they are.
    let checked = promtool(&["check", "rules", "deploy/prometheus/alerts.yaml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "deploy/prometheus/alerts.test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");

    // Every alert has a case that fires and one where it must not.
    let rules = prometheus_yaml("alerts.yaml");
    let tests = prometheus_yaml("alerts.test.yaml");
    assert_eq!(tests["rule_files"], serde_json::json!(["alerts.yaml"]));
    let cases: Vec<&serde_json::Value> = tests["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().expect("alert_rule_test"))
        .collect();
    for group in rules["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["alert"].as_str().expect("alert name");
            let of_alert = || cases.iter().filter(|c| c["alertname"] == name);
            let fired = of_alert().filter(|c| c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty())).count();
            let quiet = of_alert().filter(|c| c["exp_alerts"].as_array().is_some_and(|a| a.is_empty())).count();
            assert!(fired > 0, "{name}: no promtool case where it fires");
            assert!(quiet > 0, "{name}: no promtool case where it must not fire");
        }
    }
}

/// The metric names a PromQL expression selects.
fn selected_metrics(expr: &promql_parser::parser::Expr) -> Vec<String> {
    use promql_parser::parser::Expr;
    struct Names(Vec<String>);
    impl promql_parser::util::ExprVisitor for Names {
        type Error = std::convert::Infallible;
        fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
            match expr {
                Expr::VectorSelector(vs) => self.0.extend(vs.name.clone()),
                Expr::MatrixSelector(ms) => self.0.extend(ms.vs.name.clone()),
                _ => {}
            }
            Ok(true)
        }
    }
    let mut names = Names(Vec::new());
    let _ = promql_parser::util::walk_expr(&mut names, expr);
    names.0
}

/// Every query of the dashboard, with Grafana's variables replaced by what
/// Grafana would put there, parses; every series it selects is one a
/// running Warden exposes once it has answered calls (score, health), so
/// no panel of the dashboard stays empty for a name that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_dashboard_queries_name_exposed_series() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/warden.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut queries = Vec::new();
    let mut pending = vec![&dashboard];
    while let Some(value) = pending.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(expr) = map.get("expr").and_then(|e| e.as_str()) {
                    queries.push(expr.to_string());
                }
                pending.extend(map.values());
            }
            serde_json::Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    assert!(queries.len() >= 15, "the dashboard's queries were found: {queries:?}");

    let mut server = common::TestServer::start().await;
    let mut risk = server.risk().await;
    risk.score_input(common::input("Mail me at jane.doe@example.com")).await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();
    let exposition = server.metrics().await;
    server.stop().await.unwrap();
    let exposed =
        |name: &str| exposition.lines().any(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])));

    let mut names = std::collections::BTreeSet::new();
    for query in &queries {
        let promql = query.replace("$__rate_interval", "5m").replace("$job", "warden");
        let expr = promql_parser::parser::parse(&promql)
            .unwrap_or_else(|e| panic!("dashboard query does not parse ({e}): {query}"));
        let selected = selected_metrics(&expr);
        assert!(!selected.is_empty(), "a query that selects no metric: {query}");
        names.extend(selected);
    }
    let missing: Vec<&String> = names.iter().filter(|n| !exposed(n)).collect();
    assert!(missing.is_empty(), "the dashboard queries series /metrics does not expose: {missing:?}");
    for family in ["grpc_server_handled_total", "grpc_server_handling_seconds_bucket", "process_resident_memory_bytes"]
    {
        assert!(names.contains(family), "the dashboard uses {family}");
    }
    // Every service is counted, health included, with the stock labels.
    assert!(
        exposition.lines().any(|l| l.starts_with("grpc_server_handled_total{")
            && l.contains("grpc_service=\"grpc.health.v1.Health\"")
            && l.contains("grpc_method=\"Check\"")
            && l.contains("grpc_code=\"OK\"")
            && l.contains("grpc_type=\"unary\"")
            && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).is_some_and(|v| v >= 1.0)),
        "{exposition}"
    );
}
