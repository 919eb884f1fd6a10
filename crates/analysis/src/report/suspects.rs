//! The leak-suspects report (`rheapdump report`): what an HTML page shows of a three-snapshot
//! hunt, modelled on Eclipse MAT's Leak Suspects. It adds to `leaks` and `diff` only what they
//! lack: each snapshot's size and memory by package, and each owner's retained size in each
//! snapshot.

use serde::Serialize;

use crate::heap::Heap;

use super::diff::Diff;
use super::leaks::Leaks;
use super::packages::PackageRow;
use super::summary::Summary;

/// One of the three snapshots, as the overview shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnapshotFigures {
  pub file: String,
  pub nodes: u64,
  /// Everything reachable: the root's retained size.
  pub total_size: u64,
  /// Memory by npm package, largest retained size first.
  pub packages: Vec<PackageRow>,
}

impl SnapshotFigures {
  pub fn of(summary: Summary) -> SnapshotFigures {
    SnapshotFigures {
      file: summary.file,
      nodes: summary.nodes,
      total_size: summary.total_size,
      packages: summary.packages,
    }
  }
}

/// What one leak owner retained in each snapshot, oldest first: null where the snapshot has no
/// object of its id.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnerHistory {
  pub id: u32,
  pub retained_size: Vec<Option<u64>>,
}

/// What `report` shows (`rheapdump report`): the three snapshots, the leaks of the hunt, the
/// comparison of the first and the last by class, and each owner's growth.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "LeakSuspectsReport"))]
pub struct LeakSuspects {
  /// Baseline, target and final.
  pub snapshots: Vec<SnapshotFigures>,
  pub leaks: Leaks,
  /// Baseline against final, every class.
  pub diff: Diff,
  /// In the order of `leaks.owners`.
  pub owners: Vec<OwnerHistory>,
}

/// The retained size in `heap` of each object of `ids` (None for an id it lacks).
pub fn retained_of(heap: &Heap, ids: &[u32]) -> Vec<Option<u64>> {
  let mut wanted: Vec<(u32, usize)> = ids.iter().copied().zip(0..).collect();
  wanted.sort_unstable();
  let mut found = vec![None; ids.len()];
  for (node, id) in heap.graph.node_id.iter().enumerate() {
    if let Ok(at) = wanted.binary_search_by_key(id, |w| w.0) {
      found[wanted[at].1] = Some(heap.retained[node]);
    }
  }
  found
}
