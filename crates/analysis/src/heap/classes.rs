//! How DevTools names the classes of its Summary view beyond a node's own name: detached DOM
//! state (`Detached <name>`), and plain objects named after their properties (`{id, user}`).
//! The per-node rule itself (`(system)`, `(compiled code)`, constructor names) is
//! [`Graph::class_name`].

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::graph::Graph;

/// DevTools' `propagateDOMState`: embedder (native) nodes inherit the attached or detached
/// state of the native nodes that hold them, and detached ones are renamed `Detached <name>`.
pub(super) fn propagate_dom_state(graph: &mut Graph) {
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

#[cfg(test)]
mod tests {
  use super::{apply_interfaces, infer_interfaces, propagate_dom_state};
  use crate::testing::Snapshot;

  /// A plain object (`Object`) with these properties, in edge order.
  fn plain(s: &mut Snapshot, from: usize, props: &[&str]) -> usize {
    let node = s.node("object", "Object", 16);
    s.edge(from, "property", "o", node);
    for prop in props {
      let value = s.node("number", "heap number", 12);
      s.edge(node, "property", prop, value);
    }
    node
  }

  /// DevTools' `inferInterfaceDefinitions`: a plain object's candidate name is its properties
  /// in edge order (`__proto__` left out), and a candidate becomes a definition when at least
  /// 2 objects have it, and 1 in 1,000 of the plain objects. `applyInterfaceDefinitions` then
  /// names each plain object after the definition with the most properties all present on it.
  #[test]
  fn plain_objects_are_named_after_shapes_at_least_two_share() {
    let (mut s, global) = Snapshot::with_global(0);
    let [first, second, with_proto, wider, alone, empty, quoted, quoted_too] = [
      &["id", "name"][..],
      &["id", "name"],
      &["id", "__proto__", "name"],
      &["id", "name", "extra"],
      &["x"],
      &[],
      &["a,b"],
      &["a,b"],
    ]
    .map(|props| plain(&mut s, global, props));
    let session = s.node("object", "Session", 16);
    s.edge(global, "property", "session", session);
    for prop in ["id", "name"] {
      s.edge(session, "property", prop, first);
    }
    let mut g = s.graph();
    let definitions = infer_interfaces(&g);
    // {id, name}: 3 objects; {"a,b"}: 2 (a name with a comma quoted as JSON.stringify does);
    // {id, name, extra} and {x}: 1 each, too few. Most common first.
    let names: Vec<&str> = definitions.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["{id, name}", "{\"a,b\"}"]);
    apply_interfaces(&mut g, &definitions);
    for node in [first, second, with_proto, wider] {
      assert_eq!(g.class_name(node), "{id, name}", "node {node}");
    }
    assert_eq!(g.class_name(quoted), "{\"a,b\"}");
    assert_eq!(g.class_name(quoted_too), "{\"a,b\"}");
    // No definition fits: still `Object`. A class instance is never renamed.
    assert_eq!(g.class_name(alone), "Object");
    assert_eq!(g.class_name(empty), "Object");
    assert_eq!(g.class_name(session), "Session");
  }

  /// The 1-in-1,000 threshold: among 3,002 plain objects a shape needs 3.002 objects, so a
  /// shape 2 objects share is no definition.
  #[test]
  fn a_shape_needs_one_in_a_thousand_plain_objects() {
    let (mut s, global) = Snapshot::with_global(0);
    let value = s.node("number", "heap number", 12);
    for _ in 0..3000 {
      let node = s.node("object", "Object", 16);
      s.edge(global, "property", "o", node);
      s.edge(node, "property", "common", value);
    }
    let rare = [
      plain(&mut s, global, &["rare"]),
      plain(&mut s, global, &["rare"]),
    ];
    let mut g = s.graph();
    let definitions = infer_interfaces(&g);
    assert_eq!(
      definitions,
      vec![("{common}".to_string(), vec!["common".to_string()])]
    );
    apply_interfaces(&mut g, &definitions);
    assert_eq!(g.class_name(rare[0]), "Object");
  }

  /// DevTools' `propagateDOMState`: a native node with no state of its own takes that of the
  /// native node holding it, attached first (attached wins where both reach), over edges that
  /// are neither hidden nor weak; a detached one is renamed `Detached <name>`. Objects (JS
  /// nodes) are passed over.
  #[test]
  fn native_nodes_inherit_their_holders_dom_state() {
    let mut s = Snapshot::new();
    let [detached, child, both, attached, under_attached, behind_hidden, wrapper] = s.nodes([
      ("native", "<div>", 10),
      ("native", "<span id=\"a\">", 10),
      ("native", "<p>", 10),
      ("native", "<body>", 10),
      ("native", "<ul>", 10),
      ("native", "<b>", 10),
      ("object", "HTMLSpanElement", 10),
    ]);
    s.edges(&[
      (0, "element", "1", detached),
      (0, "element", "2", attached),
      (detached, "property", "child", child),
      (detached, "property", "p", both),
      (detached, "hidden", "0", behind_hidden),
      (child, "property", "wrapper", wrapper),
      (attached, "property", "p", both),
      (attached, "property", "list", under_attached),
    ]);
    s.detachedness(detached, 2);
    s.detachedness(attached, 1);
    let mut g = s.graph();
    propagate_dom_state(&mut g);
    assert_eq!(g.name(detached), "Detached <div>");
    assert_eq!(g.name(child), "Detached <span id=\"a\">");
    assert_eq!(g.class_name(child), "Detached <span>");
    assert_eq!((g.name(both), g.detachedness[both]), ("<p>", 1));
    assert_eq!(
      (g.name(under_attached), g.detachedness[under_attached]),
      ("<ul>", 1)
    );
    assert_eq!(
      (g.name(behind_hidden), g.detachedness[behind_hidden]),
      ("<b>", 0)
    );
    assert_eq!(g.name(wrapper), "HTMLSpanElement");
  }
}
