//! Fork snapshots (experimental, opt-in: `fork: true`): the heap snapshot is written by a
//! fork()ed child, so the service pauses for the fork (milliseconds), not for the snapshot
//! (seconds). Nothing here runs unless a fork snapshot is asked for. docs/fork.md is the user's
//! view; this is the recipe and why each step.
//!
//! # The parent, on the main thread (inside a V8 interrupt or on the event loop)
//! 1. Waits (≤ `quiet_wait_ms`, polling `/proc/self/task`) until every thread but libuv's pool
//!    and rheapdump's own is blocked in a system call: a thread caught running could hold one of
//!    V8's locks, or be half-way through a structure the child's snapshot walks. JS retries a
//!    few times 20 ms apart and then forks anyway (the child is guarded below).
//! 2. Opens the snapshot file (crates/core's `PendingSnapshot`: anonymous until committed,
//!    0600), so a child that dies leaves nothing behind.
//! 3. Reads `/proc/self/smaps` for the mappings flagged `dc` (`MADV_DONTFORK`: Node's V8 marks
//!    its heap so, which would leave the child without a JavaScript heap), `madvise`s them
//!    `MADV_DOFORK`, forks, and marks them `MADV_DONTFORK` again right after: the pause.
//! 4. Starts a thread (`rheapdump-fork`) that waits for the child without blocking the event
//!    loop, kills it when its CPU time stops advancing for 5 s, and on exit 0 commits the file
//!    (fsync, then its final name) even if the main thread is stuck. JS polls for the outcome.
//!
//! # The child
//! It runs only the code that returns from `fork_snapshot_start` to lib/fork.js, which calls
//! `v8.writeHeapSnapshot` and then `fork_child_finish`/`fork_child_exit` (`_exit`): it never
//! returns to the event loop. Before that, `child_setup`:
//! - `PR_SET_PDEATHSIG` (SIGKILL): it dies with the parent (checked against a parent that died
//!   just before), and `alarm()` bounds its life;
//! - every signal disposition back to default and the mask emptied: inherited ones would run
//!   the parent's JS handlers through libuv's signal pipe, and an ignored SIGTERM would make it
//!   unkillable by the usual means;
//! - every fd ≥ 3 but the snapshot file's pointed at `/dev/null` (not closed: libuv aborts on
//!   a closed fd it still watches; left open, a closed server's port stays busy);
//! - `oom_score_adj` 1000 (the OOM killer takes the child first, never the service), nice 19;
//! - the lock and condition-variable entry points patched (`patch_locks`).
//!
//! # Why the child's locks are patched, and why that is safe there
//! After fork() only the forking thread exists. A mutex held by another thread at that moment
//! stays held for ever, and glibc 2.36's `pthread_cond_signal` can wait for waiters that were
//! on vanished threads; the child's GC (V8 posts marking jobs to workers that do not exist)
//! and Node's task queues hang on them. In the child only, the entry points of
//! `pthread_mutex_{lock,trylock,timedlock,unlock}`, `pthread_rwlock_{rd,wr,tryrd,trywr,un}lock`,
//! `pthread_cond_{signal,broadcast}` and Abseil's `Mutex` lock/unlock/try-lock and
//! `CondVar::Signal{,All}` (Node 22+ build V8's locks on Abseil) are overwritten to return
//! success at once. With one thread there is nobody to exclude and nobody to wake, so mutual
//! exclusion and signalling have no work to do; what changes is that a lock left held by a
//! vanished thread is entered anyway, which step 1 makes unlikely to matter (those threads were
//! blocked, not inside a critical section). Waits (`pthread_cond_wait`, `CondVar::Wait`) are
//! left alone: a child waiting for a vanished worker hangs, and the stall check and its alarm
//! end it. The patch is a copy-on-write write to the child's own code pages: the parent's code
//! is untouched. It assumes x86-64, glibc and a writable-on-mprotect text (no SELinux
//! `execmod` denial): elsewhere fork snapshots are unavailable, and a child that cannot patch
//! exits with `ERR_RHEAPDUMP_FORK_SETUP`.

use napi::bindgen_prelude::Either;
use napi_derive::napi;

use crate::snapshot_file::FileFailure;

/// How a fork snapshot began: in the parent `pid`, the pause and the child's alarm; in the
/// child `child` and the path V8's writer must write; `busy` when threads were running and
/// nothing was forked.
#[napi(object)]
pub struct ForkStart {
  pub child: bool,
  pub writer_path: Option<String>,
  pub pid: Option<u32>,
  pub pause_ms: f64,
  /// Mappings re-allowed into the child (V8's heap).
  pub mappings: u32,
  pub alarm_secs: u32,
  /// Threads found running (none forked), by name.
  pub busy: Option<Vec<String>>,
}

/// How a child ended: the committed file, or why there is none.
#[napi(object)]
pub struct ForkEnd {
  pub ok: bool,
  pub path: Option<String>,
  pub bytes: f64,
  pub child_ms: f64,
  /// The child's peak RSS (includes the pages it shares with the parent), bytes.
  pub child_peak_rss: f64,
  pub code: Option<String>,
  pub syscall: Option<String>,
  pub description: Option<String>,
  /// Another fork may succeed (the child crashed or stalled).
  pub retry: bool,
}

/// Why fork snapshots cannot be taken in this process, or null when they can.
#[napi]
pub fn fork_unavailable() -> Option<String> {
  imp::unavailable()
}

/// Extra memory a fork snapshot may take from the budget (crates/core's `fork_extra_memory`).
#[napi]
pub fn fork_extra_memory(node_major: u32, heap_used: f64, heap_total: f64, rss: f64) -> f64 {
  rheapdump_core::fork::fork_extra_memory(
    node_major,
    heap_used as u64,
    heap_total as u64,
    rss as u64,
  ) as f64
}

/// Forks a child that writes the snapshot (see the module docs). Main thread only. Returns
/// `busy` without forking when threads are running and `force` is not set.
#[napi]
pub fn fork_snapshot_start(
  dir: Option<String>,
  filename: Option<String>,
  by_name: bool,
  heap_used: f64,
  quiet_wait_ms: f64,
  force: bool,
) -> Either<ForkStart, FileFailure> {
  imp::start(
    dir,
    filename,
    by_name,
    heap_used as u64,
    quiet_wait_ms,
    force,
  )
}

/// The outcome of the child `pid`, or null while it runs. Once returned, it is forgotten.
#[napi]
pub fn fork_snapshot_poll(pid: u32) -> Option<ForkEnd> {
  imp::poll(pid)
}

/// In the child, after V8's writer returned: marks the file as a fork snapshot and `_exit`s.
#[napi]
pub fn fork_child_finish(writer_path: String) {
  imp::child_finish(&writer_path)
}

/// In the child: `_exit(code)` at once, running nothing of the parent's.
#[napi]
pub fn fork_child_exit(code: i32) {
  // SAFETY: _exit ends the process without running atexit handlers or destructors, which in
  // a fork child belong to the parent.
  unsafe { libc::_exit(code) }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu")))]
mod imp {
  use super::*;

  pub fn unavailable() -> Option<String> {
    Some("fork snapshots are implemented and tested on x86-64 Linux with glibc only".to_string())
  }

  pub fn start(
    _: Option<String>,
    _: Option<String>,
    _: bool,
    _: u64,
    _: f64,
    _: bool,
  ) -> Either<ForkStart, FileFailure> {
    Either::B(FileFailure {
      code: "ERR_RHEAPDUMP_FORK_UNAVAILABLE".to_string(),
      syscall: "fork".to_string(),
      path: String::new(),
      description: unavailable().unwrap_or_default(),
    })
  }

  pub fn poll(_: u32) -> Option<ForkEnd> {
    None
  }

  pub fn child_finish(_: &str) {}
}

#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
mod imp {
  use std::collections::HashMap;
  use std::ffi::c_void;
  use std::fs::OpenOptions;
  use std::path::PathBuf;
  use std::sync::{Mutex, OnceLock};
  use std::time::{Duration, Instant};

  use rheapdump_core::fork::{
    busy_threads, child_alarm_secs, dontfork_ranges, exit, insert_fork_marker, stat_cpu_ticks,
    stat_state, ChildEnd, ThreadInfo,
  };
  use rheapdump_core::naming::FileKind;
  use rheapdump_core::snapshot_file::{PendingSnapshot, Target};

  use super::*;

  /// A child whose CPU time has not advanced for this long is hung: killed.
  const STALL: Duration = Duration::from_secs(5);
  const WAIT_STEP: Duration = Duration::from_millis(50);

  /// Outcomes of children, by pid, until JS polls them.
  static ENDED: Mutex<Option<HashMap<u32, ForkEnd>>> = Mutex::new(None);

  /// `xor eax, eax; ret`: returns 0, success for pthread_* and void for Abseil's.
  const RETURN_ZERO: &[u8] = &[0x31, 0xc0, 0xc3];
  /// `mov eax, 1; ret`: returns true, "acquired" for Abseil's try-locks.
  const RETURN_TRUE: &[u8] = &[0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3];

  /// The entry points patched in the child, by the names the host exports (see module docs).
  const PATCHED: &[(&str, &[u8])] = &[
    ("pthread_mutex_lock\0", RETURN_ZERO),
    ("pthread_mutex_trylock\0", RETURN_ZERO),
    ("pthread_mutex_timedlock\0", RETURN_ZERO),
    ("pthread_mutex_unlock\0", RETURN_ZERO),
    ("pthread_rwlock_rdlock\0", RETURN_ZERO),
    ("pthread_rwlock_wrlock\0", RETURN_ZERO),
    ("pthread_rwlock_tryrdlock\0", RETURN_ZERO),
    ("pthread_rwlock_trywrlock\0", RETURN_ZERO),
    ("pthread_rwlock_unlock\0", RETURN_ZERO),
    ("pthread_cond_signal\0", RETURN_ZERO),
    ("pthread_cond_broadcast\0", RETURN_ZERO),
    // Abseil (Node 22, 24: Lock/Unlock/ReaderLock…; Node 26: lock/unlock/lock_shared…).
    ("_ZN4absl5Mutex4LockEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex6UnlockEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex7TryLockEv\0", RETURN_TRUE),
    ("_ZN4absl5Mutex10ReaderLockEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex12ReaderUnlockEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex13ReaderTryLockEv\0", RETURN_TRUE),
    ("_ZN4absl5Mutex4lockEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex6unlockEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex8try_lockEv\0", RETURN_TRUE),
    ("_ZN4absl5Mutex11lock_sharedEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex13unlock_sharedEv\0", RETURN_ZERO),
    ("_ZN4absl5Mutex15try_lock_sharedEv\0", RETURN_TRUE),
    ("_ZN4absl7CondVar6SignalEv\0", RETURN_ZERO),
    ("_ZN4absl7CondVar9SignalAllEv\0", RETURN_ZERO),
  ];
  /// Without these the recipe does not hold anywhere: fork snapshots are unavailable.
  const REQUIRED: usize = 11;

  struct Patch {
    address: usize,
    code: &'static [u8],
  }

  fn patches() -> &'static Result<Vec<Patch>, String> {
    static PATCHES: OnceLock<Result<Vec<Patch>, String>> = OnceLock::new();
    PATCHES.get_or_init(|| {
      let mut found = Vec::new();
      for (index, (name, code)) in PATCHED.iter().enumerate() {
        // SAFETY: dlsym with a NUL-terminated name; the address is only written to in a child.
        let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr().cast()) };
        if address.is_null() {
          if index < REQUIRED {
            return Err(format!(
              "{} is not found in this process",
              name.trim_end_matches('\0')
            ));
          }
          continue;
        }
        found.push(Patch {
          address: address as usize,
          code,
        });
      }
      Ok(found)
    })
  }

  pub fn unavailable() -> Option<String> {
    patches().as_ref().err().cloned()
  }

  fn failure(code: &str, syscall: &str, path: &str, description: String) -> FileFailure {
    FileFailure {
      code: code.to_string(),
      syscall: syscall.to_string(),
      path: path.to_string(),
      description,
    }
  }

  pub fn start(
    dir: Option<String>,
    filename: Option<String>,
    by_name: bool,
    heap_used: u64,
    quiet_wait_ms: f64,
    force: bool,
  ) -> Either<ForkStart, FileFailure> {
    let shown = filename.clone().or(dir.clone()).unwrap_or_default();
    let patches = match patches() {
      Ok(patches) => patches,
      Err(reason) => {
        return Either::B(failure(
          "ERR_RHEAPDUMP_FORK_UNAVAILABLE",
          "fork",
          &shown,
          reason.clone(),
        ))
      }
    };
    let started = Instant::now();
    let busy = wait_for_quiet(Duration::from_secs_f64(quiet_wait_ms.max(0.0) / 1000.0));
    if !busy.is_empty() && !force {
      return Either::A(ForkStart {
        child: false,
        writer_path: None,
        pid: None,
        pause_ms: started.elapsed().as_secs_f64() * 1000.0,
        mappings: 0,
        alarm_secs: 0,
        busy: Some(busy),
      });
    }
    let target = match filename {
      Some(path) => Target::Explicit {
        path: PathBuf::from(path),
      },
      None => Target::DefaultName {
        dir: PathBuf::from(dir.unwrap_or_else(|| ".".to_string())),
      },
    };
    let pending = match PendingSnapshot::create_for(target, FileKind::Snapshot, by_name) {
      Ok(pending) => pending,
      Err(err) => return Either::B(err.into()),
    };
    let writer_path = pending.writer_path();
    let keep_fd = writer_path
      .strip_prefix("/proc/self/fd")
      .ok()
      .and_then(|fd| fd.to_str()?.parse::<i32>().ok());
    let alarm_secs = child_alarm_secs(heap_used);
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };

    let ranges = std::fs::read_to_string("/proc/self/smaps")
      .map(|smaps| dontfork_ranges(&smaps))
      .unwrap_or_default();
    for &(start, end) in &ranges {
      // SAFETY: madvise on whole mappings the kernel just listed; one unmapped since fails
      // with ENOMEM and is skipped (the child then lacks it, as it would anyway).
      unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DOFORK) };
    }
    // SAFETY: fork in a multi-threaded process: the child runs only async-signal-safe calls
    // and the code described in the module docs (single thread, locks patched, then _exit).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
      // The child: the file belongs to the parent, which commits or drops it; its Drop here
      // would unlink a named temporary file the child is about to write.
      let path = writer_path.to_string_lossy().into_owned();
      std::mem::forget(pending);
      child_setup(parent, keep_fd, alarm_secs, patches);
      return Either::A(ForkStart {
        child: true,
        writer_path: Some(path),
        pid: None,
        pause_ms: 0.0,
        mappings: 0,
        alarm_secs,
        busy: None,
      });
    }
    let fork_error = std::io::Error::last_os_error();
    for &(start, end) in &ranges {
      // SAFETY: as above; restores what V8 asked for, in the parent.
      unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DONTFORK) };
    }
    let pause_ms = started.elapsed().as_secs_f64() * 1000.0;
    if pid < 0 {
      let code = rheapdump_core::errno::code_of(&fork_error);
      return Either::B(failure(
        code,
        "fork",
        &shown,
        rheapdump_core::errno::describe(&fork_error),
      ));
    }
    let pid = pid as u32;
    let spawned = std::thread::Builder::new()
      .name("rheapdump-fork".to_string())
      .stack_size(256 * 1024)
      .spawn(move || {
        let end = wait_for_child(pid, pending, alarm_secs);
        lock_ended()
          .get_or_insert_with(HashMap::new)
          .insert(pid, end);
      });
    if let Err(err) = spawned {
      // SAFETY: our own child; killed and reaped so that it does not linger.
      unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
        libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
      }
      return Either::B(failure(
        "ERR_RHEAPDUMP_FORK_FAILED",
        "pthread_create",
        &shown,
        format!("cannot start the thread that waits for the child: {err}"),
      ));
    }
    Either::A(ForkStart {
      child: false,
      writer_path: None,
      pid: Some(pid),
      pause_ms,
      mappings: ranges.len() as u32,
      alarm_secs,
      busy: None,
    })
  }

  fn lock_ended() -> std::sync::MutexGuard<'static, Option<HashMap<u32, ForkEnd>>> {
    ENDED.lock().unwrap_or_else(|e| e.into_inner())
  }

  pub fn poll(pid: u32) -> Option<ForkEnd> {
    lock_ended().as_mut()?.remove(&pid)
  }

  /// Polls this process's threads until none that matters is running, or `budget` runs out;
  /// returns the names of those still running.
  fn wait_for_quiet(budget: Duration) -> Vec<String> {
    // SAFETY: gettid cannot fail.
    let caller = unsafe { libc::gettid() } as u32;
    let started = Instant::now();
    loop {
      let busy = busy_threads(&threads(), caller);
      if busy.is_empty() || started.elapsed() >= budget {
        return busy;
      }
      std::thread::sleep(Duration::from_micros(200));
    }
  }

  fn threads() -> Vec<ThreadInfo> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
      return Vec::new();
    };
    tasks
      .flatten()
      .filter_map(|task| {
        let tid = task.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
        Some(ThreadInfo {
          tid,
          name: name.trim_end().to_string(),
          state: stat_state(&stat)?,
        })
      })
      .collect()
  }

  /// Runs on the `rheapdump-fork` thread: waits for the child, kills it when it stalls,
  /// commits or drops the file.
  fn wait_for_child(pid: u32, pending: PendingSnapshot, alarm_secs: u32) -> ForkEnd {
    let started = Instant::now();
    let mut last_ticks = (None, None);
    let mut progressed = Instant::now();
    let mut stalled = false;
    let (status, peak_rss) = loop {
      let mut status = 0;
      // SAFETY: zeroed rusage is a valid out-parameter.
      let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
      // SAFETY: wait4 on our own child, without blocking.
      let reaped = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
      if reaped == pid as i32 {
        break (status, usage.ru_maxrss as f64 * 1024.0);
      }
      if reaped < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
        // Someone else reaped it (a waitpid(-1) elsewhere in the process): its fate is unknown.
        return ended_without_file(
          started,
          0.0,
          "ERR_RHEAPDUMP_FORK_LOST",
          "the child was reaped by someone else in this process; its outcome is unknown"
            .to_string(),
          false,
        );
      }
      let ticks = cpu_time(pid);
      if ticks != last_ticks {
        last_ticks = ticks;
        progressed = Instant::now();
      } else if !stalled && progressed.elapsed() >= STALL {
        stalled = true;
        // SAFETY: our own child, not yet reaped, so the pid cannot have been reused.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
      }
      std::thread::sleep(WAIT_STEP);
    };
    let child_ms = started.elapsed().as_secs_f64() * 1000.0;
    let end = ChildEnd::from_status(status);
    if end != ChildEnd::Exited(0) {
      let (code, description) = end.failure(stalled, alarm_secs);
      return ended_without_file(
        started,
        peak_rss,
        code,
        description,
        end.worth_retrying(stalled),
      );
    }
    match pending.commit() {
      Ok(written) => ForkEnd {
        ok: true,
        path: Some(written.path.to_string_lossy().into_owned()),
        bytes: written.bytes as f64,
        child_ms,
        child_peak_rss: peak_rss,
        code: None,
        syscall: None,
        description: None,
        retry: false,
      },
      Err(err) => ForkEnd {
        ok: false,
        path: Some(err.path.to_string_lossy().into_owned()),
        bytes: 0.0,
        child_ms,
        child_peak_rss: peak_rss,
        code: Some(err.code.to_string()),
        syscall: Some(err.syscall.to_string()),
        description: Some(err.description),
        retry: false,
      },
    }
  }

  /// The child's CPU time so far, as nanoseconds from `schedstat` (a nice-19 child on a
  /// crowded host gets a few ms a second, below the 10 ms ticks of `stat`) and those ticks:
  /// either moving is progress.
  fn cpu_time(pid: u32) -> (Option<u64>, Option<u64>) {
    let schedstat = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
      .ok()
      .and_then(|text| text.split_ascii_whitespace().next()?.parse().ok());
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
      .ok()
      .and_then(|stat| stat_cpu_ticks(&stat));
    (schedstat, ticks)
  }

  fn ended_without_file(
    started: Instant,
    peak_rss: f64,
    code: &str,
    description: String,
    retry: bool,
  ) -> ForkEnd {
    ForkEnd {
      ok: false,
      path: None,
      bytes: 0.0,
      child_ms: started.elapsed().as_secs_f64() * 1000.0,
      child_peak_rss: peak_rss,
      code: Some(code.to_string()),
      syscall: Some("fork".to_string()),
      description: Some(description),
      retry,
    }
  }

  /// Makes the child harmless (see the module docs); `_exit`s when it cannot.
  fn child_setup(parent: i32, keep_fd: Option<i32>, alarm_secs: u32, patches: &[Patch]) {
    // SAFETY: each call below acts on this (single-threaded) child process only.
    unsafe {
      libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
      if libc::getppid() != parent {
        libc::_exit(exit::ORPHANED);
      }
      if let Err(err) = patch_locks(patches) {
        child_say(&format!("cannot patch the child's locks: {err}"));
        libc::_exit(exit::SETUP_FAILED);
      }
      for signal in 1..libc::SIGRTMAX() {
        if signal != libc::SIGKILL && signal != libc::SIGSTOP {
          libc::signal(signal, libc::SIG_DFL);
        }
      }
      let mut empty: libc::sigset_t = std::mem::zeroed();
      libc::sigemptyset(&mut empty);
      libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
      libc::alarm(alarm_secs);
      libc::setpriority(libc::PRIO_PROCESS, 0, 19);
      libc::prctl(libc::PR_SET_NAME, c"rheapdump-fork".as_ptr());
    }
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    if let Err(err) = silence_fds(keep_fd) {
      child_say(&format!(
        "cannot point the child's descriptors at /dev/null: {err}"
      ));
      // SAFETY: ends the child without running the parent's destructors.
      unsafe { libc::_exit(exit::SETUP_FAILED) };
    }
  }

  /// Overwrites each entry point with its return sequence (module docs: why and why safe).
  fn patch_locks(patches: &[Patch]) -> std::io::Result<()> {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    for patch in patches {
      let first = patch.address & !(page - 1);
      let length = patch.address + patch.code.len() - first;
      // SAFETY: the pages hold the function's code, mapped for as long as the process lives;
      // only this thread exists in the child, so nothing executes them while they change, and
      // the write is a private copy (the parent's code is untouched). Protection is restored.
      unsafe {
        let start = first as *mut c_void;
        let rwx = libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC;
        if libc::mprotect(start, length, rwx) != 0 {
          return Err(std::io::Error::last_os_error());
        }
        std::ptr::copy_nonoverlapping(
          patch.code.as_ptr(),
          patch.address as *mut u8,
          patch.code.len(),
        );
        libc::mprotect(start, length, libc::PROT_READ | libc::PROT_EXEC);
      }
    }
    Ok(())
  }

  fn silence_fds(keep: Option<i32>) -> std::io::Result<()> {
    let null = OpenOptions::new()
      .read(true)
      .write(true)
      .open("/dev/null")?;
    let null_fd = std::os::fd::AsRawFd::as_raw_fd(&null);
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
      .flatten()
      .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
      .collect();
    for fd in fds {
      if fd >= 3 && fd != null_fd && Some(fd) != keep {
        // SAFETY: replaces the descriptor with /dev/null; one that closed meanwhile (the
        // directory listing's own) just fails with EBADF.
        unsafe { libc::dup2(null_fd, fd) };
      }
    }
    Ok(())
  }

  fn child_say(line: &str) {
    let line = format!("rheapdump (fork child): {line}\n");
    // SAFETY: a byte buffer to fd 2.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
  }

  pub fn child_finish(writer_path: &str) {
    // A device or FIFO given as the filename (written in place) cannot be rewritten: unmarked.
    let marked = OpenOptions::new()
      .read(true)
      .write(true)
      .open(writer_path)
      .and_then(|file| match file.metadata()?.is_file() {
        true => insert_fork_marker(&file),
        false => Ok(()),
      });
    let code = match marked {
      Ok(()) => 0,
      Err(err) => {
        child_say(&format!("cannot mark {writer_path}: {err}"));
        exit::MARKER_FAILED
      }
    };
    // SAFETY: ends the child without running the parent's destructors.
    unsafe { libc::_exit(code) }
  }
}
