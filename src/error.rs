//! The domain's error type. Transport code maps it to a gRPC status in exactly
//! one place (`server::status_from`), and the CLI prints it as one line.

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

impl Error {
    pub fn invalid(field: &str, reason: &str) -> Self {
        Error::InvalidArgument { field: field.to_string(), reason: reason.to_string() }
    }
}
