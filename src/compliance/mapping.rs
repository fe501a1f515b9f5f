//! Clause mappings: which evidence indicators support which clause of a
//! framework. They are data (`compliance/<framework>.toml`, embedded in the
//! binary, overridable with `compliance.mapping_dir`), versioned and
//! reviewed like policy, never buried in code.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::indicators::INDICATORS;
use super::{Framework, ReportError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub framework: String,
    pub title: String,
    pub version: String,
    pub reviewed_by: String,
    pub disclaimer: String,
    pub changes: Vec<Change>,
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub version: String,
    pub date: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub requirement: String,
    /// Indicator ids (see [`INDICATORS`]).
    pub evidence: Vec<String>,
    pub rationale: String,
}

fn embedded(framework: Framework) -> &'static str {
    match framework {
        Framework::EuAiAct => include_str!("../../compliance/eu-ai-act.toml"),
        Framework::NistAiRmf => include_str!("../../compliance/nist-ai-rmf.toml"),
        Framework::Iso42001 => include_str!("../../compliance/iso-42001.toml"),
    }
}

impl Mapping {
    /// The mapping for `framework`: `<dir>/<framework>.toml` when a directory
    /// is configured, the embedded one otherwise.
    pub fn load(framework: Framework, dir: Option<&Path>) -> Result<Self, ReportError> {
        let (text, origin) = match dir {
            Some(dir) => {
                let path = dir.join(format!("{}.toml", framework.as_str()));
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ReportError::Mapping(format!("{}: {e}", path.display())))?;
                (text, path.display().to_string())
            }
            None => (embedded(framework).to_string(), format!("embedded {}.toml", framework.as_str())),
        };
        let mapping: Mapping = toml::from_str(&text).map_err(|e| ReportError::Mapping(format!("{origin}: {e}")))?;
        mapping.check(framework).map_err(|e| ReportError::Mapping(format!("{origin}: {e}")))?;
        Ok(mapping)
    }

    fn check(&self, framework: Framework) -> Result<(), String> {
        if self.framework != framework.as_str() {
            return Err(format!("framework is {:?}, expected {:?}", self.framework, framework.as_str()));
        }
        if self.clauses.is_empty() {
            return Err("no clauses".into());
        }
        let mut ids = std::collections::HashSet::new();
        for c in &self.clauses {
            if !ids.insert(c.id.as_str()) {
                return Err(format!("clause {} appears twice", c.id));
            }
            if c.evidence.is_empty() {
                return Err(format!("clause {} names no evidence", c.id));
            }
            if let Some(e) = c.evidence.iter().find(|e| !INDICATORS.iter().any(|i| i.id == e.as_str())) {
                return Err(format!("clause {} names unknown evidence {e:?}", c.id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_mappings_load_and_cover_the_required_clauses() {
        let refs = |f| Mapping::load(f, None).unwrap().clauses.into_iter().map(|c| c.reference).collect::<Vec<_>>();
        let eu = refs(Framework::EuAiAct);
        for r in
            ["Art. 12(1)", "Art. 12(2)(a)", "Art. 12(2)(b)", "Art. 12(2)(c)", "Art. 14", "Art. 9", "Art. 72", "Art. 73"]
        {
            assert!(eu.iter().any(|x| x == r), "EU AI Act mapping lacks {r}: {eu:?}");
        }
        assert!(eu.iter().any(|x| x.contains("19") && x.contains("26(6)")), "{eu:?}");
        let nist = refs(Framework::NistAiRmf).join(" ");
        for r in ["MEASURE 2.4", "2.6", "2.7", "2.8", "2.10", "3.1", "MANAGE 1.3", "2.4", "4.1", "4.3"] {
            assert!(nist.contains(r), "NIST mapping lacks {r}: {nist}");
        }
        let iso = refs(Framework::Iso42001).join(" ");
        for r in ["A.6.2.6", "A.6.2.8", "A.7.5", "A.8.4", "A.9"] {
            assert!(iso.contains(r), "ISO 42001 mapping lacks {r}: {iso}");
        }
    }

    #[test]
    fn a_mapping_naming_unknown_evidence_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = embedded(Framework::Iso42001).replace("\"provenance.documents\"", "\"provenance.made_up\"");
        std::fs::write(dir.path().join("iso-42001.toml"), text).unwrap();
        let err = Mapping::load(Framework::Iso42001, Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("provenance.made_up"), "{err}");
    }
}
