//! The dominator tree, from which retained sizes follow: which edges count (DevTools'
//! `computeIsEssentialEdge`), and the tree itself, numbered depth-first as DevTools numbers it.
//! The tests keep DevTools' own Lengauer–Tarjan as the reference the SEMI-NCA here must equal.

use super::ephemerons::Ephemerons;
use super::roots::is_dom_trees_root;
use super::rules::Rules;
use crate::graph::Graph;

/// Nodes reachable over non-weak edges from the root's shortcut edges: DevTools' "page objects"
/// (in Node.js, what the `global` object reaches); or, for memlab, from the root's other edges.
fn page_objects(graph: &Graph, from_shortcuts: bool) -> Vec<bool> {
  let mut page = vec![false; graph.node_count()];
  let mut stack = Vec::new();
  for edge in graph.edges(0) {
    let to = graph.edge_to[edge] as usize;
    let kind = graph.edge_type[edge];
    let dom_trees = kind == graph.types.element && is_dom_trees_root(graph, to);
    let entry = if from_shortcuts {
      kind == graph.types.shortcut || dom_trees
    } else {
      kind != graph.types.shortcut && !dom_trees
    };
    if entry && !page[to] {
      page[to] = true;
      stack.push(to as u32);
    }
  }
  while let Some(node) = stack.pop() {
    for edge in graph.edges(node as usize) {
      let to = graph.edge_to[edge] as usize;
      if !page[to] && graph.edge_type[edge] != graph.types.weak {
        page[to] = true;
        stack.push(to as u32);
      }
    }
  }
  page
}

/// One bit per edge: does it count for dominators?
pub(super) fn essential_edges(
  graph: &Graph,
  ephemerons: &mut Ephemerons,
  rules: Rules,
) -> Vec<u64> {
  let page = page_objects(graph, rules.page_from_shortcuts);
  let types = &graph.types;
  let mut bits = vec![0u64; graph.edge_count().div_ceil(64)];
  for node in 0..graph.node_count() {
    for edge in graph.edges(node) {
      let kind = graph.edge_type[edge];
      if kind == types.weak {
        continue;
      }
      if rules.skip_weakmap_table_edges {
        if let Some(entry) = ephemerons.of(graph, edge) {
          if entry.table_id == graph.node_id[node] {
            continue;
          }
        }
      }
      let to = graph.edge_to[edge] as usize;
      if to == node {
        continue;
      }
      if node != 0 && (kind == types.shortcut || (page[to] && !page[node])) {
        continue;
      }
      bits[edge / 64] |= 1 << (edge % 64);
    }
  }
  bits
}

fn is_set(bits: &[u64], edge: usize) -> bool {
  bits[edge / 64] & (1 << (edge % 64)) != 0
}

/// The nodes numbered depth-first over essential edges, 1-based as in Lengauer and Tarjan's
/// paper, in the order DevTools' `calculateDominatorsAndRetainedSizes` numbers them. The
/// dominator computation works on these numbers alone, so that the graph's edges can be freed
/// before it runs.
pub(super) struct Numbering {
  /// `vertex[i]`: the ordinal of the node numbered `i` (`vertex[0]` is unused).
  vertex: Vec<u32>,
  /// `parent[i]`: the number of the node the search reached node `i` from.
  parent: Vec<u32>,
  /// `number[ordinal]`: the node's number.
  number: Vec<u32>,
}

/// Essential predecessors by node number: those of `i` are `preds[first[i]..first[i + 1]]`.
pub(super) struct Predecessors {
  first: Vec<u32>,
  preds: Vec<u32>,
}

impl Predecessors {
  fn of(&self, number: usize) -> &[u32] {
    &self.preds[self.first[number] as usize..self.first[number + 1] as usize]
  }
}

impl Numbering {
  /// DevTools' search, step for step: from the root; then, in ordinal order, from each node
  /// no essential edge reaches, as a child of the root; then the nodes still unnumbered (cycles
  /// nothing else reaches) one by one, as children of the root without a search.
  pub(super) fn new(graph: &Graph, essential: &[u64]) -> Numbering {
    let n = graph.node_count();
    let mut has_pred = vec![0u64; n.div_ceil(64)];
    for (edge, &to) in graph.edge_to.iter().enumerate() {
      if is_set(essential, edge) {
        has_pred[to as usize / 64] |= 1 << (to % 64);
      }
    }
    let mut numbering = Numbering {
      vertex: vec![0; n + 1],
      parent: vec![0; n + 1],
      number: vec![0; n],
    };
    let mut count = 0u32;
    let mut next_edge = vec![0u32; n]; // the next edge of each node the search looks at
    let mut search = |start: usize, numbering: &mut Numbering, count: &mut u32| {
      next_edge[start] = graph.first_edge[start];
      let mut node = start;
      loop {
        let end = graph.first_edge[node + 1];
        let mut deeper = None;
        while next_edge[node] < end {
          let edge = next_edge[node] as usize;
          next_edge[node] += 1;
          let to = graph.edge_to[edge] as usize;
          if is_set(essential, edge) && numbering.number[to] == 0 {
            deeper = Some(to);
            break;
          }
        }
        match deeper {
          Some(to) => {
            numbering.enter(count, to, numbering.number[node]);
            next_edge[to] = graph.first_edge[to];
            node = to;
          }
          None if node == start => break,
          None => {
            let parent = numbering.parent[numbering.number[node] as usize];
            node = numbering.vertex[parent as usize] as usize;
          }
        }
      }
    };
    numbering.enter(&mut count, 0, 0);
    search(0, &mut numbering, &mut count);
    for node in 0..n {
      if numbering.number[node] == 0 && has_pred[node / 64] & (1 << (node % 64)) == 0 {
        numbering.enter(&mut count, node, 1);
        search(node, &mut numbering, &mut count);
      }
    }
    drop(next_edge);
    for node in 0..n {
      if numbering.number[node] == 0 {
        numbering.enter(&mut count, node, 1);
      }
    }
    numbering
  }

  /// Numbers `node` next, as reached from the node numbered `from`.
  fn enter(&mut self, count: &mut u32, node: usize, from: u32) {
    *count += 1;
    self.number[node] = *count;
    self.vertex[*count as usize] = node as u32;
    self.parent[*count as usize] = from;
  }

  /// The essential predecessors of every node, by number. Meanwhile `edge_to` holds node
  /// numbers instead of ordinals, so that `number` is freed before the lists are allocated
  /// (this is the analysis' peak); it holds ordinals again on return.
  pub(super) fn predecessors(&mut self, graph: &mut Graph, essential: &[u64]) -> Predecessors {
    let number = std::mem::take(&mut self.number);
    for to in graph.edge_to.iter_mut() {
      *to = number[*to as usize];
    }
    drop(number);
    let n = self.vertex.len() - 1;
    // Counted at i + 1, summed to starts, filled by moving each start up to its end, moved back.
    let mut first = vec![0u32; n + 2];
    for (edge, &to) in graph.edge_to.iter().enumerate() {
      if is_set(essential, edge) {
        first[to as usize + 1] += 1;
      }
    }
    for i in 1..first.len() {
      first[i] += first[i - 1];
    }
    let mut preds = vec![0u32; first[n + 1] as usize];
    for i in 1..=n {
      for edge in graph.edges(self.vertex[i] as usize) {
        if is_set(essential, edge) {
          let slot = &mut first[graph.edge_to[edge] as usize];
          preds[*slot as usize] = i as u32;
          *slot += 1;
        }
      }
    }
    for i in (1..=n).rev() {
      first[i] = first[i - 1];
    }
    first[0] = 0;
    for to in graph.edge_to.iter_mut() {
      *to = self.vertex[*to as usize];
    }
    Predecessors { first, preds }
  }

  /// Immediate dominators, on node numbers, by the semidominators of DevTools' Lengauer–Tarjan
  /// and then, instead of its buckets, nearest common ancestors (SEMI-NCA: Georgiadis, "Linear-
  /// Time Algorithms for Dominators and Related Problems", 2005, as LLVM computes dominators).
  /// Two arrays fewer; the same dominators, also for the nodes the search did not reach: those
  /// numbered without a search have only each other as predecessors, so both methods give them
  /// the root. Returns each node's dominator by ordinal (the root is its own) and the ordinals
  /// in search order (`[0]` unused).
  pub(super) fn dominators(self, predecessors: Predecessors) -> (Vec<u32>, Vec<u32>) {
    let Numbering { vertex, parent, .. } = self;
    let n = vertex.len() - 1;
    let root = 1usize;
    let mut semi: Vec<u32> = (0..=n as u32).collect();
    let mut label = semi.clone();
    // The search tree, linked from the bottom up as vertices are processed: those numbered
    // `linked` or more hang from their parents here, shortcut by path compression.
    let mut ancestor = parent.clone();
    let mut stack: Vec<u32> = Vec::new();
    // The vertex of least semidominator on the path from `v` up to its tree's unlinked root.
    let mut eval = |v: u32, linked: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| {
      if v < linked {
        return v;
      }
      let mut x = v;
      while ancestor[x as usize] >= linked {
        stack.push(x);
        x = ancestor[x as usize];
      }
      while let Some(w) = stack.pop() {
        let a = ancestor[w as usize] as usize;
        if semi[label[a] as usize] < semi[label[w as usize] as usize] {
          label[w as usize] = label[a];
        }
        ancestor[w as usize] = ancestor[a];
      }
      label[v as usize]
    };
    for w in (2..=n).rev() {
      let preds = predecessors.of(w);
      if preds.is_empty() {
        semi[w] = semi[root];
      }
      for &v in preds {
        let u = eval(v, w as u32 + 1, &mut ancestor, &mut label, &semi);
        if semi[u as usize] < semi[w] {
          semi[w] = semi[u as usize];
        }
      }
    }
    drop((predecessors, label, ancestor));
    // idom(w) is the nearest common ancestor of parent(w) and semi(w) in the dominator tree of
    // the vertices before w: up from the parent to the first vertex not after semi(w).
    let mut dom = parent;
    dom[root] = root as u32;
    for w in 2..=n {
      let mut d = dom[w];
      while d > semi[w] {
        d = dom[d as usize];
      }
      dom[w] = d;
    }
    drop(semi);
    let mut dominator = vec![0u32; n];
    for i in 1..=n {
      dominator[vertex[i] as usize] = vertex[dom[i] as usize];
    }
    (dominator, vertex)
  }
}

#[cfg(test)]
mod tests;
