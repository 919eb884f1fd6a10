//! The parent's side of a fork snapshot: waits for quiet threads, re-allows V8's heap into the
//! child, forks, and waits for the child on a thread of its own (module docs of `fork`).

use std::collections::HashMap;
use std::ffi::c_void;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rheapdump_core::naming::FileKind;
use rheapdump_platform::fork::{
  busy_threads, child_alarm_secs, dontfork_ranges, same_mappings, stat_state, ChildEnd,
  ChildProgress, ThreadInfo,
};
use rheapdump_platform::snapshot_file::{PendingSnapshot, Target};

pub(super) use super::child::child_finish;
use super::child::{child_setup, patches};
use super::*;
use crate::snapshot_file::compress_option;

/// A child that has neither used CPU time nor written for this long while waiting for a lock
/// is hung: killed (`ChildProgress::waits_for_a_thread`).
const STALL: Duration = Duration::from_secs(5);
const WAIT_STEP: Duration = Duration::from_millis(50);

/// Outcomes of children, by pid, until JS polls them.
static ENDED: Mutex<Option<HashMap<u32, ForkEnd>>> = Mutex::new(None);
/// Children forked and not yet reaped and committed: counted off the event loop, so that a
/// stuck loop does not make a finished fork snapshot look still in progress.
static RUNNING: AtomicU32 = AtomicU32::new(0);

pub fn running() -> u32 {
  RUNNING.load(Ordering::SeqCst)
}

/// `/proc/self/smaps` read ahead by a thread of its own (`prefetch`), and when.
type Prefetched = (Instant, std::thread::JoinHandle<Option<String>>);
static PREFETCH: Mutex<Option<Prefetched>> = Mutex::new(None);
/// A prefetched smaps older than this is not used (a fresh one is read on the main thread).
const PREFETCH_FRESH: Duration = Duration::from_secs(2);

/// Starts reading `/proc/self/smaps` on a thread (`rheapdump-smaps`), for the next fork; it
/// walks every page table of the process (tens of ms at 200 MB of heap), which the main thread
/// then need not do (`current_smaps`). Nothing when a read is already under way.
pub fn prefetch() {
  let mut pending = PREFETCH.lock().unwrap_or_else(|e| e.into_inner());
  if pending.is_some() {
    return;
  }
  let spawned = std::thread::Builder::new()
    .name("rheapdump-smaps".to_string())
    .stack_size(256 * 1024)
    .spawn(|| std::fs::read_to_string("/proc/self/smaps").ok());
  if let Ok(handle) = spawned {
    *pending = Some((Instant::now(), handle));
  }
}

/// Whether the prefetched smaps is there (or none is coming).
pub fn prefetched() -> bool {
  let pending = PREFETCH.lock().unwrap_or_else(|e| e.into_inner());
  pending
    .as_ref()
    .is_none_or(|(_, handle)| handle.is_finished())
}

/// This process's smaps as it is now: the prefetched text when it is fresh and `/proc/self/maps`
/// (no page-table walk) shows exactly the mappings it describes, else read here.
fn current_smaps() -> String {
  let taken = PREFETCH.lock().unwrap_or_else(|e| e.into_inner()).take();
  let prefetched = taken
    .filter(|(started, _)| started.elapsed() < PREFETCH_FRESH)
    .and_then(|(_, handle)| handle.join().ok().flatten());
  if let Some(smaps) = prefetched {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    if same_mappings(&smaps, &maps) {
      return smaps;
    }
  }
  std::fs::read_to_string("/proc/self/smaps").unwrap_or_default()
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
  compress: Option<String>,
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
      pause_split: None,
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
  // A compressed file's marker goes into the stream: the child cannot rewrite a pipe.
  let compress = compress_option(compress.as_deref(), true);
  let mut pending =
    match PendingSnapshot::create_compressed(target, FileKind::Snapshot, by_name, compress) {
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

  let quiet_at = Instant::now();
  let ranges = dontfork_ranges(&current_smaps());
  for &(start, end) in &ranges {
    // SAFETY: madvise on whole mappings the kernel just listed; one unmapped since fails
    // with ENOMEM and is skipped (the child then lacks it, as it would anyway).
    unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DOFORK) };
  }
  let mappings_at = Instant::now();
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
      pause_split: None,
      mappings: 0,
      alarm_secs,
      busy: None,
    });
  }
  let fork_error = std::io::Error::last_os_error();
  let forked_at = Instant::now();
  // The child has its own copy of a compressed snapshot's pipe: the stream ends when it exits.
  pending.writer_forked();
  for &(start, end) in &ranges {
    // SAFETY: as above; restores what V8 asked for, in the parent.
    unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DONTFORK) };
  }
  let pause_ms = started.elapsed().as_secs_f64() * 1000.0;
  let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1000.0;
  let pause_split = ForkPause {
    prepare_ms: ms(started, quiet_at),
    mappings_ms: ms(quiet_at, mappings_at),
    fork_ms: ms(mappings_at, forked_at),
    restore_ms: ms(forked_at, Instant::now()),
  };
  if pid < 0 {
    let code = rheapdump_platform::errno::code_of(&fork_error);
    return Either::B(failure(
      code,
      "fork",
      &shown,
      rheapdump_platform::errno::describe(&fork_error),
    ));
  }
  let pid = pid as u32;
  RUNNING.fetch_add(1, Ordering::SeqCst);
  let spawned = std::thread::Builder::new()
    .name("rheapdump-fork".to_string())
    .stack_size(256 * 1024)
    .spawn(move || {
      let end = wait_for_child(pid, pending, alarm_secs);
      lock_ended()
        .get_or_insert_with(HashMap::new)
        .insert(pid, end);
      RUNNING.fetch_sub(1, Ordering::SeqCst);
    });
  if let Err(err) = spawned {
    RUNNING.fetch_sub(1, Ordering::SeqCst);
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
    pause_split: Some(pause_split),
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

/// Runs on the `rheapdump-fork` thread: waits for the child, kills it when it hangs (module
/// docs), commits or drops the file.
fn wait_for_child(pid: u32, pending: PendingSnapshot, alarm_secs: u32) -> ForkEnd {
  let started = Instant::now();
  let rewindable = pending.rewindable();
  let mut last = ChildProgress::default();
  let mut progressed = Instant::now();
  let mut stalled = false;
  let (status, peak_rss, cpu_secs) = loop {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, without blocking.
    let reaped = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
    if reaped == pid as i32 {
      let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
      let cpu_secs = seconds(usage.ru_utime) + seconds(usage.ru_stime);
      break (status, usage.ru_maxrss as f64 * 1024.0, cpu_secs);
    }
    if reaped < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
      // Someone else reaped it (a waitpid(-1) elsewhere in the process): its fate is unknown.
      return ended_without_file(
        started,
        0.0,
        "ERR_RHEAPDUMP_FORK_LOST",
        "the child was reaped by someone else in this process; its outcome is unknown".to_string(),
        false,
      );
    }
    let now = ChildProgress::read(pid);
    if now.advanced_since(&last) {
      progressed = Instant::now();
    } else if !stalled && progressed.elapsed() >= STALL && now.waits_for_a_thread() {
      stalled = true;
      // SAFETY: our own child, not yet reaped, so the pid cannot have been reused.
      unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    last = now;
    std::thread::sleep(WAIT_STEP);
  };
  let child_ms = started.elapsed().as_secs_f64() * 1000.0;
  let end = ChildEnd::from_status(status);
  if end != ChildEnd::Exited(0) {
    let (code, description) = end.failure(stalled, alarm_secs, cpu_secs);
    return ended_without_file(
      started,
      peak_rss,
      code,
      description,
      end.worth_retrying(stalled, rewindable),
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
