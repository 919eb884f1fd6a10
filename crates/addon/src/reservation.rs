//! Memory reservations in the budget's ledger (`rheapdump_platform::ledger`), and the wait for
//! one off the main thread.
//!
//! The API waits on a timer (lib/guard.js polls `reserveMemory` with no timeout), heapdump's
//! synchronous `writeSnapshot` waits here on the main thread, briefly. A signal's request must
//! not wait on the main thread at all, and must still be served when the event loop is stuck:
//! `queueRequest` keeps the request claimed, waits on a thread of its own, then hands the request
//! back to the main thread (`handoff::resume`: its loop, or a V8 interrupt) with the outcome,
//! which the receiver takes with `takeQueued`.

use std::sync::Mutex;
use std::time::Duration;

use napi::bindgen_prelude::Either;
use napi::Result;
use napi_derive::napi;
use rheapdump_platform::ledger::{ledger_dirs, own_budget_key, Attempt, Ledger, Reservation};
use rheapdump_platform::resources::memory_budget;

use crate::error::{coded, Code};
use crate::handoff::resume;

/// How often a waiting reservation looks at the ledger again.
const POLL: Duration = Duration::from_millis(50);

/// The outcome of the signal request's wait, until the main thread takes it.
static QUEUED: Mutex<Option<Outcome>> = Mutex::new(None);

enum Outcome {
  Granted(Reservation),
  Refused(ReservationRefusal),
}

/// Memory reserved for a snapshot among the processes sharing this memory budget.
#[napi]
pub struct MemoryReservation {
  reservation: Option<Reservation>,
}

#[napi]
impl MemoryReservation {
  /// Gives the memory back: the processes waiting for it may go.
  #[napi]
  pub fn release(&mut self) {
    self.reservation = None;
  }
}

/// Why no reservation was given: `busy` (other processes' reservations leave too little of
/// `available`; the largest is `holderPid`'s `holderBytes`) or `unavailable` (no ledger can be
/// written here, `description` says where it was tried).
#[napi(object)]
pub struct ReservationRefusal {
  pub reason: String,
  /// The cgroup directory whose limit the processes share, or `host`.
  pub budget: String,
  /// The directory of the ledger, or the directories tried.
  pub ledger: String,
  /// The bytes asked for.
  pub needed: f64,
  pub holder_pid: Option<u32>,
  pub holder_bytes: Option<f64>,
  /// The sum of the other processes' reservations.
  pub reserved: f64,
  pub available: f64,
  pub waited_ms: f64,
  pub description: String,
}

fn available() -> Option<u64> {
  memory_budget().ok().map(|budget| budget.available)
}

/// Reserves `bytes`, waiting at most `timeoutMs` (0: one attempt) on this thread.
fn reserve(bytes: u64, timeout: Duration) -> Outcome {
  let budget = own_budget_key();
  let dirs = ledger_dirs();
  let refusal = |reason: &str, ledger: String, description: String| ReservationRefusal {
    reason: reason.to_string(),
    budget: budget.clone(),
    ledger,
    needed: bytes as f64,
    holder_pid: None,
    holder_bytes: None,
    reserved: 0.0,
    available: 0.0,
    waited_ms: timeout.as_secs_f64() * 1000.0,
    description,
  };
  let ledger = match Ledger::open(&dirs, &budget) {
    Ok(ledger) => ledger,
    Err(unavailable) => {
      let tried: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
      return Outcome::Refused(refusal(
        "unavailable",
        tried.join(", "),
        unavailable.to_string(),
      ));
    }
  };
  let where_ = ledger.dir().display().to_string();
  match ledger.reserve_within(bytes, &available, timeout, POLL) {
    Ok(Attempt::Granted(reservation)) => Outcome::Granted(reservation),
    Ok(Attempt::Wait { holders, available }) => {
      let largest = holders.iter().max_by_key(|holder| holder.bytes);
      Outcome::Refused(ReservationRefusal {
        holder_pid: largest.map(|holder| holder.pid),
        holder_bytes: largest.map(|holder| holder.bytes as f64),
        reserved: holders.iter().map(|holder| holder.bytes as f64).sum(),
        available: available as f64,
        ..refusal("busy", where_, String::new())
      })
    }
    // A process stopped while it held the ledger's lock: wait for it like for a holder.
    Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
      Outcome::Refused(refusal("busy", where_, err.to_string()))
    }
    Err(err) => Outcome::Refused(refusal("unavailable", where_, err.to_string())),
  }
}

fn to_js(outcome: Outcome) -> Either<MemoryReservation, ReservationRefusal> {
  match outcome {
    Outcome::Granted(reservation) => Either::A(MemoryReservation {
      reservation: Some(reservation),
    }),
    Outcome::Refused(refusal) => Either::B(refusal),
  }
}

/// Reserves `bytes` in this memory budget's ledger, waiting at most `timeoutMs` on this thread
/// (0: one attempt, which takes microseconds).
#[napi]
pub fn reserve_memory(
  bytes: f64,
  timeout_ms: f64,
) -> Either<MemoryReservation, ReservationRefusal> {
  to_js(reserve(bytes as u64, millis(timeout_ms)))
}

/// For the claimed signal request: waits for `bytes` on a thread of its own, at most
/// `timeoutMs`, then hands the request back to the main thread, whose receiver takes the
/// outcome with `takeQueued`. Throws when no thread can be started.
#[napi]
pub fn queue_request(bytes: f64, timeout_ms: f64) -> Result<(), Code> {
  let timeout = millis(timeout_ms);
  std::thread::Builder::new()
    .name("rheapdump-queue".to_string())
    .stack_size(256 * 1024)
    .spawn(move || {
      rheapdump_platform::background::block_all_signals();
      let outcome = reserve(bytes as u64, timeout);
      *QUEUED.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
      resume();
    })
    .map(drop)
    .map_err(|err| {
      coded(
        "ERR_RHEAPDUMP_SIGNAL_THREAD",
        format!("cannot start a thread to wait for memory: {err}"),
      )
    })
}

/// The outcome of the wait `queueRequest` started, once it has ended; null before, and after
/// it was taken.
#[napi]
pub fn take_queued() -> Option<Either<MemoryReservation, ReservationRefusal>> {
  QUEUED
    .lock()
    .unwrap_or_else(|e| e.into_inner())
    .take()
    .map(to_js)
}

fn millis(ms: f64) -> Duration {
  Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}
