//! Reading the whole log back at open and for `verify`: chain, tree,
//! checkpoints, torn-tail repair and the timeliness check.

use super::*;

pub(super) struct Replayed {
    pub(super) state: State,
    pub(super) head: Head,
    /// The segment to keep appending to: path, id, valid length.
    pub(super) open_segment: (PathBuf, u32, u64),
    pub(super) report: VerifyReport,
}

/// Replays the log; with `dedup` (the map and the time now), also
/// remembers the client event ids recorded within its window.
pub(super) fn replay(
    data_dir: &Path,
    repair: bool,
    key: &ed25519_dalek::VerifyingKey,
    mut dedup: Option<(&mut Dedup, i128)>,
    timeliness: Timeliness,
) -> Result<Replayed, AuditError> {
    let seg_dir = segments_dir(data_dir);
    // Segments by first sequence number: live ones (`.jsonl`) and retired
    // ones (`.seal` with `.leaves`).
    let mut firsts: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    match std::fs::read_dir(&seg_dir) {
        Ok(rd) => {
            for p in rd.filter_map(|e| e.ok().map(|e| e.path())) {
                let is_segment = p.extension().is_some_and(|x| x == "jsonl" || x == "seal");
                if let (true, Some(first)) =
                    (is_segment, p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()))
                {
                    firsts.insert(first);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&seg_dir, e)),
    }

    let mut state = State {
        tree: Tree::new(),
        locations: Vec::new(),
        catalog: Catalog::default(),
        segments: Vec::new(),
        open: Mutex::default(),
        checkpoints: Vec::new(),
    };
    let mut head = Head { next_seq: 0, chain: GENESIS };
    let mut torn = 0u64;
    let mut last_len = 0u64;
    let firsts: Vec<u64> = firsts.into_iter().collect();
    for (id, &first) in firsts.iter().enumerate() {
        let path = seg_dir.join(segment_name(first));
        let is_last = id + 1 == firsts.len();
        if first != head.next_seq {
            return Err(AuditError::Corrupt(format!(
                "segment {} should start at record {} (a segment was removed or renamed)",
                path.display(),
                head.next_seq
            )));
        }
        if !path.exists() {
            load_seal(&seg_dir, first, &mut state, &mut head, id as u32)?;
            state.segments.push(Segment { first_seq: first, path: None });
            continue;
        }
        let file = File::open(&path).map_err(|e| io_err(&path, e))?;
        let mut reader = BufReader::new(file);
        let mut offset = 0u64;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| io_err(&path, e))? as u64;
            if n == 0 {
                break;
            }
            let complete = buf.last() == Some(&b'\n');
            if !complete {
                if !is_last {
                    return Err(AuditError::Corrupt(format!("{}: truncated record inside the log", path.display())));
                }
                // A last line without its newline was cut short by a crash
                // before its fsync: it was never acknowledged.
                torn = n;
                break;
            }
            let body = &buf[..buf.len() - 1];
            let (leaf, rec) = check_line(body, &mut head).map_err(|reason| {
                AuditError::Corrupt(format!("{} at byte {offset} (record {}): {reason}", path.display(), head.next_seq))
            })?;
            let unix_nanos =
                time::OffsetDateTime::parse(&rec.recorded_at, &time::format_description::well_known::Rfc3339)
                    .map(|t| t.unix_timestamp_nanos())
                    .unwrap_or_default();
            let seq = rec.seq;
            if let Some((d, now)) = dedup.as_mut() {
                if let Some(id) = rec.attributes.get(CLIENT_EVENT_ID).filter(|_| d.covers(unix_nanos, *now)) {
                    let tenant = rec.attributes.get("warden.tenant").cloned().unwrap_or_default();
                    let appended = Appended {
                        record_id: rec.id.clone(),
                        sequence: seq,
                        recorded_at: rec.recorded_at.clone(),
                        recorded_at_unix: (
                            unix_nanos.div_euclid(1_000_000_000) as i64,
                            unix_nanos.rem_euclid(1_000_000_000) as u32,
                        ),
                    };
                    d.insert((tenant, id.clone()), &appended, unix_nanos);
                }
            }
            let (meta, keys) = index_facts(&rec.kind, &rec.attributes, rec.categories, unix_nanos);
            state.tree.push(leaf);
            state.locations.push(Location { segment: id as u32, offset, len: body.len() as u32 });
            state.catalog.add(seq, &keys, &meta);
            offset += n;
        }
        if is_last {
            last_len = offset;
            if torn > 0 && repair {
                let f = OpenOptions::new().write(true).open(&path).map_err(|e| io_err(&path, e))?;
                f.set_len(offset).map_err(|e| io_err(&path, e))?;
                f.sync_all().map_err(|e| io_err(&path, e))?;
            }
        }
        state.segments.push(Segment { first_seq: first, path: Some(path) });
    }
    // The segment to append to: the last live one, or a new one when there
    // is none (a fresh log, or every segment retired).
    let open_segment = match state.segments.last() {
        Some(seg) if seg.path.is_some() => {
            (seg_dir.join(segment_name(seg.first_seq)), (state.segments.len() - 1) as u32, last_len)
        }
        _ => {
            let path = seg_dir.join(segment_name(head.next_seq));
            if repair {
                File::create(&path).map_err(|e| io_err(&path, e))?;
                state.segments.push(Segment { first_seq: head.next_seq, path: Some(path.clone()) });
            }
            (path, state.segments.len().saturating_sub(1) as u32, 0)
        }
    };

    state.checkpoints = load_checkpoints(data_dir, repair)?;
    for cp in &state.checkpoints {
        verify_checkpoint(cp, key).map_err(AuditError::Corrupt)?;
        let root = state.tree.root(cp.tree_size).map_err(|_| {
            AuditError::Corrupt(format!(
                "checkpoint at size {} but the log holds only {} records (records were removed)",
                cp.tree_size,
                state.tree.size()
            ))
        })?;
        if root != cp.root {
            return Err(AuditError::Corrupt(format!(
                "the records do not reproduce the signed root of checkpoint {} (records were changed)",
                cp.tree_size
            )));
        }
    }
    let covered = judge(&state, timeliness)?;
    let report = VerifyReport {
        records: state.tree.size(),
        segments: state.segments.len(),
        checkpoints: state.checkpoints.len(),
        root: hex::encode(state.tree.root(state.tree.size()).expect("whole tree")),
        chain_head: hex::encode(head.chain),
        torn_tail_bytes: torn,
        unsigned_records: covered.unsigned,
        accepted_unsigned_records: covered.accepted,
    };
    Ok(Replayed { state, head, open_segment, report })
}

/// Loads a retired segment: its leaf hashes go back into the tree (so every
/// root and proof still works) and the chain continues from its seal.
pub(super) fn load_seal(
    seg_dir: &Path,
    first: u64,
    state: &mut State,
    head: &mut Head,
    id: u32,
) -> Result<(), AuditError> {
    let sp = seal_path(seg_dir, first);
    let seal: Seal = serde_json::from_slice(&std::fs::read(&sp).map_err(|e| io_err(&sp, e))?)
        .map_err(|e| AuditError::Corrupt(format!("{}: {e}", sp.display())))?;
    let lp = leaves_path(seg_dir, first);
    let leaves = std::fs::read(&lp).map_err(|e| io_err(&lp, e))?;
    if seal.first_seq != first || leaves.len() as u64 != seal.records * 32 {
        return Err(AuditError::Corrupt(format!("{}: does not match its leaves", sp.display())));
    }
    for (k, leaf) in leaves.chunks_exact(32).enumerate() {
        state.tree.push(leaf.try_into().expect("32-byte chunk"));
        state.locations.push(Location { segment: id, offset: 0, len: 0 });
        let t = if k == 0 { seal.first_unix_nanos } else { seal.last_unix_nanos };
        state.catalog.add_retired(t);
    }
    let chain = hex::decode(&seal.last_chain)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| AuditError::Corrupt(format!("{}: bad chain hash", sp.display())))?;
    head.next_seq = first + seal.records;
    head.chain = chain;
    Ok(())
}

pub(super) fn load_checkpoints(data_dir: &Path, repair: bool) -> Result<Vec<Checkpoint>, AuditError> {
    let path = checkpoints_path(data_dir);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&path, e)),
    };
    let mut out: Vec<Checkpoint> = Vec::new();
    let mut valid = 0usize;
    for chunk in text.split_inclusive(|b| *b == b'\n') {
        if chunk.last() != Some(&b'\n') {
            break; // torn by a crash before its fsync
        }
        let cp: Checkpoint = serde_json::from_slice(&chunk[..chunk.len() - 1])
            .map_err(|e| AuditError::Corrupt(format!("{}: checkpoint {}: {e}", path.display(), out.len())))?;
        if out.last().is_some_and(|p| p.tree_size > cp.tree_size) {
            return Err(AuditError::Corrupt(format!(
                "{}: checkpoints go backwards at {}",
                path.display(),
                cp.tree_size
            )));
        }
        valid += chunk.len();
        out.push(cp);
    }
    if repair && valid < text.len() {
        let f = OpenOptions::new().write(true).open(&path).map_err(|e| io_err(&path, e))?;
        f.set_len(valid as u64).map_err(|e| io_err(&path, e))?;
    }
    Ok(out)
}

/// Whether every record of the replayed `state` was signed in time, as
/// `timeliness` asks (see [`coverage`]).
pub(super) fn judge(state: &State, timeliness: Timeliness) -> Result<coverage::Coverage, AuditError> {
    let signed: Vec<coverage::Signed> = state
        .checkpoints
        .iter()
        .map(|c| coverage::Signed { tree_size: c.tree_size, unix_nanos: c.unix_nanos })
        .collect();
    // The timeliness check reads what the replay already holds: each
    // record's time from the index (none once its content is retired: its
    // location has no length) and the operators' acceptances by kind.
    let time = |seq: u64| {
        let i = seq as usize;
        state.locations.get(i).filter(|l| l.len > 0).and_then(|_| state.catalog.unix_nanos(seq))
    };
    let markers = state.catalog.of_kind(coverage::UNSIGNED_TAIL_ACCEPTED);
    let records = coverage::Records { len: state.tree.size(), time: &time, accepted_markers: markers };
    let judged = match timeliness {
        Timeliness::Whole(w) => coverage::check(&records, &signed, w),
        Timeliness::Tail(w) => coverage::check_tail(&records, &signed, w),
        Timeliness::Unchecked => Ok(coverage::Coverage::default()),
    };
    judged.map_err(|e| AuditError::Unsigned(e.to_string()))
}
