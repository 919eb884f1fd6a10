//! The dominator tree's tests: DevTools' rules for which edges retain, on a hand-built graph;
//! and DevTools' own Lengauer–Tarjan, kept as the reference SEMI-NCA must equal on random graphs.

use super::{is_set, Numbering};
use crate::graph::Graph;
use crate::testing::Snapshot;

/// DevTools' `computeIsEssentialEdge` decides which edges can retain: not weak ones, not
/// shortcuts except the root's, and none from outside the "page" (what the root's shortcuts
/// reach, `global` in Node) into it, so a handle held by a GC root does not become the
/// dominator of the application's objects. An object's retained size is its own plus that
/// of every object it dominates.
#[test]
fn retained_sizes_follow_only_essential_edges() {
  let (mut s, global) = Snapshot::with_global(1);
  let [gc_roots, a, b, c, d, e, handle, f] = s.nodes([
    ("synthetic", "(GC roots)", 0),
    ("object", "A", 20),
    ("object", "B", 30),
    ("object", "C", 40),
    ("object", "D", 50),
    ("object", "E", 60),
    ("object", "Handle", 5),
    ("object", "F", 70),
  ]);
  s.edges(&[
    (0, "element", "1", gc_roots),
    (global, "property", "a", a),
    (global, "property", "c", c),
    (a, "property", "b", b),
    (c, "property", "b", b), // B: two retainers, so global dominates it
    (a, "property", "d", d),
    (c, "weak", "d", d), // weak: A alone retains D
    (a, "property", "e", e),
    (c, "shortcut", "e", e), // a shortcut not from the root: A alone retains E
    (b, "property", "self", b),
    (gc_roots, "element", "0", handle),
    (handle, "property", "a", a), // from outside the page into it: ignored
    (handle, "property", "f", f), // F is outside the page: the handle retains it
  ]);
  let heap = s.heap();
  let dominator = |node: usize| heap.dominator[node] as usize;
  assert_eq!(
    [a, b, c, d, e, f, handle, global].map(dominator),
    [global, global, global, a, a, handle, gc_roots, 0]
  );
  assert_eq!(
    [b, c, d, e, f].map(|n| heap.retained[n]),
    [30, 40, 50, 60, 70]
  );
  assert_eq!(heap.retained[a], 20 + 50 + 60);
  assert_eq!(heap.retained[global], 1 + 130 + 40 + 30);
  assert_eq!(heap.retained[handle], 5 + 70);
  assert_eq!(heap.retained[gc_roots], 75);
  assert_eq!(heap.retained[0], 201 + 75, "the root retains everything");
}

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
