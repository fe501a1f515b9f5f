//! Who is calling, and what they may do.
//!
//! Callers present `Authorization: Bearer <token>`; config maps each token
//! (by its SHA-256, so the config file holds no secret) to an identity and
//! roles. The transport authenticates every call of Warden's own services
//! once, in an interceptor; each handler then states the role it needs.
//! Health and reflection stay open, as probes and tooling expect.
//!
//! Roles: `agent` scores and appends audit events and watches approvals;
//! `reviewer` lists, reads and decides approvals; `auditor` reads the audit
//! log and approvals; `admin` may do everything.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Reviewer,
    Auditor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// An authenticated (or, with authentication off, assumed) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub identity: String,
    pub roles: Vec<Role>,
    /// Tenants the caller may act for; empty means every tenant.
    pub tenants: Vec<String>,
    /// False when authentication is off and the caller is assumed.
    pub authenticated: bool,
}

impl Caller {
    /// Authentication off: one assumed caller with every role.
    pub fn anonymous() -> Self {
        Self {
            identity: "anonymous".into(),
            roles: vec![Role::Agent, Role::Reviewer, Role::Auditor, Role::Admin],
            tenants: Vec::new(),
            authenticated: false,
        }
    }

    /// The CLI's in-process scoring.
    pub fn local() -> Self {
        Self { identity: "local-cli".into(), roles: vec![Role::Agent], tenants: Vec::new(), authenticated: false }
    }

    /// Whether the caller may act for `tenant`.
    pub fn may_act_for(&self, tenant: &str) -> bool {
        self.tenants.is_empty() || self.tenants.iter().any(|t| t == tenant)
    }

    /// Fails with PERMISSION_DENIED unless the caller may act for `tenant`.
    pub fn require_tenant(&self, tenant: &str) -> Result<(), Error> {
        if self.may_act_for(tenant) {
            return Ok(());
        }
        crate::telemetry::auth_failure("permission_denied");
        Err(Error::PermissionDenied(format!("{} may not act for tenant {tenant:?}", self.identity)))
    }

    /// The tenant a call reads or writes, by one rule for every RPC: a
    /// caller for every tenant gets `tenant` as given; a caller scoped to one
    /// tenant that names none gets that tenant; a caller scoped to several
    /// must name one (INVALID_ARGUMENT on `field`); naming a tenant the
    /// caller may not act for is PERMISSION_DENIED.
    pub fn scope_tenant(&self, field: &str, tenant: &str) -> Result<String, Error> {
        match (self.tenants.as_slice(), tenant.is_empty()) {
            ([], _) => Ok(tenant.to_string()),
            ([only], true) => Ok(only.clone()),
            (_, true) => Err(Error::invalid(field, "name one of the tenants this caller may act for")),
            (_, false) => self.require_tenant(tenant).map(|()| tenant.to_string()),
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }

    /// Fails with PERMISSION_DENIED unless the caller has one of `roles`.
    pub fn require(&self, what: &str, roles: &[Role]) -> Result<(), Error> {
        if roles.iter().any(|r| self.has(*r)) {
            return Ok(());
        }
        crate::telemetry::auth_failure("permission_denied");
        let need: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Error::PermissionDenied(format!(
            "{what} needs the role {}; {} has none of them",
            need.join(" or "),
            self.identity
        )))
    }
}

/// The SHA-256 of a token given in clear (an environment variable or a
/// file), without the whitespace around it (a file's final newline).
fn token_hash(token: &str) -> Result<[u8; 32], &'static str> {
    let token = token.trim();
    if token.len() < 16 {
        return Err("is shorter than 16 characters");
    }
    Ok(Sha256::digest(token.as_bytes()).into())
}

pub struct Authenticator {
    tokens: HashMap<[u8; 32], Caller>,
    certificates: HashMap<String, Caller>,
}

impl Authenticator {
    pub fn from_config(config: &AuthConfig) -> Result<Self, String> {
        let mut tokens = HashMap::new();
        for (i, t) in config.tokens.iter().enumerate() {
            let field = format!("auth.tokens[{i}]");
            if t.identity.trim().is_empty() {
                return Err(format!("{field}.identity must not be empty"));
            }
            if t.roles.is_empty() {
                return Err(format!("{field}.roles must name at least one of agent, reviewer, auditor, admin"));
            }
            let hash: [u8; 32] = match (&t.sha256, &t.token_env, &t.token_file) {
                (Some(hex_hash), None, None) => hex::decode(hex_hash.trim())
                    .ok()
                    .and_then(|v| <[u8; 32]>::try_from(v).ok())
                    .ok_or_else(|| format!("{field}.sha256 must be 64 hex digits (sha256sum of the token)"))?,
                (None, Some(var), None) => {
                    let token = std::env::var(var).map_err(|_| format!("{field}.token_env: {var} is not set"))?;
                    token_hash(&token).map_err(|e| format!("{field}.token_env: the token in {var} {e}"))?
                }
                // What secret stores mount (a Kubernetes Secret volume, Vault
                // agent): read once at start-up, like the other forms.
                (None, None, Some(path)) => {
                    let token = std::fs::read_to_string(path)
                        .map_err(|e| format!("{field}.token_file: cannot read {}: {e}", path.display()))?;
                    token_hash(&token)
                        .map_err(|e| format!("{field}.token_file: the token in {} {e}", path.display()))?
                }
                _ => return Err(format!("{field} needs exactly one of sha256, token_env or token_file")),
            };
            let caller = Caller {
                identity: t.identity.clone(),
                roles: t.roles.clone(),
                tenants: t.tenants.clone(),
                authenticated: true,
            };
            if tokens.insert(hash, caller).is_some() {
                return Err(format!("{field}: the same token is configured twice"));
            }
        }
        let mut certificates = HashMap::new();
        for (i, c) in config.certificates.iter().enumerate() {
            let field = format!("auth.certificates[{i}]");
            if c.subject.trim().is_empty() {
                return Err(format!("{field}.subject must not be empty"));
            }
            if c.roles.is_empty() {
                return Err(format!("{field}.roles must name at least one of agent, reviewer, auditor, admin"));
            }
            let caller = Caller {
                identity: c.identity.clone().unwrap_or_else(|| c.subject.clone()),
                roles: c.roles.clone(),
                tenants: c.tenants.clone(),
                authenticated: true,
            };
            if certificates.insert(c.subject.clone(), caller).is_some() {
                return Err(format!("{field}: subject {:?} is configured twice", c.subject));
            }
        }
        Ok(Self { tokens, certificates })
    }

    /// Authentication is on once any token or certificate is configured.
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty() || !self.certificates.is_empty()
    }

    /// The caller behind a request: its bearer token if it sent one, else its
    /// verified client certificate's identities (`tls::certificate_identities`,
    /// most specific first).
    pub fn authenticate(&self, authorization: Option<&str>, certificate: &[String]) -> Result<Caller, Error> {
        if !self.enabled() {
            return Ok(Caller::anonymous());
        }
        let fail = |why: &str| {
            crate::telemetry::auth_failure("unauthenticated");
            Err(Error::Unauthenticated(why.to_string()))
        };
        let Some(header) = authorization else {
            if let Some(caller) = certificate.iter().find_map(|id| self.certificates.get(id)) {
                return Ok(caller.clone());
            }
            if let Some(first) = certificate.first() {
                return fail(&format!("client certificate {first:?} is not mapped to roles (auth.certificates)"));
            }
            return fail("missing bearer token (authorization: Bearer <token>) or client certificate");
        };
        let Some(token) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")) else {
            return fail("the authorization header must be \"Bearer <token>\"");
        };
        let hash: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        match self.tokens.get(&hash) {
            Some(c) => Ok(c.clone()),
            None => fail("unknown bearer token"),
        }
    }
}

/// Who may call what. With no tokens configured, authentication is off and
/// every caller may do everything (a local development set-up; logged as a
/// warning at start).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub tokens: Vec<TokenConfig>,
    /// Client certificates (mutual TLS, `[tls] client_ca_file`) mapped to
    /// the same roles as tokens.
    pub certificates: Vec<CertificateConfig>,
}

/// A client certificate identity: a SAN URI (a SPIFFE ID such as
/// `spiffe://cluster.local/ns/shop/sa/agent`), a SAN DNS name, or the
/// subject's common name, as the certificate carries it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// The identity in the certificate.
    pub subject: String,
    /// The caller's identity in Warden (audit records, approvals); the
    /// certificate's subject when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    pub roles: Vec<crate::auth::Role>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

/// A bearer token: `Authorization: Bearer <token>` maps to `identity` with
/// `roles`. Give the token's SHA-256 (hex) rather than the token itself, or
/// the name of an environment variable that holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub identity: String,
    /// `agent`, `reviewer`, `auditor`, `admin`.
    pub roles: Vec<crate::auth::Role>,
    /// Tenants this caller may act for (score, see and decide approvals);
    /// empty means every tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding the token (a mounted Secret); the alternative to
    /// `sha256` and `token_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::TokenConfig;
    use super::*;

    fn token(identity: &str, token: &str, roles: &[Role]) -> TokenConfig {
        TokenConfig {
            identity: identity.into(),
            roles: roles.to_vec(),
            sha256: Some(hex::encode(Sha256::digest(token.as_bytes()))),
            token_env: None,
            token_file: None,
            tenants: Vec::new(),
        }
    }

    #[test]
    fn one_tenant_rule_for_reads_and_writes() {
        let scoped = |tenants: &[&str]| Caller {
            identity: "agent".into(),
            roles: vec![Role::Agent],
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            authenticated: true,
        };
        let code = |r: Result<String, Error>| match r {
            Ok(t) => t,
            Err(Error::InvalidArgument { field, .. }) => format!("invalid {field}"),
            Err(Error::PermissionDenied(m)) => format!("denied {}", m.contains("\"globex\"")),
            Err(e) => e.to_string(),
        };
        assert_eq!(code(Caller::anonymous().scope_tenant("tenant", "")), "");
        assert_eq!(code(Caller::anonymous().scope_tenant("tenant", "globex")), "globex");
        assert_eq!(code(scoped(&["acme"]).scope_tenant("tenant", "")), "acme");
        assert_eq!(code(scoped(&["acme"]).scope_tenant("tenant", "acme")), "acme");
        assert_eq!(code(scoped(&["acme"]).scope_tenant("tenant", "globex")), "denied true");
        assert_eq!(code(scoped(&["acme", "initech"]).scope_tenant("c.tenant", "")), "invalid c.tenant");
    }

    #[test]
    fn tokens_map_to_identities_and_roles() {
        let auth = Authenticator::from_config(&AuthConfig {
            tokens: vec![
                token("agent-1", "agent-token-0123456789", &[Role::Agent]),
                token("alice", "alice-token-0123456789", &[Role::Reviewer]),
            ],
            certificates: vec![CertificateConfig {
                subject: "spiffe://cluster.local/ns/shop/sa/agent".into(),
                identity: None,
                roles: vec![Role::Agent],
                tenants: vec![],
            }],
        })
        .unwrap();
        let alice = auth.authenticate(Some("Bearer alice-token-0123456789"), &[]).unwrap();
        assert_eq!(alice.identity, "alice");
        assert!(alice.has(Role::Reviewer) && !alice.has(Role::Agent));
        assert!(alice.require("Decide", &[Role::Reviewer]).is_ok());
        let agent = auth.authenticate(Some("Bearer agent-token-0123456789"), &[]).unwrap();
        assert!(matches!(agent.require("Decide", &[Role::Reviewer]), Err(Error::PermissionDenied(_))));
        assert!(matches!(auth.authenticate(None, &[]), Err(Error::Unauthenticated(_))));
        assert!(matches!(auth.authenticate(Some("Bearer nope"), &[]), Err(Error::Unauthenticated(_))));
        assert!(matches!(auth.authenticate(Some("Basic eA=="), &[]), Err(Error::Unauthenticated(_))));
        // A certificate's identities, most specific first; a token wins over it.
        let ids = ["spiffe://cluster.local/ns/shop/sa/agent".to_string(), "agent.shop.svc".to_string()];
        let by_cert = auth.authenticate(None, &ids).unwrap();
        assert_eq!(by_cert.identity, "spiffe://cluster.local/ns/shop/sa/agent");
        assert!(by_cert.has(Role::Agent) && !by_cert.has(Role::Reviewer));
        assert_eq!(auth.authenticate(Some("Bearer alice-token-0123456789"), &ids).unwrap().identity, "alice");
        let e = auth.authenticate(None, &["CN-unknown".to_string()]).unwrap_err().to_string();
        assert!(e.contains("not mapped"), "{e}");
    }

    #[test]
    fn no_tokens_means_authentication_is_off() {
        let auth = Authenticator::from_config(&AuthConfig::default()).unwrap();
        assert!(!auth.enabled());
        assert_eq!(auth.authenticate(None, &[]).unwrap(), Caller::anonymous());
    }

    #[test]
    fn bad_token_config_names_the_field() {
        let mut t = token("x", "t", &[Role::Agent]);
        t.sha256 = Some("abc".into());
        let err = Authenticator::from_config(&AuthConfig { tokens: vec![t], ..Default::default() }).err().unwrap();
        assert!(err.contains("auth.tokens[0].sha256"), "{err}");
        let err = Authenticator::from_config(&AuthConfig { tokens: vec![token("x", "t", &[])], ..Default::default() })
            .err()
            .unwrap();
        assert!(err.contains("roles"), "{err}");
    }

    #[test]
    fn a_token_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, content: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            TokenConfig { sha256: None, token_file: Some(path), ..token("auditor", "", &[Role::Auditor]) }
        };
        // A mounted Secret often ends in a newline; it is not part of the token.
        let auth = Authenticator::from_config(&AuthConfig {
            tokens: vec![file("auditor-token", "auditor-token-0123456789\n")],
            ..Default::default()
        })
        .unwrap();
        let auditor = auth.authenticate(Some("Bearer auditor-token-0123456789"), &[]).unwrap();
        assert_eq!(auditor.identity, "auditor");
        assert!(auditor.has(Role::Auditor));

        let cases = [
            (file("short", "short\n"), "auth.tokens[0].token_file: the token in"),
            (
                TokenConfig {
                    sha256: None,
                    token_file: Some(dir.path().join("missing")),
                    ..token("a", "", &[Role::Agent])
                },
                "auth.tokens[0].token_file: cannot read",
            ),
            (
                TokenConfig { token_file: Some(dir.path().join("short")), ..token("a", "x", &[Role::Agent]) },
                "exactly one",
            ),
        ];
        for (t, expected) in cases {
            let err = Authenticator::from_config(&AuthConfig { tokens: vec![t], ..Default::default() }).err().unwrap();
            assert!(err.contains(expected), "{err}");
        }
    }
}
