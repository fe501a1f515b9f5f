//! One way to ask the log, whoever asks: the gRPC `Query`, the console's
//! investigation search and `warden audit query` all describe a search as a
//! journal [`Query`] and check it here ([`Query::checked`]), so the checks
//! (decision names, time order, limits) and the tenant scope are the same
//! everywhere. Front-ends convert their input and call; they decide nothing.

use super::journal::Query;
use crate::auth::Caller;
use crate::error::Error;
use crate::policy::Decision;

impl Query {
    /// A search as a front-end received it (strings as typed), checked and
    /// scoped to `caller` (the one tenant rule, [`Caller::scope_tenant`], as
    /// for writes). `default_limit` applies when the search names none.
    pub fn checked(self, caller: &Caller, default_limit: usize) -> Result<Query, Error> {
        if !self.decision.is_empty() && Decision::parse(&self.decision).is_none() {
            return Err(Error::invalid(
                "decision",
                &format!("{:?} is not one of allow, review, require_approval, block", self.decision),
            ));
        }
        if let (Some(from), Some(to)) = (self.from_unix_nanos, self.to_unix_nanos) {
            if from > to {
                return Err(Error::invalid("from", "is after `to`"));
            }
        }
        Ok(Query {
            tenant: caller.scope_tenant("tenant", self.tenant.trim())?,
            application: self.application.trim().to_string(),
            user_id: self.user_id.trim().to_string(),
            session_id: self.session_id.trim().to_string(),
            trace_id: self.trace_id.trim().to_ascii_lowercase(),
            tool: self.tool.trim().to_string(),
            decision: self.decision,
            category: self.category.trim().to_string(),
            kind: self.kind.trim().to_string(),
            operation: self.operation.trim().to_string(),
            provider: self.provider.trim().to_string(),
            model: self.model.trim().to_string(),
            from_unix_nanos: self.from_unix_nanos,
            to_unix_nanos: self.to_unix_nanos,
            limit: if self.limit == 0 { default_limit } else { self.limit },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_set_of_checks_and_one_tenant_rule() {
        let anyone = Caller::anonymous();
        let q = Query { trace_id: " ABC ".into(), decision: "block".into(), ..Query::default() }
            .checked(&anyone, 200)
            .unwrap();
        assert_eq!((q.trace_id.as_str(), q.decision.as_str(), q.limit), ("abc", "block", 200));
        let e = Query { decision: "deny".into(), ..Query::default() }.checked(&anyone, 1).unwrap_err();
        assert!(e.to_string().contains("invalid decision"), "{e}");
        let e = Query { from_unix_nanos: Some(2), to_unix_nanos: Some(1), ..Query::default() }
            .checked(&anyone, 1)
            .unwrap_err();
        assert!(e.to_string().contains("invalid from"), "{e}");

        let scoped = Caller { tenants: vec!["acme".into()], ..Caller::anonymous() };
        assert_eq!(Query::default().checked(&scoped, 1).unwrap().tenant, "acme");
        assert!(Query { tenant: "globex".into(), ..Query::default() }.checked(&scoped, 1).is_err());
        let two = Caller { tenants: vec!["acme".into(), "globex".into()], ..Caller::anonymous() };
        assert!(Query::default().checked(&two, 1).is_err(), "several tenants: name one");
    }
}
