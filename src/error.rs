//! The domain's error type, and the one table that says what each error is
//! on the wire ([`Error::statuses`]): `server::status_from` reads the gRPC
//! code from it (and adds the details a client acts on), the console the
//! HTTP status; the CLI prints the message as one line.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; `field` is the proto field path.
    #[error("invalid {field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// Too many requests are in flight; the caller should back off and retry.
    #[error("overloaded: {in_flight} requests in flight, the limit is {limit}")]
    Overloaded { in_flight: usize, limit: usize },
    /// The audit journal could not make the record durable, so no decision is
    /// returned (an unrecorded decision would be unexplainable later).
    #[error("audit journal unavailable: {0}")]
    AuditUnavailable(String),
    /// The server is shutting down and takes no new work.
    #[error("server is shutting down")]
    ShuttingDown,
    /// No valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Valid credentials without the right role, or a forbidden act (a
    /// reviewer approving their own request).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request is valid but the state forbids it (an approval already
    /// decided or expired).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A feature that a later release implements.
    #[error("{0} is not implemented yet")]
    Unimplemented(&'static str),
}

/// A gRPC status code and an HTTP status, as numbers (the domain depends on
/// neither transport).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statuses {
    /// `google.rpc.Code`.
    pub grpc: i32,
    pub http: u16,
}

impl Error {
    /// The one table from a domain error to its transport statuses.
    pub fn statuses(&self) -> Statuses {
        let (grpc, http) = match self {
            Error::InvalidArgument { .. } => (3, 400),
            Error::Overloaded { .. } => (8, 429),
            Error::AuditUnavailable(_) | Error::ShuttingDown => (14, 503),
            Error::Unauthenticated(_) => (16, 401),
            Error::PermissionDenied(_) => (7, 403),
            Error::NotFound(_) => (5, 404),
            Error::FailedPrecondition(_) => (9, 409),
            Error::Unimplemented(_) => (12, 501),
        };
        Statuses { grpc, http }
    }

    pub fn invalid(field: &str, reason: &str) -> Self {
        Error::InvalidArgument { field: field.to_string(), reason: reason.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error's statuses, as clients have always seen them.
    #[test]
    fn each_error_has_its_grpc_code_and_http_status() {
        use tonic::Code;
        let cases = [
            (Error::invalid("text", "empty"), Code::InvalidArgument, 400),
            (Error::Overloaded { in_flight: 9, limit: 8 }, Code::ResourceExhausted, 429),
            (Error::AuditUnavailable("disk".into()), Code::Unavailable, 503),
            (Error::ShuttingDown, Code::Unavailable, 503),
            (Error::Unauthenticated("no token".into()), Code::Unauthenticated, 401),
            (Error::PermissionDenied("reviewer".into()), Code::PermissionDenied, 403),
            (Error::NotFound("approval a-1".into()), Code::NotFound, 404),
            (Error::FailedPrecondition("decided".into()), Code::FailedPrecondition, 409),
            (Error::Unimplemented("streaming"), Code::Unimplemented, 501),
        ];
        for (e, grpc, http) in cases {
            let s = e.statuses();
            assert_eq!((Code::from_i32(s.grpc), s.http), (grpc, http), "{e}");
            assert_eq!(crate::server::status_from(e).code(), grpc);
        }
    }
}
