//! DevTools' Summary view: objects by class, the largest objects; and one class's objects.

use serde::Serialize;

use crate::heap::Heap;

use super::common::{
  classes_of, distance_of, label, location_text, retained_by_key, short, top_by, NONE,
};
use super::packages::{group_of, package_keys, package_rows, PackageRow};

/// One class of DevTools' Summary view: its objects' count, own and retained size.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClassRow {
  pub name: String,
  pub count: u64,
  pub shallow_size: u64,
  pub retained_size: u64,
  /// The smallest distance from a GC root of an object in the class (DevTools' Distance);
  /// null when no root reaches any of them; 100000000 and more: reached only through system
  /// roots.
  pub distance: Option<i64>,
  /// `script_id:line:column` of the constructor, when DevTools tells two classes of the same
  /// name apart by it.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub location: Option<String>,
  /// The same place as `file:line:column`, 1-based as editors count, where the snapshot names
  /// the script; with a source map, where it was written.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source: Option<String>,
  /// Where the code that ran is, `file:line:column` (1-based), when `source` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
  /// The npm package whose code defines the constructor (`lru-cache`), or `(app)`, `(node)`
  /// or `(unknown)`.
  pub package: String,
}

/// One of the objects that retain the most.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LargeObject {
  pub id: u32,
  pub name: String,
  #[serde(rename = "type")]
  pub kind: String,
  pub self_size: u64,
  pub retained_size: u64,
  /// `file:line:column` of its function or constructor, where the snapshot tells.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source: Option<String>,
  /// Where the code that ran is, `file:line:column` (1-based), when `source` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
  /// The npm package whose code defines its function or constructor, or `(app)`, `(node)` or
  /// `(unknown)`.
  pub package: String,
}

/// What `summary` reports (`rheapdump summary --json`, `analysis.summary()`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "SnapshotSummary"))]
pub struct Summary {
  pub file: String,
  pub nodes: u64,
  pub edges: u64,
  /// The root's retained size: everything the snapshot holds.
  pub total_size: u64,
  /// By retained size, largest first.
  pub classes: Vec<ClassRow>,
  /// By retained size, largest first.
  pub largest: Vec<LargeObject>,
  /// Memory by npm package (every package, and `(app)`, `(node)`, `(unknown)`), by retained
  /// size, largest first.
  pub packages: Vec<PackageRow>,
  /// Why some scripts' positions are the generated ones: their source maps could not be used
  /// (one line per script), or the scripts are not on this machine.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

pub fn summary(heap: &Heap, file: &str, top: usize) -> Summary {
  let g = &heap.graph;
  let (key, names) = classes_of(g);
  let mut rows: Vec<ClassRow> = names
    .iter()
    .map(|(name, location)| ClassRow {
      name: label(name),
      count: 0,
      shallow_size: 0,
      retained_size: 0,
      distance: None,
      location: location_text(*location),
      source: location.and_then(|l| g.source_at(l)),
      generated: None,
      package: String::new(),
    })
    .collect();
  let mut min_distance = vec![i32::MAX; names.len()];
  for node in 0..g.node_count() {
    let k = key[node];
    if k == NONE {
      continue;
    }
    let row = &mut rows[k as usize];
    row.count += 1;
    row.shallow_size += u64::from(g.self_size[node]);
    min_distance[k as usize] = min_distance[k as usize].min(heap.distance[node]);
  }
  let retained = retained_by_key(heap, &key, names.len());
  for (i, row) in rows.iter_mut().enumerate() {
    row.retained_size = retained[i];
    row.distance = distance_of(min_distance[i]);
    row.package = group_of(row.source.as_deref());
  }
  top_by(&mut rows, top, |r| i128::from(r.retained_size));

  let mut largest: Vec<u32> = (1..g.node_count() as u32)
    .filter(|&n| g.node_type[n as usize] != g.types.synthetic)
    .collect();
  // Every class can be worth listing (--top 0); every object is not: 20 then.
  let keep = if top == 0 { 20 } else { top }.min(largest.len());
  let by_retained = |a: &u32, b: &u32| {
    heap.retained[*b as usize]
      .cmp(&heap.retained[*a as usize])
      .then(g.node_id[*a as usize].cmp(&g.node_id[*b as usize]))
  };
  if keep > 0 && keep < largest.len() {
    largest.select_nth_unstable_by(keep - 1, by_retained);
    largest.truncate(keep);
  }
  largest.sort_by(by_retained);
  let largest = largest
    .into_iter()
    .map(|n| {
      let n = n as usize;
      let source = g.source(n);
      LargeObject {
        id: g.node_id[n],
        name: short(&heap.display_name(n)),
        kind: g.type_name(n).to_string(),
        self_size: u64::from(g.self_size[n]),
        retained_size: heap.retained[n],
        package: group_of(source.as_deref()),
        source,
        generated: None,
      }
    })
    .collect();
  Summary {
    file: file.to_string(),
    nodes: g.node_count() as u64,
    edges: g.edge_count() as u64,
    total_size: heap.retained[0],
    classes: rows,
    largest,
    packages: {
      let (key, names) = package_keys(g);
      package_rows(heap, &key, names)
    },
    source_map_notes: None,
  }
}

/// One object of a class (`summary --class`, `diff --class`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Instance {
  pub id: u32,
  pub name: String,
  pub self_size: u64,
  pub retained_size: u64,
  pub distance: Option<i64>,
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source: Option<String>,
  /// Where the code that ran is, `file:line:column` (1-based), when `source` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
}

/// The objects of one class, largest retained size first (`summary --class`, `diff --class`,
/// `analysis.instances()`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "InstancesReport"))]
pub struct Instances {
  pub file: String,
  /// With `diff --class`: the earlier snapshot; only objects it lacks are listed.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub before: Option<String>,
  pub class: String,
  /// All of them (before `--top`), and their shallow size.
  pub count: u64,
  pub shallow_size: u64,
  pub instances: Vec<Instance>,
  /// With `diff --class`, as in `diff`; empty for a sound comparison.
  pub warnings: Vec<String>,
  /// Why some scripts' positions are the generated ones: their source maps could not be used
  /// (one line per script), or the scripts are not on this machine.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

/// The objects of class `class` (as the Summary names classes; a closure also by its
/// function, `pollJob` or `pollJob()`, as leaks names it), largest retained size first, the first `top` (all if 0). With `before` (sorted ids
/// of an earlier snapshot of the process), only those allocated since.
pub fn instances(
  heap: &Heap,
  file: &str,
  class: &str,
  before: Option<(&str, &[u32])>,
  top: usize,
) -> Instances {
  let g = &heap.graph;
  // A closure also by its function, as leaks names it: `pollJob`, `pollJob()`, `bound onRates()`.
  let function = class.strip_suffix("()").unwrap_or(class);
  let mut nodes: Vec<usize> = (1..g.node_count())
    .filter(|&node| g.self_size[node] > 0)
    .filter(|&node| {
      g.class_name(node) == class
        || (g.node_type[node] == g.types.closure
          && (g.name(node) == function || heap.display_name(node) == function))
    })
    .filter(|&node| before.is_none_or(|(_, ids)| ids.binary_search(&g.node_id[node]).is_err()))
    .collect();
  let count = nodes.len() as u64;
  let shallow_size = nodes.iter().map(|&n| u64::from(g.self_size[n])).sum();
  nodes.sort_by(|&a, &b| {
    heap.retained[b]
      .cmp(&heap.retained[a])
      .then(g.node_id[a].cmp(&g.node_id[b]))
  });
  if top > 0 {
    nodes.truncate(top);
  }
  Instances {
    file: file.to_string(),
    before: before.map(|(name, _)| name.to_string()),
    class: class.to_string(),
    count,
    shallow_size,
    instances: nodes
      .into_iter()
      .map(|n| Instance {
        id: g.node_id[n],
        name: short(&heap.display_name(n)),
        self_size: u64::from(g.self_size[n]),
        retained_size: heap.retained[n],
        distance: distance_of(heap.distance[n]),
        source: g.source(n),
        generated: None,
      })
      .collect(),
    warnings: Vec::new(),
    source_map_notes: None,
  }
}

#[cfg(test)]
mod tests {
  use super::summary;
  use crate::testing::Snapshot;

  /// DevTools' `calculateClassesRetainedSize`: a class's retained size sums its objects'
  /// retained sizes, but an object dominated by another of the same class is already in
  /// that one's, so it is not counted again. The Summary leaves out objects of size 0.
  #[test]
  fn a_class_retained_size_counts_nested_objects_once() {
    let (mut s, global) = Snapshot::with_global(0);
    let [outer, inner, item, other, empty] = s.nodes([
      ("object", "List", 10),
      ("object", "List", 10),
      ("object", "Item", 5),
      ("object", "List", 10),
      ("object", "Empty", 0),
    ]);
    s.edges(&[
      (global, "property", "list", outer),
      (outer, "property", "next", inner),
      (inner, "property", "item", item),
      (global, "property", "other", other),
      (global, "property", "empty", empty),
    ]);
    let heap = s.heap();
    let report = summary(&heap, "test", 0);
    let row = |name: &str| report.classes.iter().find(|row| row.name == name);
    let list = row("List").unwrap();
    // outer retains inner and the item (25), other itself (10); inner's 15 is in outer's.
    assert_eq!((list.count, list.shallow_size), (3, 30));
    assert_eq!(list.retained_size, 25 + 10);
    assert_eq!(list.distance, Some(2));
    assert_eq!(row("Item").unwrap().retained_size, 5);
    assert!(row("Empty").is_none());
  }
}
