use napi_derive::napi;
use rheapdump_core::config::{diagnostic_dir, EnvConfig};

/// Settings read from the environment when rheapdump loads.
#[napi(object)]
pub struct StartupConfig {
  /// Whether SIGUSR2 should write a snapshot.
  pub signal: bool,
  /// Whether a snapshot request may interrupt running JavaScript (reach a stuck event loop).
  pub watchdog: bool,
  /// Whether signal-triggered snapshots stay silent on stderr.
  pub quiet: bool,
  /// Whether snapshots that would likely exhaust memory or disk are refused.
  pub guard: bool,
  /// `RHEAPDUMP_DIR`.
  pub dir: Option<String>,
  /// `RHEAPDUMP_NEAR_HEAP_LIMIT`: snapshots to take near the heap limit.
  pub near_heap_limit: u32,
  /// `RHEAPDUMP_SAMPLING`: bytes per sample of the sampling heap profiler, when it runs from
  /// start-up.
  pub sampling: Option<u32>,
  /// `RHEAPDUMP_SIGNAL_ACTION`: what SIGUSR2 writes (`snapshot`, `profile` or `both`).
  pub signal_action: String,
  /// `RHEAPDUMP_FORK`: snapshots by a fork()ed child (experimental), and in-process when it fails.
  pub fork: bool,
  pub fork_fallback: bool,
  /// Node's `--diagnostic-dir`.
  pub diagnostic_dir: Option<String>,
  /// Environment values that were ignored, one sentence each.
  pub warnings: Vec<String>,
}

/// Reads the environment variables and Node's `--diagnostic-dir` (from `execArgv`, then
/// `NODE_OPTIONS`).
#[napi]
pub fn startup_config(exec_argv: Vec<String>) -> StartupConfig {
  let env = EnvConfig::from_vars(|name| std::env::var(name).ok());
  let node_options = std::env::var("NODE_OPTIONS").ok();
  StartupConfig {
    signal: env.signal,
    watchdog: env.watchdog,
    quiet: env.quiet,
    guard: env.guard,
    dir: env.dir.map(|dir| dir.to_string_lossy().into_owned()),
    near_heap_limit: env.near_heap_limit,
    sampling: env.sampling,
    signal_action: env.signal_action.as_str().to_string(),
    fork: env.fork,
    fork_fallback: env.fork_fallback,
    diagnostic_dir: diagnostic_dir(&exec_argv, node_options.as_deref())
      .map(|dir| dir.to_string_lossy().into_owned()),
    warnings: env.warnings,
  }
}
