//! Owned sizes: what DevTools adds to an object's shallow size.

use super::is_user_root;
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
