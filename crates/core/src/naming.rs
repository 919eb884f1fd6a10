//! Default file names.
//!
//! `heapdump-20261125T045323.123456Z-4242-k3f9a2-0.heapsnapshot`: the prefix and suffix keep
//! heapdump's glob (`heapdump-*.heapsnapshot`) working; the UTC timestamp is fixed-width, so
//! names sort chronologically as text; the pid, the run and a per-process sequence number keep
//! two processes, two runs of one pid, or two snapshots in one microsecond, apart. Sampling heap
//! profiles are named the same way with their own prefix and extension:
//! `heapprofile-<UTC>-<pid>-<run>-<n>.heapprofile`, the extension DevTools' Memory panel loads.
//!
//! The run tells apart processes that had the same pid: in a container, node is pid 1 in every
//! run, so pid alone made a restarted service's pruning delete the previous run's snapshots (the
//! evidence of what it restarted from) and `leaks DIR` compare two runs. It is six base-36
//! characters hashed from what identifies a process on a machine for its whole life: the boot
//! and the process's start time ([`run_id`]). Names from before runs (`…Z-<pid>-<n>…`) still
//! parse, with no run: no run prunes them, and they are one run of their pid for `DIR`.
//! A compressed snapshot adds its format's extension: `….heapsnapshot.gz`, `….heapsnapshot.zst`
//! (see `compression`); it is still a snapshot of its run for pruning and for `leaks DIR`.

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
/// How many base-36 characters a run is: 36⁶ ≈ 2.2 billion runs.
pub const RUN_LENGTH: usize = 6;
/// A run as a regular expression.
const RUN_PATTERN: &str = "[0-9a-z]{6}";

pub fn default_file_name(
  kind: FileKind,
  at: DateTime<Utc>,
  pid: u32,
  run: &str,
  seq: u64,
) -> String {
  format!(
    "{}{}-{pid}-{run}-{seq}{}",
    kind.prefix(),
    at.format(TIME_FORMAT),
    kind.suffix()
  )
}

/// The run of a process: `boot` (the kernel's boot id, or anything fixed for the machine's
/// uptime) and `start` (when the process started, in any unit that never repeats within a boot)
/// with the pid, hashed (FNV-1a) to RUN_LENGTH base-36 characters. The same for every thread,
/// Worker and copy of the package in one process, and for a fork child that names its parent's
/// file; another for the next process with that pid.
pub fn run_id(boot: &str, start: u64, pid: u32) -> String {
  let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
  let bytes = boot
    .bytes()
    .chain(start.to_le_bytes())
    .chain(pid.to_le_bytes());
  for byte in bytes {
    hash ^= u64::from(byte);
    hash = hash.wrapping_mul(0x0100_0000_01b3);
  }
  let mut run = String::with_capacity(RUN_LENGTH);
  for _ in 0..RUN_LENGTH {
    run.push(char::from_digit((hash % 36) as u32, 36).unwrap_or('0'));
    hash /= 36;
  }
  run
}

/// `default_file_name`, with the compression format's extension when there is one.
pub fn default_compressed_name(
  kind: FileKind,
  compression: Option<Compression>,
  at: DateTime<Utc>,
  pid: u32,
  run: &str,
  seq: u64,
) -> String {
  let plain = default_file_name(kind, at, pid, run, seq);
  match compression {
    Some(c) => plain + c.extension(),
    None => plain,
  }
}

/// A regular expression, in the syntax JavaScript and Rust's `regex` share, that matches the
/// default names of any of `kinds` whole and captures their time, pid, run (empty in names from
/// before runs) and sequence number, in that order. For several kinds it takes any of their prefixes with any of their suffixes:
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
  format!(r"^{prefix}({TIME_PATTERN})-(\d+)-(?:({RUN_PATTERN})-)?(\d+){suffix}$")
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
  /// None in names from before runs.
  pub run: Option<&'a str>,
  pub seq: &'a str,
}

/// The time, pid, run and sequence number of a snapshot name this crate generates; None for any
/// other name.
pub fn parse_default_file_name(name: &str) -> Option<DefaultName<'_>> {
  let kind = FileKind::Snapshot;
  let plain = Compression::ALL
    .iter()
    .find_map(|c| name.strip_suffix(c.extension()))
    .unwrap_or(name);
  let middle = plain
    .strip_prefix(kind.prefix())?
    .strip_suffix(kind.suffix())?;
  let parts: Vec<&str> = middle.split('-').collect();
  let (time, pid, run, seq) = match parts.as_slice() {
    [time, pid, seq] => (*time, *pid, None, *seq),
    [time, pid, run, seq] => (*time, *pid, Some(*run), *seq),
    _ => return None,
  };
  let is_run = |run: &str| {
    run.len() == RUN_LENGTH
      && run
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
  };
  if !run.is_none_or(is_run) {
    return None;
  }
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
  well_formed.then_some(DefaultName {
    time,
    pid,
    run,
    seq,
  })
}

/// True for names this crate generates, exactly: the only files rheapdump ever deletes.
/// heapdump's own `heapdump-<ms>.<us>.heapsnapshot` does not match.
pub fn is_default_file_name(name: &str) -> bool {
  parse_default_file_name(name).is_some()
}

/// The snapshots of one run of one process, as `leaks DIR`/`diff DIR` pick them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
  pub pid: String,
  /// None for names from before runs.
  pub run: Option<String>,
  /// The newest `count` (or fewer) of the run's snapshots, oldest first.
  pub files: Vec<std::path::PathBuf>,
  /// How many other runs of the same pid left snapshots in the directory.
  pub other_runs_of_pid: usize,
}

/// The newest `count` snapshots with default names in `dir` of one run of one process (the run
/// that wrote the newest of them), oldest first: fewer if it wrote fewer; None if there is no
/// such file. Never a mix of runs, even of one pid.
pub fn newest_of_one_run(dir: &std::path::Path, count: usize) -> std::io::Result<Option<Run>> {
  let names: Vec<String> = std::fs::read_dir(dir)?
    .filter_map(|entry| entry.ok())
    .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
    .filter_map(|entry| entry.file_name().into_string().ok())
    .collect();
  let mut ours: Vec<(&str, u64, DefaultName<'_>, &String)> = names
    .iter()
    .filter_map(|name| {
      let parsed = parse_default_file_name(name)?;
      Some((parsed.time, parsed.seq.parse().ok()?, parsed, name))
    })
    .collect();
  ours.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
  let Some(&(_, _, newest, _)) = ours.last() else {
    return Ok(None);
  };
  let theirs: Vec<std::path::PathBuf> = ours
    .iter()
    .filter(|entry| entry.2.pid == newest.pid && entry.2.run == newest.run)
    .map(|entry| dir.join(entry.3))
    .collect();
  let mut other_runs: Vec<Option<&str>> = ours
    .iter()
    .filter(|entry| entry.2.pid == newest.pid && entry.2.run != newest.run)
    .map(|entry| entry.2.run)
    .collect();
  other_runs.sort();
  other_runs.dedup();
  let from = theirs.len().saturating_sub(count);
  Ok(Some(Run {
    pid: newest.pid.to_string(),
    run: newest.run.map(str::to_string),
    files: theirs[from..].to_vec(),
    other_runs_of_pid: other_runs.len(),
  }))
}

/// Deletes the oldest of the snapshots that run `run` of process `pid` wrote in `dir` under
/// default names so that at most `keep` of them remain, counting `current` (the one just
/// written). Nothing else is ever touched: not other processes' snapshots (a cluster's workers
/// share a directory), not this app's from earlier runs (even under the same pid, as pid 1 in a
/// container), not files named by the user. Returns the names deleted.
pub fn prune(
  dir: &std::path::Path,
  keep: usize,
  current: &str,
  pid: u32,
  run: &str,
) -> std::io::Result<Vec<String>> {
  let pid = pid.to_string();
  let this_run = |name: &str| {
    parse_default_file_name(name).is_some_and(|parsed| parsed.pid == pid && parsed.run == Some(run))
  };
  let mut ours: Vec<String> = std::fs::read_dir(dir)?
    .filter_map(|entry| entry.ok())
    .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
    .filter_map(|entry| entry.file_name().into_string().ok())
    .filter(|name| this_run(name) && name != current)
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
        let run = run_id("boot", u64::from(pid), pid);
        let name = default_file_name(kind, at, pid, &run, seq);
        for pattern in [&own, &either] {
          let captured = pattern.captures(&name).unwrap_or_else(|| panic!("{name}"));
          let parts = (&captured[1], &captured[2], &captured[3], &captured[4]);
          let expected = at.format(TIME_FORMAT).to_string();
          assert_eq!(
            parts,
            (
              expected.as_str(),
              pid.to_string().as_str(),
              run.as_str(),
              seq.to_string().as_str()
            )
          );
          if kind == FileKind::Snapshot {
            let parsed = parse_default_file_name(&name).unwrap();
            let run = parsed.run.unwrap();
            assert_eq!(parts, (parsed.time, parsed.pid, run, parsed.seq));
          }
        }
      }
    }
    let snapshots = Regex::new(&default_name_pattern(&[FileKind::Snapshot])).unwrap();
    // Names from before runs: no run captured.
    let legacy = "heapdump-20260102T030405.000007Z-42-3.heapsnapshot";
    let captured = snapshots.captures(legacy).unwrap();
    assert_eq!(
      (&captured[2], captured.get(3), &captured[4]),
      ("42", None, "3")
    );
    assert_eq!(parse_default_file_name(legacy).unwrap().run, None);
    for other in [
      "heapdump-20260102T030405.000007Z-42-K3F9A2-3.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42-k3f9a-3.heapsnapshot",
      "heapdump-20260102T030405.000007Z-42-k3f9a2-k3f9a2-3.heapsnapshot",
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
      default_file_name(FileKind::Snapshot, at, 42, "k3f9a2", 3),
      "heapdump-20260102T030405.000007Z-42-k3f9a2-3.heapsnapshot"
    );
  }

  #[test]
  fn profiles_take_their_own_prefix_and_extension_and_are_never_pruned() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let name = default_file_name(FileKind::Profile, at, 42, "k3f9a2", 0);
    assert_eq!(
      name,
      "heapprofile-20260102T030405.000000Z-42-k3f9a2-0.heapprofile"
    );
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
      .map(|t| default_file_name(FileKind::Snapshot, *t, 7, "aaaaaa", 0))
      .collect();
    let mut sorted = names.clone();
    sorted.sort();
    times.sort();
    assert_eq!(names, sorted);
  }

  #[test]
  fn a_default_name_gives_back_its_time_pid_and_sequence() {
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let name = default_file_name(FileKind::Snapshot, at, 4242, "0z9y8x", 17);
    assert_eq!(
      parse_default_file_name(&name),
      Some(DefaultName {
        time: "20260102T030405.000000Z",
        pid: "4242",
        run: Some("0z9y8x"),
        seq: "17"
      })
    );
    assert_eq!(parse_default_file_name("heap.heapsnapshot"), None);
  }

  #[test]
  fn runs_are_base36_fixed_width_and_differ_by_boot_start_and_pid() {
    let run = run_id("6f1c0f5e-0000-4000-8000-000000000001", 123_456, 1);
    assert_eq!(run.len(), RUN_LENGTH);
    assert!(
      run
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
      "{run}"
    );
    assert_eq!(
      run,
      run_id("6f1c0f5e-0000-4000-8000-000000000001", 123_456, 1)
    );
    // pid 1 restarted: the same boot, a later start.
    assert_ne!(
      run,
      run_id("6f1c0f5e-0000-4000-8000-000000000001", 123_457, 1)
    );
    assert_ne!(
      run,
      run_id("6f1c0f5e-0000-4000-8000-000000000002", 123_456, 1)
    );
    assert_ne!(
      run,
      run_id("6f1c0f5e-0000-4000-8000-000000000001", 123_456, 2)
    );
  }

  #[test]
  fn newest_of_one_run_takes_the_last_run_s_newest_files_and_never_mixes_runs_of_one_pid() {
    let dir = std::env::temp_dir().join(format!("rheapdump-newest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let at = |s: i64| base + chrono::Duration::seconds(s);
    let name = |s, pid, run, seq| default_file_name(FileKind::Snapshot, at(s), pid, run, seq);
    // pid 1 ran twice (a container restarted), pid 8 once, and a file from before runs.
    let names = [
      "heapdump-20250101T000000.000000Z-1-0.heapsnapshot".to_string(),
      name(0, 1, "aaaaaa", 0),
      name(1, 1, "aaaaaa", 1),
      name(2, 8, "cccccc", 0),
      name(3, 1, "aaaaaa", 2),
      name(4, 1, "bbbbbb", 0),
      name(5, 1, "bbbbbb", 1),
    ];
    for name in names.iter().map(String::as_str).chain(["notes.txt"]) {
      std::fs::write(dir.join(name), "x").unwrap();
    }
    let newest = newest_of_one_run(&dir, 3).unwrap().unwrap();
    assert_eq!(
      newest,
      Run {
        pid: "1".into(),
        run: Some("bbbbbb".into()),
        files: vec![dir.join(&names[5]), dir.join(&names[6])],
        other_runs_of_pid: 2,
      }
    );
    std::fs::remove_file(dir.join(&names[5])).unwrap();
    std::fs::remove_file(dir.join(&names[6])).unwrap();
    let earlier = newest_of_one_run(&dir, 3).unwrap().unwrap();
    assert_eq!(earlier.run.as_deref(), Some("aaaaaa"));
    let expected: Vec<_> = [&names[1], &names[2], &names[4]]
      .iter()
      .map(|n| dir.join(n))
      .collect();
    assert_eq!(earlier.files, expected);
    assert_eq!(earlier.other_runs_of_pid, 1, "the file from before runs");
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(newest_of_one_run(&empty, 2).unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[test]
  fn recognises_only_its_own_names() {
    assert!(is_default_file_name(&default_file_name(
      FileKind::Snapshot,
      Utc::now(),
      1,
      "k3f9a2",
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
      let name = default_compressed_name(FileKind::Snapshot, Some(c), at, 42, "k3f9a2", 3);
      assert_eq!(
        name,
        format!(
          "heapdump-20260102T030405.000000Z-42-k3f9a2-3.heapsnapshot{}",
          c.extension()
        )
      );
      let parsed = parse_default_file_name(&name).unwrap();
      assert_eq!((parsed.pid, parsed.run), ("42", Some("k3f9a2")));
      assert!(
        snapshots.is_match(&name) && either.is_match(&name),
        "{name}"
      );
      let profile = default_file_name(FileKind::Profile, at, 42, "k3f9a2", 3) + c.extension();
      assert!(
        !profiles.is_match(&profile) && !either.is_match(&profile),
        "{profile}"
      );
    }
    assert_eq!(
      default_compressed_name(FileKind::Snapshot, None, at, 42, "k3f9a2", 3),
      default_file_name(FileKind::Snapshot, at, 42, "k3f9a2", 3)
    );
  }

  #[test]
  fn prune_keeps_the_newest_of_this_run_and_never_touches_other_files() {
    let dir = std::env::temp_dir().join(format!("rheapdump-prune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let ours: Vec<_> = (0..5)
      .map(|i| {
        default_file_name(
          FileKind::Snapshot,
          base + chrono::Duration::seconds(i),
          7,
          "aaaaaa",
          0,
        )
      })
      .collect();
    let another_pid = default_file_name(
      FileKind::Snapshot,
      base + chrono::Duration::seconds(9),
      8,
      "aaaaaa",
      0,
    );
    // pid 7 before: an earlier run (pid 1 in a restarted container), and a name from before runs.
    let earlier_run = default_file_name(FileKind::Snapshot, base, 7, "zzzzzz", 0);
    let others = [
      another_pid.as_str(),
      earlier_run.as_str(),
      "heapdump-20250101T000000.000000Z-7-0.heapsnapshot",
      "heapdump-20250101T000000.000000Z-8-0.heapsnapshot",
      "heapdump-1234.5678.heapsnapshot",
      "app.log",
      "Heap.20260101.000000.7.0.001.heapsnapshot",
    ];
    for name in ours.iter().map(String::as_str).chain(others) {
      std::fs::write(dir.join(name), "x").unwrap();
    }
    let deleted = prune(&dir, 2, &ours[4], 7, "aaaaaa").unwrap();
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
