//! Snapshots just before V8 runs out of heap.
//!
//! V8 calls a near-heap-limit callback, inside a garbage collection on the JS thread, when the
//! old generation is about to hit its limit. Node-API offers no way to register one, so V8's
//! `AddNearHeapLimitCallback` is looked up in the node binary (see `host`). If a runtime does
//! not export it, arming fails with a clear error.
//!
//! Nothing can run JavaScript inside a GC, so the callback only raises the limit once, giving
//! the heap room to finish what it is doing and to take the snapshot, and asks for a snapshot
//! through the same path as SIGUSR2 (`handoff::request`): the main thread writes it at its next
//! interrupt, moments later, with rheapdump's naming, directory, guard and atomic file. Each
//! arming allows a set number of snapshots; after that the callback leaves the limit alone and
//! V8 fails as it would have.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use napi::Result;
use napi_derive::napi;

use rheapdump_core::request::{Phase, Reason};

use crate::error::{coded, Code};
use crate::handoff::{request, REQUEST};
use crate::host::{current_isolate, lookup};

type NearHeapLimitCallback = extern "C" fn(*mut c_void, usize, usize) -> usize;
type AddNearHeapLimitCallback =
  unsafe extern "C" fn(*mut c_void, NearHeapLimitCallback, *mut c_void);

static REMAINING: AtomicU32 = AtomicU32::new(0);
static REGISTERED: AtomicBool = AtomicBool::new(false);
/// Raises given while the near-heap-limit snapshot is outstanding.
static IN_FLIGHT_RAISES: AtomicU32 = AtomicU32::new(0);
const MAX_IN_FLIGHT_RAISES: u32 = 3;

/// Headroom given once per snapshot: enough for the collection before the snapshot and for the
/// app to reach its next interrupt, not enough to hide a leak for long.
fn raised_limit(current: usize) -> usize {
  current + (current / 4).max(32 << 20)
}

extern "C" fn on_near_heap_limit(_data: *mut c_void, current: usize, _initial: usize) -> usize {
  if matches!(
    REQUEST.phase(),
    Phase::Pending(Reason::NearHeapLimit) | Phase::Claimed(Reason::NearHeapLimit)
  ) {
    // The snapshot asked for is not written yet, and the garbage collections it runs may hit
    // the limit again (seen on Node 24): room for it, or the process dies before it is taken.
    // A few times at most, so that a snapshot that never comes cannot hide a leak for long.
    if IN_FLIGHT_RAISES.fetch_add(1, Ordering::AcqRel) < MAX_IN_FLIGHT_RAISES {
      return raised_limit(current);
    }
    return current;
  }
  let armed = REMAINING
    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
      left.checked_sub(1)
    })
    .is_ok();
  if armed {
    IN_FLIGHT_RAISES.store(0, Ordering::Release);
    // Raised even when the request is coalesced into one already outstanding: that snapshot
    // needs the room just as much.
    request(Reason::NearHeapLimit);
    raised_limit(current)
  } else {
    current
  }
}

/// Arms `count` snapshots near the heap limit of the calling (main) thread's isolate.
#[napi]
pub fn arm_near_heap_limit(count: u32) -> Result<(), Code> {
  if !REGISTERED.swap(true, Ordering::AcqRel) {
    // SAFETY: the type is the C signature of the member function
    // v8::Isolate::AddNearHeapLimitCallback(NearHeapLimitCallback, void*) with `this` first;
    // a #[napi] function runs on the JS thread that owns the isolate.
    let add: Option<AddNearHeapLimitCallback> =
      unsafe { lookup("_ZN2v87Isolate24AddNearHeapLimitCallbackEPFmPvmmES1_\0") };
    let (Some(isolate), Some(add)) = (unsafe { current_isolate() }, add) else {
      REGISTERED.store(false, Ordering::Release);
      return Err(coded(
        "ERR_RHEAPDUMP_RUNTIME",
        "this runtime does not export V8's AddNearHeapLimitCallback; near-heap-limit snapshots need Node.js",
      ));
    };
    // SAFETY: the isolate of this JS thread; the callback is a plain function that lives as
    // long as the process.
    unsafe { add(isolate, on_near_heap_limit, std::ptr::null_mut()) };
  }
  REMAINING.store(count, Ordering::Release);
  Ok(())
}
