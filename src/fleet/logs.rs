//! Fleet-wide investigation: another instance's log, read from the central
//! PostgreSQL and verified (chain, tree, checkpoint signatures with the key
//! the instance registered) before anything of it is shown. The fleet
//! service's `Query`, checkpoints and proofs (`instance_id`) and its
//! console's timeline read through here, the same call for both.
//!
//! The copy is read afresh for each call, so what is shown is what verifies
//! now; its cost grows with the instance's log (see docs/fleet.md).
//! Fields the sidecar stored hashed or encrypted (`audit.privacy`) stay
//! so: the subject keys never leave the sidecar, so nothing here reveals.

use std::sync::Arc;

use crate::audit::journal::{AuditLog, LogCopy, LogRead};
use crate::error::Error;

/// Where a fleet service reads other instances' logs.
#[derive(Debug, Clone)]
pub struct FleetLogs {
    /// The central store's URL (`fleet.central`).
    central: String,
}

impl FleetLogs {
    pub fn new(central: &str) -> Self {
        Self { central: central.to_string() }
    }

    /// The log of `instance_id`: `own` itself when the id is empty or its
    /// origin, else that instance's verified central copy. An unknown
    /// instance is NOT_FOUND; a copy that does not verify is refused
    /// (FAILED_PRECONDITION, with why), never shown.
    pub async fn log(&self, own: &Arc<AuditLog>, instance_id: &str) -> Result<Arc<dyn LogRead>, Error> {
        if instance_id.is_empty() || instance_id == own.origin() {
            return Ok(own.clone());
        }
        Ok(Arc::new(self.copy(instance_id).await?))
    }

    async fn copy(&self, instance_id: &str) -> Result<LogCopy, Error> {
        let unavailable = |e: crate::sink::SinkError| Error::AuditUnavailable(format!("the central store: {e}"));
        let mut reader = crate::sink::postgres::CentralReader::new(&self.central).map_err(unavailable)?;
        let key = reader
            .registered()
            .await
            .map_err(unavailable)?
            .into_iter()
            .find_map(|(id, key)| (id == instance_id).then_some(key))
            .ok_or_else(|| Error::NotFound(format!("instance {instance_id:?}")))?
            .map_err(|e| Error::FailedPrecondition(format!("instance {instance_id}: {e}")))?;
        reader.copy(instance_id, key).await.map_err(unavailable)?.map_err(|e| {
            Error::FailedPrecondition(format!("instance {instance_id}: its central copy does not verify: {e}"))
        })
    }
}
