//! Shell commands in tool arguments: the patterns that turn a command into
//! an incident.

use super::facts::ShellFact;

/// Shell commands: the patterns that turn a command into an incident.
pub fn analyse_shell(path: &str, text: &str) -> Vec<ShellFact> {
    static RULES: std::sync::OnceLock<Vec<(&'static str, &'static str, regex::Regex)>> = std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| {
        let r = |kind, what, re: &str| (kind, what, regex::Regex::new(re).expect("static regex"));
        vec![
            r(
                "download_exec",
                "a download piped into an interpreter",
                r"(?i)\b(curl|wget|fetch|iwr|invoke-webrequest)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da|k)?sh\b|\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(python[0-9.]*|perl|ruby|node|php)\b|\biex\s*\(|\binvoke-expression\b|\b(bash|sh)\s+<\(\s*(curl|wget)",
            ),
            r(
                "download_exec",
                "a downloaded file made executable and run",
                r"(?i)\b(curl|wget)\b.*(-o|-O|>)\s*\S+.*&&.*chmod\s+\+x",
            ),
            r(
                "destructive",
                "a recursive forced delete of a root, home or system directory",
                r#"(?i)\brm\s+(-[a-z]*r[a-z]*f[a-z]*|-[a-z]*f[a-z]*r[a-z]*|--recursive\s+--force|-r\s+-f|-f\s+-r)\s+(--no-preserve-root\s+)?("?(/|~|/\*|\$HOME|/etc|/var|/usr|/home|/boot|/root|\.|\*)"?)(\s|$)"#,
            ),
            r(
                "destructive",
                "a disk or filesystem being overwritten",
                r"(?i)\b(mkfs(\.\w+)?|wipefs|shred)\b|\bdd\b[^\n]*\bof=/dev/|>\s*/dev/(sd|nvme|hd|xvd)",
            ),
            r("destructive", "a fork bomb", r":\(\)\s*\{\s*:\|:&\s*\};:"),
            r(
                "destructive",
                "a database or cluster being dropped",
                r"(?i)\bdropdb\b|\bkubectl\s+delete\s+(ns|namespace|--all)|\bterraform\s+destroy\b|\bgit\s+push\s+(-f|--force)\b",
            ),
            r(
                "privilege_escalation",
                "privileges being raised",
                r"(?i)(^|[;&|]\s*|\s)sudo\s|\bsu\s+(-|root)|\bchmod\s+([0-7]*[4-7][0-7]{3}|u\+s|\+s|777)\b|\bchown\s+root\b|\bsetcap\b|/etc/sudoers|\busermod\s+-a?G\s*(sudo|wheel|root|docker)",
            ),
            r(
                "exfiltration",
                "local data being sent to a remote host",
                r"(?i)\bcurl\b[^\n]*(\s-d\s*@|\s--data(-binary)?\s*@|\s-F\s*\S*=@|\s-T\s|--upload-file)|\b(scp|rsync)\b[^\n]*\s\S+@?[\w.-]+:|\bnc\b[^\n]*<|\|\s*(nc|ncat|netcat)\s|\bbase64\b[^\n]*\|\s*(curl|wget|nc)",
            ),
            r(
                "reverse_shell",
                "a reverse shell",
                r"(?i)/dev/tcp/|\bnc\b[^\n]*\s-e\s|\bbash\s+-i\s*>&|\bsocat\b[^\n]*exec:",
            ),
        ]
    });
    let mut out: Vec<ShellFact> = Vec::new();
    for (kind, what, re) in rules {
        if let Some(m) = re.find(text) {
            if !out.iter().any(|f| f.kind == *kind) {
                out.push(ShellFact {
                    path: path.into(),
                    kind,
                    evidence: format!("{what}: {:?}", truncate(m.as_str(), 80)),
                });
            }
        }
    }
    if out.is_empty() && !text.trim().is_empty() {
        out.push(ShellFact {
            path: path.into(),
            kind: "command",
            evidence: format!("{:?}", truncate(text.trim(), 80)),
        });
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}
