//! PostgreSQL store: a schema Warden creates and migrates (versioned
//! migrations under an advisory lock, so many sidecars can start at once),
//! records partitioned by month for retention, indexed for investigations,
//! and append-only by construction: a trigger rejects every UPDATE and
//! DELETE on the record and checkpoint tables.
//!
//! URL: `postgres://user[:password]@host:port/db[?schema=name&...]`; `schema`
//! is Warden's (created if missing), the rest goes to the driver.

use std::collections::BTreeSet;

use tokio_postgres::{Client, NoTls};

use super::{redact_url, take_params, Instance, ShipRecord, SinkError};
use crate::audit::checkpoint::Checkpoint;
use crate::audit::journal::{LogCopy, LogRead};
use crate::audit::AuditError;

/// Versioned migrations, applied in order, each once.
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "records, checkpoints, instances; append-only; indexes",
    r#"
CREATE TABLE IF NOT EXISTS warden_instances (
    instance_id text PRIMARY KEY,
    origin text NOT NULL,
    public_key_pem text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS warden_records (
    instance_id text NOT NULL,
    seq bigint NOT NULL,
    record_id uuid NOT NULL,
    recorded_at timestamptz NOT NULL,
    kind text NOT NULL,
    tenant text NOT NULL DEFAULT '',
    session_id text NOT NULL DEFAULT '',
    trace_id text NOT NULL DEFAULT '',
    decision text NOT NULL DEFAULT '',
    tool text NOT NULL DEFAULT '',
    categories text[] NOT NULL DEFAULT '{}',
    leaf_hash bytea NOT NULL,
    prev_hash bytea NOT NULL,
    chain_hash bytea NOT NULL,
    entry bytea NOT NULL,
    PRIMARY KEY (instance_id, seq, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX IF NOT EXISTS warden_records_session ON warden_records (session_id, recorded_at);
CREATE INDEX IF NOT EXISTS warden_records_trace ON warden_records (trace_id);
CREATE INDEX IF NOT EXISTS warden_records_time ON warden_records (recorded_at);
CREATE INDEX IF NOT EXISTS warden_records_decision ON warden_records (decision, recorded_at);
CREATE INDEX IF NOT EXISTS warden_records_tool ON warden_records (tool, recorded_at);
CREATE INDEX IF NOT EXISTS warden_records_categories ON warden_records USING gin (categories);
CREATE INDEX IF NOT EXISTS warden_records_id ON warden_records (record_id);
CREATE TABLE IF NOT EXISTS warden_checkpoints (
    instance_id text NOT NULL,
    tree_size bigint NOT NULL,
    origin text NOT NULL,
    root_hash bytea NOT NULL,
    checkpoint_time timestamptz NOT NULL,
    note text NOT NULL,
    signature bytea NOT NULL,
    key_id text NOT NULL,
    PRIMARY KEY (instance_id, tree_size)
);
CREATE OR REPLACE FUNCTION warden_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'warden audit tables are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER warden_records_append_only BEFORE UPDATE OR DELETE ON warden_records
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER warden_checkpoints_append_only BEFORE UPDATE OR DELETE ON warden_checkpoints
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER warden_checkpoints_no_truncate BEFORE TRUNCATE ON warden_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER warden_instances_append_only BEFORE UPDATE OR DELETE ON warden_instances
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
"#,
)];

/// Serialises schema changes between sidecars starting at the same time.
const MIGRATION_LOCK: i64 = 0x5741_5244_454e_0001;

pub struct PostgresSink {
    url: String,
    schema: Option<String>,
    client: Option<Client>,
    /// Monthly partitions known to exist.
    partitions: BTreeSet<String>,
}

impl PostgresSink {
    pub fn new(url: &str) -> Result<Self, SinkError> {
        let (url, ours) = take_params(url, &["schema"]);
        let schema = ours.into_iter().find(|(k, _)| k == "schema").map(|(_, v)| v);
        if let Some(s) = &schema {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(SinkError::Url(redact_url(&url), "schema must be letters, digits and _".into()));
            }
        }
        url.parse::<tokio_postgres::Config>().map_err(|e| SinkError::Url(redact_url(&url), e.to_string()))?;
        Ok(Self { url, schema, client: None, partitions: BTreeSet::new() })
    }

    pub async fn connect(&mut self, instance: &Instance) -> Result<(), SinkError> {
        let mut client = connect(&self.url, self.schema.as_deref()).await?;
        migrate(&mut client).await?;
        client
            .execute(
                "INSERT INTO warden_instances (instance_id, origin, public_key_pem) VALUES ($1, $2, $3) \
                 ON CONFLICT (instance_id) DO NOTHING",
                &[&instance.id, &instance.origin, &instance.public_key_pem],
            )
            .await
            .map_err(store)?;
        self.client = Some(client);
        Ok(())
    }

    pub fn disconnect(&mut self) {
        self.client = None;
    }

    pub async fn newest_checkpoint(&mut self, origin: &str) -> Result<Option<Checkpoint>, SinkError> {
        let client = connect(&self.url, self.schema.as_deref()).await?;
        let rows = client
            .query(
                "SELECT tree_size, origin, root_hash, note, signature, key_id FROM warden_checkpoints \
                 WHERE instance_id = $1 ORDER BY tree_size DESC LIMIT 1",
                &[&origin],
            )
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            // A store Warden never shipped to has no table: nothing published.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => return Ok(None),
            Err(e) => return Err(store(e)),
        };
        let Some(row) = rows.first() else { return Ok(None) };
        let size: i64 = row.get(0);
        let root: Vec<u8> = row.get(2);
        let note: String = row.get(3);
        let signature: Vec<u8> = row.get(4);
        let published = Checkpoint::from_note(
            row.get(1),
            &note,
            root.try_into().map_err(|_| SinkError::Store(format!("checkpoint {size}: root is not 32 bytes")))?,
            &signature,
            row.get(5),
        )
        .map_err(|e| SinkError::Store(format!("checkpoint {size}: {e}")))?;
        Ok(Some(published))
    }

    pub async fn ship(&mut self, records: &[ShipRecord]) -> Result<(), SinkError> {
        if records.is_empty() {
            return Ok(());
        }
        let client = self.client.as_mut().ok_or_else(|| SinkError::Connect("postgres".into()))?;
        // Partitions for every month the batch touches.
        for r in records {
            let (name, from, to) = partition_for(r.record.unix_nanos);
            if !self.partitions.contains(&name) {
                let tx = client.transaction().await.map_err(store)?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(store)?;
                tx.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {name} PARTITION OF warden_records FOR VALUES FROM ('{from}') TO ('{to}')"
                ))
                .await
                .map_err(store)?;
                tx.commit().await.map_err(store)?;
                self.partitions.insert(name);
            }
        }
        let mut rows = Vec::with_capacity(records.len());
        for r in records {
            rows.push(Row::from(r)?);
        }
        // One statement per batch: column arrays unnested into rows.
        // Categories travel joined by U+001F and are split back in SQL.
        let col = |f: fn(&Row) -> String| rows.iter().map(f).collect::<Vec<String>>();
        let instance_ids = col(|r| r.instance_id.clone());
        let record_ids = col(|r| r.record_id.clone());
        let kinds = col(|r| r.kind.clone());
        let tenants = col(|r| r.tenant.clone());
        let sessions = col(|r| r.session_id.clone());
        let traces = col(|r| r.trace_id.clone());
        let decisions = col(|r| r.decision.clone());
        let tools = col(|r| r.tool.clone());
        let categories = col(|r| r.categories.join("\u{1f}"));
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let times: Vec<time::OffsetDateTime> = rows.iter().map(|r| r.recorded_at).collect();
        let leaves: Vec<&[u8]> = rows.iter().map(|r| r.leaf.as_slice()).collect();
        let prevs: Vec<&[u8]> = rows.iter().map(|r| r.prev.as_slice()).collect();
        let chains: Vec<&[u8]> = rows.iter().map(|r| r.chain.as_slice()).collect();
        let entries: Vec<&[u8]> = rows.iter().map(|r| r.entry.as_slice()).collect();
        let tx = client.transaction().await.map_err(store)?;
        tx.execute(
            "INSERT INTO warden_records (instance_id, seq, record_id, recorded_at, kind, tenant, session_id, \
             trace_id, decision, tool, categories, leaf_hash, prev_hash, chain_hash, entry) \
             SELECT i, s, r::uuid, t, k, tn, se, tr, d, tl, \
                    CASE WHEN c = '' THEN '{}'::text[] ELSE string_to_array(c, chr(31)) END, l, p, ch, e \
             FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], \
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[], $13::bytea[], \
                         $14::bytea[], $15::bytea[]) AS u(i, s, r, t, k, tn, se, tr, d, tl, c, l, p, ch, e) \
             ON CONFLICT DO NOTHING",
            &[
                &instance_ids,
                &seqs,
                &record_ids,
                &times,
                &kinds,
                &tenants,
                &sessions,
                &traces,
                &decisions,
                &tools,
                &categories,
                &leaves,
                &prevs,
                &chains,
                &entries,
            ],
        )
        .await
        .map_err(store)?;
        tx.commit().await.map_err(store)?;
        Ok(())
    }

    pub async fn ship_checkpoints(&mut self, instance: &Instance, cps: &[Checkpoint]) -> Result<(), SinkError> {
        let client = self.client.as_mut().ok_or_else(|| SinkError::Connect("postgres".into()))?;
        let tx = client.transaction().await.map_err(store)?;
        for c in cps {
            let time = time::OffsetDateTime::from_unix_timestamp_nanos(c.unix_nanos)
                .map_err(|e| SinkError::Local(e.to_string()))?;
            let signature = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &c.signature)
                .map_err(|e| SinkError::Local(e.to_string()))?;
            tx.execute(
                "INSERT INTO warden_checkpoints (instance_id, tree_size, origin, root_hash, checkpoint_time, note, \
                 signature, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                &[
                    &instance.id,
                    &(c.tree_size as i64),
                    &c.origin,
                    &c.root.to_vec(),
                    &time,
                    &c.note,
                    &signature,
                    &c.key_id,
                ],
            )
            .await
            .map_err(store)?;
        }
        tx.commit().await.map_err(store)
    }
}

struct Row {
    instance_id: String,
    seq: i64,
    record_id: String,
    recorded_at: time::OffsetDateTime,
    kind: String,
    tenant: String,
    session_id: String,
    trace_id: String,
    decision: String,
    tool: String,
    categories: Vec<String>,
    leaf: Vec<u8>,
    prev: Vec<u8>,
    chain: Vec<u8>,
    entry: Vec<u8>,
}

impl Row {
    fn from(r: &ShipRecord) -> Result<Row, SinkError> {
        #[derive(serde::Deserialize)]
        struct Facts {
            #[serde(default)]
            attributes: std::collections::BTreeMap<String, String>,
            #[serde(default)]
            categories: Vec<String>,
        }
        let rec = &r.record;
        // A record that cannot be turned into a row never can: refused like
        // a data error, so it is quarantined rather than retried.
        let facts: Facts = serde_json::from_slice(&rec.canonical)
            .map_err(|e| SinkError::Rejected(format!("record {}: {e}", rec.sequence)))?;
        let a = |k: &str| facts.attributes.get(k).cloned().unwrap_or_default();
        Ok(Row {
            instance_id: r.instance_id.clone(),
            seq: rec.sequence as i64,
            record_id: rec.record_id.clone(),
            recorded_at: time::OffsetDateTime::from_unix_timestamp_nanos(rec.unix_nanos)
                .map_err(|e| SinkError::Rejected(format!("record {}: {e}", rec.sequence)))?,
            kind: rec.kind.clone(),
            tenant: a("warden.tenant"),
            session_id: a("gen_ai.conversation.id"),
            trace_id: a("trace_id"),
            decision: a("warden.decision"),
            tool: a("gen_ai.tool.name"),
            categories: facts.categories,
            leaf: rec.leaf.to_vec(),
            prev: rec.prev.to_vec(),
            chain: rec.chain.to_vec(),
            entry: rec.canonical.clone(),
        })
    }
}

/// The month partition a time falls in: name, first day, first day of the next month.
fn partition_for(unix_nanos: i128) -> (String, String, String) {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(unix_nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, m) = (t.year(), t.month() as u8);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (format!("warden_records_y{y:04}m{m:02}"), format!("{y:04}-{m:02}-01"), format!("{ny:04}-{nm:02}-01"))
}

async fn connect(url: &str, schema: Option<&str>) -> Result<Client, SinkError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| SinkError::Connect(format!("{}: {e}", redact_url(url))))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "postgres connection ended");
        }
    });
    if let Some(s) = schema {
        // Serialised with other sidecars: CREATE SCHEMA IF NOT EXISTS races.
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK}); CREATE SCHEMA IF NOT EXISTS {s}; COMMIT; \
                 SET search_path TO {s}"
            ))
            .await
            .map_err(store)?;
    }
    Ok(client)
}

async fn migrate(client: &mut Client) -> Result<(), SinkError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS warden_schema_migrations (version int PRIMARY KEY, name text NOT NULL, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(store)?;
    for (version, name, sql) in MIGRATIONS {
        // The advisory lock makes sidecars starting together wait for each
        // other; the check under it makes each migration run exactly once.
        let tx = client.transaction().await.map_err(store)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(store)?;
        let done = tx
            .query_opt("SELECT 1 FROM warden_schema_migrations WHERE version = $1", &[version])
            .await
            .map_err(store)?;
        if done.is_none() {
            tx.batch_execute(sql).await.map_err(store)?;
            tx.execute("INSERT INTO warden_schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
                .await
                .map_err(store)?;
            tracing::info!(version, name, "applied audit store migration");
        }
        tx.commit().await.map_err(store)?;
    }
    Ok(())
}

/// Sorts a driver error by what a retry can achieve: data errors (SQLSTATE
/// class 22, e.g. `invalid byte sequence for encoding "UTF8": 0x00`, and
/// integrity violations, class 23) refuse the content and never succeed
/// again; connection exceptions (class 08), a server shutting down or not
/// yet accepting (57P01 to 57P03, 53300) and lost connections mean the
/// store is unreachable; the rest is a store failure worth retrying.
fn store(e: tokio_postgres::Error) -> SinkError {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let message = format!("postgres: {} (SQLSTATE {code})", db.message());
            match &code[..2] {
                "22" | "23" => SinkError::Rejected(message),
                "08" => SinkError::Connect(message),
                _ if matches!(code, "57P01" | "57P02" | "57P03" | "53300") => SinkError::Connect(message),
                _ => SinkError::Store(message),
            }
        }
        None if e.is_closed()
            || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
            || e.to_string().contains("timeout") =>
        {
            SinkError::Connect(format!("postgres: {e}"))
        }
        None => SinkError::Store(format!("postgres: {e}")),
    }
}

/// One record as the central store holds it, for a fleet service.
#[derive(Debug, Clone)]
pub struct CentralRecord {
    pub seq: u64,
    pub record_id: String,
    pub recorded_at: time::OffsetDateTime,
    pub kind: String,
    /// The record's canonical bytes.
    pub entry: Vec<u8>,
}

/// Reads the central copy for a fleet service: which instances ship here
/// and their approval records. Connects on first use and again after a
/// failure; creates nothing.
pub struct CentralReader {
    url: String,
    schema: Option<String>,
    client: Option<Client>,
}

impl CentralReader {
    pub fn new(url: &str) -> Result<Self, SinkError> {
        let sink = PostgresSink::new(url)?;
        Ok(Self { url: sink.url, schema: sink.schema, client: None })
    }

    async fn client(&mut self) -> Result<&Client, SinkError> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = Some(connect(&self.url, self.schema.as_deref()).await?);
        }
        Ok(self.client.as_ref().expect("connected above"))
    }

    /// Every instance that has shipped here (none while no instance has
    /// created the tables yet).
    pub async fn instances(&mut self) -> Result<Vec<String>, SinkError> {
        let rows =
            self.client().await?.query("SELECT instance_id FROM warden_instances ORDER BY instance_id", &[]).await;
        match rows {
            Ok(rows) => Ok(rows.iter().map(|r| r.get(0)).collect()),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => Ok(Vec::new()),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// An instance's approval records (requests for approval and approval
    /// steps) after sequence `after` and recorded at or after `since`, in
    /// sequence order, at most `limit`.
    pub async fn approval_records(
        &mut self,
        instance: &str,
        after: Option<u64>,
        since: time::OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<CentralRecord>, SinkError> {
        let after = after.map_or(-1, |s| s as i64);
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, record_id::text, recorded_at, kind, entry FROM warden_records \
                 WHERE instance_id = $1 AND seq > $2 AND recorded_at >= $3 \
                   AND (kind = 'approval' OR (kind = 'score_decision' AND decision = 'require_approval')) \
                 ORDER BY seq LIMIT $4",
                &[&instance, &after, &since, &limit],
            )
            .await
            .map_err(|e| self.failed(e))?;
        Ok(rows
            .iter()
            .map(|r| CentralRecord {
                seq: r.get::<_, i64>(0) as u64,
                record_id: r.get(1),
                recorded_at: r.get(2),
                kind: r.get(3),
                entry: r.get(4),
            })
            .collect())
    }

    /// Every instance that has shipped here, with the public key it
    /// registered (or why that key cannot be read).
    pub async fn registered(
        &mut self,
    ) -> Result<Vec<(String, Result<ed25519_dalek::VerifyingKey, String>)>, SinkError> {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        let rows = self
            .client()
            .await?
            .query("SELECT instance_id, public_key_pem FROM warden_instances ORDER BY instance_id", &[])
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => return Ok(Vec::new()),
            Err(e) => return Err(self.failed(e)),
        };
        Ok(rows
            .iter()
            .map(|r| {
                let pem: String = r.get(1);
                let key =
                    ed25519_dalek::VerifyingKey::from_public_key_pem(&pem).map_err(|e| format!("bad public key: {e}"));
                (r.get(0), key)
            })
            .collect())
    }

    /// One instance's copy, checked as it is read ([`LogCopy`]): `Ok(Err)`
    /// when it does not verify, `Err` when the store cannot be read.
    /// Checkpoints are read first: each ships after the records it covers,
    /// so every one read is covered by records read after it.
    pub async fn copy(
        &mut self,
        instance: &str,
        key: ed25519_dalek::VerifyingKey,
    ) -> Result<Result<LogCopy, AuditError>, SinkError> {
        let cps = self
            .client()
            .await?
            .query(
                "SELECT tree_size, origin, root_hash, note, signature, key_id FROM warden_checkpoints \
                 WHERE instance_id = $1 ORDER BY tree_size",
                &[&instance],
            )
            .await
            .map_err(|e| self.failed(e))?;
        let mut copy = LogCopy::new(instance, key);
        let corrupt = |m: String| -> Result<Result<LogCopy, AuditError>, SinkError> { Ok(Err(AuditError::Corrupt(m))) };
        let hash = |v: Vec<u8>| <[u8; 32]>::try_from(v).unwrap_or([0xff; 32]);
        let mut next: i64 = 0;
        loop {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT seq, leaf_hash, prev_hash, chain_hash, entry FROM warden_records \
                     WHERE instance_id = $1 AND seq >= $2 ORDER BY seq LIMIT 10000",
                    &[&instance, &next],
                )
                .await
                .map_err(|e| self.failed(e))?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let seq: i64 = r.get(0);
                if seq != next {
                    return corrupt(format!(
                        "record {next} is missing (next is {seq}); a record the store refused is listed by \
                         `warden audit quarantined` on its instance"
                    ));
                }
                if let Err(e) = copy.push(r.get(4), &hash(r.get(1)), &hash(r.get(2)), &hash(r.get(3))) {
                    return Ok(Err(e));
                }
                next += 1;
            }
        }
        for c in &cps {
            let size: i64 = c.get(0);
            let root: Vec<u8> = c.get(2);
            let note: String = c.get(3);
            let signature: Vec<u8> = c.get(4);
            let cp = match Checkpoint::from_note(c.get(1), &note, hash(root), &signature, c.get(5)) {
                Ok(cp) => cp,
                Err(e) => return corrupt(format!("checkpoint {size}: {e}")),
            };
            if let Err(e) = copy.push_checkpoint(cp) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(copy))
    }

    /// A failed statement: the connection is dropped if it is gone.
    fn failed(&mut self, e: tokio_postgres::Error) -> SinkError {
        let e = store(e);
        if matches!(e, SinkError::Connect(_)) || self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
        }
        e
    }
}

/// What `verify --from postgres://` found for one instance.
#[derive(Debug, Clone)]
pub struct InstanceReport {
    pub instance_id: String,
    pub records: u64,
    pub checkpoints: usize,
    pub latest_verified_size: u64,
}

/// Verifies the central copy without the sidecars: for every instance,
/// records from sequence 0 without gaps, each leaf hash against its entry,
/// the hash chain, and every stored checkpoint's root and Ed25519 signature
/// (with `key`, or the instance's registered public key), the checks of
/// [`LogCopy`].
pub async fn verify_central(
    url: &str,
    key: Option<ed25519_dalek::VerifyingKey>,
) -> Result<Vec<InstanceReport>, SinkError> {
    let mut reader = CentralReader::new(url)?;
    let mut reports = Vec::new();
    for (id, registered) in reader.registered().await? {
        let key = match key {
            Some(k) => k,
            None => registered.map_err(|e| SinkError::Store(format!("instance {id}: {e}")))?,
        };
        let copy = reader.copy(&id, key).await?.map_err(|e| SinkError::Store(format!("instance {id}: {e}")))?;
        reports.push(InstanceReport {
            instance_id: id,
            records: copy.size(),
            checkpoints: copy.checkpoints().len(),
            latest_verified_size: copy.signed_size(),
        });
    }
    Ok(reports)
}

/// One instance's log as the central store holds it, for a fleet-wide
/// report or investigation: the verified copy, or why it does not verify.
pub struct CentralCopy {
    pub instance_id: String,
    pub copy: Result<LogCopy, String>,
}

/// Every instance's copy in the central store at `url`, each verified as
/// it is read with the public key the instance registered when it first
/// shipped. `Err` only when the store cannot be read.
pub async fn central_copies(url: &str) -> Result<Vec<CentralCopy>, SinkError> {
    let mut reader = CentralReader::new(url)?;
    let mut copies = Vec::new();
    for (id, registered) in reader.registered().await? {
        let copy = match registered {
            Ok(key) => reader.copy(&id, key).await?.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        copies.push(CentralCopy { instance_id: id, copy });
    }
    Ok(copies)
}
