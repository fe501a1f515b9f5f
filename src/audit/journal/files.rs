//! File-system helpers: the lock, synced writes, paths, the instance id.

use super::*;

/// Who runs this process, as the environment says (for the record an
/// operator's override leaves).
pub(super) fn whoami() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown user".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

pub(super) fn instance_id(dir: &Path) -> Result<String, AuditError> {
    let path = dir.join("instance-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let id = uuid::Uuid::now_v7().to_string();
            std::fs::write(&path, format!("{id}\n")).map_err(|e| io_err(&path, e))?;
            Ok(id)
        }
    }
}

#[cfg(unix)]
pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
pub(super) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset).map(|_| ())
}

/// The chain hash of a segment file's last record.
pub(super) fn last_chain_hash(path: &Path) -> Result<String, AuditError> {
    let text = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let last = text
        .split(|b| *b == b'\n')
        .rfind(|l| !l.is_empty())
        .ok_or_else(|| AuditError::Corrupt(format!("{}: empty segment", path.display())))?;
    let line: Line<'_> =
        serde_json::from_slice(last).map_err(|e| AuditError::Corrupt(format!("{}: {e}", path.display())))?;
    Ok(line.hash)
}

pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let mut f = File::create(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| io_err(path, e))
}

/// Takes the log's exclusive lock, or says who holds it.
pub(super) fn lock(data_dir: &Path) -> Result<File, AuditError> {
    let path = audit_dir(data_dir).join("LOCK");
    let f = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| io_err(&path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Io(format!(
            "the audit log under {} is in use by another Warden process (stop it, or use its AuditService)",
            data_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path, e)),
    }
}

pub(super) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

pub(super) fn io_err(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}
