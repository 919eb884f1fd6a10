use napi::bindgen_prelude::Either;
use napi_derive::napi;
use rheapdump_platform::turn::{
  lock_dir, lock_path, own_budget_key, wait_for_turn, Turn, TurnError,
};

/// The right to take a snapshot among the processes sharing this memory budget.
#[napi]
pub struct SnapshotTurn {
  turn: Option<Turn>,
}

#[napi]
impl SnapshotTurn {
  /// Lets the next process take its snapshot.
  #[napi]
  pub fn release(&mut self) {
    self.turn = None;
  }
}

/// Why no turn was given: `busy` (another process kept it for `waitedMs`) or `unavailable`
/// (no lock can be had here; go ahead uncoordinated).
#[napi(object)]
pub struct TurnFailure {
  pub reason: String,
  /// The cgroup directory whose limit the processes share, or `host`.
  pub budget: String,
  pub waited_ms: f64,
  pub description: String,
}

/// Waits at most `timeoutMs` for this memory budget's snapshot lock.
#[napi]
pub fn wait_for_snapshot_turn(timeout_ms: f64) -> Either<SnapshotTurn, TurnFailure> {
  let budget = own_budget_key();
  let path = lock_path(&lock_dir(), &budget);
  let timeout = std::time::Duration::from_secs_f64(timeout_ms.max(0.0) / 1000.0);
  match wait_for_turn(&path, timeout) {
    Ok(turn) => Either::A(SnapshotTurn { turn: Some(turn) }),
    Err(TurnError::Busy { waited }) => Either::B(TurnFailure {
      reason: "busy".to_string(),
      budget,
      waited_ms: waited.as_secs_f64() * 1000.0,
      description: String::new(),
    }),
    Err(TurnError::Unavailable(description)) => Either::B(TurnFailure {
      reason: "unavailable".to_string(),
      budget,
      waited_ms: 0.0,
      description,
    }),
  }
}
