//! The library's top-level modules form layers: no module reaches, through
//! `crate::` paths, a module that reaches it back. Shared vocabulary
//! (`request`, `evaluation`, `limits`, `error`) sits at the bottom, each
//! module owns its config, and `config` only gathers them. A change that
//! closes a loop fails here with the loop spelled out.
//!
//! The check reads the sources as text: every `crate::<module>` path outside
//! `#[cfg(test)]` modules is an edge from the file's top-level module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/audit/journal/mod.rs` -> `audit`; `src/engine.rs` -> `engine`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    // The crate root and the binary (main.rs and its cmd/ modules) are the
    // top of the house, not a layer of the library.
    (!matches!(name, "lib" | "main" | "cmd")).then(|| name.to_string())
}

/// The module graph: module -> the modules its non-test code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else { continue };
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests may reach anything; they are not part of the layering.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(&text);
        // Comments (doc links included) are not dependencies.
        let code: String = code
            .lines()
            .map(|l| match l.trim_start().starts_with("//") {
                true => "",
                false => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let edges = graph.entry(from.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name != from && modules.contains(&name) {
                edges.insert(name);
            }
        }
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn top_level_modules_import_in_one_direction() {
    let graph = graph();
    assert!(graph.len() > 20, "the modules were found: {:?}", graph.keys());
    let cycles: Vec<String> = graph.keys().filter_map(|m| cycle_from(&graph, m)).map(|c| c.join(" -> ")).collect();
    assert!(cycles.is_empty(), "import cycles between top-level modules:\n{}", cycles.join("\n"));
}

#[test]
fn the_shared_vocabulary_sits_at_the_bottom() {
    let graph = graph();
    let leaves = ["error", "limits", "telemetry", "timestamp", "validate"];
    for leaf in leaves {
        let reaches: Vec<&String> =
            graph[leaf].iter().filter(|m| !leaves.contains(&m.as_str()) && *m != "detect").collect();
        assert!(reaches.is_empty(), "{leaf} should depend on no domain module, but names {reaches:?}");
    }
    for vocab in ["request", "evaluation"] {
        let allowed = ["detect", "policy", "error", "limits", "validate", "telemetry"];
        let reaches: Vec<&String> = graph[vocab].iter().filter(|m| !allowed.contains(&m.as_str())).collect();
        assert!(reaches.is_empty(), "{vocab} is vocabulary: it may name only {allowed:?}, but names {reaches:?}");
    }
}
