//! Process memory as `ps` shows it, and this process's run, read from `/proc`.

use std::io;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessMemory {
  /// Resident set size in bytes (`ps -o rss` × 1024).
  pub rss: u64,
  /// Virtual memory size in bytes (`ps -o vsz` × 1024).
  pub vsz: u64,
  /// Peak resident set size in bytes since the process started (`VmHWM`), when known.
  pub peak_rss: Option<u64>,
}

pub fn process_memory() -> io::Result<ProcessMemory> {
  let stat = std::fs::read_to_string("/proc/self/stat")?;
  let (vsz, rss_pages) = parse_stat(&stat)
    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unparsable /proc/self/stat"))?;
  let peak_rss = std::fs::read_to_string("/proc/self/status")
    .ok()
    .and_then(|status| parse_status_kib(&status, "VmHWM:"))
    .map(|kib| kib * 1024);
  Ok(ProcessMemory {
    rss: rss_pages * page_size(),
    vsz,
    peak_rss,
  })
}

fn page_size() -> u64 {
  // SAFETY: sysconf has no preconditions.
  let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
  if size > 0 {
    size as u64
  } else {
    4096
  }
}

/// This process's run (rheapdump_core::naming::run_id), from the kernel's boot id and the
/// process's start time in clock ticks since boot (field 22 of `/proc/self/stat`): the same in
/// every copy of the addon in the process and in a fork child, another for the next process
/// with this pid. Where `/proc` cannot tell, from the time of the first call.
pub fn run() -> &'static str {
  static RUN: OnceLock<String> = OnceLock::new();
  RUN.get_or_init(|| {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let start = std::fs::read_to_string("/proc/self/stat")
      .ok()
      .and_then(|stat| parse_start_time(&stat))
      .unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64)
      });
    rheapdump_core::naming::run_id(boot.trim(), start, std::process::id())
  })
}

/// The process's start time in clock ticks since boot, field 22 of `/proc/<pid>/stat`.
pub fn parse_start_time(stat: &str) -> Option<u64> {
  let after_name = &stat[stat.rfind(')')? + 1..];
  after_name.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Returns (vsize in bytes, rss in pages) from the text of `/proc/<pid>/stat`.
///
/// The command name (field 2) may contain spaces and parentheses, so fields are counted from
/// the last `)`; vsize and rss are fields 23 and 24 of proc(5).
pub fn parse_stat(stat: &str) -> Option<(u64, u64)> {
  let after_name = &stat[stat.rfind(')')? + 1..];
  let mut fields = after_name.split_ascii_whitespace().skip(20);
  let vsize = fields.next()?.parse().ok()?;
  let rss: i64 = fields.next()?.parse().ok()?;
  Some((vsize, rss.max(0) as u64))
}

/// Reads a `Key:   123 kB` line of `/proc/<pid>/status`, in KiB.
pub fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
  let line = status.lines().find(|line| line.starts_with(key))?;
  line[key.len()..]
    .split_ascii_whitespace()
    .next()?
    .parse()
    .ok()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn parses_stat_with_awkward_command_names() {
    let stat = "4242 (my (odd) node) S 1 4242 4242 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 11 0 \
                1234 987654321 4321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    assert_eq!(parse_stat(stat), Some((987_654_321, 4321)));
    assert_eq!(parse_start_time(stat), Some(1234));
  }

  #[test]
  fn the_run_is_this_process_s_and_stays_the_same() {
    let run = run();
    assert_eq!(run.len(), rheapdump_core::naming::RUN_LENGTH);
    assert_eq!(run, super::run());
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    assert!(parse_start_time(&stat).is_some());
  }

  #[test]
  fn rejects_truncated_stat() {
    assert_eq!(parse_stat("4242 (node) S 1 2 3"), None);
    assert_eq!(parse_stat("garbage"), None);
  }

  #[test]
  fn parses_status_lines() {
    let status = "Name:\tnode\nVmPeak:\t  200 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 1000 kB\n";
    assert_eq!(parse_status_kib(status, "VmHWM:"), Some(12345));
    assert_eq!(parse_status_kib(status, "VmSwap:"), None);
  }

  #[test]
  fn reads_this_process() {
    let memory = process_memory().unwrap();
    assert!(memory.rss > 0 && memory.vsz >= memory.rss);
    assert!(memory.peak_rss.unwrap() >= memory.rss / 2);
  }
}
