//! One way to ask for an erasure, whoever asks: the gRPC `EraseSubject` and
//! `warden audit erase` describe it as an [`EraseRequest`] and check it here
//! ([`EraseRequest::checked`]), so the subject forms, the reason and the
//! tenant rule are the same everywhere. Front-ends convert and call.

use crate::auth::Caller;
use crate::error::Error;
use crate::limits::Limits;
use crate::request::Context;
use crate::validate;

/// The subject forms an erasure names: `user:<id>`, `session:<id>`,
/// `tenant:<id>`.
pub const SUBJECT_FORMS: [&str; 3] = ["user:", "session:", "tenant:"];

/// A data subject's erasure, as a front-end received it.
#[derive(Debug, Clone, PartialEq)]
pub struct EraseRequest {
    pub subject: String,
    /// Why (the erasure request's reference): recorded with it.
    pub reason: String,
    /// Where the erasure record goes.
    pub context: Context,
}

impl EraseRequest {
    /// The request as `caller` may make it: the record lands in the
    /// caller's tenant (the one tenant rule, as for every other write), a
    /// tenant-bound caller erases no other tenant, and every field is what
    /// the journal can store. Every error names its field.
    pub fn checked(mut self, caller: &Caller, limits: &Limits) -> Result<Self, Error> {
        self.context.tenant = caller.scope_tenant("context.tenant", &self.context.tenant)?;
        if let Some(tenant) = self.subject.strip_prefix("tenant:") {
            caller.require_tenant(tenant)?;
        }
        crate::request::validate_context("context", &self.context, limits)?;
        validate::identifier("subject", &self.subject)?;
        validate::text("reason", &self.reason)?;
        let valid = SUBJECT_FORMS.iter().any(|p| self.subject.strip_prefix(p).is_some_and(|id| !id.is_empty()));
        if !valid {
            return Err(Error::invalid("subject", "must be user:<id>, session:<id> or tenant:<id>"));
        }
        if self.reason.trim().is_empty() {
            return Err(Error::invalid("reason", "must say why (e.g. the erasure request's reference)"));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(subject: &str, reason: &str) -> EraseRequest {
        let context = Context { application: "warden-cli".into(), ..Context::default() };
        EraseRequest { subject: subject.into(), reason: reason.into(), context }
    }

    fn field(r: Result<EraseRequest, Error>) -> String {
        match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn subjects_and_reasons_are_checked_once_for_every_front_end() {
        let local = Caller::local();
        let limits = Limits::default();
        let ok = request("user:u-1", "DSR-17").checked(&local, &limits);
        assert!(ok.is_ok(), "{ok:?}");
        assert_eq!(field(request("u-1", "DSR-17").checked(&local, &limits)), "subject");
        assert_eq!(field(request("user:", "DSR-17").checked(&local, &limits)), "subject");
        assert_eq!(field(request("user:u-1", "  ").checked(&local, &limits)), "reason");
        assert_eq!(field(request("user:u\u{0}1", "DSR-17").checked(&local, &limits)), "subject");
        let mut nameless = request("user:u-1", "DSR-17");
        nameless.context.application.clear();
        assert_eq!(field(nameless.checked(&local, &limits)), "context.application");
    }
}
