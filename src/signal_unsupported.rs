//! Platforms without POSIX signals: the JS API works, SIGUSR2 does not exist.

use napi::bindgen_prelude::Function;
use napi::{Env, Error, Result};
use napi_derive::napi;

#[napi]
pub fn start_signal_watcher(_env: Env, _on_signal: Function<(), ()>) -> Result<()> {
  Err(Error::from_reason(
    "SIGUSR2 snapshots need a POSIX platform",
  ))
}

#[napi]
pub fn stop_signal_watcher() {}

#[napi]
pub fn register_watchdog(_env: Env, _on_signal: Function<(), ()>) -> Result<()> {
  Ok(())
}

#[napi]
pub fn unregister_watchdog() {}

#[napi]
pub fn claim_signal() -> u32 {
  0
}

#[napi]
pub fn signal_done() {}

#[napi(object)]
pub struct SignalStats {
  pub received: f64,
  pub coalesced: f64,
  pub active: bool,
}

#[napi]
pub fn signal_stats() -> SignalStats {
  SignalStats {
    received: 0.0,
    coalesced: 0.0,
    active: false,
  }
}
