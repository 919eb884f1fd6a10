//! What the reports share: classes as DevTools keys them, retained size by class, the steps
//! of a retaining path, and how rows are cut and names shortened.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::graph::Graph;
use crate::heap::{Heap, NO_DISTANCE};

pub(super) const NONE: u32 = u32::MAX;

/// How a comparison matched the objects of its snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
  /// By V8's object ids: exact, for snapshots of one process in which ids survive.
  Ids,
  /// By retaining path and class: for fork snapshots, two processes, renumbered ids.
  Structure,
}

/// One step of a retaining path: a node, and the edge from it to the next step (null on the
/// last step, the object itself).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "PathStep"))]
pub struct Step {
  pub node: String,
  pub id: u32,
  pub edge: Option<String>,
  /// `file:line:column` (1-based) of the node's function or constructor, where the snapshot
  /// tells.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source: Option<String>,
  /// Where the code that ran is, `file:line:column` (1-based), when `source` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
}

impl Step {
  pub(super) fn of(heap: &Heap, node: usize, edge: Option<String>) -> Step {
    Step {
      node: node_name(heap, node),
      id: heap.graph.node_id[node],
      edge,
      // A module's own location is that of Node's Module class: its file is in its name.
      source: heap
        .graph
        .source(node)
        .filter(|_| heap.graph.module_file(node).is_none()),
      generated: None,
    }
  }
}

/// A node as reports name it: a CommonJS module by its file (`module "pino/lib/tools.js"`),
/// anything else as DevTools does.
pub(super) fn node_name(heap: &Heap, node: usize) -> String {
  match heap.graph.module_file(node) {
    Some(file) => format!("module \"{}\"", short(module_path(file))),
    None => short(&heap.display_name(node)),
  }
}

/// A module's file as people name it: from its package (`pino/lib/tools.js`) when it lives in
/// `node_modules`, else the whole path.
pub(super) fn module_path(file: &str) -> &str {
  match file.rfind("node_modules/") {
    Some(at) => &file[at + "node_modules/".len()..],
    None => file,
  }
}

pub(super) fn distance_of(d: i32) -> Option<i64> {
  (d != NO_DISTANCE).then_some(i64::from(d))
}

/// Sums `retained` over nodes with a key, counting a node only if no node above it in the
/// dominator tree has the same key, so that nothing is counted twice (DevTools'
/// `calculateClassesRetainedSize`).
pub(super) fn retained_by_key(heap: &Heap, key: &[u32], keys: usize) -> Vec<u64> {
  let n = heap.graph.node_count();
  // Children lists of the dominator tree.
  let mut first = vec![0u32; n + 1];
  for node in 1..n {
    first[heap.dominator[node] as usize + 1] += 1;
  }
  for i in 1..=n {
    first[i] += first[i - 1];
  }
  let mut children = vec![0u32; n.saturating_sub(1)];
  let mut fill = first.clone();
  for node in 1..n {
    let d = heap.dominator[node] as usize;
    children[fill[d] as usize] = node as u32;
    fill[d] += 1;
  }
  drop(fill);
  let mut active = vec![0u32; keys];
  let mut sums = vec![0u64; keys];
  // (node, entering?): on leaving a counted node its key becomes free again.
  let mut stack: Vec<(u32, bool)> = vec![(0, true)];
  while let Some((node, entering)) = stack.pop() {
    let k = key[node as usize];
    if !entering {
      active[k as usize] -= 1;
      continue;
    }
    if k != NONE && active[k as usize] == 0 {
      sums[k as usize] += heap.retained[node as usize];
      active[k as usize] += 1;
      stack.push((node, false));
    }
    for &child in &children[first[node as usize] as usize..first[node as usize + 1] as usize] {
      stack.push((child, true));
    }
  }
  sums
}

/// A class as DevTools keys it: the name, and for objects the constructor's location.
pub(super) type ClassKey = (String, Option<[u32; 3]>);

/// Class of every node with a shallow size (DevTools leaves size-0 nodes out of its views),
/// as an index into the returned keys.
pub(super) fn classes_of(graph: &Graph) -> (Vec<u32>, Vec<ClassKey>) {
  // A node's class follows from its type, its name string and (for plain objects) its
  // interface: key on those numbers so that the 2 M nodes of a 170 MB snapshot need no string
  // hashing, and build each name once.
  let mut by_code: FxHashMap<(u64, Option<[u32; 3]>), u32> = FxHashMap::default();
  let mut ids: FxHashMap<ClassKey, u32> = FxHashMap::default();
  let mut keys = Vec::new();
  let t = &graph.types;
  let key = (0..graph.node_count())
    .map(|node| {
      if graph.self_size[node] == 0 {
        return NONE;
      }
      let kind = graph.node_type[node];
      let location = if kind == t.object {
        graph.location(node)
      } else {
        None
      };
      let code = if kind == t.object || kind == t.native {
        match graph.interface_of(node) {
          Some(interface) => (1 << 40) | u64::from(interface),
          None => u64::from(graph.node_name[node]),
        }
      } else {
        (2 << 40) | u64::from(kind)
      };
      *by_code.entry((code, location)).or_insert_with(|| {
        let class = (graph.class_name(node).into_owned(), location);
        *ids.entry(class).or_insert_with_key(|class| {
          keys.push(class.clone());
          keys.len() as u32 - 1
        })
      })
    })
    .collect();
  (key, keys)
}

pub(super) fn location_text(location: Option<[u32; 3]>) -> Option<String> {
  location.map(|[script, line, column]| format!("{script}:{line}:{column}"))
}

/// Sorts by `size` descending and keeps the first `top` (all if `top` is 0).
pub(super) fn top_by<T>(rows: &mut Vec<T>, top: usize, size: impl Fn(&T) -> i128) {
  rows.sort_by_key(|row| std::cmp::Reverse(size(row)));
  if top > 0 {
    rows.truncate(top);
  }
}

/// Names are shown on one line: long strings (source code, JSON) are cut.
pub(super) fn short(name: &str) -> String {
  cut(name, 80)
}

/// The most characters of a class or property name a report shows: no name in code is longer,
/// and a snapshot whose every node is named by one 32 MB string must not print it per row.
pub(crate) const LONGEST_NAME: usize = 300;

/// A class or property name as reports show it, cut at [`LONGEST_NAME`].
pub(crate) fn label(name: &str) -> String {
  cut(name, LONGEST_NAME)
}

/// `name` on one line and at most `max` characters: a longer one is cut, with an ellipsis and
/// its full length in bytes (`aaa… (33554432 bytes)`). Reads at most `max + 1` characters, so
/// the cost does not grow with the name.
pub(crate) fn cut(name: &str, max: usize) -> String {
  let flat = |text: &str| -> String {
    text
      .chars()
      .map(|c| if c.is_control() { ' ' } else { c })
      .collect()
  };
  match name.char_indices().nth(max) {
    None => flat(name),
    Some(_) => {
      let end = name
        .char_indices()
        .nth(max - 1)
        .map_or(name.len(), |(at, _)| at);
      format!("{}… ({} bytes)", flat(&name[..end]), name.len())
    }
  }
}

/// The start of `name`, at most [`LONGEST_NAME`] bytes, for keys that group by name: enough
/// to tell names apart, bounded whatever the snapshot holds.
pub(super) fn key_part(name: &str) -> &str {
  let mut end = name.len().min(LONGEST_NAME);
  while !name.is_char_boundary(end) {
    end -= 1;
  }
  &name[..end]
}

#[cfg(test)]
mod tests {
  use super::cut;

  #[test]
  fn long_names_are_cut_with_their_length_and_short_ones_kept() {
    assert_eq!(cut("Quote", 80), "Quote");
    assert_eq!(cut("a\nb", 80), "a b");
    assert_eq!(cut(&"é".repeat(5), 4), "ééé… (10 bytes)");
    assert_eq!(cut(&"A".repeat(32 << 20), 5), "AAAA… (33554432 bytes)");
  }
}
