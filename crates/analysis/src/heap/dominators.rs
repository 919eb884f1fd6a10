//! The dominator tree, from which retained sizes follow: which edges count (DevTools'
//! `computeIsEssentialEdge`), and the tree itself, numbered depth-first as DevTools numbers it.
//! The tests keep DevTools' own Lengauer–Tarjan as the reference the SEMI-NCA here must equal.

use super::ephemerons::Ephemerons;
use super::{is_dom_trees_root, Rules};
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
mod tests {
  use super::{is_set, Numbering};
  use crate::graph::Graph;

  /// A graph of `n` nodes from (from, to) pairs, every edge essential unless `cut` says not.
  fn graph_of(n: usize, edges: &[(usize, usize)], cut: &[bool]) -> (Graph, Vec<u64>) {
    let mut sorted: Vec<(usize, usize)> = edges.to_vec();
    sorted.sort_by_key(|e| e.0);
    let mut first_edge = vec![0u32; n + 1];
    for &(from, _) in &sorted {
      first_edge[from + 1] += 1;
    }
    for i in 1..=n {
      first_edge[i] += first_edge[i - 1];
    }
    let g = Graph {
      first_edge,
      edge_to: sorted.iter().map(|e| e.1 as u32).collect(),
      edges: sorted.len(),
      node_type: vec![0; n],
      ..Graph::default()
    };
    let mut essential = vec![0u64; edges.len().div_ceil(64)];
    for edge in 0..edges.len() {
      if !cut[edge] {
        essential[edge / 64] |= 1 << (edge % 64);
      }
    }
    (g, essential)
  }

  /// The old way, and DevTools' (`calculateDominatorsAndRetainedSizes`): Lengauer–Tarjan with
  /// buckets on vertex numbers `ordinal + 1`. Kept to show SEMI-NCA gives the same answers.
  fn devtools_lengauer_tarjan(graph: &Graph, essential: &[u64]) -> (Vec<u32>, Vec<u32>) {
    let n_nodes = graph.node_count();
    let len = n_nodes + 1;
    // Predecessors over essential edges, by target.
    let mut first_pred = vec![0u32; len + 1];
    for edge in 0..graph.edge_count() {
      if is_set(essential, edge) {
        first_pred[graph.edge_to[edge] as usize + 1] += 1;
      }
    }
    for i in 1..first_pred.len() {
      first_pred[i] += first_pred[i - 1];
    }
    let mut preds = vec![0u32; first_pred[len - 1] as usize];
    {
      let mut fill = first_pred.clone();
      for node in 0..n_nodes {
        for edge in graph.edges(node) {
          if is_set(essential, edge) {
            let to = graph.edge_to[edge] as usize;
            preds[fill[to] as usize] = node as u32;
            fill[to] += 1;
          }
        }
      }
    }
    let preds_of =
      |ordinal: usize| &preds[first_pred[ordinal] as usize..first_pred[ordinal + 1] as usize];

    // 1-based vertex numbers: v = ordinal + 1; 0 means "none".
    let mut parent = vec![0u32; len];
    let mut ancestor = vec![0u32; len];
    let mut vertex = vec![0u32; len];
    let mut label = vec![0u32; len];
    let mut semi = vec![0u32; len];
    let mut next_edge = vec![0u32; len]; // during DFS: the next edge to look at, by ordinal
    let mut n = 0u32;

    let mut dfs = |root: u32,
                   parent: &mut [u32],
                   semi: &mut [u32],
                   vertex: &mut [u32],
                   label: &mut [u32],
                   n: &mut u32| {
      next_edge[root as usize - 1] = graph.first_edge[root as usize - 1];
      let mut v = root;
      while v != 0 {
        if semi[v as usize] == 0 {
          *n += 1;
          semi[v as usize] = *n;
          vertex[*n as usize] = v;
          label[v as usize] = v;
        }
        let mut v_next = parent[v as usize];
        let ordinal = v as usize - 1;
        let end = graph.first_edge[ordinal + 1];
        while next_edge[ordinal] < end {
          let edge = next_edge[ordinal] as usize;
          next_edge[ordinal] += 1;
          if !is_set(essential, edge) {
            continue;
          }
          let w_ordinal = graph.edge_to[edge] as usize;
          let w = w_ordinal as u32 + 1;
          if semi[w as usize] == 0 {
            parent[w as usize] = v;
            next_edge[w_ordinal] = graph.first_edge[w_ordinal];
            v_next = w;
            // DevTools leaves the cursor on this edge and skips it next time round, as its
            // target is numbered by then: advancing past it now is the same.
            break;
          }
        }
        v = v_next;
      }
    };

    let r = 1u32; // the root is node 0
    dfs(r, &mut parent, &mut semi, &mut vertex, &mut label, &mut n);
    if (n as usize) < n_nodes {
      for v in 1..=n_nodes as u32 {
        if semi[v as usize] == 0 && preds_of(v as usize - 1).is_empty() {
          parent[v as usize] = r;
          dfs(v, &mut parent, &mut semi, &mut vertex, &mut label, &mut n);
        }
      }
    }
    if (n as usize) < n_nodes {
      for v in 1..=n_nodes as u32 {
        if semi[v as usize] == 0 {
          parent[v as usize] = r;
          n += 1;
          semi[v as usize] = n;
          vertex[n as usize] = v;
          label[v as usize] = v;
        }
      }
    }

    // Buckets as linked lists: bucket_head by vertex, bucket_next by member.
    let mut bucket_head = vec![0u32; len];
    let mut bucket_next = next_edge;
    bucket_next.fill(0);
    let mut stack: Vec<u32> = Vec::new();
    let mut eval = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
      if ancestor[v as usize] == 0 {
        return v;
      }
      // compress
      let mut x = v;
      while ancestor[ancestor[x as usize] as usize] != 0 {
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

    // `dom` shares `parent`'s storage: dom[v] is written only once v's parent is no longer read.
    let mut dom = parent;
    for i in (2..=n as usize).rev() {
      let w = vertex[i];
      let wu = w as usize;
      let pw = dom[wu]; // still parent[w]
      let preds_w = preds_of(wu - 1);
      if preds_w.is_empty() {
        semi[wu] = semi[r as usize];
      }
      for &v_ordinal in preds_w {
        let u = eval(v_ordinal + 1, &mut ancestor, &mut label, &semi);
        if semi[u as usize] < semi[wu] {
          semi[wu] = semi[u as usize];
        }
      }
      let b = vertex[semi[wu] as usize] as usize;
      bucket_next[wu] = bucket_head[b];
      bucket_head[b] = w;
      ancestor[wu] = pw; // link
      let mut v = bucket_head[pw as usize];
      bucket_head[pw as usize] = 0;
      while v != 0 {
        let next = bucket_next[v as usize];
        let u = eval(v, &mut ancestor, &mut label, &semi);
        dom[v as usize] = if semi[u as usize] < semi[v as usize] {
          u
        } else {
          pw
        };
        v = next;
      }
    }
    dom[0] = r;
    dom[r as usize] = r;
    for i in 2..=n as usize {
      let w = vertex[i] as usize;
      if dom[w] != vertex[semi[w] as usize] {
        dom[w] = dom[dom[w] as usize];
      }
    }
    // To ordinals.
    let dominator: Vec<u32> = (0..n_nodes).map(|o| dom[o + 1] - 1).collect();
    vertex.truncate(n as usize + 1);
    (dominator, vertex)
  }

  /// Lengauer–Tarjan with buckets and SEMI-NCA agree on every node of random graphs, those no
  /// search reaches included; and on the nodes the root reaches, each dominator chain is exactly
  /// the set of nodes whose removal cuts the node off from the root.
  #[test]
  fn semi_nca_equals_devtools_lengauer_tarjan() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |below: usize| {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      (seed % below as u64) as usize
    };
    for case in 0..3000 {
      let n = 1 + next(24);
      let m = next(3 * n + 1);
      let edges: Vec<(usize, usize)> = (0..m).map(|_| (next(n), next(n))).collect();
      let cut: Vec<bool> = (0..m).map(|_| next(5) == 0).collect();
      let (mut g, essential) = graph_of(n, &edges, &cut);
      let (want, want_order) = devtools_lengauer_tarjan(&g, &essential);
      let mut numbering = Numbering::new(&g, &essential);
      let predecessors = numbering.predecessors(&mut g, &essential);
      let (got, order) = numbering.dominators(predecessors);
      assert_eq!(
        got, want,
        "case {case}: {n} nodes, edges {edges:?}, cut {cut:?}"
      );
      let want_order: Vec<u32> = want_order[1..].iter().map(|v| v - 1).collect();
      assert_eq!(order[1..], want_order[..], "case {case}: search order");
      assert_eq!(
        g.edge_to,
        edges_sorted(&edges),
        "case {case}: edge_to restored"
      );

      // DevTools treats each node no essential edge reaches as a child of the root.
      let mut has_pred = vec![false; n];
      for edge in 0..m {
        has_pred[g.edge_to[edge] as usize] |= is_set(&essential, edge);
      }
      let reach = |without: usize| {
        let mut seen = vec![false; n];
        let mut stack = vec![0usize];
        seen[0] = without != 0;
        while let Some(node) = stack.pop() {
          if node == without {
            continue;
          }
          let children = g.edges(node).filter(|&e| is_set(&essential, e));
          let mut children: Vec<usize> = children.map(|e| g.edge_to[e] as usize).collect();
          if node == 0 {
            children.extend((1..n).filter(|&v| !has_pred[v]));
          }
          for to in children {
            if !seen[to] && to != without {
              seen[to] = true;
              stack.push(to);
            }
          }
        }
        seen
      };
      let reached = reach(usize::MAX);
      for w in (1..n).filter(|&w| reached[w]) {
        let mut chain = Vec::new();
        let mut d = got[w] as usize;
        while d != 0 {
          chain.push(d);
          d = got[d] as usize;
        }
        chain.push(0);
        let cuts: Vec<usize> = (0..n).filter(|&d| d != w && !reach(d)[w]).collect();
        chain.sort_unstable();
        assert_eq!(chain, cuts, "case {case}: dominators of {w}");
      }
    }
  }

  fn edges_sorted(edges: &[(usize, usize)]) -> Vec<u32> {
    let mut sorted = edges.to_vec();
    sorted.sort_by_key(|e| e.0);
    sorted.iter().map(|e| e.1 as u32).collect()
  }
}
