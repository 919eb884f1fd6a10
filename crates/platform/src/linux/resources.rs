//! How much memory and disk a snapshot may use before it harms the process.
//!
//! Memory: the tightest of the machine's `MemAvailable` and, for each cgroup level above this
//! process that sets a limit, limit minus usage. Reclaimable page cache (`inactive_file`) does not
//! count as used, as the kernel takes it back before it OOM-kills anything. Both cgroup v2
//! (`memory.max`, `memory.current`) and v1 (`memory.limit_in_bytes`, `memory.usage_in_bytes`)
//! are read.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryBudget {
  /// Bytes that can still be allocated before the tightest limit is reached.
  pub available: u64,
  /// Where that figure comes from, for messages: `cgroup /sys/fs/cgroup/app (limit 512 MiB)`.
  pub source: String,
}

/// The memory this process may still use, from /proc and /sys/fs/cgroup.
pub fn memory_budget() -> io::Result<MemoryBudget> {
  let meminfo = std::fs::read_to_string("/proc/meminfo")?;
  let machine = super::procfs::parse_status_kib(&meminfo, "MemAvailable:")
    .map(|kib| kib * 1024)
    .ok_or_else(|| {
      io::Error::new(
        io::ErrorKind::InvalidData,
        "no MemAvailable in /proc/meminfo",
      )
    })?;
  let mut budget = MemoryBudget {
    available: machine,
    source: "MemAvailable".to_string(),
  };
  let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
  for limit in cgroup_limits(&cgroups, Path::new("/sys/fs/cgroup"), &|p| {
    std::fs::read_to_string(p).ok()
  }) {
    if limit.available() < budget.available {
      budget = MemoryBudget {
        available: limit.available(),
        source: format!(
          "cgroup {} (limit {} MiB)",
          limit.dir.display(),
          limit.limit / (1024 * 1024)
        ),
      };
    }
  }
  Ok(budget)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLimit {
  pub dir: PathBuf,
  pub limit: u64,
  pub used: u64,
}

impl CgroupLimit {
  pub fn available(&self) -> u64 {
    self.limit.saturating_sub(self.used)
  }
}

/// The memory limits of every cgroup level above this process that sets one.
/// `read` reads a file (injected so tests can give a fake /sys/fs/cgroup).
pub fn cgroup_limits(
  proc_cgroup: &str,
  root: &Path,
  read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<CgroupLimit> {
  let mut limits = Vec::new();
  for line in proc_cgroup.lines() {
    let mut parts = line.splitn(3, ':');
    let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
    else {
      continue;
    };
    let (base, files) = if controllers.is_empty() {
      // On hybrid systems the v2 tree is mounted at <root>/unified.
      let unified = root.join("unified");
      let base = if read(&unified.join("cgroup.controllers")).is_some() {
        unified
      } else {
        root.to_path_buf()
      };
      (base, ("memory.max", "memory.current", "memory.stat"))
    } else if controllers.split(',').any(|c| c == "memory") {
      (
        root.join("memory"),
        (
          "memory.limit_in_bytes",
          "memory.usage_in_bytes",
          "memory.stat",
        ),
      )
    } else {
      continue;
    };
    let mut dir = base.join(path.trim_start_matches('/'));
    loop {
      if let Some(limit) = read_limit(&dir, files, read) {
        limits.push(limit);
      }
      if dir == base || !dir.pop() || !dir.starts_with(&base) {
        break;
      }
    }
  }
  limits
}

fn read_limit(
  dir: &Path,
  (max, current, stat): (&str, &str, &str),
  read: &dyn Fn(&Path) -> Option<String>,
) -> Option<CgroupLimit> {
  let limit: u64 = read(&dir.join(max))?.trim().parse().ok()?;
  // v1 reports "no limit" as a huge page-rounded number.
  if limit >= 1 << 60 {
    return None;
  }
  let used: u64 = read(&dir.join(current))?.trim().parse().ok()?;
  let reclaimable = read(&dir.join(stat))
    .and_then(|text| {
      text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == "inactive_file" || key == "total_inactive_file")
          .then(|| value.trim().parse().ok())?
      })
    })
    .unwrap_or(0);
  Some(CgroupLimit {
    dir: dir.to_path_buf(),
    limit,
    used: used.saturating_sub(reclaimable),
  })
}

/// Free bytes for an unprivileged writer on the filesystem holding `dir`.
pub fn disk_free(dir: &Path) -> io::Result<u64> {
  let path = CString::new(dir.as_os_str().as_bytes())
    .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
  // SAFETY: statvfs fills the zeroed struct; path is NUL-terminated.
  unsafe {
    let mut stat: libc::statvfs = std::mem::zeroed();
    if libc::statvfs(path.as_ptr(), &mut stat) != 0 {
      return Err(io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::collections::HashMap;

  fn fake(files: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
    let files: HashMap<PathBuf, String> = files
      .iter()
      .map(|(p, c)| (PathBuf::from(p), c.to_string()))
      .collect();
    move |p: &Path| files.get(p).cloned()
  }

  #[test]
  fn reads_a_v2_limit_and_its_parents() {
    let read = fake(&[
      ("/cg/app/web/memory.max", "max\n"),
      ("/cg/app/memory.max", "536870912\n"),
      ("/cg/app/memory.current", "300000000\n"),
      (
        "/cg/app/memory.stat",
        "anon 1\ninactive_file 100000000\nactive_file 5\n",
      ),
    ]);
    let limits = cgroup_limits("0::/app/web\n", Path::new("/cg"), &read);
    assert_eq!(
      limits,
      vec![CgroupLimit {
        dir: PathBuf::from("/cg/app"),
        limit: 536_870_912,
        used: 200_000_000
      }]
    );
    assert_eq!(limits[0].available(), 336_870_912);
  }

  #[test]
  fn reads_a_v1_memory_controller_and_ignores_unlimited() {
    let read = fake(&[
      ("/cg/memory/docker/abc/memory.limit_in_bytes", "1073741824"),
      ("/cg/memory/docker/abc/memory.usage_in_bytes", "73741824"),
      (
        "/cg/memory/docker/memory.limit_in_bytes",
        "9223372036854771712",
      ),
      ("/cg/memory/docker/memory.usage_in_bytes", "1"),
    ]);
    let limits = cgroup_limits(
      "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n",
      Path::new("/cg"),
      &read,
    );
    assert_eq!(limits.len(), 1);
    assert_eq!(limits[0].available(), 1_000_000_000);
  }

  #[test]
  fn no_cgroup_files_means_no_limits() {
    assert!(cgroup_limits("0::/\n", Path::new("/nonexistent"), &|_| None).is_empty());
    assert!(cgroup_limits("garbage", Path::new("/cg"), &|_| None).is_empty());
  }

  #[test]
  fn this_machine_has_a_budget_and_free_disk() {
    let budget = memory_budget().unwrap();
    assert!(budget.available > 0, "{budget:?}");
    assert!(disk_free(Path::new(".")).unwrap() > 0);
    assert!(disk_free(Path::new("/nonexistent-dir")).is_err());
  }
}
