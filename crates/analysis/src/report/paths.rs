//! Retaining paths: the shortest one the distance search found, and distinct ones through
//! different retainers, avoiding rheapdump's own objects where they can.

use serde::Serialize;

use crate::graph::Graph;
use crate::heap::{Heap, BASE_SYSTEM_DISTANCE, NO_DISTANCE};

use super::common::{distance_of, short, Step, NONE};

/// What `path` reports (`rheapdump path --json`, `analysis.path()`): retaining paths to one node,
/// shortest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "RetainingPaths"))]
pub struct Paths {
  pub file: String,
  pub id: u32,
  pub name: String,
  /// Fewest edges from a GC root to the node; null when no root reaches it.
  pub distance: Option<i64>,
  pub paths: Vec<Vec<Step>>,
  /// Why some scripts' positions are the generated ones: their source maps could not be used
  /// (one line per script), or the scripts are not on this machine.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

/// The shortest retaining path DevTools' distance search found to `node`, from the user root
/// (or the system root) down to the node.
pub(super) fn first_path(heap: &Heap, node: usize) -> Vec<Step> {
  let mut steps = vec![Step::of(heap, node, None)];
  let mut at = node;
  while let Some((from, kind, name)) = heap.parents.of(at) {
    if from == 0 {
      break;
    }
    steps.push(Step::of(heap, from, Some(heap.graph.label(kind, name))));
    at = from;
  }
  steps.reverse();
  steps
}

/// A retaining path as a person follows it: from the last CommonJS module on it
/// (`module "pino/lib/tools.js" --exports-->`) when there is one, since what leads to a module
/// (`global --queueMicrotask--> … require.cache`) is the same for every module.
pub(super) fn from_module(heap: &Heap, mut steps: Vec<Step>) -> Vec<Step> {
  let g = &heap.graph;
  let last = steps.len().saturating_sub(1);
  let module = steps[..last].iter().rposition(|step| {
    g.modules
      .iter()
      .any(|&(node, _)| g.node_id[node as usize] == step.id)
  });
  if let Some(at) = module {
    steps.drain(..at);
  }
  steps
}

/// The node an edge comes from: edges are stored by source, so the source is the last node
/// whose first edge is at or before it.
fn source_of(graph: &Graph, edge: usize) -> usize {
  let e = edge as u32;
  graph.first_edge[..graph.node_count()]
    .partition_point(|&f| f <= e)
    .saturating_sub(1)
}

/// Each node's retaining edges, by target.
struct Retainers {
  first: Vec<u32>,
  edges: Vec<u32>,
}

impl Retainers {
  fn new(g: &Graph) -> Retainers {
    let n = g.node_count();
    let mut first = vec![0u32; n + 1];
    for &to in &g.edge_to {
      first[to as usize + 1] += 1;
    }
    for i in 1..=n {
      first[i] += first[i - 1];
    }
    let mut edges = vec![0u32; g.edge_count()];
    let mut fill = first.clone();
    for (edge, &to) in g.edge_to.iter().enumerate() {
      edges[fill[to as usize] as usize] = edge as u32;
      fill[to as usize] += 1;
    }
    Retainers { first, edges }
  }

  /// The edges into `node`, each with its source.
  fn of<'a>(&'a self, g: &'a Graph, node: usize) -> impl Iterator<Item = (usize, usize)> + 'a {
    let edges = &self.edges[self.first[node] as usize..self.first[node + 1] as usize];
    edges
      .iter()
      .map(move |&e| (e as usize, source_of(g, e as usize)))
  }
}

/// A path as (node, edge to the next node) from a root's child down to the object.
type Hops = Vec<(usize, Option<usize>)>;

fn steps_of(heap: &Heap, hops: &Hops) -> Vec<Step> {
  hops
    .iter()
    .map(|&(node, edge)| Step::of(heap, node, edge.map(|e| heap.graph.edge_label(e))))
    .collect()
}

/// rheapdump's own objects in the heap it analyses: what an edge named for it leads to (the
/// state it keeps on `process` under `Symbol(rheapdump.shared)`, its modules). A path through
/// them is true but misleads, as if rheapdump held what the application holds. The objects are
/// marked rather than the edges: `process` also reaches its state through its property store.
pub fn rheapdump_objects(g: &Graph) -> Vec<bool> {
  let named: Vec<bool> = (0..g.strings.len())
    .map(|s| g.strings.get(s as u32).contains("rheapdump"))
    .collect();
  let mut marked = vec![false; g.node_count()];
  for e in 0..g.edge_count() {
    if !g.types.edge_named_by_index(g.edge_type[e]) && named[g.edge_name[e] as usize] {
      marked[g.edge_to[e] as usize] = true;
    }
  }
  marked
}

/// Where rheapdump's own code is in the heap it analyses, wherever it was installed: each
/// directory (`/srv/app/node_modules/rheapdump/`) from which CommonJS loaded its entry and
/// the modules every copy of it loads (`lib/shared.js`, `lib/writer.js`).
pub struct RheapdumpCode {
  roots: Vec<String>,
}

impl RheapdumpCode {
  pub fn of(g: &Graph) -> RheapdumpCode {
    let files: Vec<&str> = g
      .modules
      .iter()
      .map(|&(_, file)| g.strings.get(file))
      .collect();
    let mut roots: Vec<String> = files
      .iter()
      .filter_map(|file| file.strip_suffix("lib/shared.js"))
      .filter(|root| {
        files.contains(&format!("{root}lib/writer.js").as_str())
          && files.contains(&format!("{root}index.js").as_str())
      })
      .map(str::to_string)
      .collect();
    roots.sort();
    roots.dedup();
    RheapdumpCode { roots }
  }

  /// Whether `source` (`file:line:column`, or a file) is in rheapdump's own code: its entry
  /// or its lib/.
  pub fn contains(&self, source: &str) -> bool {
    self.roots.iter().any(|root| {
      source
        .strip_prefix(root.as_str())
        .is_some_and(|rest| rest.starts_with("lib/") || rest.starts_with("index."))
    })
  }
}

/// Breadth-first from the user roots (distance 1) over strong edges, never entering `blocked`
/// nodes nor, if given, `avoided` ones: each node's parent edge.
fn search(heap: &Heap, blocked: &[bool], avoided: Option<&[bool]>) -> Vec<u32> {
  let g = &heap.graph;
  let n = g.node_count();
  let mut parent = vec![NONE; n];
  let mut seen = vec![false; n];
  let avoid = |node: usize| blocked[node] || avoided.is_some_and(|a| a[node]);
  let mut queue: std::collections::VecDeque<usize> = (1..n)
    .filter(|&node| heap.distance[node] == 1 && !avoid(node))
    .collect();
  for &node in &queue {
    seen[node] = true;
  }
  while let Some(at) = queue.pop_front() {
    for e in g.edges(at) {
      let to = g.edge_to[e] as usize;
      if seen[to] || avoid(to) || g.edge_type[e] == g.types.weak {
        continue;
      }
      seen[to] = true;
      parent[to] = e as u32;
      queue.push_back(to);
    }
  }
  parent
}

/// The path `search` found to `node`, from its root's child, or None if it found none.
fn found_path(heap: &Heap, parent: &[u32], node: usize) -> Option<Hops> {
  let g = &heap.graph;
  let mut hops = vec![(node, None)];
  let mut at = node;
  // The search starts from the nodes at distance 1; every other node it reached has a parent.
  while heap.distance[at] != 1 {
    let e = parent[at];
    if e == NONE {
      return None;
    }
    at = source_of(g, e as usize);
    hops.push((at, Some(e as usize)));
  }
  hops.reverse();
  Some(hops)
}

/// Up to `max` retaining paths to `node` that differ where it matters: each through another
/// retainer of the object or, where the object has one retainer only, of the nearest object
/// above it that has several. Shortest first; each avoids rheapdump's own objects where it can,
/// and those that cannot come after all others. Empty when no user root reaches the node.
fn distinct_paths(heap: &Heap, retainers: &Retainers, node: usize, max: usize) -> Vec<Vec<Step>> {
  let g = &heap.graph;
  let usable = |e: usize, from: usize| {
    g.edge_type[e] != g.types.weak && from != 0 && heap.user_reachable(from)
  };
  // Up the chain of single retainers: the part every path shares.
  let mut blocked = vec![false; g.node_count()];
  let mut suffix: Hops = vec![(node, None)];
  let mut at = node;
  blocked[at] = true;
  let branches = loop {
    let mut retaining: Vec<(usize, usize)> = retainers
      .of(g, at)
      .filter(|&(e, from)| usable(e, from) && !blocked[from])
      .collect();
    retaining.sort_by_key(|&(e, from)| (from, e));
    retaining.dedup_by_key(|r| r.1);
    if retaining.len() == 1 && heap.distance[at] != 1 {
      let (e, from) = retaining[0];
      suffix.push((from, Some(e)));
      at = from;
      blocked[at] = true;
      continue;
    }
    break retaining;
  };
  suffix.reverse();
  if heap.distance[at] == 1 || branches.is_empty() {
    return vec![steps_of(heap, &suffix)];
  }
  // Where the branches join: shortest paths to each retainer of `at` that do not run through
  // the shared part, preferably not through rheapdump's objects either.
  let clean = search(heap, &blocked, Some(&rheapdump_objects(g)));
  let mut candidates: Vec<(bool, usize, u32, Hops)> = Vec::new();
  let mut any = None;
  for &(e, from) in &branches {
    let (through_rheapdump, hops) = match found_path(heap, &clean, from) {
      Some(hops) => (false, hops),
      None => {
        let parent = any.get_or_insert_with(|| search(heap, &blocked, None));
        match found_path(heap, parent, from) {
          Some(hops) => (true, hops),
          None => continue,
        }
      }
    };
    // A retainer reached only through another (an array's elements store, an object's
    // property store, both of which V8 lists beside the holder's own edge) adds nothing.
    if hops[..hops.len() - 1]
      .iter()
      .any(|&(node, _)| branches.iter().any(|&(_, other)| other == node))
    {
      continue;
    }
    let mut hops = hops;
    hops.last_mut().unwrap().1 = Some(e);
    hops.extend_from_slice(&suffix);
    candidates.push((through_rheapdump, hops.len(), g.node_id[from], hops));
  }
  candidates.sort_by_key(|c| (c.0, c.1, c.2));
  candidates.truncate(max);
  candidates
    .iter()
    .map(|(_, _, _, hops)| steps_of(heap, hops))
    .collect()
}

/// For each id, a shortest retaining path that avoids rheapdump's own objects where one
/// exists ([`distinct_paths`]); None for an id no user root reaches or no node has.
pub fn clean_paths(heap: &Heap, ids: &[u32]) -> Vec<Option<Vec<Step>>> {
  let g = &heap.graph;
  let retainers = Retainers::new(g);
  ids
    .iter()
    .map(|&id| {
      let node = g.node_id.iter().position(|&i| i == id)?;
      if node == 0 || !heap.user_reachable(node) {
        return None;
      }
      let path = distinct_paths(heap, &retainers, node, 1)
        .into_iter()
        .next()?;
      Some(from_module(heap, path))
    })
    .collect()
}

/// Up to `max` retaining paths from the GC roots to the node with `id`: distinct ones
/// ([`distinct_paths`]) for what a user root reaches, the shortest ones for the rest.
pub fn paths(heap: &Heap, file: &str, id: u32, max: usize) -> Option<Paths> {
  let g = &heap.graph;
  let node = g.node_id.iter().position(|&i| i == id)?;
  let name = short(&heap.display_name(node));
  let distance = heap.distance[node];
  let mut result = Paths {
    file: file.to_string(),
    id,
    name,
    distance: distance_of(distance),
    paths: Vec::new(),
    source_map_notes: None,
  };
  if distance == NO_DISTANCE || node == 0 || max == 0 {
    return Some(result);
  }
  let retainers = Retainers::new(g);
  if heap.user_reachable(node) {
    result.paths = distinct_paths(heap, &retainers, node, max);
    return Some(result);
  }
  let root_distance = |d: i32| d == 1 || d == BASE_SYSTEM_DISTANCE + 1;
  // Depth-first over "one step nearer" retainers, collecting up to `max` paths.
  let mut stack: Vec<(usize, Vec<(usize, usize)>)> = vec![(node, Vec::new())];
  while let Some((at, tail)) = stack.pop() {
    if result.paths.len() >= max {
      break;
    }
    let d = heap.distance[at];
    if root_distance(d) {
      let mut steps: Vec<Step> = vec![Step::of(heap, at, None)];
      for &(edge, to) in tail.iter().rev() {
        steps.last_mut().unwrap().edge = Some(g.edge_label(edge));
        steps.push(Step::of(heap, to, None));
      }
      result.paths.push(steps);
      continue;
    }
    let mut nearer: Vec<(usize, usize)> = retainers
      .of(g, at)
      .filter(|&(e, from)| {
        g.edge_type[e] != g.types.weak && from != 0 && heap.distance[from] == d - 1
      })
      .collect();
    nearer.sort_by_key(|&(e, from)| (std::cmp::Reverse(g.node_id[from]), e));
    for (edge, from) in nearer {
      let mut next = tail.clone();
      next.push((edge, at));
      stack.push((from, next));
    }
  }
  Some(result)
}

#[cfg(test)]
mod tests {
  use super::RheapdumpCode;
  use crate::testing::Snapshot;

  /// rheapdump is found wherever it is installed, by the modules every copy of it loads, and
  /// only there: an application's own `lib/shared.js` does not make its directory rheapdump's.
  #[test]
  fn rheapdump_code_is_the_directory_that_loaded_its_modules() {
    let (mut s, global) = Snapshot::with_global(0);
    let root = "/srv/app/node_modules/rheapdump/";
    let files = [
      format!("{root}index.js"),
      format!("{root}lib/shared.js"),
      format!("{root}lib/writer.js"),
      "/srv/app/index.js".to_string(),
      "/srv/app/lib/shared.js".to_string(),
    ];
    for file in &files {
      let module = s.node("object", "Module", 40);
      let name = s.node("string", file, 16);
      s.edge(module, "property", "filename", name);
      s.edge(global, "property", "m", module);
    }
    let graph = s.graph();
    assert_eq!(graph.modules.len(), files.len());
    let code = RheapdumpCode::of(&graph);
    assert!(code.contains(&format!("{root}lib/sampling.js:122:3")));
    assert!(code.contains(&format!("{root}index.js:10:1")));
    assert!(!code.contains(&format!("{root}README.md")));
    assert!(!code.contains("/srv/app/lib/shared.js:1:1"));
    assert!(!code.contains("/srv/app/index.js:1:1"));
  }
}
