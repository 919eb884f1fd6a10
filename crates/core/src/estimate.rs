//! What a snapshot will cost, estimated before taking it.
//!
//! V8's snapshot generator allocates per heap object, so the extra memory scales with the number
//! of objects, which nothing reports without walking the heap. The estimate therefore assumes the
//! worst case measured: a heap of many small objects (the most objects per MB). For heaps of big
//! strings or arrays it overestimates, which makes the guard cautious, never reckless.
//! `bench/guard.js` measures the estimate against real snapshots per Node major and heap shape;
//! bench/README.md has the table ("Guard: extra memory per MB of heap").

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotCost {
  /// Peak RSS the snapshot adds to the process, in bytes.
  pub extra_memory: u64,
  /// Size of the .heapsnapshot file, in bytes.
  pub file_size: u64,
}

/// Extra peak RSS and file size per byte of used heap, the worst case measured per Node major.
fn factors(node_major: u32) -> (f64, f64) {
  match node_major {
    0..=21 => (EXTRA_PER_BYTE_20, FILE_PER_BYTE_20),
    22..=23 => (EXTRA_PER_BYTE_22, FILE_PER_BYTE_22),
    _ => (EXTRA_PER_BYTE_24, FILE_PER_BYTE_24),
  }
}

// Worst measured ratio (bench/guard.js: small-object heaps of 25 and 100 MB; the ratio grows a
// little with the heap, 28 → 30.5 on Node 20) plus 15 %.
const EXTRA_PER_BYTE_20: f64 = 35.0;
const FILE_PER_BYTE_20: f64 = 2.6;
const EXTRA_PER_BYTE_22: f64 = 34.5;
const FILE_PER_BYTE_22: f64 = 2.65;
const EXTRA_PER_BYTE_24: f64 = 34.0;
const FILE_PER_BYTE_24: f64 = 2.45;

pub fn snapshot_cost(node_major: u32, heap_used: u64) -> SnapshotCost {
  let (extra, file) = factors(node_major);
  SnapshotCost {
    extra_memory: (heap_used as f64 * extra) as u64,
    file_size: (heap_used as f64 * file) as u64,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn cost_scales_with_the_heap() {
    let small = snapshot_cost(20, 10 << 20);
    let large = snapshot_cost(20, 100 << 20);
    assert!(large.extra_memory > 9 * small.extra_memory);
    assert!(large.file_size > large.extra_memory / 100);
    assert_eq!(
      snapshot_cost(26, 0),
      SnapshotCost {
        extra_memory: 0,
        file_size: 0
      }
    );
  }
}
