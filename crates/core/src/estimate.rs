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

/// Extra peak RSS and file size per byte of used heap for the Node majors up to `max_major`
/// (`None`: every later major), the worst case measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostFactors {
  pub max_major: Option<u32>,
  pub extra_per_heap_byte: f64,
  pub file_per_heap_byte: f64,
}

/// One row per range of Node majors, in ascending order; the last row covers every later major.
/// The pure-JS fallback reads the same table (lib/facts.js, generated from it).
// Worst measured ratio (bench/guard.js: small-object heaps of 25 and 100 MB; the ratio grows a
// little with the heap, 28 → 30.5 on Node 20) plus 15 %.
pub const COST_FACTORS: [CostFactors; 3] = [
  CostFactors {
    max_major: Some(21),
    extra_per_heap_byte: 35.0,
    file_per_heap_byte: 2.6,
  },
  CostFactors {
    max_major: Some(23),
    extra_per_heap_byte: 34.5,
    file_per_heap_byte: 2.65,
  },
  CostFactors {
    max_major: None,
    extra_per_heap_byte: 34.0,
    file_per_heap_byte: 2.45,
  },
];

fn factors(node_major: u32) -> CostFactors {
  let fits = |row: &&CostFactors| row.max_major.is_none_or(|max| node_major <= max);
  *COST_FACTORS
    .iter()
    .find(fits)
    .expect("the last row of COST_FACTORS covers every major")
}

pub fn snapshot_cost(node_major: u32, heap_used: u64) -> SnapshotCost {
  let factors = factors(node_major);
  SnapshotCost {
    extra_memory: (heap_used as f64 * factors.extra_per_heap_byte) as u64,
    file_size: (heap_used as f64 * factors.file_per_heap_byte) as u64,
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

  #[test]
  fn each_major_takes_the_first_row_that_covers_it() {
    let heap = 1000;
    assert_eq!(snapshot_cost(20, heap).extra_memory, 35_000);
    assert_eq!(snapshot_cost(21, heap).extra_memory, 35_000);
    assert_eq!(snapshot_cost(22, heap).extra_memory, 34_500);
    assert_eq!(snapshot_cost(23, heap).file_size, 2650);
    assert_eq!(snapshot_cost(24, heap).extra_memory, 34_000);
    assert_eq!(snapshot_cost(99, heap).file_size, 2450);
    let majors: Vec<_> = COST_FACTORS.iter().map(|row| row.max_major).collect();
    assert!(majors.windows(2).all(|pair| match pair {
      [Some(a), Some(b)] => a < b,
      [Some(_), None] => true,
      _ => false,
    }));
  }
}
