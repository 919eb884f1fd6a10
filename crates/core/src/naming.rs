//! Default snapshot file names.
//!
//! `heapdump-20261125T045323.123456Z-4242-0.heapsnapshot`: the prefix and suffix keep
//! heapdump's glob (`heapdump-*.heapsnapshot`) working; the UTC timestamp is fixed-width, so
//! names sort chronologically as text; the pid and a per-process sequence number keep two
//! processes, or two snapshots in one microsecond, apart.

use chrono::{DateTime, Utc};

pub const PREFIX: &str = "heapdump-";
pub const SUFFIX: &str = ".heapsnapshot";

pub fn default_file_name(at: DateTime<Utc>, pid: u32, seq: u64) -> String {
  format!(
    "{PREFIX}{}-{pid}-{seq}{SUFFIX}",
    at.format("%Y%m%dT%H%M%S%.6fZ")
  )
}

/// True for names this crate generates: the only files rheapdump ever treats as its own.
pub fn is_default_file_name(name: &str) -> bool {
  name.starts_with(PREFIX) && name.ends_with(SUFFIX) && name.len() > PREFIX.len() + SUFFIX.len()
}

#[cfg(test)]
mod tests {
  use super::*;
  use chrono::TimeZone;

  #[test]
  fn name_carries_utc_time_pid_and_sequence() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(7);
    assert_eq!(
      default_file_name(at, 42, 3),
      "heapdump-20260102T030405.000007Z-42-3.heapsnapshot"
    );
  }

  #[test]
  fn names_sort_chronologically_as_text() {
    let base = Utc.with_ymd_and_hms(2026, 9, 30, 23, 59, 59).unwrap();
    let mut times: Vec<_> = [0i64, 1, 999_999, 1_000_000, 86_400_000_000]
      .iter()
      .map(|us| base + chrono::Duration::microseconds(*us))
      .collect();
    let names: Vec<_> = times.iter().map(|t| default_file_name(*t, 7, 0)).collect();
    let mut sorted = names.clone();
    sorted.sort();
    times.sort();
    assert_eq!(names, sorted);
  }

  #[test]
  fn recognises_only_its_own_names() {
    assert!(is_default_file_name(&default_file_name(Utc::now(), 1, 0)));
    assert!(!is_default_file_name("heapdump-.heapsnapshot"));
    assert!(!is_default_file_name("notes.txt"));
  }
}
