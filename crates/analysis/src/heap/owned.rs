//! Owned sizes: what DevTools adds to an object's shallow size.

use super::roots::is_user_root;
use crate::graph::Graph;

/// DevTools' `calculateShallowSizes`: arrays, hidden nodes and external string data owned by
/// exactly one object (through non-weak edges, possibly via other owned nodes) count in that
/// object's shallow size instead of their own.
pub(super) fn attribute_owned_sizes(graph: &mut Graph) {
  if !graph
    .edges(0)
    .any(|e| is_user_root(graph, graph.edge_to[e] as usize))
  {
    return; // a snapshot with internals exposed: show the real allocations
  }
  const UNVISITED: u32 = u32::MAX;
  const SHARED: u32 = u32::MAX - 1;
  let n = graph.node_count();
  let types = &graph.types;
  let mut owner = vec![UNVISITED; n];
  let mut work: Vec<u32> = Vec::new();
  for (node, slot) in owner.iter_mut().enumerate() {
    let kind = graph.node_type[node];
    let owned = kind == types.hidden
      || kind == types.array
      || (kind == types.native
        && graph.strings.get(graph.node_name[node]) == "system / ExternalStringData");
    if !owned {
      *slot = node as u32;
      work.push(node as u32);
    }
  }
  while let Some(node) = work.pop() {
    let this_owner = owner[node as usize];
    for edge in graph.edges(node as usize) {
      if graph.edge_type[edge] == types.weak {
        continue;
      }
      let to = graph.edge_to[edge];
      let current = owner[to as usize];
      if current == UNVISITED {
        owner[to as usize] = this_owner;
        work.push(to);
      } else if current != to && current != this_owner && current != SHARED {
        owner[to as usize] = SHARED;
        work.push(to);
      }
    }
  }
  for (node, &by) in owner.iter().enumerate() {
    if by == UNVISITED || by == SHARED || by as usize == node {
      continue;
    }
    let by = by as usize;
    if by == 0 || graph.node_type[by] == types.synthetic {
      continue;
    }
    let size = graph.self_size[node];
    graph.self_size[node] = 0;
    graph.self_size[by] = graph.self_size[by].saturating_add(size);
  }
}

#[cfg(test)]
mod tests {
  use super::attribute_owned_sizes;
  use crate::testing::Snapshot;

  /// DevTools' `calculateShallowSizes` moves the size of an array, a hidden node or a
  /// `system / ExternalStringData` to the one object that owns it: the object it is reached
  /// from over strong edges, directly or through other owned nodes. A node two objects reach
  /// is shared and keeps its size; so does one owned by the root or a synthetic root, which
  /// are not objects anyone looks at. Weak edges own nothing.
  #[test]
  fn owned_arrays_hidden_nodes_and_string_data_count_in_their_one_owner() {
    let (mut s, global) = Snapshot::with_global(50);
    let [gc_roots, a, b, elements, hidden, shared, text, data, by_root, by_gc_roots] = s.nodes([
      ("synthetic", "(GC roots)", 0),
      ("object", "A", 20),
      ("object", "B", 30),
      ("array", "(object elements)", 16),
      ("hidden", "system / Foo", 4),
      ("array", "(shared)", 8),
      ("string", "text", 10),
      ("native", "system / ExternalStringData", 100),
      ("array", "(root-held)", 5),
      ("array", "(handles)", 7),
    ]);
    s.edges(&[
      (0, "element", "1", gc_roots),
      (0, "element", "2", by_root),
      (gc_roots, "element", "0", by_gc_roots),
      (global, "property", "a", a),
      (global, "property", "b", b),
      (global, "property", "s", text),
      (a, "internal", "elements", elements),
      (elements, "element", "0", hidden),
      (a, "property", "list", shared),
      (b, "property", "list", shared),
      (b, "weak", "w", elements),
      (text, "internal", "resource", data),
    ]);
    let mut g = s.graph();
    attribute_owned_sizes(&mut g);
    // A: its own 20, its elements' 16 and, through them, the hidden node's 4.
    assert_eq!(g.self_size[a], 20 + 16 + 4);
    assert_eq!((g.self_size[elements], g.self_size[hidden]), (0, 0));
    // Reached from A and B: shared, so counted on its own. B's weak edge owns nothing.
    assert_eq!((g.self_size[shared], g.self_size[b]), (8, 30));
    // A string owns the external data behind it.
    assert_eq!((g.self_size[text], g.self_size[data]), (110, 0));
    // Held by the root or a synthetic root: kept.
    assert_eq!((g.self_size[by_root], g.self_size[by_gc_roots]), (5, 7));
    assert_eq!(g.self_size[global], 50);
  }

  /// With no user root (the root reaches only synthetic nodes, as in a snapshot with V8's
  /// internals exposed), DevTools shows the real allocations: nothing moves.
  #[test]
  fn without_a_user_root_no_size_moves() {
    let mut s = Snapshot::new();
    let [gc_roots, object, elements] = s.nodes([
      ("synthetic", "(GC roots)", 0),
      ("object", "X", 10),
      ("array", "(object elements)", 6),
    ]);
    s.edges(&[
      (0, "element", "1", gc_roots),
      (gc_roots, "element", "0", object),
      (object, "internal", "elements", elements),
    ]);
    let mut g = s.graph();
    attribute_owned_sizes(&mut g);
    assert_eq!((g.self_size[object], g.self_size[elements]), (10, 6));
  }
}
