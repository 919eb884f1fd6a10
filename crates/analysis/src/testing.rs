//! Small heap graphs written by hand, for the unit tests of the rules `heap` ports from
//! DevTools: a builder that writes them the way V8 writes a `.heapsnapshot` (Node 20's seven
//! node fields, `detachedness` included) and loads them with the real loader, so a test's
//! graph is exactly what a snapshot with those nodes and edges would give.

use crate::graph::{self, Graph};
use crate::heap::Heap;

/// V8's node and edge types, in V8's order.
const NODE_TYPES: [&str; 15] = [
  "hidden",
  "array",
  "string",
  "object",
  "code",
  "closure",
  "regexp",
  "number",
  "native",
  "synthetic",
  "concatenated string",
  "sliced string",
  "symbol",
  "bigint",
  "object shape",
];
const EDGE_TYPES: [&str; 7] = [
  "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];

struct Node {
  kind: &'static str,
  name: String,
  size: u32,
  detachedness: u8,
  edges: Vec<(&'static str, String, usize)>,
}

/// A snapshot under construction. Node 0 is the synthetic root, as in every V8 snapshot; node
/// `n` gets id `2n + 1` (V8 gives heap objects odd ids).
pub(crate) struct Snapshot {
  nodes: Vec<Node>,
}

impl Snapshot {
  pub(crate) fn new() -> Snapshot {
    let mut snapshot = Snapshot { nodes: Vec::new() };
    snapshot.node("synthetic", "", 0);
    snapshot
  }

  /// Adds a node of V8 type `kind`; returns its ordinal.
  pub(crate) fn node(&mut self, kind: &'static str, name: &str, size: u32) -> usize {
    assert!(NODE_TYPES.contains(&kind), "no node type {kind}");
    self.nodes.push(Node {
      kind,
      name: name.to_string(),
      size,
      detachedness: 0,
      edges: Vec::new(),
    });
    self.nodes.len() - 1
  }

  /// Adds nodes as [`Snapshot::node`] does, one `(kind, name, size)` each; their ordinals.
  pub(crate) fn nodes<const N: usize>(
    &mut self,
    nodes: [(&'static str, &str, u32); N],
  ) -> [usize; N] {
    nodes.map(|(kind, name, size)| self.node(kind, name, size))
  }

  /// A snapshot whose root holds `global` (an object of `size`) by a shortcut edge, as in
  /// Node: the user root, and where DevTools' "page" begins. Returns it with `global`.
  pub(crate) fn with_global(size: u32) -> (Snapshot, usize) {
    let mut snapshot = Snapshot::new();
    let global = snapshot.node("object", "global", size);
    snapshot.edge(0, "shortcut", "global", global);
    (snapshot, global)
  }

  /// Adds edges as [`Snapshot::edge`] does, one `(from, kind, name, to)` each.
  pub(crate) fn edges(&mut self, edges: &[(usize, &'static str, &str, usize)]) {
    for &(from, kind, name, to) in edges {
      self.edge(from, kind, name, to);
    }
  }

  /// Adds an edge of V8 type `kind`; `name` is a number for element and hidden edges.
  pub(crate) fn edge(&mut self, from: usize, kind: &'static str, name: &str, to: usize) {
    assert!(EDGE_TYPES.contains(&kind), "no edge type {kind}");
    assert!(
      to < self.nodes.len(),
      "edge to node {to}, which is not there yet"
    );
    self.nodes[from].edges.push((kind, name.to_string(), to));
  }

  /// Sets a node's DOM state as V8 writes it: 1 attached, 2 detached.
  pub(crate) fn detachedness(&mut self, node: usize, state: u8) {
    self.nodes[node].detachedness = state;
  }

  pub(crate) fn id(node: usize) -> u32 {
    2 * node as u32 + 1
  }

  /// The snapshot as V8 writes it.
  pub(crate) fn json(&self) -> String {
    let mut strings: Vec<String> = Vec::new();
    let mut string = |text: &str| match strings.iter().position(|s| s == text) {
      Some(index) => index,
      None => {
        strings.push(text.to_string());
        strings.len() - 1
      }
    };
    let position = |names: &[&str], name: &str| names.iter().position(|n| *n == name).unwrap();
    let (mut nodes, mut edges) = (Vec::new(), Vec::new());
    for (ordinal, node) in self.nodes.iter().enumerate() {
      nodes.extend([
        position(&NODE_TYPES, node.kind),
        string(&node.name),
        Snapshot::id(ordinal) as usize,
        node.size as usize,
        node.edges.len(),
        0,
        node.detachedness as usize,
      ]);
      for (kind, name, to) in &node.edges {
        let name = if matches!(*kind, "element" | "hidden") {
          name
            .parse()
            .expect("element and hidden edges are named by a number")
        } else {
          string(name)
        };
        edges.extend([position(&EDGE_TYPES, kind), name, to * 7]);
      }
    }
    let list = |values: &[usize]| {
      let text: Vec<String> = values.iter().map(usize::to_string).collect();
      text.join(",")
    };
    let meta = serde_json::json!({
      "node_fields": ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"],
      "node_types": [NODE_TYPES, "string", "number", "number", "number", "number", "number"],
      "edge_fields": ["type", "name_or_index", "to_node"],
      "edge_types": [EDGE_TYPES, "string_or_number", "node"],
    });
    format!(
      "{{\"snapshot\":{{\"meta\":{meta},\"node_count\":{},\"edge_count\":{}}},\n\"nodes\":[{}],\n\"edges\":[{}],\n\"strings\":{}}}\n",
      self.nodes.len(),
      edges.len() / 3,
      list(&nodes),
      list(&edges),
      serde_json::to_string(&strings).unwrap()
    )
  }

  /// The heap [`Heap::new`] makes of [`Snapshot::graph`]: DevTools' rules applied.
  pub(crate) fn heap(&self) -> Heap {
    Heap::new(self.graph(), &mut |_| {})
  }

  /// The graph the loader makes of [`Snapshot::json`].
  pub(crate) fn graph(&self) -> Graph {
    let json = self.json();
    graph::load(json.as_bytes(), json.len() as u64).expect("a hand-built snapshot loads")
  }
}
