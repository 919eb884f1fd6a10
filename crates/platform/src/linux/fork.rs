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

/// The mapping lines of a `/proc/self/smaps` text: what `/proc/self/maps` shows for the same
/// mappings, line for line (the kernel prints both with one function).
pub fn smaps_mapping_lines(smaps: &str) -> impl Iterator<Item = &str> {
  smaps.lines().filter(|line| mapping_header(line).is_some())
}

/// Whether the mappings of `maps` (a fresh `/proc/self/maps`) are exactly those `smaps` (read
/// earlier, off the main thread) described: then the `dc` flags read then still hold, since V8
/// marks a mapping `MADV_DONTFORK` when it creates it, and a mapping created, removed, split or
/// merged since shows here. Reading `maps` walks no page tables; `smaps` does (half of a fork's
/// pause at 200 MB of heap).
pub fn same_mappings(smaps: &str, maps: &str) -> bool {
  smaps_mapping_lines(smaps).eq(maps.lines().filter(|line| !line.is_empty()))
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

/// What the parent sees of a child from `/proc/<pid>` to judge whether it makes progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildProgress {
  /// CPU time: `schedstat`'s nanoseconds (a nice-19 child on a crowded host gets a few ms a
  /// second, below the 10 ms ticks of `stat`) and `stat`'s ticks; either moving is progress.
  pub cpu_ns: Option<u64>,
  pub cpu_ticks: Option<u64>,
  /// Bytes written (`io`'s `wchar`): a child that writes is alive, however slowly.
  pub written: Option<u64>,
  /// The system call it is blocked in (`syscall`'s first field), None while it runs or when
  /// the kernel does not say.
  pub syscall: Option<i64>,
}

impl ChildProgress {
  /// Reads `/proc/<pid>/{schedstat,stat,io,syscall}`; a file that cannot be read leaves its
  /// field None.
  pub fn read(pid: u32) -> ChildProgress {
    let read = |name: &str| std::fs::read_to_string(format!("/proc/{pid}/{name}")).ok();
    ChildProgress {
      cpu_ns: read("schedstat").and_then(|text| text.split_ascii_whitespace().next()?.parse().ok()),
      cpu_ticks: read("stat").and_then(|stat| stat_cpu_ticks(&stat)),
      written: read("io").and_then(|io| io_written(&io)),
      syscall: read("syscall").and_then(|text| blocked_syscall(&text)),
    }
  }

  /// Whether `self`, sampled after `earlier`, shows the child doing anything.
  pub fn advanced_since(&self, earlier: &ChildProgress) -> bool {
    self.cpu_ns != earlier.cpu_ns
      || self.cpu_ticks != earlier.cpu_ticks
      || self.written != earlier.written
  }

  /// Whether a child that has not advanced for a while is hung rather than slow: it is
  /// waiting for another thread (`futex`: one of the threads fork() left behind, which will
  /// never come), or the kernel does not say what it waits for. A child blocked writing (a
  /// full pipe, a FIFO whose reader pauses, a slow NFS or FUSE disk) or in any other system
  /// call is waiting for the outside world, not hung: it is left to its alarm.
  pub fn waits_for_a_thread(&self) -> bool {
    match self.syscall {
      Some(number) => number == libc::SYS_futex,
      None => true,
    }
  }
}

/// `wchar` of `/proc/<pid>/io`.
fn io_written(io: &str) -> Option<u64> {
  io.lines()
    .find_map(|line| line.strip_prefix("wchar:"))?
    .trim()
    .parse()
    .ok()
}

/// The system call number of `/proc/<pid>/syscall` (`1 0x1b 0x… …` while blocked in `write`);
/// None for `running` or a task the kernel will not show (`-1 …`).
fn blocked_syscall(text: &str) -> Option<i64> {
  let number: i64 = text.split_ascii_whitespace().next()?.parse().ok()?;
  (number >= 0).then_some(number)
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

/// The child's CPU budget (`setitimer(ITIMER_PROF)`, SIGPROF when spent): V8's writer takes
/// ~0.1 s of CPU per MB of used heap (75 s at 693 MB measured). CPU time, not wall time: a
/// nice-19 child competing with nice-0 threads for a core gets ~1.5 % of it (CFS weights 15
/// against 1024), so on a 2-core host kept busy by the service and its neighbours a 3 s
/// snapshot can take minutes of wall time (a Node 22 child of a ~32 MB heap hit the old 84 s
/// wall-clock alarm under the tests' load); that child is slow, not broken. One that spends
/// its whole CPU budget is spinning.
pub fn child_alarm_secs(heap_used: u64) -> u32 {
  let mb = heap_used / (1 << 20);
  (60 + mb.saturating_mul(3) / 4).min(3600) as u32
}

/// The child's wall-clock bound (`alarm()`), for a child starved for ever on a saturated host
/// or blocked writing to a reader that never reads again: 4 times its CPU budget.
pub fn child_wall_secs(alarm_secs: u32) -> u32 {
  alarm_secs.saturating_mul(4)
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

  /// A crash (a fault in the child, e.g. a V8 job caught mid-way by the fork), a stall or the
  /// child's alarm is worth another fork — when the target can be rewound (`rewindable`: a new
  /// temporary file each time); a FIFO, device or socket already holds what the first child
  /// wrote, and a second snapshot after it would make the stream invalid. A full disk or a kill
  /// from outside (the OOM killer) is never retried.
  pub fn worth_retrying(self, stalled: bool, rewindable: bool) -> bool {
    rewindable
      && (stalled
        || matches!(
          self,
          ChildEnd::Signaled(
            libc::SIGSEGV
              | libc::SIGBUS
              | libc::SIGABRT
              | libc::SIGILL
              | libc::SIGTRAP
              | libc::SIGFPE
              | libc::SIGALRM
              | libc::SIGPROF
          )
        ))
  }

  /// The error code and a sentence, for a child that did not write the snapshot; `cpu_secs` is
  /// the CPU time it had had.
  pub fn failure(self, stalled: bool, alarm_secs: u32, cpu_secs: f64) -> (&'static str, String) {
    match self {
      _ if stalled => (
        "ERR_RHEAPDUMP_FORK_STALLED",
        "the child stopped making progress (no CPU time and nothing written for 5 s, waiting for a lock) and was killed".to_string(),
      ),
      ChildEnd::Signaled(libc::SIGPROF) => (
        "ERR_RHEAPDUMP_FORK_TIMEOUT",
        format!("the child used its whole CPU budget ({alarm_secs} s) without finishing: it was spinning"),
      ),
      ChildEnd::Signaled(libc::SIGALRM) => (
        "ERR_RHEAPDUMP_FORK_TIMEOUT",
        format!(
          "the child did not finish within {} s, having run on a CPU for {cpu_secs:.1} s of them: starved by busier processes (it runs at nice 19), or blocked writing",
          child_wall_secs(alarm_secs)
        ),
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
  fn smaps_read_earlier_holds_while_the_mappings_are_the_same() {
    let maps: String = SMAPS
      .lines()
      .filter(|line| mapping_header(line).is_some())
      .map(|line| format!("{line}\n"))
      .collect();
    assert!(same_mappings(SMAPS, &maps));
    let split = maps.replacen(
      "7f00aa000000-7f00aa040000 rw-p",
      "7f00aa000000-7f00aa020000 rw-p 00000000 00:00 0\n7f00aa020000-7f00aa040000 rw-p",
      1,
    );
    assert!(!same_mappings(SMAPS, &split));
    let gone: String = maps
      .lines()
      .skip(1)
      .map(|line| format!("{line}\n"))
      .collect();
    assert!(!same_mappings(SMAPS, &gone));
    let more = format!("{maps}7f00dd000000-7f00dd001000 rw-p 00000000 00:00 0\n");
    assert!(!same_mappings(SMAPS, &more));
  }

  #[test]
  fn this_process_s_maps_match_its_smaps() {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    // Another test thread may map or unmap meanwhile: equal most of the time, not always.
    let lines = smaps_mapping_lines(&smaps).count();
    assert!(lines > 10 && maps.lines().count().abs_diff(lines) < 10);
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
  fn crashes_stalls_and_timeouts_are_retried_and_the_rest_are_not() {
    let crash = ChildEnd::Signaled(libc::SIGSEGV);
    let alarm = ChildEnd::Signaled(libc::SIGALRM);
    assert!(crash.worth_retrying(false, true));
    assert!(alarm.worth_retrying(false, true));
    assert!(ChildEnd::Signaled(libc::SIGKILL).worth_retrying(true, true));
    assert!(!ChildEnd::Signaled(libc::SIGKILL).worth_retrying(false, true));
    assert!(!ChildEnd::Exited(exit::WRITER_FAILED).worth_retrying(false, true));
    assert_eq!(
      crash.failure(false, 60, 1.0).0,
      "ERR_RHEAPDUMP_FORK_CRASHED"
    );
    assert!(crash.failure(false, 60, 1.0).1.contains("SIGSEGV"));
    assert_eq!(
      alarm.failure(false, 60, 1.0).0,
      "ERR_RHEAPDUMP_FORK_TIMEOUT"
    );
    assert!(alarm
      .failure(false, 60, 2.0)
      .1
      .contains("within 240 s, having run on a CPU for 2.0 s of them: starved"));
    let spent = ChildEnd::Signaled(libc::SIGPROF);
    assert!(spent.worth_retrying(false, true));
    assert_eq!(
      spent.failure(false, 60, 60.0).0,
      "ERR_RHEAPDUMP_FORK_TIMEOUT"
    );
    assert!(spent.failure(false, 60, 60.0).1.contains("spinning"));
    assert_eq!(
      ChildEnd::from_status(libc::SIGSEGV),
      ChildEnd::Signaled(libc::SIGSEGV)
    );
    assert_eq!(ChildEnd::from_status(70 << 8), ChildEnd::Exited(70));
  }

  #[test]
  fn nothing_is_retried_into_a_target_that_cannot_be_rewound() {
    for end in [
      ChildEnd::Signaled(libc::SIGSEGV),
      ChildEnd::Signaled(libc::SIGALRM),
      ChildEnd::Signaled(libc::SIGKILL),
    ] {
      assert!(!end.worth_retrying(false, false));
      assert!(!end.worth_retrying(true, false));
    }
  }

  #[test]
  fn a_child_that_writes_or_waits_for_io_is_not_hung() {
    let io = "rchar: 10\nwchar: 131072\nsyscr: 1\nsyscw: 2\n";
    assert_eq!(io_written(io), Some(131072));
    assert_eq!(
      blocked_syscall("1 0x1b 0x7f00 0x10000 0x0 0x0 0x0 0x7ffd 0x7f01\n"),
      Some(1)
    );
    assert_eq!(blocked_syscall("running\n"), None);
    assert_eq!(blocked_syscall("-1 0x7ffd 0x7f01\n"), None);
    let writing = ChildProgress {
      syscall: Some(libc::SYS_write),
      ..ChildProgress::default()
    };
    assert!(!writing.waits_for_a_thread());
    let locked = ChildProgress {
      syscall: Some(libc::SYS_futex),
      ..ChildProgress::default()
    };
    assert!(locked.waits_for_a_thread());
    assert!(ChildProgress::default().waits_for_a_thread());
    let later = ChildProgress {
      written: Some(65536),
      ..writing
    };
    assert!(later.advanced_since(&writing));
    assert!(!writing.advanced_since(&writing));
  }

  #[test]
  fn this_process_can_be_read_as_a_child() {
    let progress = ChildProgress::read(std::process::id());
    assert!(progress.cpu_ticks.is_some());
    assert!(progress.written.is_some());
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
