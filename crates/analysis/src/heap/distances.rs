//! Distances from the GC roots (DevTools' `calculateDistances`), and the edge each node was first
//! reached by: a shortest retaining path.

use super::ephemerons::Ephemerons;
use super::roots::is_user_root;
use crate::graph::Graph;

/// Distance DevTools gives nodes reached only through system roots.
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;
/// Distance of nodes no root reaches.
pub const NO_DISTANCE: i32 = -5;
const NONE: u32 = u32::MAX;

/// The edge by which the breadth-first search for distances first reached each node, by node:
/// its source, type and name, which outlive the edges (`Keep::Parents`).
#[derive(Default)]
pub struct Parents {
  /// The source node, or `u32::MAX` for the root and nodes not reached.
  pub from: Vec<u32>,
  pub edge_type: Vec<u8>,
  pub edge_name: Vec<u32>,
}

impl Parents {
  pub(super) fn new(n: usize) -> Parents {
    Parents {
      from: vec![NONE; n],
      edge_type: vec![0; n],
      edge_name: vec![0; n],
    }
  }

  /// Records that `edge` of `graph`, out of `from`, reached `to` first (when parents are kept).
  fn set(&mut self, graph: &Graph, to: usize, from: usize, edge: usize) {
    if let Some(slot) = self.from.get_mut(to) {
      *slot = from as u32;
      self.edge_type[to] = graph.edge_type[edge];
      self.edge_name[to] = graph.edge_name[edge];
    }
  }

  /// The parent of `node`: its source and the edge's label, as `Graph::label` reads them.
  pub fn of(&self, node: usize) -> Option<(usize, u8, u32)> {
    let from = *self.from.get(node)?;
    (from != NONE).then(|| (from as usize, self.edge_type[node], self.edge_name[node]))
  }
}

/// Whether DevTools' distance search follows `edge` out of `node` (weak edges aside).
fn distance_edge(graph: &Graph, node: usize, edge: usize) -> bool {
  let t = &graph.types;
  let kind = graph.node_type[node];
  if kind == t.hidden
    && graph.edge_string(edge) == Some("sloppy_function_map")
    && graph.name(node) == "system / NativeContext"
  {
    return false;
  }
  if kind == t.array && graph.name(node) == "(map descriptors)" {
    // Descriptor arrays shared between maps: DevTools skips the descriptor links. It reads
    // the index with parseInt, so a name with no leading digits keeps its edge.
    let index = match graph.edge_string(edge) {
      Some(name) => {
        let digits = name.bytes().take_while(u8::is_ascii_digit).count();
        name[..digits].parse::<u64>().ok()
      }
      None => Some(u64::from(graph.edge_name[edge])),
    };
    return index.is_none_or(|index| index < 2 || index % 3 != 1);
  }
  true
}

/// DevTools' `calculateDistances` for the Summary view, plus (if `record_parents`) the edge each node
/// was first reached by: a shortest retaining path.
pub(super) fn distances(
  graph: &Graph,
  ephemerons: &mut Ephemerons,
  record_parents: bool,
) -> (Vec<i32>, Parents) {
  let n = graph.node_count();
  let mut distance = vec![NO_DISTANCE; n];
  let mut parents = if record_parents {
    Parents::new(n)
  } else {
    Parents::default()
  };
  let mut queue: Vec<u32> = Vec::with_capacity(n);
  // One half of each WeakMap entry is skipped: the first one the search meets.
  let mut pending = vec![false; ephemerons.entries.len()];
  let mut bfs = |queue: &mut Vec<u32>,
                 start: usize,
                 distance: &mut [i32],
                 parents: &mut Parents,
                 pending: &mut Vec<bool>| {
    let mut index = start;
    while index < queue.len() {
      let node = queue[index] as usize;
      index += 1;
      let next = distance[node] + 1;
      for edge in graph.edges(node) {
        if graph.edge_type[edge] == graph.types.weak {
          continue;
        }
        let to = graph.edge_to[edge] as usize;
        if distance[to] != NO_DISTANCE {
          continue;
        }
        if !distance_edge(graph, node, edge) {
          continue;
        }
        if let Some(entry) = ephemerons.of(graph, edge) {
          let e = entry.entry as usize;
          if e >= pending.len() {
            pending.resize(e + 1, false);
          }
          if !pending[e] {
            pending[e] = true;
            continue;
          }
          pending[e] = false;
        }
        distance[to] = next;
        parents.set(graph, to, node, edge);
        queue.push(to as u32);
      }
    }
  };
  for edge in graph.edges(0) {
    let to = graph.edge_to[edge] as usize;
    if is_user_root(graph, to) {
      distance[to] = 1;
      parents.set(graph, to, 0, edge);
      queue.push(to as u32);
    }
  }
  let user_roots = queue.len();
  bfs(&mut queue, 0, &mut distance, &mut parents, &mut pending);
  distance[0] = if user_roots > 0 {
    BASE_SYSTEM_DISTANCE
  } else {
    0
  };
  let start = queue.len();
  queue.push(0);
  bfs(&mut queue, start, &mut distance, &mut parents, &mut pending);
  (distance, parents)
}

#[cfg(test)]
mod tests {
  use crate::heap::{BASE_SYSTEM_DISTANCE, NO_DISTANCE};
  use crate::testing::Snapshot;

  /// DevTools' `calculateDistances`: breadth-first from the user roots (the root's children
  /// that are not synthetic, such as `global`) at 1, over edges that are not weak; then from
  /// the root at 100,000,000, so that what only the GC roots hold sorts after everything the
  /// application holds; never reached: -5. The search does not follow a descriptor array's
  /// descriptor links (`(map descriptors)`, element index ≥ 2 with index % 3 == 1, the index
  /// read with parseInt so a name with no leading digit keeps its edge), nor a native
  /// context's `sloppy_function_map`.
  #[test]
  fn distances_start_at_the_user_roots_and_skip_devtools_filtered_edges() {
    let (mut s, global) = Snapshot::with_global(0);
    let [gc_roots, a, b, weakly_held, system, map, descriptors] = s.nodes([
      ("synthetic", "(GC roots)", 0),
      ("object", "A", 1),
      ("object", "B", 1),
      ("object", "W", 1),
      ("object", "Sys", 1),
      ("hidden", "system / Map", 1),
      ("array", "(map descriptors)", 1),
    ]);
    let [at_1, at_4, at_5, named_7, named_abc] =
      ["one", "four", "five", "seven", "abc"].map(|name| s.node("object", name, 1));
    let [context, sloppy, other] = s.nodes([
      ("hidden", "system / NativeContext", 1),
      ("hidden", "system / Map", 1),
      ("object", "Other", 1),
    ]);
    s.edges(&[
      (0, "element", "1", gc_roots),
      (global, "property", "a", a),
      (a, "property", "b", b),
      (global, "weak", "w", weakly_held),
      (gc_roots, "element", "0", system),
      // A path to A through a GC root changes nothing: the user roots come first.
      (gc_roots, "element", "1", a),
      (global, "property", "map", map),
      (map, "internal", "descriptors", descriptors),
      (descriptors, "element", "1", at_1),
      (descriptors, "element", "4", at_4),
      (descriptors, "element", "5", at_5),
      (descriptors, "internal", "7abc", named_7),
      (descriptors, "internal", "abc", named_abc),
      (global, "internal", "native_context", context),
      (context, "internal", "sloppy_function_map", sloppy),
      (context, "internal", "other", other),
    ]);
    let heap = s.heap();
    let distance = |node: usize| heap.distance[node];
    assert_eq!([global, a, b].map(distance), [1, 2, 3]);
    assert_eq!(distance(0), BASE_SYSTEM_DISTANCE);
    assert_eq!(distance(gc_roots), BASE_SYSTEM_DISTANCE + 1);
    assert_eq!(distance(system), BASE_SYSTEM_DISTANCE + 2);
    assert_eq!(distance(weakly_held), NO_DISTANCE);
    assert_eq!([map, descriptors].map(distance), [2, 3]);
    assert_eq!([at_1, at_5, named_abc].map(distance), [4, 4, 4]);
    assert_eq!([at_4, named_7].map(distance), [NO_DISTANCE, NO_DISTANCE]);
    assert_eq!([context, other, sloppy].map(distance), [2, 3, NO_DISTANCE]);
    assert!(heap.user_reachable(b) && !heap.user_reachable(system));
  }

  /// A snapshot whose root reaches only synthetic nodes has no user roots: the search starts
  /// at the root itself, at 0.
  #[test]
  fn without_user_roots_the_root_is_at_zero() {
    let mut s = Snapshot::new();
    let [gc_roots, object] = s.nodes([("synthetic", "(GC roots)", 0), ("object", "X", 1)]);
    s.edges(&[
      (0, "element", "1", gc_roots),
      (gc_roots, "element", "0", object),
    ]);
    let heap = s.heap();
    assert_eq!([0, gc_roots, object].map(|n| heap.distance[n]), [0, 1, 2]);
  }
}
