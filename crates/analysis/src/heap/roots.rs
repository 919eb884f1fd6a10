//! DevTools' roots: which of the root's children are the application's (user roots), where
//! the distance search starts and owned sizes apply.

use crate::graph::Graph;

/// A child of the root that the application holds (`global`), not one of V8's synthetic
/// roots; DevTools counts the DOM trees root among them.
pub(super) fn is_user_root(graph: &Graph, node: usize) -> bool {
  graph.node_type[node] != graph.types.synthetic || is_dom_trees_root(graph, node)
}

pub(super) fn is_dom_trees_root(graph: &Graph, node: usize) -> bool {
  graph.node_type[node] == graph.types.synthetic && graph.name(node) == "(Document DOM trees)"
}
