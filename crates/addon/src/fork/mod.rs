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
//! 2. Opens the snapshot file (crates/platform's `PendingSnapshot`: anonymous until committed,
//!    0600), so a child that dies leaves nothing behind.
//! 3. Reads `/proc/self/smaps` for the mappings flagged `dc` (`MADV_DONTFORK`: Node's V8 marks
//!    its heap so, which would leave the child without a JavaScript heap), `madvise`s them
//!    `MADV_DOFORK`, forks, and marks them `MADV_DONTFORK` again right after: the pause. Reading
//!    smaps walks every page table (half the pause at 200 MB of heap), so when JS can wait,
//!    a thread reads it first (`fork_prefetch`) while the loop runs on, and the main thread
//!    only checks `/proc/self/maps` (no walk) for a mapping made or removed since.
//! 4. Starts a thread (`rheapdump-fork`) that waits for the child without blocking the event
//!    loop, kills it when it hangs (no CPU time and nothing written for 5 s while it waits for
//!    a lock; a child blocked writing to a slow disk or reader is slow, not hung), and on exit
//!    0 commits the file (fsync, then its final name) even if the main thread is stuck. It
//!    counts the children still running (`fork_snapshots_running`), so that a stuck loop does
//!    not hold up the next fork snapshot. JS polls for the outcome.
//!
//! # The child
//! It runs only the code that returns from `fork_snapshot_start` to lib/fork.js, which calls
//! `v8.writeHeapSnapshot` and then `fork_child_finish`/`fork_child_exit` (`_exit`): it never
//! returns to the event loop. Before that, `child_setup`:
//! - `PR_SET_PDEATHSIG` (SIGKILL): it dies with the parent (checked against a parent that died
//!   just before); a CPU-time budget (`ITIMER_PROF`) bounds its work and `alarm()`, at four
//!   times that, its life (crates/platform's `child_alarm_secs`: why CPU time);
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
  /// Where the pause went.
  pub pause_split: Option<ForkPause>,
  /// Mappings re-allowed into the child (V8's heap).
  pub mappings: u32,
  pub alarm_secs: u32,
  /// Threads found running (none forked), by name.
  pub busy: Option<Vec<String>>,
}

/// The parts of a fork's pause, in ms: waiting for quiet threads and opening the file, finding
/// and re-allowing V8's heap (`/proc/self/smaps`, `MADV_DOFORK`), `fork()` itself, and marking
/// the heap `MADV_DONTFORK` again.
#[napi(object)]
pub struct ForkPause {
  pub prepare_ms: f64,
  pub mappings_ms: f64,
  pub fork_ms: f64,
  pub restore_ms: f64,
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
  /// Another fork may succeed (the child crashed, stalled or timed out, and the target can be
  /// rewound).
  pub retry: bool,
}

/// Why fork snapshots cannot be taken in this process, or null when they can.
#[napi]
pub fn fork_unavailable() -> Option<String> {
  imp::unavailable()
}

/// Extra memory a fork snapshot may take from the budget (crates/platform's `fork_extra_memory`).
#[napi]
pub fn fork_extra_memory(node_major: u32, heap_used: f64, heap_total: f64, rss: f64) -> f64 {
  rheapdump_platform::fork::fork_extra_memory(
    node_major,
    heap_used as u64,
    heap_total as u64,
    rss as u64,
  ) as f64
}

/// Forks a child that writes the snapshot (see the module docs). Main thread only. Returns
/// `busy` without forking when threads are running and `force` is not set. With `compress`
/// ('gzip' or 'zstd'), the child writes into a pipe and a thread of this process compresses.
#[napi]
pub fn fork_snapshot_start(
  dir: Option<String>,
  filename: Option<String>,
  by_name: bool,
  heap_used: f64,
  quiet_wait_ms: f64,
  force: bool,
  compress: Option<String>,
) -> Either<ForkStart, FileFailure> {
  imp::start(
    dir,
    filename,
    by_name,
    heap_used as u64,
    quiet_wait_ms,
    force,
    compress,
  )
}

/// Starts reading this process's mappings ahead of the next fork, on a thread: the main thread
/// then forks without walking the page tables itself when nothing has been mapped or unmapped
/// since (see `fork_snapshot_start`). `fork_prefetched` says when it is done.
#[napi]
pub fn fork_prefetch() {
  imp::prefetch()
}

/// Whether the read `fork_prefetch` started is done (or none was started).
#[napi]
pub fn fork_prefetched() -> bool {
  imp::prefetched()
}

/// How many fork children are running (not yet reaped and their files committed).
#[napi]
pub fn fork_snapshots_running() -> u32 {
  imp::running()
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
    _: Option<String>,
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

  pub fn running() -> u32 {
    0
  }

  pub fn prefetch() {}

  pub fn prefetched() -> bool {
    true
  }

  pub fn child_finish(_: &str) {}
}

// x86-64 glibc Linux: the parent's side (parent.rs) and the child's (child.rs).
#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
mod child;
#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
mod parent;
#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
use parent as imp;
