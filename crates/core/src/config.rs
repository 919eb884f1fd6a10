//! Configuration read from the environment once, when the addon loads.
//!
//! | variable | effect |
//! |---|---|
//! | `NODE_HEAPDUMP_OPTIONS=nosignal` | heapdump's switch: no SIGUSR2 handler (comma list; `signal` turns it back on) |
//! | `RHEAPDUMP_SIGNAL=0` | no SIGUSR2 handler |
//! | `RHEAPDUMP_WATCHDOG=0` | signals never interrupt running JavaScript: they wait for the event loop |
//! | `RHEAPDUMP_QUIET=1` | no line on stderr per signal-triggered snapshot |
//! | `RHEAPDUMP_GUARD=0` | take snapshots even when they would likely exhaust memory or disk |
//! | `RHEAPDUMP_DIR=path` | directory for snapshots with default names |
//! | `RHEAPDUMP_NEAR_HEAP_LIMIT=1` | a snapshot just before V8 runs out of heap (a number: that many) |
//! | `RHEAPDUMP_SAMPLING=1` | V8's sampling heap profiler runs from start-up, one sample per 512 KiB (a number: bytes per sample) |
//! | `RHEAPDUMP_SIGNAL_ACTION=both` | what SIGUSR2 writes: `snapshot`, `profile` or `both` (profile first) |
//! | `RHEAPDUMP_FORK=1` | experimental: snapshots are written by a fork()ed child (`fallback`: and in-process if that fails) |

use std::path::PathBuf;

use crate::sampling::DEFAULT_SAMPLING_INTERVAL;

/// What SIGUSR2 writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAction {
  Snapshot,
  Profile,
  /// The profile first (cheap, and it names allocating functions), then the snapshot.
  Both,
}

impl SignalAction {
  pub fn parse(value: &str) -> Option<Self> {
    match value.trim().to_ascii_lowercase().as_str() {
      "snapshot" => Some(SignalAction::Snapshot),
      "profile" => Some(SignalAction::Profile),
      "both" => Some(SignalAction::Both),
      _ => None,
    }
  }

  pub fn as_str(self) -> &'static str {
    match self {
      SignalAction::Snapshot => "snapshot",
      SignalAction::Profile => "profile",
      SignalAction::Both => "both",
    }
  }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
  pub signal: bool,
  pub watchdog: bool,
  pub quiet: bool,
  pub guard: bool,
  pub dir: Option<PathBuf>,
  /// Snapshots to take near the heap limit (0: none).
  pub near_heap_limit: u32,
  /// Bytes per sample of the sampling heap profiler, when it runs from start-up.
  pub sampling: Option<u32>,
  /// What SIGUSR2 writes.
  pub signal_action: SignalAction,
  /// Snapshots are written by a fork()ed child (experimental; docs/fork.md).
  pub fork: bool,
  /// …and in-process when the child fails.
  pub fork_fallback: bool,
  /// Values that were ignored, one sentence each, for a warning on stderr.
  pub warnings: Vec<String>,
}

impl EnvConfig {
  pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
    let mut config = EnvConfig {
      signal: true,
      watchdog: true,
      quiet: false,
      guard: true,
      dir: None,
      near_heap_limit: 0,
      sampling: None,
      signal_action: SignalAction::Both,
      fork: false,
      fork_fallback: false,
      warnings: Vec::new(),
    };
    if let Some(list) = var("NODE_HEAPDUMP_OPTIONS") {
      for item in list
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
      {
        match item {
          "nosignal" => config.signal = false,
          "signal" => config.signal = true,
          other => config.warnings.push(format!(
            "NODE_HEAPDUMP_OPTIONS: unrecognized option '{other}' (expected 'signal' or 'nosignal')"
          )),
        }
      }
    }
    let mut flag = |name: &str, slot: &mut bool| {
      if let Some(value) = var(name) {
        match parse_switch(&value) {
          Some(on) => *slot = on,
          None => config.warnings.push(format!(
            "{name}: '{value}' is not a switch (use 1/0, true/false, on/off, yes/no)"
          )),
        }
      }
    };
    let (mut signal, mut watchdog, mut quiet, mut guard) =
      (config.signal, config.watchdog, config.quiet, config.guard);
    flag("RHEAPDUMP_SIGNAL", &mut signal);
    flag("RHEAPDUMP_WATCHDOG", &mut watchdog);
    flag("RHEAPDUMP_QUIET", &mut quiet);
    flag("RHEAPDUMP_GUARD", &mut guard);
    config.signal = signal;
    config.watchdog = watchdog;
    config.quiet = quiet;
    config.guard = guard;
    if let Some(value) = var("RHEAPDUMP_NEAR_HEAP_LIMIT") {
      match (parse_switch(&value), value.trim().parse::<u32>()) {
        (_, Ok(count)) => config.near_heap_limit = count,
        (Some(on), _) => config.near_heap_limit = u32::from(on),
        _ => config.warnings.push(format!(
          "RHEAPDUMP_NEAR_HEAP_LIMIT: '{value}' is neither a switch nor a number of snapshots"
        )),
      }
    }
    if let Some(value) = var("RHEAPDUMP_SAMPLING") {
      match (parse_switch(&value), value.trim().parse::<u32>()) {
        (Some(on), _) => config.sampling = on.then_some(DEFAULT_SAMPLING_INTERVAL),
        (_, Ok(bytes)) if bytes > 0 => config.sampling = Some(bytes),
        _ => config.warnings.push(format!(
          "RHEAPDUMP_SAMPLING: '{value}' is neither a switch nor a positive number of bytes per sample"
        )),
      }
    }
    if let Some(value) = var("RHEAPDUMP_SIGNAL_ACTION") {
      match SignalAction::parse(&value) {
        Some(action) => config.signal_action = action,
        None => config.warnings.push(format!(
          "RHEAPDUMP_SIGNAL_ACTION: '{value}' is not one of snapshot, profile, both"
        )),
      }
    }
    if let Some(value) = var("RHEAPDUMP_FORK") {
      match (
        parse_switch(&value),
        value.trim().eq_ignore_ascii_case("fallback"),
      ) {
        (Some(on), _) => config.fork = on,
        (None, true) => (config.fork, config.fork_fallback) = (true, true),
        _ => config.warnings.push(format!(
          "RHEAPDUMP_FORK: '{value}' is neither a switch nor 'fallback'"
        )),
      }
    }
    config.dir = var("RHEAPDUMP_DIR")
      .filter(|dir| !dir.is_empty())
      .map(PathBuf::from);
    config
  }
}

fn parse_switch(value: &str) -> Option<bool> {
  match value.trim().to_ascii_lowercase().as_str() {
    "1" | "true" | "on" | "yes" => Some(true),
    "0" | "false" | "off" | "no" => Some(false),
    _ => None,
  }
}

/// Node's `--diagnostic-dir`, as given on the command line (`exec_argv`) or in `NODE_OPTIONS`;
/// the command line wins, and the last occurrence wins within each, as in Node.
pub fn diagnostic_dir(exec_argv: &[String], node_options: Option<&str>) -> Option<PathBuf> {
  find_diagnostic_dir(exec_argv.iter().map(String::as_str))
    .or_else(|| find_diagnostic_dir(split_node_options(node_options?).iter().map(String::as_str)))
    .map(PathBuf::from)
}

fn find_diagnostic_dir<'a>(mut args: impl Iterator<Item = &'a str>) -> Option<String> {
  let mut found = None;
  while let Some(arg) = args.next() {
    if let Some(value) = arg.strip_prefix("--diagnostic-dir=") {
      found = Some(value.to_string());
    } else if arg == "--diagnostic-dir" {
      found = args.next().map(str::to_string);
    }
  }
  found.filter(|dir| !dir.is_empty())
}

/// Splits NODE_OPTIONS the way Node does: on spaces, with double quotes grouping and `\`
/// escaping inside them.
fn split_node_options(options: &str) -> Vec<String> {
  let mut args = Vec::new();
  let mut current = String::new();
  let mut in_arg = false;
  let mut quoted = false;
  let mut chars = options.chars();
  while let Some(c) = chars.next() {
    match c {
      '"' => {
        quoted = !quoted;
        in_arg = true;
      }
      '\\' if quoted => {
        if let Some(next) = chars.next() {
          current.push(next);
        }
      }
      ' ' | '\t' | '\n' if !quoted => {
        if in_arg {
          args.push(std::mem::take(&mut current));
          in_arg = false;
        }
      }
      c => {
        current.push(c);
        in_arg = true;
      }
    }
  }
  if in_arg {
    args.push(current);
  }
  args
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::collections::HashMap;

  fn config(vars: &[(&str, &str)]) -> EnvConfig {
    let vars: HashMap<_, _> = vars
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect();
    EnvConfig::from_vars(|name| vars.get(name).cloned())
  }

  #[test]
  fn defaults_turn_everything_on() {
    let c = config(&[]);
    assert!(
      c.signal && c.watchdog && !c.quiet && c.guard && c.dir.is_none() && c.warnings.is_empty()
    );
  }

  #[test]
  fn heapdump_nosignal_turns_the_signal_off() {
    assert!(!config(&[("NODE_HEAPDUMP_OPTIONS", "nosignal")]).signal);
    assert!(!config(&[("NODE_HEAPDUMP_OPTIONS", " foo , nosignal")]).signal);
  }

  #[test]
  fn unknown_heapdump_options_warn() {
    let c = config(&[("NODE_HEAPDUMP_OPTIONS", "foo")]);
    assert!(c.signal);
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("'foo'"));
  }

  #[test]
  fn own_switches_parse_common_spellings() {
    let c = config(&[
      ("RHEAPDUMP_SIGNAL", "off"),
      ("RHEAPDUMP_WATCHDOG", "0"),
      ("RHEAPDUMP_QUIET", "TRUE"),
      ("RHEAPDUMP_GUARD", "no"),
      ("RHEAPDUMP_DIR", "/tmp/snaps"),
    ]);
    assert!(!c.signal && !c.watchdog && c.quiet && !c.guard);
    assert_eq!(c.dir, Some(PathBuf::from("/tmp/snaps")));
  }

  #[test]
  fn near_heap_limit_takes_a_switch_or_a_count() {
    assert_eq!(config(&[]).near_heap_limit, 0);
    assert_eq!(
      config(&[("RHEAPDUMP_NEAR_HEAP_LIMIT", "on")]).near_heap_limit,
      1
    );
    assert_eq!(
      config(&[("RHEAPDUMP_NEAR_HEAP_LIMIT", "3")]).near_heap_limit,
      3
    );
    let c = config(&[("RHEAPDUMP_NEAR_HEAP_LIMIT", "lots")]);
    assert_eq!((c.near_heap_limit, c.warnings.len()), (0, 1));
  }

  #[test]
  fn sampling_takes_a_switch_or_bytes_per_sample() {
    assert_eq!(config(&[]).sampling, None);
    assert_eq!(
      config(&[("RHEAPDUMP_SAMPLING", "1")]).sampling,
      Some(512 * 1024)
    );
    assert_eq!(config(&[("RHEAPDUMP_SAMPLING", "off")]).sampling, None);
    assert_eq!(
      config(&[("RHEAPDUMP_SAMPLING", "65536")]).sampling,
      Some(65536)
    );
    for bad in ["lots", "-5"] {
      let c = config(&[("RHEAPDUMP_SAMPLING", bad)]);
      assert_eq!((c.sampling, c.warnings.len()), (None, 1), "{bad}");
    }
  }

  #[test]
  fn signal_action_is_both_unless_set() {
    assert_eq!(config(&[]).signal_action, SignalAction::Both);
    assert_eq!(
      config(&[("RHEAPDUMP_SIGNAL_ACTION", "Profile")]).signal_action,
      SignalAction::Profile
    );
    let c = config(&[("RHEAPDUMP_SIGNAL_ACTION", "dump")]);
    assert_eq!((c.signal_action, c.warnings.len()), (SignalAction::Both, 1));
  }

  #[test]
  fn fork_is_off_unless_set() {
    let c = config(&[]);
    assert!(!c.fork && !c.fork_fallback);
    let c = config(&[("RHEAPDUMP_FORK", "1")]);
    assert!(c.fork && !c.fork_fallback);
    let c = config(&[("RHEAPDUMP_FORK", "Fallback")]);
    assert!(c.fork && c.fork_fallback);
    let c = config(&[("RHEAPDUMP_FORK", "sometimes")]);
    assert!(!c.fork && c.warnings.len() == 1);
  }

  #[test]
  fn bad_switch_values_warn_and_keep_the_default() {
    let c = config(&[("RHEAPDUMP_WATCHDOG", "maybe")]);
    assert!(c.watchdog);
    assert!(c.warnings[0].starts_with("RHEAPDUMP_WATCHDOG"));
  }

  #[test]
  fn diagnostic_dir_from_argv_wins_over_node_options() {
    let argv = vec!["--diagnostic-dir=/a".to_string()];
    assert_eq!(
      diagnostic_dir(&argv, Some("--diagnostic-dir=/b")),
      Some(PathBuf::from("/a"))
    );
    let argv = vec!["--diagnostic-dir".to_string(), "/c".to_string()];
    assert_eq!(diagnostic_dir(&argv, None), Some(PathBuf::from("/c")));
  }

  #[test]
  fn diagnostic_dir_from_node_options_with_quotes() {
    let options = r#"--max-old-space-size=100 --diagnostic-dir "/with space/dir""#;
    assert_eq!(
      diagnostic_dir(&[], Some(options)),
      Some(PathBuf::from("/with space/dir"))
    );
    assert_eq!(diagnostic_dir(&[], Some("--inspect")), None);
  }
}
