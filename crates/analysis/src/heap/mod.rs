//! What Chrome DevTools computes when it loads a snapshot, computed the same way so that the
//! figures match its Summary and Comparison views (front_end/entrypoints/heap_snapshot_worker/
//! HeapSnapshot.ts in chrome-devtools-frontend):
//!
//! - **Shallow sizes.** Arrays, hidden nodes and `system / ExternalStringData` owned by exactly
//!   one other object are added to that object's size and zeroed (`calculateShallowSizes`).
//! - **Class names.** `(system)` for hidden nodes, `(compiled code)`, `Function`, `RegExp`, the
//!   constructor name for objects, `(type)` for the rest (`calculateObjectNames`).
//! - **Retained sizes.** A dominator tree (DevTools' Lengauer–Tarjan search and semidominators,
//!   then SEMI-NCA in place of its buckets: the same tree, two arrays fewer) over the *essential*
//!   edges: not weak, not a self edge, shortcuts only from the root, no edge from an object not
//!   reachable from the root's shortcuts (the "page") into one that is, and of a WeakMap entry
//!   only the key's edge, not the table's (`computeIsEssentialEdge`).
//! - **Distances.** Breadth-first from the user roots (the root's non-synthetic children, such
//!   as `global`), then from the root at 100,000,000 for what only system roots reach
//!   (`calculateDistances`, with its filter for descriptor arrays and WeakMap entries).
//!
//! One file per rule: `owned` (shallow sizes), `classes`, `ephemerons` (WeakMap entries, which
//! both dominators and distances read), `dominators`, `distances`; `roots` and `rules` are what
//! several of them read. This module runs them in DevTools' order and keeps what an analysis
//! asks for ([`Keep`]); none of them imports it.

mod classes;
mod distances;
mod dominators;
mod ephemerons;
mod owned;
mod roots;
mod rules;

use std::borrow::Cow;

use crate::graph::Graph;

use classes::propagate_dom_state;
pub use classes::{apply_interfaces, infer_interfaces, Interfaces};
use distances::distances;
pub use distances::{Parents, BASE_SYSTEM_DISTANCE, NO_DISTANCE};
use dominators::{essential_edges, Numbering};
use ephemerons::Ephemerons;
use owned::attribute_owned_sizes;
pub use rules::Rules;

/// How far an analysis has come; shown as a progress bar by the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
  Sizes,
  Dominators,
  Distances,
}

pub struct Heap {
  pub graph: Graph,
  /// Immediate dominator of each node (the root is its own).
  pub dominator: Vec<u32>,
  pub retained: Vec<u64>,
  pub distance: Vec<i32>,
  /// Each node's parent on the shortest retaining path the distance search found; empty
  /// under [`Keep::Nodes`] and [`Keep::Distances`].
  pub parents: Parents,
}

/// What classes and shallow sizes need (all of DevTools' load steps but dominators and
/// distances): DOM state, owned sizes, and interface names from `interfaces` or, if None,
/// inferred from this snapshot.
pub fn prepare_classes(graph: &mut Graph, interfaces: Option<&Interfaces>) {
  prepare(graph, interfaces, Rules::DEVTOOLS);
}

fn prepare(graph: &mut Graph, interfaces: Option<&Interfaces>, rules: Rules) {
  propagate_dom_state(graph);
  if rules.attribute_owned_sizes {
    attribute_owned_sizes(graph);
  }
  match interfaces {
    Some(definitions) => apply_interfaces(graph, definitions),
    None => {
      let definitions = infer_interfaces(graph);
      apply_interfaces(graph, &definitions);
    }
  }
}

/// What an analysis reads of the graph once the heap is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
  /// Edges too, and the edge that first reached each node: for retaining paths.
  Everything,
  /// Nodes only: the edges are freed before the dominators are computed (summary). The peak
  /// memory is then about the file's size rather than 1.4 times it.
  Nodes,
  /// Nodes, edges and distances, and no dominator tree: `dominator`, `retained` and
  /// `parents` are empty. Shortest retaining paths (`path`) need no more.
  Distances,
  /// As [`Keep::Nodes`], and each node's parent on its shortest retaining path, recorded
  /// before the edges are freed (`leaks`).
  Parents,
}

impl Keep {
  /// Whether the edges go once the dominator search no longer needs them.
  fn frees_edges(self) -> bool {
    matches!(self, Keep::Nodes | Keep::Parents)
  }
}

impl Heap {
  /// Runs DevTools' load-time computations on `graph`.
  pub fn new(graph: Graph, progress: &mut dyn FnMut(Stage)) -> Heap {
    Heap::with_rules(graph, Rules::DEVTOOLS, Keep::Everything, progress)
  }

  pub fn with_rules(
    mut graph: Graph,
    rules: Rules,
    keep: Keep,
    progress: &mut dyn FnMut(Stage),
  ) -> Heap {
    progress(Stage::Sizes);
    prepare(&mut graph, None, rules);
    let mut ephemerons = Ephemerons::new(graph.strings.len());
    progress(Stage::Distances);
    let record_parents = matches!(keep, Keep::Everything | Keep::Parents);
    let (distance, parents) = distances(&graph, &mut ephemerons, record_parents);
    if keep == Keep::Distances {
      return Heap {
        graph,
        dominator: Vec::new(),
        retained: Vec::new(),
        distance,
        parents,
      };
    }
    progress(Stage::Dominators);
    let essential = essential_edges(&graph, &mut ephemerons, rules);
    drop(ephemerons);
    if keep.frees_edges() {
      graph.release_edge_labels();
    }
    let mut numbering = Numbering::new(&graph, &essential);
    let predecessors = numbering.predecessors(&mut graph, &essential);
    drop(essential);
    if keep.frees_edges() {
      graph.release_edges();
    }
    let (dominator, order) = numbering.dominators(predecessors);
    let mut retained: Vec<u64> = graph.self_size.iter().map(|&s| u64::from(s)).collect();
    for &node in order[2..].iter().rev() {
      retained[dominator[node as usize] as usize] += retained[node as usize];
    }
    Heap {
      graph,
      dominator,
      retained,
      distance,
      parents,
    }
  }

  /// A node's own name where it has one that says something (objects, functions, V8's
  /// internal and synthetic nodes), else its class (`(string)`, `(compiled code)`, …); a bound
  /// function is `bound <the function it binds>`.
  pub fn display_name(&self, node: usize) -> Cow<'_, str> {
    let g = &self.graph;
    let t = &g.types;
    let kind = g.node_type[node];
    let named = [
      t.object,
      t.closure,
      t.native,
      t.hidden,
      t.synthetic,
      t.array,
    ]
    .contains(&kind);
    if let Some(target) = g.bound_target(node) {
      return Cow::Owned(format!("bound {}", g.name(target)));
    }
    match g.name(node) {
      name if named && !name.is_empty() => Cow::Borrowed(name),
      _ => g.class_name(node),
    }
  }

  /// Whether a node is reachable from a user root (`global`) rather than only from the
  /// system roots.
  pub fn user_reachable(&self, node: usize) -> bool {
    let d = self.distance[node];
    (0..BASE_SYSTEM_DISTANCE).contains(&d)
  }
}
