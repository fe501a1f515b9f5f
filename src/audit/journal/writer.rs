//! The single writer thread: group commit, checkpoints and heartbeats,
//! de-duplication, retention.

use super::*;

pub(super) struct Pending {
    pub(super) prepared: Prepared,
    pub(super) ack: oneshot::Sender<Result<Appended, AuditError>>,
}

/// What the writer thread is asked to do.
pub(super) enum Command {
    Append(Pending),
    /// Sign a checkpoint over everything durable now (none if nothing is new)
    /// and answer with the latest one.
    Checkpoint(oneshot::Sender<Result<Checkpoint, AuditError>>),
}

/// The writer thread's own state: the open segment and the chain head.
pub(super) struct Writer {
    pub(super) data_dir: PathBuf,
    pub(super) shared: Arc<Shared>,
    pub(super) head: Head,
    pub(super) file: File,
    pub(super) segment_id: u32,
    pub(super) segment_len: u64,
    pub(super) segment_max: u64,
    pub(super) max_batch: usize,
    pub(super) checkpoint_every: Duration,
    pub(super) last_checkpoint: Instant,
    /// While idle, sign again this often (the same size, a new time).
    pub(super) heartbeat: Option<Duration>,
    pub(super) last_signed: Instant,
    /// Content older than this is retired in whole segments; `None` keeps all.
    pub(super) retention: Option<Duration>,
    /// Client event ids recorded within the window: checked and filled here,
    /// on the one thread that orders appends.
    pub(super) dedup: Dedup,
}

impl Writer {
    pub(super) fn new(
        data_dir: &Path,
        shared: Arc<Shared>,
        head: Head,
        segment_path: PathBuf,
        segment_id: u32,
        segment_len: u64,
        config: &AuditConfig,
        dedup: Dedup,
    ) -> Result<Self, AuditError> {
        let file =
            OpenOptions::new().create(true).append(true).open(&segment_path).map_err(|e| io_err(&segment_path, e))?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            shared,
            head,
            file,
            segment_id,
            segment_len,
            segment_max: config.segment_max_bytes,
            max_batch: config.max_batch,
            checkpoint_every: Duration::from_millis(config.checkpoint_interval_ms),
            last_checkpoint: Instant::now(),
            heartbeat: (config.checkpoint_heartbeat_ms > 0)
                .then(|| Duration::from_millis(config.checkpoint_heartbeat_ms)),
            last_signed: Instant::now(),
            retention: (config.retention_seconds > 0).then(|| Duration::from_secs(config.retention_seconds)),
            dedup,
        })
    }

    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        // A tiny runtime of its own lets this thread wait for records with a
        // timeout, so checkpoints go out on time even when traffic stops.
        let rt = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "journal writer cannot start");
                return;
            }
        };
        loop {
            let wait =
                self.checkpoint_every.saturating_sub(self.last_checkpoint.elapsed()).max(Duration::from_millis(1));
            match rt.block_on(async { tokio::time::timeout(wait, rx.recv()).await }) {
                Ok(Some(first)) => {
                    let mut batch = Vec::new();
                    let mut next = Some(first);
                    while let Some(command) = next.take() {
                        match command {
                            Command::Append(p) => batch.push(p),
                            Command::Checkpoint(ack) => {
                                // Everything asked for before it is written first.
                                if !batch.is_empty() {
                                    self.write_batch(std::mem::take(&mut batch));
                                }
                                let result = self.checkpoint_if_behind().and_then(|()| {
                                    let state = self.shared.state.read().expect("audit state lock");
                                    state.checkpoints.last().cloned().ok_or(AuditError::Io("the log is empty".into()))
                                });
                                let _ = ack.send(result);
                            }
                        }
                        if batch.len() < self.max_batch {
                            next = rx.try_recv().ok();
                        }
                    }
                    if !batch.is_empty() {
                        self.write_batch(batch);
                    }
                }
                Ok(None) => break,
                Err(_) => {}
            }
            if self.last_checkpoint.elapsed() >= self.checkpoint_every {
                if let Err(e) = self.checkpoint_if_behind() {
                    tracing::error!(error = %e, "signing a checkpoint failed");
                }
                if let Err(e) = self.retire_expired() {
                    tracing::error!(error = %e, "retiring expired audit segments failed");
                }
            }
        }
        if let Err(e) = self.checkpoint_if_behind() {
            tracing::error!(error = %e, "signing the final checkpoint failed");
        }
        let _ = self.file.sync_all();
    }

    /// Appends one record before the writer thread runs (at open).
    pub(super) fn append_now(&mut self, entry: &Entry) -> Result<Appended, AuditError> {
        let prepared = prepare(entry, &self.shared.privacy)?;
        let (ack, mut done) = oneshot::channel();
        self.write_batch(vec![Pending { prepared, ack }]);
        done.try_recv().map_err(|_| AuditError::Io("the writer did not answer".into()))?
    }

    pub(super) fn write_batch(&mut self, batch: Vec<Pending>) {
        let start_head = self.head;
        let mut buf = Vec::with_capacity(batch.len() * 2048);
        let mut encoded = Vec::with_capacity(batch.len());
        self.dedup.expire(self.shared.clock.now().unix_timestamp_nanos());
        // Keys first recorded by this batch, undone if it is not written.
        let mut remembered = 0;
        for p in &batch {
            // A repeat (of a durable record, or of one earlier in this batch)
            // is answered with the original once the batch is durable.
            if let Some(original) = p.prepared.dedup.as_ref().and_then(|k| self.dedup.original(k)) {
                encoded.push(Ok(Placed::Repeat(original)));
                continue;
            }
            match encode(&p.prepared, &mut self.head, self.shared.clock.now()) {
                Ok(e) => {
                    if let Some(key) = &p.prepared.dedup {
                        if self.dedup.enabled() {
                            self.dedup.insert(key.clone(), &e.appended, e.meta.unix_nanos);
                            remembered += 1;
                        }
                    }
                    encoded.push(Ok(Placed::New(e)))
                }
                Err(e) => encoded.push(Err(e)),
            }
        }
        if self.segment_len > 0 && self.segment_len + estimate(&encoded) > self.segment_max {
            if let Err(e) = self.roll() {
                self.head = start_head;
                self.dedup.undo_last(remembered);
                return fail_all(batch, e);
            }
        }
        let mut placed = Vec::with_capacity(batch.len());
        for e in new_records(&encoded) {
            placed.push(Location {
                segment: self.segment_id,
                offset: self.segment_len + buf.len() as u64,
                len: e.line.len() as u32,
            });
            buf.extend_from_slice(&e.line);
            buf.push(b'\n');
        }
        let written =
            if buf.is_empty() { Ok(()) } else { self.file.write_all(&buf).and_then(|()| self.file.sync_data()) };
        if let Err(e) = written {
            // Nothing in this batch is acknowledged; undo whatever part of it
            // reached the file so the chain stays whole.
            let _ = self.file.set_len(self.segment_len);
            self.head = start_head;
            self.dedup.undo_last(remembered);
            return fail_all(batch, io_err(&self.data_dir, e));
        }
        self.segment_len += buf.len() as u64;
        telemetry::audit_batch(batch.len());
        {
            let mut state = self.shared.state.write().expect("audit state lock");
            for (e, loc) in new_records(&encoded).zip(placed) {
                state.publish(e, loc);
            }
            let size = state.tree.size();
            drop(state);
            self.shared.size.send_replace(size);
        }
        for (p, e) in batch.into_iter().zip(encoded) {
            let _ = p.ack.send(e.map(|e| match e {
                Placed::New(e) => e.appended,
                Placed::Repeat(original) => original,
            }));
        }
    }

    /// Closes the current segment and starts the next, named by its first
    /// sequence number.
    pub(super) fn roll(&mut self) -> Result<(), AuditError> {
        self.file.sync_all().map_err(|e| io_err(&self.data_dir, e))?;
        let path = segments_dir(&self.data_dir).join(segment_name(self.head_seq_of_segment_start()));
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
        sync_dir(&segments_dir(&self.data_dir));
        let first_seq = self.head_seq_of_segment_start();
        let mut state = self.shared.state.write().expect("audit state lock");
        state.segments.push(Segment { first_seq, path: Some(path) });
        self.segment_id = (state.segments.len() - 1) as u32;
        drop(state);
        self.file = file;
        self.segment_len = 0;
        Ok(())
    }

    /// The first sequence number the new segment will hold: the first record
    /// of the batch being written (already counted into `head`).
    pub(super) fn head_seq_of_segment_start(&self) -> u64 {
        self.shared.state.read().expect("audit state lock").tree.size()
    }

    /// Retires every closed segment whose newest record is older than the
    /// retention period: its leaf hashes and a seal are written (and synced)
    /// first, then the content is deleted. The tree, the chain and every
    /// checkpoint stay verifiable; the records themselves are gone.
    pub(super) fn retire_expired(&mut self) -> Result<(), AuditError> {
        let Some(retention) = self.retention else { return Ok(()) };
        let cutoff = self.shared.clock.now().unix_timestamp_nanos() - retention.as_nanos() as i128;
        let seg_dir = segments_dir(&self.data_dir);
        let shipped = self.shared.shipped.lock().expect("shipped lock").as_ref().map_or(u64::MAX, |r| *r.borrow());
        let candidates: Vec<(usize, u64, u64, i128, i128, Vec<u8>)> = {
            let state = self.shared.state.read().expect("audit state lock");
            let mut out = Vec::new();
            // Never the segment being written.
            for id in 0..self.segment_id as usize {
                let seg = &state.segments[id];
                if seg.path.is_none() {
                    continue;
                }
                let end = state.segments.get(id + 1).map_or(state.tree.size(), |s| s.first_seq);
                if end == seg.first_seq {
                    continue;
                }
                let time = |seq: u64| state.catalog.unix_nanos(seq).expect("a time for every record");
                let last_time = time(end - 1);
                if last_time >= cutoff || end > shipped {
                    break; // segments are in time order; unshipped content stays
                }
                let leaves: Vec<u8> =
                    (seg.first_seq..end).flat_map(|i| state.tree.leaf(i).expect("leaf in range")).collect();
                out.push((id, seg.first_seq, end, time(seg.first_seq), last_time, leaves));
            }
            out
        };
        for (id, first, end, first_time, last_time, leaves) in candidates {
            let path = seg_dir.join(segment_name(first));
            let last_chain = last_chain_hash(&path)?;
            let lp = leaves_path(&seg_dir, first);
            write_synced(&lp, &leaves)?;
            let seal = Seal {
                first_seq: first,
                records: end - first,
                last_chain,
                first_unix_nanos: first_time,
                last_unix_nanos: last_time,
                retired_at: self
                    .shared
                    .clock
                    .now()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            };
            let sp = seal_path(&seg_dir, first);
            write_synced(&sp, &serde_json::to_vec(&seal).map_err(|e| AuditError::Io(e.to_string()))?)?;
            sync_dir(&seg_dir);
            {
                let mut state = self.shared.state.write().expect("audit state lock");
                state.segments[id].path = None;
                state.catalog.retire(end);
                state.open.get_mut().expect("open segments lock").forget(id as u32);
            }
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            sync_dir(&seg_dir);
            tracing::info!(
                first,
                records = end - first,
                "retired audit segment past retention (tree and checkpoints kept)"
            );
        }
        Ok(())
    }

    pub(super) fn checkpoint_if_behind(&mut self) -> Result<(), AuditError> {
        self.last_checkpoint = Instant::now();
        let (size, root, behind) = {
            let state = self.shared.state.read().expect("audit state lock");
            let size = state.tree.size();
            let behind = state.checkpoints.last().is_none_or(|c| c.tree_size < size);
            (size, state.tree.root(size).expect("root of the whole tree"), behind)
        };
        let heartbeat = self.heartbeat.is_some_and(|h| self.last_signed.elapsed() >= h);
        if !behind && !heartbeat {
            return Ok(());
        }
        let cp = self.shared.signer.sign(size, root, self.shared.clock.now());
        self.last_signed = Instant::now();
        let path = checkpoints_path(&self.data_dir);
        let mut line = serde_json::to_vec(&cp).map_err(|e| AuditError::Io(e.to_string()))?;
        line.push(b'\n');
        let mut f = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
        f.write_all(&line).and_then(|()| f.sync_data()).map_err(|e| io_err(&path, e))?;
        self.shared.state.write().expect("audit state lock").checkpoints.push(cp);
        telemetry::audit_checkpoint();
        Ok(())
    }
}

pub(super) fn fail_all(batch: Vec<Pending>, err: AuditError) {
    for p in batch {
        let _ = p.ack.send(Err(err.clone()));
    }
}

pub(super) fn estimate(encoded: &[Result<Placed, AuditError>]) -> u64 {
    new_records(encoded).map(|e| e.line.len() as u64 + 1).sum()
}

/// What the writer made of one queued append.
pub(super) enum Placed {
    /// A new record, to be written.
    New(Encoded),
    /// A repeat of a client event recorded within the window: nothing is
    /// written, the ack names the original.
    Repeat(Appended),
}

/// The records of a batch that are written, in order.
pub(super) fn new_records(encoded: &[Result<Placed, AuditError>]) -> impl Iterator<Item = &Encoded> {
    encoded.iter().filter_map(|e| match e {
        Ok(Placed::New(e)) => Some(e),
        _ => None,
    })
}
