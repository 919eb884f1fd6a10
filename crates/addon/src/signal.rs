//! SIGUSR2 → a snapshot request, on a thread of our own, whatever the main thread is doing.
//!
//! # Why not a plain signal handler
//! libuv owns signal dispositions inside Node: when the app adds its first
//! `process.on('SIGUSR2')` listener, libuv installs its own `sigaction` and never chains to a
//! previous one, and when the app removes it, libuv resets SIG_DFL, after which SIGUSR2 kills
//! the process. A `sigaction` (or signal-hook) handler installed by an addon therefore stops
//! seeing signals, or turns a stray signal fatal. A libuv signal watcher instead takes part in
//! libuv's own multiplexing: it coexists with the app's listeners in any order and keeps the
//! disposition installed while it lives.
//!
//! # What runs where
//! 1. libuv's handler (async-signal-safe, libuv's code) writes the signal to a pipe of every loop
//!    that watches it.
//! 2. Our watcher lives on a loop of its own, run by the `rheapdump-signal` thread. Not the main
//!    loop: that one is exactly what is stuck when a snapshot is most needed, and signals queued
//!    behind a long snapshot would each start another one when it ends. On our own loop the
//!    watcher's callback runs at once, always, and coalesces: while a request is outstanding,
//!    further signals are only counted.
//! 3. The callback makes a request (`handoff::request`), which reaches the main thread on its
//!    event loop or inside a V8 interrupt; see `handoff` for that half.
//!
//! Nothing but a pipe read, an atomic compare-and-swap and two notifications happens on this
//! thread; the snapshot itself always runs on the main JS thread, which owns the heap. The
//! thread sleeps in `epoll_wait` between signals: no idle wake-ups.
//!
//! # Limitations
//! - **Another `sigaction` on SIGUSR2.** An addon (or a preload) that installs its own handler
//!   after us replaces libuv's, and we see no signal until libuv reinstalls its own (when the
//!   app adds its first SIGUSR2 listener). Node's `--heapsnapshot-signal=SIGUSR2` is a plain
//!   listener and coexists: both then write a snapshot.
//! - **A blocking system call delays the snapshot.** An interrupt runs between two JavaScript
//!   instructions; a main thread blocked in native code (`fs.readFileSync` on a slow disk,
//!   `execSync`, `Atomics.wait`) runs none until the call returns, and neither does its loop.
//! - **Not inside a garbage collection.** V8's near-heap-limit callback runs inside a GC, where
//!   no JavaScript may run: it only makes a request, served at the next interrupt.
//! - **A debugger pause.** While a debugger holds the main thread paused at a breakpoint, no
//!   JavaScript of the app runs and no interrupt is served; the snapshot follows the resume.
//! - **The main thread's heap only.** Workers' heaps are written with the API from inside
//!   each Worker; the signal never reaches a Worker.
//!
//! # Lifetime
//! The thread starts with `startSignalWatcher` on the main thread and stops in that
//! environment's cleanup hook (or `stopSignalWatcher`), which closes both handles so that libuv
//! restores the disposition it would have without us. Nothing here touches a Worker's loop, so
//! a Worker that loaded rheapdump exits with no handle of ours open.

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread::JoinHandle;

use napi::{Env, Result};
use napi_derive::napi;
use rheapdump_core::request::Reason;
use rheapdump_platform::background::block_all_signals;

use crate::error::{coded, node_api, Code};
use crate::handoff::request;
use crate::host::lookup;

static RECEIVED: AtomicU64 = AtomicU64::new(0);
static COALESCED: AtomicU64 = AtomicU64::new(0);
static THREAD: Mutex<Option<SignalThread>> = Mutex::new(None);

const THREAD_FAILED: &str = "ERR_RHEAPDUMP_SIGNAL_THREAD";

struct SignalThread {
  stop: StopHandle,
  join: JoinHandle<()>,
}

/// The loop's async handle that stops it; libuv allows `uv_async_send` from any thread.
struct StopHandle(*mut c_void);
// SAFETY: the pointer is only passed to uv_async_send, which is thread-safe, and the handle
// outlives every use: it is freed by the signal thread only after the stop it requests.
unsafe impl Send for StopHandle {}

/// Starts the signal thread, once per process. Throws when the host exports no libuv.
#[napi]
pub fn start_signal_watcher(env: Env) -> Result<(), Code> {
  let mut thread = THREAD.lock().unwrap_or_else(|e| e.into_inner());
  if thread.is_none() {
    *thread = Some(SignalThread::start()?);
    env
      .add_env_cleanup_hook((), |_| stop_signal_watcher())
      .map_err(node_api)?;
  }
  Ok(())
}

/// Stops the signal thread; SIGUSR2 then behaves as if rheapdump had never been loaded.
#[napi]
pub fn stop_signal_watcher() {
  let thread = THREAD.lock().unwrap_or_else(|e| e.into_inner()).take();
  if let Some(thread) = thread {
    thread.stop();
  }
}

/// Signal counts since the process started.
#[napi(object)]
pub struct SignalStats {
  /// SIGUSR2 deliveries seen.
  pub received: f64,
  /// Deliveries that arrived while a snapshot was in flight and started none.
  pub coalesced: f64,
  /// Whether the signal thread is running.
  pub active: bool,
}

#[napi]
pub fn signal_stats() -> SignalStats {
  SignalStats {
    received: RECEIVED.load(Ordering::Relaxed) as f64,
    coalesced: COALESCED.load(Ordering::Relaxed) as f64,
    active: THREAD.lock().unwrap_or_else(|e| e.into_inner()).is_some(),
  }
}

/// Runs on the signal thread, for every SIGUSR2.
fn on_sigusr2() {
  RECEIVED.fetch_add(1, Ordering::Relaxed);
  if !request(Reason::Signal) {
    COALESCED.fetch_add(1, Ordering::Relaxed);
  }
}

impl SignalThread {
  fn start() -> Result<Self, Code> {
    let uv = Uv::get().map_err(|missing| {
      coded(
        "ERR_RHEAPDUMP_RUNTIME",
        format!("this runtime does not export libuv's {missing}; SIGUSR2 snapshots need Node.js"),
      )
    })?;
    let (ready_tx, ready_rx) = mpsc::channel();
    let join = std::thread::Builder::new()
      .name("rheapdump-signal".to_string())
      .stack_size(256 * 1024)
      .spawn(move || run_loop(uv, ready_tx))
      .map_err(|err| {
        coded(
          THREAD_FAILED,
          format!("cannot start the signal thread: {err}"),
        )
      })?;
    match ready_rx.recv() {
      Ok(Ok(stop)) => Ok(SignalThread { stop, join }),
      Ok(Err(message)) => {
        let _ = join.join();
        Err(coded(THREAD_FAILED, message))
      }
      Err(_) => Err(coded(THREAD_FAILED, "the signal thread ended during start")),
    }
  }

  fn stop(self) {
    if let Ok(uv) = Uv::get() {
      // SAFETY: the async handle is initialised and stays allocated until run_loop returns,
      // which cannot happen before this send is processed.
      unsafe { (uv.async_send)(self.stop.0) };
    }
    let _ = self.join.join();
  }
}

/// The signal thread: a private libuv loop with one signal watcher and one stop handle.
fn run_loop(uv: &'static Uv, ready: mpsc::Sender<std::result::Result<StopHandle, String>>) {
  block_all_signals();
  // SAFETY: calloc'd blocks of the sizes libuv reports (its own allocation alignment is
  // malloc's too); each handle is initialised before use, closed before the loop is closed,
  // and freed only after uv_loop_close has succeeded or the loop never started.
  unsafe {
    let lp = libc::calloc(1, (uv.loop_size)());
    let watcher = libc::calloc(1, (uv.handle_size)(UV_SIGNAL));
    let stop = libc::calloc(1, (uv.handle_size)(UV_ASYNC));
    let free_all = || {
      libc::free(stop);
      libc::free(watcher);
      libc::free(lp);
    };
    if lp.is_null() || watcher.is_null() || stop.is_null() {
      free_all();
      let _ = ready.send(Err("out of memory starting the signal thread".to_string()));
      return;
    }
    if let Err(message) = init_handles(uv, lp, watcher, stop) {
      free_all();
      let _ = ready.send(Err(message));
      return;
    }
    let _ = ready.send(Ok(StopHandle(stop)));
    (uv.run)(lp, UV_RUN_DEFAULT);
    if (uv.loop_close)(lp) == 0 {
      free_all();
    }
  }
}

/// # Safety
/// `lp`, `watcher` and `stop` are zeroed blocks of the sizes libuv reports for them.
unsafe fn init_handles(
  uv: &'static Uv,
  lp: *mut c_void,
  watcher: *mut c_void,
  stop: *mut c_void,
) -> std::result::Result<(), String> {
  let check = |rc: c_int, what: &str| {
    if rc == 0 {
      Ok(())
    } else {
      Err(format!("{what} failed: {}", uv_error_name(uv, rc)))
    }
  };
  check((uv.loop_init)(lp), "uv_loop_init")?;
  check((uv.signal_init)(lp, watcher), "uv_signal_init")?;
  check(
    (uv.signal_start)(watcher, on_signal, libc::SIGUSR2),
    "uv_signal_start",
  )?;
  check((uv.async_init)(lp, stop, on_stop), "uv_async_init")?;
  // uv_handle_t begins with `void *data`: the stop handle remembers the watcher to close.
  *(stop as *mut *mut c_void) = watcher;
  Ok(())
}

extern "C" fn on_signal(_watcher: *mut c_void, _signum: c_int) {
  on_sigusr2();
}

extern "C" fn on_stop(stop: *mut c_void) {
  if let Ok(uv) = Uv::get() {
    // SAFETY: called by libuv on the loop's thread with our stop handle, whose data field holds
    // the signal watcher; closing both leaves the loop with no handles, so uv_run returns.
    unsafe {
      let watcher = *(stop as *mut *mut c_void);
      (uv.close)(watcher, None);
      (uv.close)(stop, None);
    }
  }
}

fn uv_error_name(uv: &Uv, rc: c_int) -> String {
  // SAFETY: uv_err_name returns a static string for any code (or "Unknown system error").
  unsafe { CStr::from_ptr((uv.err_name)(rc)) }
    .to_string_lossy()
    .into_owned()
}

// From uv.h: `uv_handle_type` counts UV_ASYNC = 1 … UV_SIGNAL = 16; `uv_run_mode` UV_RUN_DEFAULT = 0.
const UV_ASYNC: c_int = 1;
const UV_SIGNAL: c_int = 16;
const UV_RUN_DEFAULT: c_int = 0;

type Handle = *mut c_void;
type CloseCb = Option<extern "C" fn(Handle)>;

/// The libuv functions this module needs, resolved from the host process.
struct Uv {
  loop_size: unsafe extern "C" fn() -> usize,
  handle_size: unsafe extern "C" fn(c_int) -> usize,
  loop_init: unsafe extern "C" fn(Handle) -> c_int,
  loop_close: unsafe extern "C" fn(Handle) -> c_int,
  run: unsafe extern "C" fn(Handle, c_int) -> c_int,
  signal_init: unsafe extern "C" fn(Handle, Handle) -> c_int,
  signal_start: unsafe extern "C" fn(Handle, extern "C" fn(Handle, c_int), c_int) -> c_int,
  async_init: unsafe extern "C" fn(Handle, Handle, extern "C" fn(Handle)) -> c_int,
  async_send: unsafe extern "C" fn(Handle) -> c_int,
  close: unsafe extern "C" fn(Handle, CloseCb),
  err_name: unsafe extern "C" fn(c_int) -> *const libc::c_char,
}

impl Uv {
  /// The resolved functions, or the name of the first one the host does not export.
  fn get() -> std::result::Result<&'static Uv, &'static str> {
    static UV: OnceLock<std::result::Result<Uv, &'static str>> = OnceLock::new();
    UV.get_or_init(Uv::resolve)
      .as_ref()
      .map_err(|missing| *missing)
  }

  fn resolve() -> std::result::Result<Uv, &'static str> {
    macro_rules! symbol {
      ($name:literal) => {
        // SAFETY: each field's type is the C signature libuv exports under that name.
        unsafe { lookup(concat!($name, "\0")) }.ok_or($name)?
      };
    }
    Ok(Uv {
      loop_size: symbol!("uv_loop_size"),
      handle_size: symbol!("uv_handle_size"),
      loop_init: symbol!("uv_loop_init"),
      loop_close: symbol!("uv_loop_close"),
      run: symbol!("uv_run"),
      signal_init: symbol!("uv_signal_init"),
      signal_start: symbol!("uv_signal_start"),
      async_init: symbol!("uv_async_init"),
      async_send: symbol!("uv_async_send"),
      close: symbol!("uv_close"),
      err_name: symbol!("uv_err_name"),
    })
  }
}
