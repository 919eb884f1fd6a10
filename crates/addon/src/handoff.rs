//! From "a snapshot is wanted" (any thread) to the main JS thread that owns the heap, whether
//! its event loop is free or stuck in synchronous JavaScript.
//!
//! # The hand-off, and why each step
//! 1. A requester — the signal thread for SIGUSR2 (`signal`), V8's near-heap-limit callback
//!    inside a garbage collection (`heap_limit`) — moves the shared request from Idle to
//!    Pending (`rheapdump_core::request`). A request made while one is outstanding is
//!    coalesced into it: a burst of signals makes one snapshot.
//! 2. It tells the main thread twice, because neither way alone reaches it in every state:
//!    - a weak thread-safe function, which runs the JS receiver when the event loop next turns
//!      (an idle loop runs no JavaScript, so nothing else would wake it);
//!    - `v8::Isolate::RequestInterrupt`, which V8 runs on the main thread between two
//!      JavaScript instructions, even inside `while (true) {}` (a stuck loop never turns).
//! 3. Whichever runs first calls the JS receiver, which claims the request (Pending →
//!    Claimed), writes the snapshot with `v8.writeHeapSnapshot` on the main thread, and ends
//!    it (Claimed → Idle). The other finds nothing to claim and does nothing.
//! 4. Unless the snapshot's memory is held by other processes: then the receiver leaves the
//!    request Claimed and a thread of `reservation` waits for the memory; when it has it (or
//!    has waited long enough) `resume` hands the request back (Claimed → Pending) and tells the
//!    main thread both ways again, so the snapshot is written even if the loop is stuck by then.
//!
//! No Worker and no inspector session take part. That matters beyond cost: disconnecting an
//! inspector session disables V8's HeapProfiler agent for it, which clears the object-id map,
//! so every later snapshot renumbered every object and no comparison of two snapshots held.
//!
//! # What runs inside the interrupt
//! V8 calls `on_interrupt` with JavaScript paused mid-function. It opens a handle scope and
//! calls the receiver through Node-API, as Node's own inspector does when it evaluates code in
//! an interrupt. When JavaScript cannot run to the end there — the interrupted code was near
//! its stack limit, or the environment is being torn down — the exception is cleared, one line
//! goes to stderr, the request is handed back (Claimed → Pending) and the event loop serves it
//! when it next turns. A nested interrupt (one that arrives while the receiver runs) returns at
//! once.
//!
//! # Lifetime
//! The receiver belongs to the main thread's environment: its cleanup hook removes it under the
//! same lock that requesters hold while they call `RequestInterrupt`, so no interrupt is ever
//! requested of an isolate that is being disposed, and an interrupt that fires after the hook
//! finds no receiver and does nothing. An interrupt still queued when the isolate is disposed is
//! dropped by V8.

use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use napi::bindgen_prelude::{Function, JsValue};
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use rheapdump_core::request::{Phase, Reason, Request};
use rheapdump_platform::background::write_stderr;

use crate::error::{node_api, Code};
use crate::host::{current_isolate, lookup};

type Notify = ThreadsafeFunction<(), (), (), Status, false, true>;
type InterruptCallback = extern "C" fn(*mut c_void, *mut c_void);
type RequestInterrupt = unsafe extern "C" fn(*mut c_void, InterruptCallback, *mut c_void);
const REQUEST_INTERRUPT: &str = "_ZN2v87Isolate16RequestInterruptEPFvPS0_PvES2_\0";

/// The one snapshot request of the process.
pub static REQUEST: Request = Request::new();

static RECEIVER: Mutex<Option<Receiver>> = Mutex::new(None);
/// The `watchdog` setting: whether requests may interrupt running JavaScript.
static INTERRUPTS: AtomicBool = AtomicBool::new(true);
/// The receiver is running inside an interrupt (main thread only).
static SERVING: AtomicBool = AtomicBool::new(false);

struct Receiver {
  env: sys::napi_env,
  function: sys::napi_ref,
  on_loop: Notify,
  interrupt: Option<Interrupt>,
}

#[derive(Clone, Copy)]
struct Interrupt {
  isolate: *mut c_void,
  request: RequestInterrupt,
}

// SAFETY: `env` and `function` are only used on the main thread (inside its interrupt or its
// cleanup hook); other threads only read `interrupt`, whose `RequestInterrupt` V8 documents as
// callable from any thread, and only while holding RECEIVER's lock (see Lifetime above).
unsafe impl Send for Receiver {}

/// Makes `receive` the main thread's receiver of snapshot requests. It is called as
/// `receive()` from the event loop and as `receive('interrupt')` from inside a V8 interrupt;
/// it must call `claimRequest()` and, when that returns a trigger, `requestDone()` once the
/// snapshot is written or has failed. Returns whether requests can interrupt running
/// JavaScript on this runtime. Call on the main thread only.
#[napi]
pub fn set_main_receiver(env: Env, receive: Function<(), ()>) -> Result<bool, Code> {
  let on_loop = receive
    .build_threadsafe_function::<()>()
    .weak::<true>()
    .callee_handled::<false>()
    .build()
    .map_err(node_api)?;
  let mut function = ptr::null_mut();
  // SAFETY: a live function value of this env; the reference is deleted in the cleanup hook.
  check(unsafe { sys::napi_create_reference(env.raw(), receive.value().value, 1, &mut function) })
    .map_err(node_api)?;
  // SAFETY: a #[napi] function runs on its env's JS thread; the signature is V8's
  // `void Isolate::RequestInterrupt(InterruptCallback, void*)` with `this` first.
  let interrupt = unsafe { current_isolate() }.and_then(|isolate| {
    let request = unsafe { lookup::<RequestInterrupt>(REQUEST_INTERRUPT) }?;
    Some(Interrupt { isolate, request })
  });
  let available = interrupt.is_some();
  let previous = lock().replace(Receiver {
    env: env.raw(),
    function,
    on_loop,
    interrupt,
  });
  match previous {
    // SAFETY: the previous receiver was made by this env on this thread.
    Some(previous) => unsafe { drop_receiver(previous) },
    None => {
      env
        .add_env_cleanup_hook((), |_| {
          if let Some(receiver) = lock().take() {
            // SAFETY: the cleanup hook runs on the env's thread while the env is still valid.
            unsafe { drop_receiver(receiver) };
          }
        })
        .map_err(node_api)?;
    }
  }
  Ok(available)
}

/// Whether requests may interrupt running JavaScript (the `watchdog` setting).
#[napi]
pub fn set_interrupts(on: bool) {
  INTERRUPTS.store(on, Ordering::Release);
}

/// Takes the outstanding request, for exactly one caller per request: returns why it was made,
/// the trigger its snapshot reports ('signal': SIGUSR2; 'near-heap-limit'), or null when there
/// is none to take.
#[napi]
pub fn claim_request() -> Option<&'static str> {
  REQUEST.claim().map(Reason::name)
}

/// Ends the claimed request: the next signal starts a new one.
#[napi]
pub fn request_done() {
  REQUEST.done();
}

/// Asks the main thread for a snapshot. Returns false when the request was coalesced into one
/// already outstanding, or nobody could be told. Any thread; never blocks for long (a lock held
/// only for the two notifications).
pub fn request(reason: Reason) -> bool {
  if !REQUEST.request(reason) {
    return false;
  }
  let told = notify(true);
  if !told {
    REQUEST.withdraw();
  }
  told
}

/// Hands a claimed request that waited off the main thread (`reservation::queue_request`) back
/// to it (Claimed → Pending), on its loop and by an interrupt, as a new request would be. Any
/// thread.
pub fn resume() {
  if REQUEST.release().is_some() && !notify(true) {
    REQUEST.withdraw();
  }
}

/// Tells the main thread that a request is pending: on its loop, and by an interrupt when
/// `interrupt` is set and allowed. Returns whether anyone was told.
fn notify(interrupt: bool) -> bool {
  let receiver = lock();
  let Some(receiver) = receiver.as_ref() else {
    return false;
  };
  let mut told = receiver
    .on_loop
    .call((), ThreadsafeFunctionCallMode::NonBlocking)
    == Status::Ok;
  if let Some(target) = receiver
    .interrupt
    .filter(|_| interrupt && INTERRUPTS.load(Ordering::Acquire))
  {
    // SAFETY: the isolate is alive while the receiver is registered, and the receiver cannot
    // be removed while this lock is held; RequestInterrupt may be called from any thread.
    unsafe { (target.request)(target.isolate, on_interrupt, ptr::null_mut()) };
    told = true;
  }
  told
}

extern "C" fn on_interrupt(_isolate: *mut c_void, _data: *mut c_void) {
  if !matches!(REQUEST.phase(), Phase::Pending(_)) || SERVING.swap(true, Ordering::AcqRel) {
    return;
  }
  let target = lock().as_ref().map(|r| (r.env, r.function));
  if let Some((env, function)) = target {
    // SAFETY: V8 runs interrupts on the isolate's own thread, the main thread that owns env,
    // and the receiver (so env) is alive: its cleanup hook runs on this same thread.
    if let Err(cause) = unsafe { call_receiver(env, function) } {
      REQUEST.release();
      let deferred = matches!(REQUEST.phase(), Phase::Pending(_)) && notify(false);
      if !deferred {
        REQUEST.withdraw();
      }
      let outcome = if deferred {
        "it will be taken when the event loop turns"
      } else {
        "it is dropped"
      };
      write_stderr(&format!(
        "rheapdump: could not take the snapshot inside the running JavaScript ({cause}); {outcome}\n"
      ));
    }
  }
  SERVING.store(false, Ordering::Release);
}

/// Calls `receive('interrupt')`; on failure, clears the exception and describes it.
///
/// # Safety
/// On env's JS thread, with env alive and `function` a reference made in it.
unsafe fn call_receiver(
  env: sys::napi_env,
  function: sys::napi_ref,
) -> std::result::Result<(), String> {
  let mut scope = ptr::null_mut();
  if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
    return Err("no handle scope could be opened".to_string());
  }
  let outcome = unsafe { call_in_scope(env, function) };
  unsafe { sys::napi_close_handle_scope(env, scope) };
  outcome
}

unsafe fn call_in_scope(
  env: sys::napi_env,
  function: sys::napi_ref,
) -> std::result::Result<(), String> {
  let via = c"interrupt";
  let (mut func, mut global, mut arg, mut result) = (
    ptr::null_mut(),
    ptr::null_mut(),
    ptr::null_mut(),
    ptr::null_mut(),
  );
  let ready = unsafe {
    sys::napi_get_reference_value(env, function, &mut func) == sys::Status::napi_ok
      && !func.is_null()
      && sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
      && sys::napi_create_string_utf8(env, via.as_ptr(), via.count_bytes() as isize, &mut arg)
        == sys::Status::napi_ok
  };
  if !ready {
    return Err(
      unsafe { take_exception(env) }.unwrap_or_else(|| "the receiver is gone".to_string()),
    );
  }
  match unsafe { sys::napi_call_function(env, global, func, 1, &arg, &mut result) } {
    sys::Status::napi_ok => Ok(()),
    _ => {
      Err(unsafe { take_exception(env) }.unwrap_or_else(|| "JavaScript cannot run now".to_string()))
    }
  }
}

/// Clears the pending exception and returns `name: message` where they can be read.
unsafe fn take_exception(env: sys::napi_env) -> Option<String> {
  let mut exception = ptr::null_mut();
  let status = unsafe { sys::napi_get_and_clear_last_exception(env, &mut exception) };
  if status != sys::Status::napi_ok || exception.is_null() {
    return None;
  }
  let read = |key: &CStr| -> Option<String> {
    let mut value = ptr::null_mut();
    let mut buffer = [0u8; 256];
    let mut length = 0usize;
    // SAFETY: env is live on this thread; a getter that throws leaves an exception we clear.
    unsafe {
      if sys::napi_get_named_property(env, exception, key.as_ptr(), &mut value)
        != sys::Status::napi_ok
      {
        sys::napi_get_and_clear_last_exception(env, &mut value);
        return None;
      }
      if sys::napi_get_value_string_utf8(
        env,
        value,
        buffer.as_mut_ptr().cast(),
        buffer.len(),
        &mut length,
      ) != sys::Status::napi_ok
      {
        return None;
      }
    }
    Some(String::from_utf8_lossy(&buffer[..length]).into_owned())
  };
  Some(match (read(c"name"), read(c"message")) {
    (Some(name), Some(message)) => format!("{name}: {message}"),
    (None, Some(message)) => message,
    _ => "a value that is not an Error was thrown".to_string(),
  })
}

/// # Safety
/// On the receiver's env thread, with the env alive.
unsafe fn drop_receiver(receiver: Receiver) {
  unsafe { sys::napi_delete_reference(receiver.env, receiver.function) };
}

fn lock() -> std::sync::MutexGuard<'static, Option<Receiver>> {
  RECEIVER.lock().unwrap_or_else(|e| e.into_inner())
}

fn check(status: sys::napi_status) -> Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(Error::new(
      Status::from(status),
      "Node-API call failed".to_string(),
    ))
  }
}
