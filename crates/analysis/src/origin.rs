//! Whether snapshots can be compared at all: from one process, in the order they were taken,
//! with their ids intact, from one Node version. Ids are per process; a comparison of files
//! that fail these checks still prints a plausible table, so the reports carry warnings.

use std::path::Path;

use rheapdump_core::naming::parse_default_file_name;

/// What a snapshot says about where it comes from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
  pub file: String,
  /// From rheapdump's default file name (`heapdump-<UTC time>-<pid>-<run>-<n>.heapsnapshot`).
  pub pid: Option<String>,
  /// The run of that pid (a restarted container's node is pid 1 again); None in names from
  /// before runs.
  pub run: Option<String>,
  pub time: Option<String>,
  pub seq: Option<u64>,
  /// `process.version` in the heap.
  pub version: Option<String>,
  /// The highest id of a heap object (odd ids): they only grow over a process's life.
  pub max_id: u32,
}

impl Origin {
  pub fn new(path: &Path, version: Option<&str>, max_id: u32) -> Origin {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parsed = parse_default_file_name(file_name);
    Origin {
      file: path.display().to_string(),
      pid: parsed.map(|p| p.pid.to_string()),
      run: parsed.and_then(|p| p.run).map(str::to_string),
      time: parsed.map(|p| p.time.to_string()),
      seq: parsed.and_then(|p| p.seq.parse().ok()),
      version: version.map(str::to_string),
      max_id,
    }
  }
}

/// Below this share of ids in common, two snapshots of one process were renumbered.
const FEW_COMMON_IDS: f64 = 0.5;

/// How many ids two sorted id lists have in common.
pub fn common_count(a: &[u32], b: &[u32]) -> usize {
  let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
  short
    .iter()
    .filter(|id| long.binary_search(id).is_ok())
    .count()
}

/// The share of ids two sorted id lists have in common, of the shorter list.
pub fn common_share(a: &[u32], b: &[u32]) -> f64 {
  let shorter = a.len().min(b.len());
  if shorter == 0 {
    return 1.0;
  }
  common_count(a, b) as f64 / shorter as f64
}

/// Why the ids of `files` cannot be matched (two processes, two runs of one pid, ids
/// renumbered), given as for [`warnings`]; None when they can.
pub fn ids_unusable(files: &[Origin], common: &[f64]) -> Option<String> {
  files.windows(2).enumerate().find_map(|(i, pair)| {
    let (a, b) = (&pair[0], &pair[1]);
    if matches!((&a.pid, &b.pid), (Some(x), Some(y)) if x != y) {
      Some(format!(
        "{} and {} come from different processes",
        a.file, b.file
      ))
    } else if matches!((&a.run, &b.run), (Some(x), Some(y)) if x != y) {
      Some(format!(
        "{} and {} come from different runs of pid {}",
        a.file,
        b.file,
        a.pid.as_deref().unwrap_or("?")
      ))
    } else if common.get(i).is_some_and(|&share| share < FEW_COMMON_IDS) {
      Some(format!(
        "{} and {} have only {:.0}% of their node ids in common",
        a.file,
        b.file,
        common[i] * 100.0
      ))
    } else {
      None
    }
  })
}

/// What is wrong with comparing `files`, given oldest first; `common[i]` is the share of ids
/// that `files[i]` and `files[i + 1]` have in common (1 for a comparison by structure, where
/// ids do not matter and two processes are what it is for). Empty for a sound comparison.
pub fn warnings(files: &[Origin], common: &[f64]) -> Vec<String> {
  warnings_of(files, common, false)
}

/// As [`warnings`], for snapshots matched by structure: two processes and renumbered ids are no
/// problem then; the order and Node's version still are.
pub fn structure_warnings(files: &[Origin]) -> Vec<String> {
  warnings_of(files, &[], true)
}

fn warnings_of(files: &[Origin], common: &[f64], by_structure: bool) -> Vec<String> {
  let mut out: Vec<String> = Vec::new();
  for (i, pair) in files.windows(2).enumerate() {
    let (a, b) = (&pair[0], &pair[1]);
    let other_pid = matches!((&a.pid, &b.pid), (Some(x), Some(y)) if x != y);
    let other_run = !other_pid && matches!((&a.run, &b.run), (Some(x), Some(y)) if x != y);
    let mixed = other_pid || other_run || by_structure;
    if other_run && !by_structure {
      out.push(format!(
        "{} and {} come from different runs of pid {} (runs {} and {}: the process restarted): node ids are per process, so objects cannot be matched between them",
        a.file,
        b.file,
        a.pid.as_deref().unwrap_or("?"),
        a.run.as_deref().unwrap_or("?"),
        b.run.as_deref().unwrap_or("?")
      ));
    }
    if other_pid && !by_structure {
      out.push(format!(
        "{} and {} come from different processes (pid {} and pid {}): node ids are per process, so objects cannot be matched between them",
        a.file,
        b.file,
        a.pid.as_deref().unwrap_or("?"),
        b.pid.as_deref().unwrap_or("?")
      ));
    }
    let share = common.get(i).copied().unwrap_or(1.0);
    let renumbered = !mixed && share < FEW_COMMON_IDS;
    let later = match (&a.time, &b.time) {
      (Some(x), Some(y)) => (x, a.seq) > (y, b.seq),
      // Without the names' times: a later snapshot of a process reaches higher ids, unless
      // they were numbered afresh.
      _ => !mixed && !renumbered && a.max_id > b.max_id,
    };
    if later {
      out.push(format!(
        "{} was taken after {}: give the snapshots oldest first",
        a.file, b.file
      ));
    }
    if let (Some(x), Some(y)) = (&a.version, &b.version) {
      if x != y {
        out.push(format!(
          "{} is from Node {x} and {} from Node {y}: their heaps differ for reasons other than the application",
          a.file, b.file
        ));
      }
    }
    if renumbered {
      out.push(format!(
        "{} and {} have only {:.0}% of their node ids in common: different processes, or ids renumbered (a disconnected inspector session clears them); new and deleted objects cannot be told apart",
        a.file,
        b.file,
        share * 100.0
      ));
    }
  }
  out.dedup();
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  fn origin(file: &str, version: &str, max_id: u32) -> Origin {
    Origin::new(Path::new(file), Some(version), max_id)
  }

  const A: &str = "heapdump-20261130T204748.200566Z-23763-0.heapsnapshot";
  const B: &str = "heapdump-20261130T204748.568839Z-23763-1.heapsnapshot";
  const OTHER: &str = "heapdump-20261130T204749.000000Z-99-0.heapsnapshot";
  const RUN_A: &str = "heapdump-20261130T204749.000000Z-1-aaaaaa-0.heapsnapshot";
  const RUN_B: &str = "heapdump-20261130T205749.000000Z-1-bbbbbb-0.heapsnapshot";

  #[test]
  fn a_sound_comparison_has_no_warning() {
    let files = [origin(A, "v20.1.0", 10), origin(B, "v20.1.0", 20)];
    assert_eq!(warnings(&files, &[0.9]), Vec::<String>::new());
    let unnamed = [origin("a", "v20.1.0", 10), origin("b", "v20.1.0", 20)];
    assert_eq!(warnings(&unnamed, &[0.9]), Vec::<String>::new());
  }

  #[test]
  fn each_problem_is_named() {
    let swapped = warnings(
      &[origin(B, "v20.1.0", 20), origin(A, "v20.1.0", 10)],
      &[0.9],
    );
    assert!(swapped[0].contains("was taken after"), "{swapped:?}");
    let mixed = warnings(
      &[origin(A, "v20.1.0", 10), origin(OTHER, "v20.1.0", 20)],
      &[0.2],
    );
    assert_eq!(mixed.len(), 1, "{mixed:?}");
    assert!(mixed[0].contains("pid 23763 and pid 99"));
    let restarted = warnings(
      &[origin(RUN_A, "v20.1.0", 10), origin(RUN_B, "v20.1.0", 20)],
      &[0.2],
    );
    assert_eq!(restarted.len(), 1, "{restarted:?}");
    assert!(
      restarted[0].contains("different runs of pid 1 (runs aaaaaa and bbbbbb"),
      "{restarted:?}"
    );
    let versions = warnings(
      &[origin(A, "v20.1.0", 10), origin(B, "v26.0.0", 20)],
      &[0.9],
    );
    assert!(versions[0].contains("Node v20.1.0 and"), "{versions:?}");
    let renumbered = warnings(
      &[origin(A, "v20.1.0", 10), origin(B, "v20.1.0", 20)],
      &[0.3],
    );
    assert!(
      renumbered[0].contains("only 30% of their node ids"),
      "{renumbered:?}"
    );
    let unnamed = warnings(
      &[origin("b", "v20.1.0", 20), origin("a", "v20.1.0", 10)],
      &[0.9],
    );
    assert!(unnamed[0].contains("b was taken after a"), "{unnamed:?}");
  }

  #[test]
  fn common_share_is_of_the_shorter_list() {
    assert_eq!(common_share(&[1, 2, 3, 4], &[3, 4]), 1.0);
    assert_eq!(common_share(&[1, 2], &[2, 3, 4, 5]), 0.5);
    assert_eq!(common_share(&[], &[1]), 1.0);
  }
}
