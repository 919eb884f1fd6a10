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

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::graph::Graph;

/// Distance DevTools gives nodes reached only through system roots.
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;
/// Distance of nodes no root reaches.
pub const NO_DISTANCE: i32 = -5;
const NONE: u32 = u32::MAX;

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
  fn new(n: usize) -> Parents {
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

/// What an internal edge's name says when it is one half of a WeakMap entry.
#[derive(Clone, Copy)]
struct Ephemeron {
  table_id: u32,
  /// Identifies the entry: the same for the table's edge and the key's edge.
  entry: u32,
}

/// Parses `"<n> / part of key (<k> @<id>) -> value (<v> @<id>) pair in WeakMap (table @<id>)"`,
/// the name V8 gives both edges to a WeakMap value; the `.*?` of DevTools' regular expression
/// make the first ") -> value (" and the last "pair in WeakMap (table @" the separators.
fn parse_ephemeron(name: &str) -> Option<(&str, u32)> {
  let digits = name.bytes().take_while(u8::is_ascii_digit).count();
  if digits == 0 {
    return None;
  }
  let part = &name[digits..];
  let rest = part.strip_prefix(" / part of key (")?;
  let (key, rest) = rest.split_once(") -> value (")?;
  let key_id = key.rsplit_once(" @")?.1;
  let (value, table) = rest.split_once(") pair in WeakMap (table @")?;
  let value_id = value.rsplit_once(" @")?.1;
  let table = table.strip_suffix(')')?;
  let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
  if !all_digits(key_id) || !all_digits(value_id) || !all_digits(table) {
    return None;
  }
  Some((part, table.parse().ok()?))
}

/// WeakMap entry edges, by edge-name string.
struct Ephemerons {
  /// Per string: UNKNOWN, NOT_ENTRY, or an index into `parsed`.
  by_string: Vec<u32>,
  parsed: Vec<Ephemeron>,
  entries: HashMap<String, u32>,
}

const UNKNOWN: u32 = u32::MAX;
const NOT_ENTRY: u32 = u32::MAX - 1;

impl Ephemerons {
  fn new(strings: usize) -> Self {
    Ephemerons {
      by_string: vec![UNKNOWN; strings],
      parsed: Vec::new(),
      entries: HashMap::new(),
    }
  }

  fn of(&mut self, graph: &Graph, edge: usize) -> Option<Ephemeron> {
    if graph.edge_type[edge] != graph.types.internal {
      return None;
    }
    let name = graph.edge_name[edge] as usize;
    match self.by_string[name] {
      NOT_ENTRY => return None,
      UNKNOWN => {}
      known => return Some(self.parsed[known as usize]),
    }
    let parsed = parse_ephemeron(graph.strings.get(name as u32)).map(|(part, table_id)| {
      let next = self.entries.len() as u32;
      let entry = *self.entries.entry(part.to_string()).or_insert(next);
      Ephemeron { table_id, entry }
    });
    self.by_string[name] = match parsed {
      Some(entry) => {
        self.parsed.push(entry);
        self.parsed.len() as u32 - 1
      }
      None => NOT_ENTRY,
    };
    parsed
  }
}

fn is_user_root(graph: &Graph, node: usize) -> bool {
  graph.node_type[node] != graph.types.synthetic || is_dom_trees_root(graph, node)
}

fn is_dom_trees_root(graph: &Graph, node: usize) -> bool {
  graph.node_type[node] == graph.types.synthetic && graph.name(node) == "(Document DOM trees)"
}

/// DevTools' `propagateDOMState`: embedder (native) nodes inherit the attached or detached
/// state of the native nodes that hold them, and detached ones are renamed `Detached <name>`.
fn propagate_dom_state(graph: &mut Graph) {
  const ATTACHED: u8 = 1;
  const DETACHED: u8 = 2;
  if graph.detachedness.is_empty() {
    return;
  }
  let n = graph.node_count();
  let mut visited = vec![false; n];
  let (mut attached, mut detached): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
  let mut renamed: HashMap<u32, u32> = HashMap::new();
  let mut process = |graph: &mut Graph,
                     node: usize,
                     state: u8,
                     attached: &mut Vec<u32>,
                     detached: &mut Vec<u32>| {
    if visited[node] {
      return;
    }
    visited[node] = true;
    if graph.node_type[node] != graph.types.native {
      return;
    }
    graph.detachedness[node] = state;
    if state == ATTACHED {
      attached.push(node as u32);
    } else if state == DETACHED {
      let old = graph.node_name[node];
      let new = *renamed.entry(old).or_insert_with(|| {
        let name = format!("Detached {}", graph.strings.get(old));
        graph.strings.push(&name)
      });
      graph.node_name[node] = new;
      detached.push(node as u32);
    }
  };
  for node in 0..n {
    let state = graph.detachedness[node];
    if state != 0 {
      process(graph, node, state, &mut attached, &mut detached);
    }
  }
  let followed = |graph: &Graph, edge: usize| {
    let kind = graph.edge_type[edge];
    kind != graph.types.hidden_edge && kind != graph.types.weak
  };
  while let Some(node) = attached.pop() {
    for edge in graph.edges(node as usize) {
      if followed(graph, edge) {
        let to = graph.edge_to[edge] as usize;
        process(graph, to, ATTACHED, &mut attached, &mut detached);
      }
    }
  }
  while let Some(node) = detached.pop() {
    if graph.detachedness[node as usize] == ATTACHED {
      continue;
    }
    for edge in graph.edges(node as usize) {
      if followed(graph, edge) {
        let to = graph.edge_to[edge] as usize;
        process(graph, to, DETACHED, &mut attached, &mut detached);
      }
    }
  }
}

/// JSON.stringify-style quoting for property names that would be ambiguous in `{a, b}`.
fn format_property(name: &str) -> Cow<'_, str> {
  if name.contains([',', '\'', '"', '{', '}']) {
    Cow::Owned(serde_json::to_string(name).unwrap_or_default())
  } else {
    Cow::Borrowed(name)
  }
}

fn js_len(text: &str) -> usize {
  text.encode_utf16().count()
}

/// A plain JS object: what DevTools names by its properties.
fn is_plain_object(g: &Graph, node: usize) -> bool {
  g.node_type[node] == g.types.object && g.name(node) == "Object"
}

/// The names of a node's property edges, in edge order.
fn property_names(g: &Graph, node: usize) -> impl Iterator<Item = &str> {
  g.edges(node)
    .filter(move |&e| g.edge_type[e] == g.types.property)
    .map(move |e| g.strings.get(g.edge_name[e]))
}

/// Interface definitions: names and their properties, most common first.
pub type Interfaces = Vec<(String, Vec<String>)>;

/// DevTools' `inferInterfaceDefinitions` + `applyInterfaceDefinitions`: plain objects
/// (`Object`) are named after their properties, `{id, user, createdAt}`, when enough objects
/// share that shape (at least 2, and 1 in 1,000 of all plain objects).
pub fn infer_interfaces(g: &Graph) -> Interfaces {
  const MAX_NAME: usize = 120;
  let plain = |node: usize| is_plain_object(g, node);
  let properties = |node: usize| property_names(g, node);
  // Candidates: the leading properties of each plain object, in order.
  struct Candidate<'a> {
    count: u32,
    props: Vec<&'a str>,
    first_seen: usize,
  }
  let mut candidates: HashMap<String, Candidate> = HashMap::new();
  let mut total = 0usize;
  let mut name = String::new();
  for node in 0..g.node_count() {
    if !plain(node) {
      continue;
    }
    total += 1;
    name.clear();
    name.push('{');
    let mut props: Vec<&str> = Vec::new();
    for prop in properties(node) {
      if prop == "__proto__" {
        continue;
      }
      let formatted = format_property(prop);
      if js_len(&name) > 1 && js_len(&name) + js_len(&formatted) > MAX_NAME {
        break;
      }
      if name.len() != 1 {
        name.push_str(", ");
      }
      name.push_str(&formatted);
      props.push(prop);
    }
    if props.is_empty() {
      continue;
    }
    name.push('}');
    let first_seen = candidates.len();
    candidates
      .entry(name.clone())
      .or_insert(Candidate {
        count: 0,
        props,
        first_seen,
      })
      .count += 1;
  }
  let mut sorted: Vec<(String, Candidate)> = candidates.into_iter().collect();
  // By count, most first; ties keep first-seen order as JavaScript's stable sort does.
  sorted.sort_by(|a, b| (b.1.count.cmp(&a.1.count)).then(a.1.first_seen.cmp(&b.1.first_seen)));
  let min = (2.0f64).max(total as f64 / 1000.0);
  sorted
    .into_iter()
    .take_while(|(_, c)| f64::from(c.count) >= min)
    .map(|(name, c)| (name, c.props.into_iter().map(String::from).collect()))
    .collect()
}

/// Names every plain object after the best-matching definition: the one with the most
/// properties all present on the object, the earliest on a tie.
pub fn apply_interfaces(graph: &mut Graph, definitions: &Interfaces) {
  let g = &*graph;
  let plain = |node: usize| is_plain_object(g, node);
  let properties = |node: usize| property_names(g, node);
  if definitions.is_empty() {
    graph.interfaces.clear();
    graph.interface_names.clear();
    return;
  }

  // DevTools sorts by UTF-16 code units, Rust by code points: the orders differ only between
  // U+E000..U+FFFF and astral characters, and V8 writes no astral characters in snapshots.
  // A trie over sorted property names; each definition marks the node its properties end at.
  struct TrieNode<'a> {
    next: FxHashMap<&'a str, usize>,
    matched: Option<(usize, usize)>, // (property count, definition index)
    greatest: Option<&'a str>,
  }
  let mut trie = vec![TrieNode {
    next: FxHashMap::default(),
    matched: None,
    greatest: None,
  }];
  for (index, (_, props)) in definitions.iter().enumerate() {
    let mut sorted_props: Vec<&str> = props.iter().map(String::as_str).collect();
    sorted_props.sort_unstable();
    let mut at = 0;
    for prop in &sorted_props {
      at = match trie[at].next.get(prop) {
        Some(&next) => next,
        None => {
          let next = trie.len();
          trie.push(TrieNode {
            next: FxHashMap::default(),
            matched: None,
            greatest: None,
          });
          trie[at].next.insert(prop, next);
          let greater = trie[at].greatest.is_none_or(|g| g < *prop);
          if greater {
            trie[at].greatest = Some(prop);
          }
          next
        }
      };
    }
    if trie[at].matched.is_none() {
      trie[at].matched = Some((sorted_props.len(), index));
    }
  }
  let better = |a: Option<(usize, usize)>, b: Option<(usize, usize)>| match (a, b) {
    (None, x) | (x, None) => x,
    (Some(a), Some(b)) => Some(if a.0 != b.0 {
      if a.0 > b.0 {
        a
      } else {
        b
      }
    } else if a.1 <= b.1 {
      a
    } else {
      b
    }),
  };
  let mut interfaces = Vec::new();
  let mut states: Vec<usize> = Vec::new();
  for node in 0..g.node_count() {
    if !plain(node) {
      continue;
    }
    let mut props: Vec<&str> = properties(node).collect();
    props.sort_unstable();
    states.clear();
    states.push(0);
    let mut best = trie[0].matched;
    for prop in &props {
      let current = states.len();
      let mut keep = Vec::with_capacity(current);
      for &state in &states[..current] {
        let done = trie[state].greatest.is_none_or(|g| *prop >= g);
        if !done {
          keep.push(state);
        }
        if let Some(&next) = trie[state].next.get(prop) {
          keep.push(next);
          best = better(best, trie[next].matched);
        }
      }
      keep.sort_unstable();
      keep.dedup();
      states = keep;
    }
    if let Some((_, index)) = best {
      interfaces.push((node as u32, index as u32));
    }
  }
  let names = definitions.iter().map(|(name, _)| name.clone()).collect();
  graph.interfaces = interfaces;
  graph.interface_names = names;
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

/// DevTools' `calculateShallowSizes`: arrays, hidden nodes and external string data owned by
/// exactly one object (through non-weak edges, possibly via other owned nodes) count in that
/// object's shallow size instead of their own.
fn attribute_owned_sizes(graph: &mut Graph) {
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

/// The choices where heap analyzers differ. [`Rules::DEVTOOLS`] is what rheapdump reports; the
/// others exist to show, in tests, that rheapdump differs from memlab exactly there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
  /// Move owned arrays' and hidden nodes' sizes to their owner (DevTools; memlab does not).
  pub attribute_owned_sizes: bool,
  /// Ignore the WeakMap table's edge to a value, keeping only the key's (DevTools; memlab keeps
  /// both, so a value held by a live key is not in the key's retained size).
  pub skip_weakmap_table_edges: bool,
  /// Where the "page objects" start: an edge from a non-page object into a page object is
  /// ignored. DevTools starts from the root's shortcuts (`global`); memlab from the root's
  /// other edges (the GC roots), so that only what no root reaches is not "page".
  pub page_from_shortcuts: bool,
}

impl Rules {
  pub const DEVTOOLS: Rules = Rules {
    attribute_owned_sizes: true,
    skip_weakmap_table_edges: true,
    page_from_shortcuts: true,
  };
  pub const MEMLAB: Rules = Rules {
    attribute_owned_sizes: false,
    skip_weakmap_table_edges: false,
    page_from_shortcuts: false,
  };
}

/// One bit per edge: does it count for dominators?
fn essential_edges(graph: &Graph, ephemerons: &mut Ephemerons, rules: Rules) -> Vec<u64> {
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
struct Numbering {
  /// `vertex[i]`: the ordinal of the node numbered `i` (`vertex[0]` is unused).
  vertex: Vec<u32>,
  /// `parent[i]`: the number of the node the search reached node `i` from.
  parent: Vec<u32>,
  /// `number[ordinal]`: the node's number.
  number: Vec<u32>,
}

/// Essential predecessors by node number: those of `i` are `preds[first[i]..first[i + 1]]`.
struct Predecessors {
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
  fn new(graph: &Graph, essential: &[u64]) -> Numbering {
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
  fn predecessors(&mut self, graph: &mut Graph, essential: &[u64]) -> Predecessors {
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
  fn dominators(self, predecessors: Predecessors) -> (Vec<u32>, Vec<u32>) {
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
    let (distance, parents) = distances(&graph, &mut ephemerons, keep);
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
}

/// DevTools' `calculateDistances` for the Summary view, plus (under [`Keep::Everything`] and
/// [`Keep::Parents`]) the edge each node was first reached by: a shortest retaining path.
fn distances(graph: &Graph, ephemerons: &mut Ephemerons, keep: Keep) -> (Vec<i32>, Parents) {
  let n = graph.node_count();
  let mut distance = vec![NO_DISTANCE; n];
  let mut parents = match keep {
    Keep::Everything | Keep::Parents => Parents::new(n),
    Keep::Nodes | Keep::Distances => Parents::default(),
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
        if !Heap::distance_edge(graph, node, edge) {
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
  use super::{is_set, parse_ephemeron, Numbering};
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

  #[test]
  fn weakmap_entry_names_parse_like_devtools_regex() {
    let name =
      "12 / part of key (Object @1234) -> value (Foo @5678) pair in WeakMap (table @91011)";
    let (part, table) = parse_ephemeron(name).unwrap();
    assert_eq!(table, 91011);
    assert!(part.starts_with(" / part of key"));
    assert!(parse_ephemeron("part of key").is_none());
    assert!(
      parse_ephemeron("1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @x)")
        .is_none()
    );
  }
}
