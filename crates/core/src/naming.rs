//! Default file names.
//!
//! `heapdump-20261125T045323.123456Z-4242-0.heapsnapshot`: the prefix and suffix keep
//! heapdump's glob (`heapdump-*.heapsnapshot`) working; the UTC timestamp is fixed-width, so
//! names sort chronologically as text; the pid and a per-process sequence number keep two
//! processes, or two snapshots in one microsecond, apart. Sampling heap profiles are named the
//! same way with their own prefix and extension: `heapprofile-<UTC>-<pid>-<n>.heapprofile`,
//! the extension DevTools' Memory panel loads. A compressed snapshot adds its format's extension:
//! `….heapsnapshot.gz`, `….heapsnapshot.zst` (see `compression`); it is still a snapshot of its
//! run for pruning and for `leaks DIR`.

use chrono::{DateTime, Utc};

use crate::compression::Compression;

/// What a file holds, which decides its default name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
  /// A `.heapsnapshot` from V8's snapshot writer.
  Snapshot,
  /// A `.heapprofile` from V8's sampling heap profiler.
  Profile,
}

impl FileKind {
  pub const ALL: [FileKind; 2] = [FileKind::Snapshot, FileKind::Profile];

  pub fn prefix(self) -> &'static str {
    match self {
      FileKind::Snapshot => "heapdump-",
      FileKind::Profile => "heapprofile-",
    }
  }

  pub fn suffix(self) -> &'static str {
    match self {
      FileKind::Snapshot => ".heapsnapshot",
      FileKind::Profile => ".heapprofile",
    }
  }

  /// Whether files of this kind may be written compressed. Profiles are not: they are small
  /// (kilobytes to a few megabytes), and DevTools loads them only plain.
  pub fn compressible(self) -> bool {
    self == FileKind::Snapshot
  }
}

/// The time in a default name: UTC to the microsecond, fixed width, so names sort as text.
const TIME_FORMAT: &str = "%Y%m%dT%H%M%S%.6fZ";
/// `TIME_FORMAT`'s output as a regular expression.
const TIME_PATTERN: &str = r"\d{8}T\d{6}\.\d{6}Z";

pub fn default_file_name(kind: FileKind, at: DateTime<Utc>, pid: u32, seq: u64) -> String {
  format!(
    "{}{}-{pid}-{seq}{}",
    kind.prefix(),
    at.format(TIME_FORMAT),
    kind.suffix()
  )
}

/// `default_file_name`, with the compression format's extension when there is one.
pub fn default_compressed_name(
  kind: FileKind,
  compression: Option<Compression>,
  at: DateTime<Utc>,
  pid: u32,
  seq: u64,
) -> String {
  let plain = default_file_name(kind, at, pid, seq);
  match compression {
    Some(c) => plain + c.extension(),
    None => plain,
  }
}

/// A regular expression, in the syntax JavaScript and Rust's `regex` share, that matches the
/// default names of any of `kinds` whole and captures their time, pid and sequence number, in
/// that order. For several kinds it takes any of their prefixes with any of their suffixes:
/// give one kind to check that both belong together.
pub fn default_name_pattern(kinds: &[FileKind]) -> String {
  let either = |parts: Vec<String>| match parts.as_slice() {
    [one] => one.clone(),
    _ => format!("(?:{})", parts.join("|")),
  };
  let prefix = either(kinds.iter().map(|kind| escape(kind.prefix())).collect());
  let compressed = either(
    Compression::ALL
      .iter()
      .map(|c| escape(c.extension()))
      .collect(),
  );
  let suffix = either(
    kinds
      .iter()
      .map(|kind| match kind.compressible() {
        true => format!("{}{compressed}?", escape(kind.suffix())),
        false => escape(kind.suffix()),
      })
      .collect(),
  );
  format!(r"^{prefix}({TIME_PATTERN})-(\d+)-(\d+){suffix}$")
}

fn escape(literal: &str) -> String {
  literal
    .chars()
    .flat_map(|c| {
      let special = r"\^$.|?*+()[]{}/".contains(c);
      special.then_some('\\').into_iter().chain([c])
    })
    .collect()
}

/// The parts of a name this crate generates, as written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultName<'a> {
  /// `20261125T045323.123456Z`: sorts chronologically as text.
  pub time: &'a str,
  pub pid: &'a str,
  pub seq: &'a str,
}

/// The time, pid and sequence number of a name this crate generates; None for any other name.
pub fn parse_default_file_name(name: &str) -> Option<DefaultName<'_>> {
  let kind = FileKind::Snapshot;
  let plain = Compression::ALL
    .iter()
    .find_map(|c| name.strip_suffix(c.extension()))
    .unwrap_or(name);
  let middle = plain
    .strip_prefix(kind.prefix())?
    .strip_suffix(kind.suffix())?;
  let mut parts = middle.split('-');
  let (Some(time), Some(pid), Some(seq), None) =
    (parts.next(), parts.next(), parts.next(), parts.next())
  else {
    return None;
  };
  let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
  let t = time.as_bytes();
  let well_formed = t.len() == 23
    && t[8] == b'T'
    && t[15] == b'.'
    && t[22] == b'Z'
    && [&t[..8], &t[9..15], &t[16..22]]
      .iter()
      .all(|part| part.iter().all(u8::is_ascii_digit))
    && digits(pid)
    && digits(seq);
  well_formed.then_some(DefaultName { time, pid, seq })
}

/// True for names this crate generates, exactly: the only files rheapdump ever deletes.
/// heapdump's own `heapdump-<ms>.<us>.heapsnapshot` does not match.
pub fn is_default_file_name(name: &str) -> bool {
  parse_default_file_name(name).is_some()
}

/// The pid in a name this crate generates; `None` for any other name.
pub fn default_file_pid(name: &str) -> Option<u32> {
  parse_default_file_name(name)?.pid.parse().ok()
}

/// The newest `count` snapshots with default names in `dir` that one process wrote (the
/// process that wrote the newest of them), oldest first, with that pid: fewer if it wrote
/// fewer; None if there is no such file.
pub fn newest_of_one_process(
  dir: &std::path::Path,
  count: usize,
) -> std::io::Result<Option<(String, Vec<std::path::PathBuf>)>> {
  let names: Vec<String> = std::fs::read_dir(dir)?
    .filter_map(|entry| entry.ok())
    .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
    .filter_map(|entry| entry.file_name().into_string().ok())
    .collect();
  let mut ours: Vec<(&str, u64, &str, &String)> = names
    .iter()
    .filter_map(|name| {
      let parsed = parse_default_file_name(name)?;
      Some((parsed.time, parsed.seq.parse().ok()?, parsed.pid, name))
    })
    .collect();
  ours.sort();
  let Some(&(_, _, pid, _)) = ours.last() else {
    return Ok(None);
  };
  let theirs: Vec<std::path::PathBuf> = ours
    .iter()
    .filter(|entry| entry.2 == pid)
    .map(|entry| dir.join(entry.3))
    .collect();
  let from = theirs.len().saturating_sub(count);
  Ok(Some((pid.to_string(), theirs[from..].to_vec())))
}

/// Deletes the oldest of the snapshots that process `pid` wrote in `dir` under default names so
/// that at most `keep` of them remain, counting `current` (the one just written). Nothing else is
/// ever touched: not other processes' snapshots (a cluster's workers share a directory), not
/// this app's from earlier runs, not files named by the user. Returns the names deleted.
pub fn prune(
  dir: &std::path::Path,
  keep: usize,
  current: &str,
  pid: u32,
) -> std::io::Result<Vec<String>> {
  let mut ours: Vec<String> = std::fs::read_dir(dir)?
    .filter_map(|entry| entry.ok())
    .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
    .filter_map(|entry| entry.file_name().into_string().ok())
    .filter(|name| default_file_pid(name) == Some(pid) && name != current)
    .collect();
  // The names sort chronologically; among equal times, by sequence as text, which is good
  // enough for choosing what to drop.
  ours.sort();
  let excess = ours.len().saturating_sub(keep.saturating_sub(1));
  let mut deleted = Vec::new();
  for name in ours.into_iter().take(excess) {
    match std::fs::remove_file(dir.join(&name)) {
      Ok(()) => deleted.push(name),
      Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
      Err(err) => return Err(err),
    }
  }
  Ok(deleted)
}

#[cfg(test)]
mod tests {
  use super::*;
  use chrono::TimeZone;
  use regex::Regex;

  #[test]
  fn the_name_pattern_matches_default_names_and_agrees_with_the_parser() {
    let either = Regex::new(&default_name_pattern(&FileKind::ALL)).unwrap();
    let times = [
      Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
      Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap()
        + chrono::Duration::microseconds(999_999),
      Utc::now(),
    ];
    for kind in FileKind::ALL {
      let own = Regex::new(&default_name_pattern(&[kind])).unwrap();
      for (at, pid, seq) in times
        .iter()
        .zip([1, 4242, u32::MAX])
        .zip([0, 17, u64::MAX])
        .map(|((a, p), s)| (*a, p, s))
      {
        let name = default_file_name(kind, at, pid, seq);
        for pattern in [&own, &either] {
          let captured = pattern.captures(&name).unwrap_or_else(|| panic!("{name}"));
          let parts = (&captured[1], &captured[2], &captured[3]);
          let expected = at.format(TIME_FORMAT).to_string();
          assert_eq!(
            parts,
            (
              expected.as_str(),
              pid.to_string().as_str(),
              seq.to_string().as_str()
            )
          );
          if kind == FileKind::Snapshot {
            let parsed = parse_default_file_name(&name).unwrap();
            assert_eq!(parts, (parsed.time, parsed.pid, parsed.seq));
          }
        }
      }
    }
    let snapshots = Regex::new(&default_name_pattern(&[FileKind::Snapshot])).unwrap();
    for other in [
      "heapprofile-20260102T030405.000007Z-42-3.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42-3.heapprofile",
      "heapdump-20260102T030405.000007Z-42-3.heapsnapshotx",
      "heapdump-20260102T030405X000007Z-42-3.heapsnapshot",
      "heapdump-1234567.123456.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42-3-x.heapsnapshot",
    ] {
      assert!(!snapshots.is_match(other), "{other}");
      assert!(parse_default_file_name(other).is_none(), "{other}");
    }
  }

  #[test]
  fn name_carries_utc_time_pid_and_sequence() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(7);
    assert_eq!(
      default_file_name(FileKind::Snapshot, at, 42, 3),
      "heapdump-20260102T030405.000007Z-42-3.heapsnapshot"
    );
  }

  #[test]
  fn profiles_take_their_own_prefix_and_extension_and_are_never_pruned() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let name = default_file_name(FileKind::Profile, at, 42, 0);
    assert_eq!(name, "heapprofile-20260102T030405.000000Z-42-0.heapprofile");
    assert!(!is_default_file_name(&name));
  }

  #[test]
  fn names_sort_chronologically_as_text() {
    let base = Utc.with_ymd_and_hms(2026, 9, 30, 23, 59, 59).unwrap();
    let mut times: Vec<_> = [0i64, 1, 999_999, 1_000_000, 86_400_000_000]
      .iter()
      .map(|us| base + chrono::Duration::microseconds(*us))
      .collect();
    let names: Vec<_> = times
      .iter()
      .map(|t| default_file_name(FileKind::Snapshot, *t, 7, 0))
      .collect();
    let mut sorted = names.clone();
    sorted.sort();
    times.sort();
    assert_eq!(names, sorted);
  }

  #[test]
  fn a_default_name_gives_back_its_time_pid_and_sequence() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let name = default_file_name(FileKind::Snapshot, at, 4242, 17);
    assert_eq!(
      parse_default_file_name(&name),
      Some(DefaultName {
        time: "20260102T030405.000000Z",
        pid: "4242",
        seq: "17"
      })
    );
    assert_eq!(parse_default_file_name("heap.heapsnapshot"), None);
  }

  #[test]
  fn newest_of_one_process_takes_the_last_writer_s_newest_files_oldest_first() {
    let dir = std::env::temp_dir().join(format!("rheapdump-newest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let at = |s: i64| base + chrono::Duration::seconds(s);
    let names = [
      default_file_name(FileKind::Snapshot, at(0), 7, 0),
      default_file_name(FileKind::Snapshot, at(1), 7, 1),
      default_file_name(FileKind::Snapshot, at(2), 8, 0),
      default_file_name(FileKind::Snapshot, at(3), 7, 2),
      default_file_name(FileKind::Snapshot, at(4), 7, 3),
    ];
    for name in names.iter().map(String::as_str).chain(["notes.txt"]) {
      std::fs::write(dir.join(name), "x").unwrap();
    }
    let (pid, files) = newest_of_one_process(&dir, 3).unwrap().unwrap();
    assert_eq!(pid, "7");
    let expected: Vec<_> = [&names[1], &names[3], &names[4]]
      .iter()
      .map(|n| dir.join(n))
      .collect();
    assert_eq!(files, expected);
    let (_, fewer) = newest_of_one_process(&dir, 5).unwrap().unwrap();
    assert_eq!(fewer.len(), 4, "pid 7 wrote four");
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(newest_of_one_process(&empty, 2).unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[test]
  fn recognises_only_its_own_names() {
    assert!(is_default_file_name(&default_file_name(
      FileKind::Snapshot,
      Utc::now(),
      1,
      0
    )));
    assert!(is_default_file_name(
      "heapdump-20260102T030405.000007Z-42-3.heapsnapshot"
    ));
    for other in [
      "heapdump-.heapsnapshot",
      "notes.txt",
      "heapdump-1234567.123456.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42-3-x.heapsnapshot",
      "heapdump-2026010xT030405.000007Z-42-3.heapsnapshot",
      "Heap.20260102.030405.42.0.001.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42-3.heapsnapshot.gz.gz",
      "heapdump-20260102T030405.000007Z-42-3.heapsnapshot.bz2",
      "heapdump-20260102T030405.000007Z-42-3.gz",
    ] {
      assert!(!is_default_file_name(other), "{other}");
    }
  }

  #[test]
  fn a_compressed_snapshot_s_name_is_still_a_default_name_of_its_run() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let either = Regex::new(&default_name_pattern(&FileKind::ALL)).unwrap();
    let snapshots = Regex::new(&default_name_pattern(&[FileKind::Snapshot])).unwrap();
    let profiles = Regex::new(&default_name_pattern(&[FileKind::Profile])).unwrap();
    for c in Compression::ALL {
      let name = default_compressed_name(FileKind::Snapshot, Some(c), at, 42, 3);
      assert_eq!(
        name,
        format!(
          "heapdump-20260102T030405.000000Z-42-3.heapsnapshot{}",
          c.extension()
        )
      );
      assert_eq!(default_file_pid(&name), Some(42));
      assert!(
        snapshots.is_match(&name) && either.is_match(&name),
        "{name}"
      );
      let profile = default_file_name(FileKind::Profile, at, 42, 3) + c.extension();
      assert!(
        !profiles.is_match(&profile) && !either.is_match(&profile),
        "{profile}"
      );
    }
    assert_eq!(
      default_compressed_name(FileKind::Snapshot, None, at, 42, 3),
      default_file_name(FileKind::Snapshot, at, 42, 3)
    );
  }

  #[test]
  fn prune_keeps_the_newest_of_this_process_and_never_touches_other_files() {
    let dir = std::env::temp_dir().join(format!("rheapdump-prune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let ours: Vec<_> = (0..5)
      .map(|i| {
        default_file_name(
          FileKind::Snapshot,
          base + chrono::Duration::seconds(i),
          7,
          0,
        )
      })
      .collect();
    let another_pid = default_file_name(
      FileKind::Snapshot,
      base + chrono::Duration::seconds(9),
      8,
      0,
    );
    let others = [
      another_pid.as_str(),
      "heapdump-20250101T000000.000000Z-8-0.heapsnapshot",
      "heapdump-1234.5678.heapsnapshot",
      "app.log",
      "Heap.20260101.000000.7.0.001.heapsnapshot",
    ];
    for name in ours.iter().map(String::as_str).chain(others) {
      std::fs::write(dir.join(name), "x").unwrap();
    }
    let deleted = prune(&dir, 2, &ours[4], 7).unwrap();
    assert_eq!(deleted, ours[0..3].to_vec());
    let mut left: Vec<_> = std::fs::read_dir(&dir)
      .unwrap()
      .map(|e| e.unwrap().file_name().into_string().unwrap())
      .collect();
    left.sort();
    let mut expected: Vec<_> = [&ours[3], &ours[4]]
      .into_iter()
      .cloned()
      .chain(others.iter().map(|s| s.to_string()))
      .collect();
    expected.sort();
    assert_eq!(left, expected);
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
