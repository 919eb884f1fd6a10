//! Memory reservations among processes that share a memory budget.
//!
//! A snapshot's extra memory (~20× the used heap) is taken from the budget of the cgroup the
//! process lives in (or the host). When SIGUSR2 reaches a whole process group, every process
//! checks that budget before any of them has started allocating, all pass, and the OOM killer
//! takes some. So a snapshot first reserves its estimate in the budget's ledger, and goes ahead
//! when what is available, less what others have reserved and not yet released, fits it; else
//! it waits. Processes that fit together snapshot together; a budget with room for one lets one
//! through at a time; a process whose reservation is alone in the ledger always gets it (the
//! guard then judges it against fresh figures).
//!
//! # The ledger
//! One directory (`RHEAPDUMP_LOCK_DIR`, else `/dev/shm`, else `/tmp`: the first where the files
//! can be written) holds, per user and budget, a lock file `rheapdump-<uid>-<hash>.ledger` and one
//! file per reservation, `rheapdump-<uid>-<hash>-<pid>-<nanos>-<n>.reservation`, holding
//! `<pid> <bytes>`. Its owner keeps an exclusive `flock` on it for as long as it holds the
//! memory — a fork snapshot's child inherits it — so a reservation dies with the last process
//! holding it, whatever kills it: a reader that can lock the file knows its owner is gone and
//! deletes it. No pid is trusted to be alive, so pid reuse and pid namespaces cannot keep a dead
//! reservation. The lock file serialises the read-decide-create step (held for well under a millisecond).
//! Every file is created 0600 with `O_NOFOLLOW`; one owned by someone else is never used.
//!
//! # What is counted twice
//! A holder's memory is counted twice while it is being spent: once in its reservation and once
//! in the available figure its growth has already lowered. Waiting errs that way on purpose:
//! the other way is the OOM killer.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// The directories a ledger may live in, in order: `RHEAPDUMP_LOCK_DIR` alone if set
/// (processes that share a budget must agree on it), else `/dev/shm` (memory, local to this
/// machine), then `/tmp` (where `/dev/shm` is read-only or absent, as in some containers).
pub fn ledger_dirs() -> Vec<PathBuf> {
  match std::env::var_os("RHEAPDUMP_LOCK_DIR").filter(|dir| !dir.is_empty()) {
    Some(dir) => vec![PathBuf::from(dir)],
    None => vec![PathBuf::from("/dev/shm"), PathBuf::from("/tmp")],
  }
}

fn uid() -> u32 {
  // SAFETY: geteuid cannot fail.
  unsafe { libc::geteuid() }
}

fn fnv1a(bytes: &[u8]) -> u64 {
  bytes.iter().fold(0xcbf29ce484222325, |hash, byte| {
    (hash ^ u64::from(*byte)).wrapping_mul(0x100000001b3)
  })
}

/// A process's live reservation, as read from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
  /// The owner's pid, as it saw itself (in its own pid namespace).
  pub pid: u32,
  pub bytes: u64,
}

/// The ledger of one budget for this user.
#[derive(Debug)]
pub struct Ledger {
  lock: File,
  dir: PathBuf,
  prefix: String,
}

/// Why no ledger can be had: each directory tried, with its error.
#[derive(Debug)]
pub struct Unavailable {
  pub tried: Vec<(PathBuf, io::Error)>,
}

impl std::fmt::Display for Unavailable {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    let tried: Vec<String> = self
      .tried
      .iter()
      .map(|(dir, err)| format!("{}: {err}", dir.display()))
      .collect();
    write!(
      f,
      "no writable directory for the memory ledger ({})",
      tried.join("; ")
    )
  }
}

/// The outcome of one attempt to reserve.
#[derive(Debug)]
pub enum Attempt {
  Granted(Reservation),
  /// The reservations of `holders` leave less than asked of `available`.
  Wait {
    holders: Vec<Holder>,
    available: u64,
  },
}

/// Memory reserved in a ledger; dropping it (or the death of every process holding its file)
/// gives it back.
#[derive(Debug)]
pub struct Reservation {
  /// Holds the `flock` that says the reservation is alive; closed after the unlink.
  file: File,
  path: PathBuf,
  pub bytes: u64,
}

impl Drop for Reservation {
  fn drop(&mut self) {
    // Unlinked while still locked: a reader that opened it just before counts it once more.
    let _ = std::fs::remove_file(&self.path);
  }
}

impl Reservation {
  pub fn path(&self) -> &Path {
    &self.path
  }
}

impl Ledger {
  /// Opens the ledger of budget `key` in the first of `dirs` where its files can be written.
  pub fn open(dirs: &[PathBuf], key: &str) -> Result<Ledger, Unavailable> {
    let prefix = format!("rheapdump-{}-{:016x}", uid(), fnv1a(key.as_bytes()));
    let mut tried = Vec::new();
    for dir in dirs {
      // Not `.lock`: that name is the turn lock of earlier versions, which hold it for a whole
      // snapshot; processes of both versions on one host coordinate only among their own.
      match open_own(&dir.join(format!("{prefix}.ledger")), true) {
        Ok(lock) => {
          return Ok(Ledger {
            lock,
            dir: dir.clone(),
            prefix,
          })
        }
        Err(err) => tried.push((dir.clone(), err)),
      }
    }
    Err(Unavailable { tried })
  }

  pub fn dir(&self) -> &Path {
    &self.dir
  }

  /// Reserves `bytes` if the live reservations leave room for them in what `available` reads
  /// (called only when there are some), or if there are none.
  pub fn try_reserve(
    &self,
    bytes: u64,
    available: &dyn Fn() -> Option<u64>,
  ) -> io::Result<Attempt> {
    let _locked = self.lock_briefly()?;
    let holders = self.live_holders()?;
    let outstanding: u64 = holders.iter().map(|h| h.bytes).sum();
    if !holders.is_empty() {
      let available = available().unwrap_or(0);
      if bytes.saturating_add(outstanding) > available {
        return Ok(Attempt::Wait { holders, available });
      }
    }
    self.create(bytes).map(Attempt::Granted)
  }

  /// Waits at most `timeout` for a reservation, trying every `every`.
  pub fn reserve_within(
    &self,
    bytes: u64,
    available: &dyn Fn() -> Option<u64>,
    timeout: Duration,
    every: Duration,
  ) -> io::Result<Attempt> {
    let started = Instant::now();
    loop {
      let attempt = self.try_reserve(bytes, available)?;
      let waited = started.elapsed();
      if matches!(attempt, Attempt::Granted(_)) || waited >= timeout {
        return Ok(attempt);
      }
      std::thread::sleep((timeout - waited).min(every));
    }
  }

  /// The reservations whose owners live, deleting the others.
  pub fn live_holders(&self) -> io::Result<Vec<Holder>> {
    let mut holders = Vec::new();
    for entry in std::fs::read_dir(&self.dir)? {
      let Ok(entry) = entry else { continue };
      let name = entry.file_name();
      let Some(name) = name.to_str() else { continue };
      if !(name.starts_with(&format!("{}-", self.prefix)) && name.ends_with(".reservation")) {
        continue;
      }
      let path = entry.path();
      let Ok(mut file) = open_own(&path, false) else {
        continue;
      };
      // SAFETY: flock on a descriptor owned by `file`.
      if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
        // Nobody holds it: its owner (and any fork child of it) is gone.
        let _ = std::fs::remove_file(&path);
        continue;
      }
      let mut text = String::new();
      if file.read_to_string(&mut text).is_err() {
        continue;
      }
      let mut fields = text.split_whitespace().map(str::parse::<u64>);
      if let (Some(Ok(pid)), Some(Ok(bytes))) = (fields.next(), fields.next()) {
        holders.push(Holder {
          pid: pid as u32,
          bytes,
        });
      }
    }
    Ok(holders)
  }

  fn create(&self, bytes: u64) -> io::Result<Reservation> {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
      .duration_since(UNIX_EPOCH)
      .map(|d| d.as_nanos())
      .unwrap_or(0);
    let pid = std::process::id();
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let path = self
      .dir
      .join(format!("{}-{pid}-{nanos}-{n}.reservation", self.prefix));
    let file = OpenOptions::new()
      .read(true)
      .write(true)
      .create_new(true)
      .mode(0o600)
      .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
      .open(&path)?;
    // SAFETY: flock on a descriptor owned by `file`; nobody else can hold a file just created.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
      let err = io::Error::last_os_error();
      let _ = std::fs::remove_file(&path);
      return Err(err);
    }
    // Dropped on a failed write, it deletes the file.
    let reservation = Reservation { file, path, bytes };
    (&reservation.file).write_all(format!("{pid} {bytes}\n").as_bytes())?;
    Ok(reservation)
  }

  /// The ledger's lock, for the read-decide-create step. Its holders only do that, so a few
  /// hundred milliseconds without it means a holder is stopped (SIGSTOP, a debugger).
  fn lock_briefly(&self) -> io::Result<Locked<'_>> {
    let started = Instant::now();
    loop {
      // SAFETY: flock on a descriptor owned by self.lock.
      if unsafe { libc::flock(self.lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Locked(&self.lock));
      }
      let err = io::Error::last_os_error();
      if err.raw_os_error() != Some(libc::EWOULDBLOCK) && err.kind() != io::ErrorKind::Interrupted {
        return Err(err);
      }
      if started.elapsed() > Duration::from_millis(500) {
        return Err(io::Error::new(
          io::ErrorKind::WouldBlock,
          "another process has held the ledger's lock for 500 ms (stopped?)",
        ));
      }
      std::thread::sleep(Duration::from_millis(1));
    }
  }
}

struct Locked<'a>(&'a File);

impl Drop for Locked<'_> {
  fn drop(&mut self) {
    // SAFETY: unlocks the descriptor this guard locked.
    unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
  }
}

/// Opens (or, with `create`, creates 0600) a regular file of this user, never through a symlink,
/// for writing when `create` (so a read-only filesystem fails here, not later).
fn open_own(path: &Path, create: bool) -> io::Result<File> {
  let file = OpenOptions::new()
    .read(true)
    .write(create)
    .create(create)
    .mode(0o600)
    .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
    .open(path)?;
  let meta = file.metadata()?;
  if !meta.is_file() || meta.uid() != uid() {
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

  const GIB: u64 = 1 << 30;

  fn ledger(dir: &Path) -> Ledger {
    Ledger::open(&[dir.to_path_buf()], "/cg/app").unwrap()
  }

  fn granted(attempt: Attempt) -> Reservation {
    match attempt {
      Attempt::Granted(reservation) => reservation,
      Attempt::Wait { .. } => panic!("expected a grant, got {attempt:?}"),
    }
  }

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
  fn reservations_that_fit_together_are_granted_together_and_the_next_waits() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(dir.path());
    let available = || Some(3 * GIB);
    let first = granted(ledger.try_reserve(GIB, &available).unwrap());
    let second = granted(ledger.try_reserve(GIB, &available).unwrap());
    match ledger.try_reserve(2 * GIB, &available).unwrap() {
      Attempt::Wait { holders, available } => {
        assert_eq!(available, 3 * GIB);
        let pid = std::process::id();
        assert_eq!(holders, vec![Holder { pid, bytes: GIB }; 2]);
      }
      other => panic!("expected a wait, got {other:?}"),
    }
    drop(first);
    granted(ledger.try_reserve(2 * GIB, &available).unwrap());
    let mode = std::fs::metadata(second.path()).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o600);
  }

  #[test]
  fn a_reservation_alone_in_the_ledger_is_granted_whatever_is_available() {
    let dir = tempfile::tempdir().unwrap();
    granted(ledger(dir.path()).try_reserve(GIB, &|| Some(0)).unwrap());
  }

  #[test]
  fn a_reservation_nobody_holds_any_more_is_dropped_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(dir.path());
    // What a killed owner leaves: the file, with nobody holding its lock.
    let dead = dir
      .path()
      .join(format!("{}-999999-1-0.reservation", ledger.prefix));
    std::fs::write(&dead, "999999 1073741824\n").unwrap();
    assert_eq!(ledger.live_holders().unwrap(), vec![]);
    assert!(!dead.exists());
    granted(ledger.try_reserve(GIB, &|| Some(GIB)).unwrap());
  }

  #[test]
  fn a_wait_ends_with_the_grant_once_the_holder_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(dir.path());
    let first = granted(ledger.try_reserve(GIB, &|| Some(GIB)).unwrap());
    let every = Duration::from_millis(5);
    let waited = ledger
      .reserve_within(GIB, &|| Some(GIB), Duration::from_millis(50), every)
      .unwrap();
    assert!(matches!(waited, Attempt::Wait { .. }));
    let release = std::thread::spawn(move || {
      std::thread::sleep(Duration::from_millis(50));
      drop(first);
    });
    let attempt = ledger
      .reserve_within(GIB, &|| Some(GIB), Duration::from_secs(10), every)
      .unwrap();
    granted(attempt);
    release.join().unwrap();
  }

  #[test]
  fn the_next_directory_is_used_when_one_cannot_be_written_and_none_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let ledger = Ledger::open(&[missing.clone(), dir.path().to_path_buf()], "host").unwrap();
    assert_eq!(ledger.dir(), dir.path());
    let err = Ledger::open(std::slice::from_ref(&missing), "host").unwrap_err();
    assert_eq!(err.tried.len(), 1);
    assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");
  }

  #[test]
  fn a_symlink_planted_at_the_lock_name_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let prefix = format!("rheapdump-{}-{:016x}", uid(), fnv1a(b"host"));
    std::os::unix::fs::symlink(&victim, dir.path().join(format!("{prefix}.ledger"))).unwrap();
    Ledger::open(&[dir.path().to_path_buf()], "host").unwrap_err();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
  }
}
