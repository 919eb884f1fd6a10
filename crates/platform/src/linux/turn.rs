//! One snapshot at a time among processes that share a memory budget.
//!
//! A snapshot's extra memory (~20× the used heap) is taken from the budget of the cgroup the
//! process lives in. When SIGUSR2 reaches a whole process group (a cluster's primary and its
//! workers), every process checks that budget before any of them has started allocating, all
//! pass, and the OOM killer takes some. So a snapshot first takes its turn: an exclusive `flock`
//! on a lock file named after the cgroup whose limit binds (or the host, where none does), then
//! checks the budget, writes and lets go. The lock dies with its holder, whatever kills it.
//!
//! The lock file lives in `/dev/shm` (else `/tmp`, or `RHEAPDUMP_LOCK_DIR`), named after the user and a hash of the
//! budget's key, created 0600 with `O_NOFOLLOW`; a file there owned by someone else is never
//! used. Where no lock can be had the snapshot goes ahead uncoordinated, guarded as before.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::resources::cgroup_limits;

/// What the processes sharing one memory budget have in common: the cgroup directory whose
/// limit is lowest, or `host`.
pub fn budget_key(
  proc_cgroup: &str,
  root: &Path,
  read: &dyn Fn(&Path) -> Option<String>,
) -> String {
  cgroup_limits(proc_cgroup, root, read)
    .into_iter()
    .min_by_key(|limit| limit.limit)
    .map(|limit| limit.dir.to_string_lossy().into_owned())
    .unwrap_or_else(|| "host".to_string())
}

/// The budget key of this process, from /proc/self/cgroup and /sys/fs/cgroup.
pub fn own_budget_key() -> String {
  let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
  budget_key(&cgroups, Path::new("/sys/fs/cgroup"), &|path| {
    std::fs::read_to_string(path).ok()
  })
}

/// The directory for lock files: `RHEAPDUMP_LOCK_DIR` if set (processes that should take turns
/// must agree on it), else `/dev/shm` (memory, local to this machine) or `/tmp`.
pub fn lock_dir() -> PathBuf {
  if let Some(dir) = std::env::var_os("RHEAPDUMP_LOCK_DIR").filter(|dir| !dir.is_empty()) {
    return PathBuf::from(dir);
  }
  ["/dev/shm", "/tmp"]
    .iter()
    .map(PathBuf::from)
    .find(|dir| dir.is_dir())
    .unwrap_or_else(std::env::temp_dir)
}

/// The lock file for `key`, for this user.
pub fn lock_path(dir: &Path, key: &str) -> PathBuf {
  // SAFETY: geteuid cannot fail.
  let uid = unsafe { libc::geteuid() };
  dir.join(format!(
    "rheapdump-{uid}-{:016x}.lock",
    fnv1a(key.as_bytes())
  ))
}

fn fnv1a(bytes: &[u8]) -> u64 {
  bytes.iter().fold(0xcbf29ce484222325, |hash, byte| {
    (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3)
  })
}

/// The right to take a snapshot; dropping it lets the next process go.
#[derive(Debug)]
pub struct Turn {
  _file: File,
}

#[derive(Debug)]
pub enum TurnError {
  /// Another process held the lock for all of `waited`.
  Busy { waited: Duration },
  /// No lock can be had here (the reason): go ahead uncoordinated.
  Unavailable(String),
}

/// Waits at most `timeout` for the lock at `path`, trying every few milliseconds.
pub fn wait_for_turn(path: &Path, timeout: Duration) -> Result<Turn, TurnError> {
  let file =
    open_lock(path).map_err(|err| TurnError::Unavailable(format!("{}: {err}", path.display())))?;
  let started = Instant::now();
  loop {
    // SAFETY: flock on a descriptor owned by `file`.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
      return Ok(Turn { _file: file });
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EWOULDBLOCK) && err.kind() != io::ErrorKind::Interrupted {
      return Err(TurnError::Unavailable(format!("{}: {err}", path.display())));
    }
    let waited = started.elapsed();
    if waited >= timeout {
      return Err(TurnError::Busy { waited });
    }
    std::thread::sleep((timeout - waited).min(Duration::from_millis(10)));
  }
}

fn open_lock(path: &Path) -> io::Result<File> {
  let file = OpenOptions::new()
    .read(true)
    .write(true)
    .create(true)
    .mode(0o600)
    .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
    .open(path)?;
  let meta = file.metadata()?;
  // SAFETY: geteuid cannot fail.
  if !meta.is_file() || meta.uid() != unsafe { libc::geteuid() } {
    return Err(io::Error::new(
      io::ErrorKind::PermissionDenied,
      "not a regular file of this user",
    ));
  }
  Ok(file)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_key_is_the_cgroup_with_the_lowest_limit_or_the_host() {
    let read = |path: &Path| match path.to_str().unwrap() {
      "/cg/app/memory.max" => Some("1073741824".to_string()),
      "/cg/app/web/memory.max" => Some("536870912".to_string()),
      "/cg/app/memory.current" | "/cg/app/web/memory.current" => Some("1".to_string()),
      _ => None,
    };
    assert_eq!(
      budget_key("0::/app/web/worker\n", Path::new("/cg"), &read),
      "/cg/app/web"
    );
    assert_eq!(budget_key("0::/other\n", Path::new("/cg"), &read), "host");
  }

  #[test]
  fn one_turn_at_a_time_and_the_next_waits_until_it_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = lock_path(dir.path(), "/cg/app");
    let first = wait_for_turn(&path, Duration::ZERO).unwrap();
    let started = Instant::now();
    let busy = wait_for_turn(&path, Duration::from_millis(100)).unwrap_err();
    assert!(matches!(busy, TurnError::Busy { waited } if waited >= Duration::from_millis(100)));
    assert!(started.elapsed() < Duration::from_secs(2));
    let release = std::thread::spawn(move || {
      std::thread::sleep(Duration::from_millis(50));
      drop(first);
    });
    wait_for_turn(&path, Duration::from_secs(10)).unwrap();
    release.join().unwrap();
    let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600);
  }

  #[test]
  fn a_symlink_planted_at_the_lock_name_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let path = lock_path(dir.path(), "host");
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let err = wait_for_turn(&path, Duration::ZERO).unwrap_err();
    assert!(matches!(err, TurnError::Unavailable(_)));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
  }
}
