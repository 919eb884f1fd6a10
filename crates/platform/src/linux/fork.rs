//! Fork snapshots on Linux, the parts `cargo test` covers (the addon's `crates/addon/src/fork/`
//! does the forking): which mappings V8 keeps out of a child, whether the process's threads are
//! quiet enough to fork, how long a child may take, what it costs in memory, what its exit
//! means, and putting the marker (rheapdump-core's `fork`) into the file the child wrote.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use rheapdump_core::estimate::snapshot_cost;
use rheapdump_core::fork::{exit, FORK_MARKER, SNAPSHOT_PREFIX};

/// Address ranges (`start..end`) whose `VmFlags` in `/proc/self/smaps` include `dc` ("do not
/// copy on fork", `MADV_DONTFORK`). Node's V8 marks its heap that way, so a child forked
/// without undoing it has no JavaScript heap. Adjacent mappings come as one range, for one
/// `madvise` (a 200 MB heap has ~770 such mappings; the calls take under 0.5 ms in all).
pub fn dontfork_ranges(smaps: &str) -> Vec<(usize, usize)> {
  let mut ranges = Vec::new();
  let mut current: Option<(usize, usize)> = None;
  for line in smaps.lines() {
    if let Some(flags) = line.strip_prefix("VmFlags:") {
      if let Some(range) = current.take() {
        if flags.split_ascii_whitespace().any(|flag| flag == "dc") {
          match ranges.last_mut() {
            Some((_, end)) if *end == range.0 => *end = range.1,
            _ => ranges.push(range),
          }
        }
      }
    } else if let Some(range) = mapping_header(line) {
      current = Some(range);
    }
  }
  ranges
}

/// `7f1c2a000000-7f1c2a040000 rw-p 00000000 00:00 0` → the range; None for other lines.
fn mapping_header(line: &str) -> Option<(usize, usize)> {
  let first = line.split_ascii_whitespace().next()?;
  let (start, end) = first.split_once('-')?;
  let start = usize::from_str_radix(start, 16).ok()?;
  let end = usize::from_str_radix(end, 16).ok()?;
  (start < end).then_some((start, end))
}

/// One thread of the process, as `/proc/self/task/<tid>/{stat,comm}` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
  pub tid: u32,
  pub name: String,
  /// proc(5) state: `R` running, `S`/`D` sleeping in a system call, …
  pub state: char,
}

/// The state letter of `/proc/<pid>/task/<tid>/stat` (field 3, after the parenthesised name).
pub fn stat_state(stat: &str) -> Option<char> {
  stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// utime + stime (fields 14 and 15 of proc(5)), in clock ticks.
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
  let mut fields = stat[stat.rfind(')')? + 1..]
    .split_ascii_whitespace()
    .skip(11);
  let user: u64 = fields.next()?.parse().ok()?;
  let system: u64 = fields.next()?.parse().ok()?;
  Some(user + system)
}

/// Threads that may be running when the process forks: libuv's pool (it never touches the V8
/// heap or V8's locks; named `libuv-worker` since Node 22) and rheapdump's own.
fn may_run(name: &str) -> bool {
  name == "libuv-worker" || name.starts_with("rheapdump-")
}

/// The threads, other than `caller`, that are running (not blocked in a system call) and are
/// not allowed to be: a fork now could leave one of V8's locks held, or a structure half
/// updated, in the child. Their names, for the report.
pub fn busy_threads(threads: &[ThreadInfo], caller: u32) -> Vec<String> {
  threads
    .iter()
    .filter(|t| t.tid != caller && !may_run(&t.name))
    .filter(|t| matches!(t.state, 'R'))
    .map(|t| t.name.clone())
    .collect()
}

/// The child's `alarm()`: V8's writer takes ~0.1 s per MB of used heap on an idle machine
/// (75 s at 693 MB measured); a busy host and a `nice 19` child may take several times that.
pub fn child_alarm_secs(heap_used: u64) -> u32 {
  let mb = heap_used / (1 << 20);
  (60 + mb.saturating_mul(3) / 4).min(3600) as u32
}

/// Extra memory a fork snapshot may take from the process's budget: the child's generator (as
/// for an in-process snapshot), the copies of every page the child's GC touches (its whole
/// heap), and the pages the parent dirties while the child runs (a busy parent re-copied up to
/// its whole RSS in the measurements). Counted at their worst, so the guard refuses early.
pub fn fork_extra_memory(node_major: u32, heap_used: u64, heap_total: u64, rss: u64) -> u64 {
  snapshot_cost(node_major, heap_used)
    .extra_memory
    .saturating_add(heap_total)
    .saturating_add(rss)
}

/// How a child ended, from `wait4`'s status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
  Exited(i32),
  Signaled(i32),
}

impl ChildEnd {
  pub fn from_status(status: i32) -> ChildEnd {
    if libc::WIFSIGNALED(status) {
      ChildEnd::Signaled(libc::WTERMSIG(status))
    } else {
      ChildEnd::Exited(libc::WEXITSTATUS(status))
    }
  }

  /// A crash (a fault in the child, e.g. a V8 job caught mid-way by the fork) is worth another
  /// fork; a full disk, the child's alarm or a kill from outside (the OOM killer) is not.
  pub fn worth_retrying(self, stalled: bool) -> bool {
    stalled
      || matches!(
        self,
        ChildEnd::Signaled(
          libc::SIGSEGV
            | libc::SIGBUS
            | libc::SIGABRT
            | libc::SIGILL
            | libc::SIGTRAP
            | libc::SIGFPE
        )
      )
  }

  /// The error code and a sentence, for a child that did not write the snapshot.
  pub fn failure(self, stalled: bool, alarm_secs: u32) -> (&'static str, String) {
    match self {
      _ if stalled => (
        "ERR_RHEAPDUMP_FORK_STALLED",
        "the child stopped making progress (no CPU time for 5 s) and was killed".to_string(),
      ),
      ChildEnd::Signaled(libc::SIGALRM) => (
        "ERR_RHEAPDUMP_FORK_TIMEOUT",
        format!("the child did not finish within its alarm ({alarm_secs} s)"),
      ),
      ChildEnd::Signaled(libc::SIGKILL) => (
        "ERR_RHEAPDUMP_FORK_KILLED",
        "the child was killed (SIGKILL: the OOM killer, or someone else)".to_string(),
      ),
      ChildEnd::Signaled(signal) => (
        "ERR_RHEAPDUMP_FORK_CRASHED",
        format!("the child crashed ({})", signal_name(signal)),
      ),
      ChildEnd::Exited(exit::WRITER_FAILED) => (
        "ERR_RHEAPDUMP_FORK_WRITE",
        "V8's writer failed in the child (its error is on stderr)".to_string(),
      ),
      ChildEnd::Exited(exit::SETUP_FAILED) => (
        "ERR_RHEAPDUMP_FORK_SETUP",
        "the child could not be made safe to run (see stderr)".to_string(),
      ),
      ChildEnd::Exited(exit::MARKER_FAILED) => (
        "ERR_RHEAPDUMP_FORK_WRITE",
        "the child could not mark the snapshot as a fork snapshot".to_string(),
      ),
      ChildEnd::Exited(code) => (
        "ERR_RHEAPDUMP_FORK_FAILED",
        format!("the child exited with code {code}"),
      ),
    }
  }
}

fn signal_name(signal: i32) -> String {
  let name = match signal {
    libc::SIGSEGV => "SIGSEGV",
    libc::SIGBUS => "SIGBUS",
    libc::SIGABRT => "SIGABRT",
    libc::SIGILL => "SIGILL",
    libc::SIGTRAP => "SIGTRAP",
    libc::SIGFPE => "SIGFPE",
    libc::SIGTERM => "SIGTERM",
    _ => return format!("signal {signal}"),
  };
  name.to_string()
}

/// Inserts [`FORK_MARKER`] after the snapshot's opening `{"snapshot":{`, moving the rest of the
/// file up by its length (from the end backwards, a chunk at a time). Fails with InvalidData
/// when the file does not begin like a V8 snapshot.
pub fn insert_fork_marker(file: &File) -> io::Result<()> {
  let mut head = [0u8; SNAPSHOT_PREFIX.len()];
  let read = file.read_exact_at(&mut head, 0);
  if read.is_err() || head != SNAPSHOT_PREFIX {
    return Err(io::Error::new(
      io::ErrorKind::InvalidData,
      "the file does not begin like a V8 heap snapshot",
    ));
  }
  let at = SNAPSHOT_PREFIX.len() as u64;
  let shift = FORK_MARKER.len() as u64;
  let mut end = file.metadata()?.len();
  let mut buffer = vec![0u8; 1 << 20];
  while end > at {
    let start = end.saturating_sub(buffer.len() as u64).max(at);
    let chunk = &mut buffer[..(end - start) as usize];
    file.read_exact_at(chunk, start)?;
    file.write_all_at(chunk, start + shift)?;
    end = start;
  }
  file.write_all_at(FORK_MARKER, at)
}

#[cfg(test)]
mod tests {
  use super::*;
  use rheapdump_core::fork::is_fork_snapshot;
  use std::io::{Read, Seek, Write};

  const SMAPS: &str = "\
55d0c0000000-55d0c0001000 r--p 00000000 08:01 123 /usr/bin/node
Size:                  4 kB
VmFlags: rd mr mw me sd
7f00aa000000-7f00aa040000 rw-p 00000000 00:00 0
Size:                256 kB
Rss:                 128 kB
VmFlags: rd wr mr mw me dc ac sd
7f00bb000000-7f00bb001000 ---p 00000000 00:00 0
VmFlags: mr mw me dc sd
7f00bb001000-7f00bb002000 rw-p 00000000 00:00 0
VmFlags: rd wr mr mw me dc sd
7f00cc000000-7f00cc001000 rw-p 00000000 00:00 0
VmFlags: rd wr mr mw me ac sd
7f00cc001000-7f00cc002000 rw-p 00000000 00:00 0
VmFlags: rd wr mr mw me dc sd
";

  #[test]
  fn the_dontfork_mappings_are_those_flagged_dc_and_neighbours_are_joined() {
    assert_eq!(
      dontfork_ranges(SMAPS),
      vec![
        (0x7f00aa000000, 0x7f00aa040000),
        (0x7f00bb000000, 0x7f00bb002000),
        (0x7f00cc001000, 0x7f00cc002000)
      ]
    );
    assert!(dontfork_ranges("").is_empty());
  }

  #[test]
  fn stat_fields_are_counted_after_the_name() {
    let stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 17 5 0 0 20 0 11 0";
    assert_eq!(stat_state(stat), Some('S'));
    assert_eq!(stat_cpu_ticks(stat), Some(22));
    assert_eq!(stat_state("garbage"), None);
  }

  #[test]
  fn only_running_threads_that_are_not_libuv_or_ours_are_busy() {
    let thread = |tid, name: &str, state| ThreadInfo {
      tid,
      name: name.to_string(),
      state,
    };
    let threads = [
      thread(1, "node", 'R'),
      thread(2, "V8Worker", 'S'),
      thread(3, "libuv-worker", 'R'),
      thread(4, "rheapdump-signal", 'R'),
      thread(5, "node-V8Worker", 'R'),
      thread(6, "DelayedTaskSche", 'D'),
    ];
    assert_eq!(busy_threads(&threads, 1), vec!["node-V8Worker".to_string()]);
  }

  #[test]
  fn the_alarm_grows_with_the_heap_and_is_bounded() {
    assert_eq!(child_alarm_secs(0), 60);
    assert!(child_alarm_secs(700 << 20) > 500);
    assert_eq!(child_alarm_secs(u64::MAX), 3600);
  }

  #[test]
  fn the_fork_costs_more_than_an_in_process_snapshot() {
    let used = 100 << 20;
    let extra = fork_extra_memory(22, used, 120 << 20, 300 << 20);
    assert_eq!(
      extra,
      snapshot_cost(22, used).extra_memory + (120 << 20) + (300 << 20)
    );
  }

  #[test]
  fn crashes_and_stalls_are_retried_and_the_rest_are_not() {
    let crash = ChildEnd::Signaled(libc::SIGSEGV);
    assert!(crash.worth_retrying(false));
    assert!(ChildEnd::Signaled(libc::SIGKILL).worth_retrying(true));
    assert!(!ChildEnd::Signaled(libc::SIGKILL).worth_retrying(false));
    assert!(!ChildEnd::Signaled(libc::SIGALRM).worth_retrying(false));
    assert!(!ChildEnd::Exited(exit::WRITER_FAILED).worth_retrying(false));
    assert_eq!(crash.failure(false, 60).0, "ERR_RHEAPDUMP_FORK_CRASHED");
    assert!(crash.failure(false, 60).1.contains("SIGSEGV"));
    assert_eq!(
      ChildEnd::Signaled(libc::SIGALRM).failure(false, 60).0,
      "ERR_RHEAPDUMP_FORK_TIMEOUT"
    );
    assert_eq!(
      ChildEnd::from_status(libc::SIGSEGV),
      ChildEnd::Signaled(libc::SIGSEGV)
    );
    assert_eq!(ChildEnd::from_status(70 << 8), ChildEnd::Exited(70));
  }

  #[test]
  fn the_marker_goes_first_in_the_header_and_the_rest_is_kept() {
    let mut file = tempfile::tempfile().unwrap();
    // Bigger than one chunk, so that the backwards move crosses chunk boundaries.
    let body: String = (0..300_000).map(|i| format!("{i},")).collect();
    let original =
      format!("{{\"snapshot\":{{\"meta\":{{}},\"node_count\":0}},\"nodes\":[{body}0]}}");
    file.write_all(original.as_bytes()).unwrap();
    insert_fork_marker(&file).unwrap();
    let mut text = String::new();
    file.rewind().unwrap();
    file.read_to_string(&mut text).unwrap();
    assert!(is_fork_snapshot(text.as_bytes()));
    let marker = std::str::from_utf8(FORK_MARKER).unwrap();
    assert_eq!(text.replacen(marker, "", 1), original);
    assert!(!is_fork_snapshot(original.as_bytes()));
  }

  #[test]
  fn a_file_that_is_not_a_snapshot_is_left_alone() {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(b"{\"nodes\":[]}").unwrap();
    let err = insert_fork_marker(&file).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
  }
}
