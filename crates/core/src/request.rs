//! The snapshot request: the one piece of state shared by the threads that ask for a snapshot
//! (the signal thread, V8's near-heap-limit callback) and the main thread that writes it.
//!
//! ```text
//!            request(reason)              claim()
//!   Idle ───────────────────▶ Pending ───────────────▶ Claimed ──┐
//!    ▲                         │  ▲                      │        │ done()
//!    │       withdraw()        │  └──── release() ───────┘        │
//!    ├─────────────────────────┘                                  │
//!    └────────────────────────────────────────────────────────────┘
//! ```
//!
//! - `request` moves Idle to Pending and says whether the caller must tell the main thread;
//!   while a request is Pending or Claimed, further requests are coalesced into it (a burst of
//!   signals makes one snapshot).
//! - The main thread is told twice (on its event loop and by a V8 interrupt); `claim` lets
//!   exactly one of them take the request, the other finds nothing to do.
//! - `done` ends the request whatever its outcome, so the next signal starts afresh.
//! - `release` hands a claimed request back when JavaScript could not run to the end (near
//!   the stack limit, say): the other path serves it later.
//! - `withdraw` resets a request nobody could be told about (environments shutting down), so
//!   it never blocks every later one.
//!
//! Every transition is one atomic compare-and-swap: any thread, never blocks, and safe in a
//! signal handler or inside a garbage collection.

use std::sync::atomic::{AtomicU32, Ordering};

/// Why a snapshot was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
  /// SIGUSR2.
  Signal = 1,
  /// V8 is about to run out of heap.
  NearHeapLimit = 2,
}

impl Reason {
  pub const ALL: [Reason; 2] = [Reason::Signal, Reason::NearHeapLimit];

  /// The name JavaScript knows the reason by: the `trigger` of the snapshot it asks for.
  pub fn name(self) -> &'static str {
    match self {
      Reason::Signal => "signal",
      Reason::NearHeapLimit => "near-heap-limit",
    }
  }

  fn from_bits(bits: u32) -> Option<Reason> {
    match bits {
      1 => Some(Reason::Signal),
      2 => Some(Reason::NearHeapLimit),
      _ => None,
    }
  }
}

/// Where the request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
  Idle,
  Pending(Reason),
  Claimed(Reason),
}

const IDLE: u32 = 0;
const PENDING: u32 = 1;
const CLAIMED: u32 = 2;
/// The phases by the names the pure-JS fallback knows them by, indexed by their values.
const PHASE_NAMES: [&str; 3] = ["idle", "pending", "claimed"];
const PHASE_BITS: u32 = 2;

/// A move of the request from one phase to another. The pure-JS fallback runs the same
/// machine from this table (lib/facts.js, generated), so both agree on every move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
  /// The method that makes it, as JavaScript names it.
  pub name: &'static str,
  from: u32,
  to: u32,
}

impl Transition {
  pub fn from_phase(self) -> &'static str {
    PHASE_NAMES[self.from as usize]
  }

  pub fn to_phase(self) -> &'static str {
    PHASE_NAMES[self.to as usize]
  }
}

const REQUEST: Transition = Transition {
  name: "request",
  from: IDLE,
  to: PENDING,
};
const CLAIM: Transition = Transition {
  name: "claim",
  from: PENDING,
  to: CLAIMED,
};
const RELEASE: Transition = Transition {
  name: "release",
  from: CLAIMED,
  to: PENDING,
};
const WITHDRAW: Transition = Transition {
  name: "withdraw",
  from: PENDING,
  to: IDLE,
};
const DONE: Transition = Transition {
  name: "done",
  from: CLAIMED,
  to: IDLE,
};

/// Every move the request can make.
pub const TRANSITIONS: [Transition; 5] = [REQUEST, CLAIM, RELEASE, WITHDRAW, DONE];
const PHASE_MASK: u32 = (1 << PHASE_BITS) - 1;

const fn encode(phase: u32, reason: Reason) -> u32 {
  (reason as u32) << PHASE_BITS | phase
}

/// One outstanding snapshot request at most; see the module docs for its states.
pub struct Request {
  state: AtomicU32,
}

impl Default for Request {
  fn default() -> Self {
    Self::new()
  }
}

impl Request {
  pub const fn new() -> Self {
    Request {
      state: AtomicU32::new(IDLE),
    }
  }

  /// Idle → Pending(reason). True when the caller must now tell the main thread; false when
  /// the request was coalesced into one already outstanding.
  pub fn request(&self, reason: Reason) -> bool {
    self
      .state
      .compare_exchange(
        REQUEST.from,
        encode(REQUEST.to, reason),
        Ordering::AcqRel,
        Ordering::Acquire,
      )
      .is_ok()
  }

  /// Pending(reason) → Claimed(reason), for exactly one caller per request.
  pub fn claim(&self) -> Option<Reason> {
    self.transition(CLAIM)
  }

  /// Claimed(reason) → Pending(reason): the claimer could not finish; someone else may claim.
  pub fn release(&self) -> Option<Reason> {
    self.transition(RELEASE)
  }

  /// Pending → Idle: nobody could be told about the request.
  pub fn withdraw(&self) -> bool {
    self.transition(WITHDRAW).is_some()
  }

  /// Claimed → Idle: the snapshot was written or has failed for good.
  pub fn done(&self) -> bool {
    self.transition(DONE).is_some()
  }

  pub fn phase(&self) -> Phase {
    let state = self.state.load(Ordering::Acquire);
    let reason = Reason::from_bits(state >> PHASE_BITS);
    match (state & PHASE_MASK, reason) {
      (PENDING, Some(reason)) => Phase::Pending(reason),
      (CLAIMED, Some(reason)) => Phase::Claimed(reason),
      _ => Phase::Idle,
    }
  }

  fn transition(&self, Transition { from, to, .. }: Transition) -> Option<Reason> {
    let mut current = self.state.load(Ordering::Acquire);
    loop {
      if current & PHASE_MASK != from {
        return None;
      }
      let reason = Reason::from_bits(current >> PHASE_BITS)?;
      let next = if to == IDLE { IDLE } else { encode(to, reason) };
      match self
        .state
        .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
      {
        Ok(_) => return Some(reason),
        Err(actual) => current = actual,
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::atomic::AtomicUsize;
  use std::sync::{Arc, Barrier};

  #[test]
  fn a_request_goes_idle_pending_claimed_idle() {
    let request = Request::new();
    assert_eq!(request.phase(), Phase::Idle);
    assert!(request.request(Reason::Signal));
    assert_eq!(request.phase(), Phase::Pending(Reason::Signal));
    assert_eq!(request.claim(), Some(Reason::Signal));
    assert_eq!(request.phase(), Phase::Claimed(Reason::Signal));
    assert!(request.done());
    assert_eq!(request.phase(), Phase::Idle);
  }

  #[test]
  fn requests_while_one_is_outstanding_are_coalesced_and_keep_the_first_reason() {
    let request = Request::new();
    assert!(request.request(Reason::NearHeapLimit));
    assert!(!request.request(Reason::Signal));
    assert_eq!(request.claim(), Some(Reason::NearHeapLimit));
    assert!(
      !request.request(Reason::Signal),
      "also while it is being written"
    );
    assert!(request.done());
    assert!(
      request.request(Reason::Signal),
      "the next one starts afresh"
    );
  }

  #[test]
  fn only_a_pending_request_can_be_claimed() {
    let request = Request::new();
    assert_eq!(request.claim(), None);
    request.request(Reason::Signal);
    request.claim();
    assert_eq!(request.claim(), None);
    assert!(!request.withdraw(), "a claimed request is not withdrawn");
  }

  #[test]
  fn a_released_request_is_claimed_again_with_its_reason() {
    let request = Request::new();
    request.request(Reason::NearHeapLimit);
    request.claim();
    assert_eq!(request.release(), Some(Reason::NearHeapLimit));
    assert_eq!(request.phase(), Phase::Pending(Reason::NearHeapLimit));
    assert_eq!(request.claim(), Some(Reason::NearHeapLimit));
  }

  #[test]
  fn a_request_nobody_was_told_about_is_withdrawn_and_the_next_one_goes_through() {
    let request = Request::new();
    request.request(Reason::Signal);
    assert!(request.withdraw());
    assert_eq!(request.phase(), Phase::Idle);
    assert!(request.request(Reason::Signal));
  }

  #[test]
  fn done_without_a_claim_changes_nothing() {
    let request = Request::new();
    assert!(!request.done());
    request.request(Reason::Signal);
    assert!(!request.done());
    assert_eq!(request.phase(), Phase::Pending(Reason::Signal));
  }

  #[test]
  fn racing_claimers_take_each_request_exactly_once() {
    const ROUNDS: usize = 2000;
    const CLAIMERS: usize = 4;
    let request = Arc::new(Request::new());
    let claims = Arc::new(AtomicUsize::new(0));
    for _ in 0..ROUNDS {
      assert!(request.request(Reason::Signal));
      let barrier = Arc::new(Barrier::new(CLAIMERS));
      let threads: Vec<_> = (0..CLAIMERS)
        .map(|_| {
          let (request, claims, barrier) = (request.clone(), claims.clone(), barrier.clone());
          std::thread::spawn(move || {
            barrier.wait();
            if request.claim().is_some() {
              claims.fetch_add(1, Ordering::Relaxed);
              assert!(request.done());
            }
          })
        })
        .collect();
      for thread in threads {
        thread.join().unwrap();
      }
    }
    assert_eq!(claims.load(Ordering::Relaxed), ROUNDS);
  }

  #[test]
  fn racing_requesters_make_one_request_per_round() {
    let request = Arc::new(Request::new());
    let barrier = Arc::new(Barrier::new(8));
    let made: usize = (0..8)
      .map(|_| {
        let (request, barrier) = (request.clone(), barrier.clone());
        std::thread::spawn(move || {
          barrier.wait();
          usize::from(request.request(Reason::Signal))
        })
      })
      .collect::<Vec<_>>()
      .into_iter()
      .map(|thread| thread.join().unwrap())
      .sum();
    assert_eq!(made, 1);
  }
}
