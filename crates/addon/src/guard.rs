use napi_derive::napi;
use rheapdump_core::estimate::snapshot_cost;
use rheapdump_platform::resources::{disk_free, memory_budget};

/// What a snapshot would need, and what there is.
#[napi(object)]
pub struct SnapshotBudget {
  /// Estimated extra peak RSS of the snapshot, in bytes.
  pub extra_memory: f64,
  /// Estimated file size, in bytes.
  pub file_size: f64,
  /// Memory the process may still use (tightest of cgroup limits and MemAvailable), or null.
  pub memory_available: Option<f64>,
  /// Where `memoryAvailable` comes from.
  pub memory_source: String,
  /// Free bytes on the target directory's filesystem, or null when it cannot be read.
  pub disk_free: Option<f64>,
}

/// Estimates a snapshot's cost for this Node major and used heap, and reads the budget.
#[napi]
pub fn snapshot_budget(node_major: u32, heap_used: f64, dir: String) -> SnapshotBudget {
  let cost = snapshot_cost(node_major, heap_used as u64);
  let memory = memory_budget().ok();
  SnapshotBudget {
    extra_memory: cost.extra_memory as f64,
    file_size: cost.file_size as f64,
    memory_available: memory.as_ref().map(|m| m.available as f64),
    memory_source: memory
      .map(|m| m.source)
      .unwrap_or_else(|| "unknown".to_string()),
    disk_free: disk_free(std::path::Path::new(&dir))
      .ok()
      .map(|free| free as f64),
  }
}

/// The estimate alone (for bench/guard.js).
#[napi(object)]
pub struct SnapshotCostEstimate {
  pub extra_memory: f64,
  pub file_size: f64,
}

#[napi]
pub fn estimate_snapshot_cost(node_major: u32, heap_used: f64) -> SnapshotCostEstimate {
  let cost = snapshot_cost(node_major, heap_used as u64);
  SnapshotCostEstimate {
    extra_memory: cost.extra_memory as f64,
    file_size: cost.file_size as f64,
  }
}
