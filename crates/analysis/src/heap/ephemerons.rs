//! WeakMap entries as V8 names their edges. A WeakMap value is held by two internal edges, one
//! from the table and one from the key, both named `<n> / part of key (…) -> value (…) pair in
//! WeakMap (table @<id>)`. DevTools reads the names to treat the pair as one entry: for
//! dominators only the key's edge counts, and the distance search takes the second edge it meets.

use std::collections::HashMap;

use crate::graph::Graph;

/// What an internal edge's name says when it is one half of a WeakMap entry.
#[derive(Clone, Copy)]
pub(super) struct Ephemeron {
  pub(super) table_id: u32,
  /// Identifies the entry: the same for the table's edge and the key's edge.
  pub(super) entry: u32,
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
pub(super) struct Ephemerons {
  /// Per string: UNKNOWN, NOT_ENTRY, or an index into `parsed`.
  by_string: Vec<u32>,
  parsed: Vec<Ephemeron>,
  pub(super) entries: HashMap<String, u32>,
}

const UNKNOWN: u32 = u32::MAX;
const NOT_ENTRY: u32 = u32::MAX - 1;

impl Ephemerons {
  pub(super) fn new(strings: usize) -> Self {
    Ephemerons {
      by_string: vec![UNKNOWN; strings],
      parsed: Vec::new(),
      entries: HashMap::new(),
    }
  }

  pub(super) fn of(&mut self, graph: &Graph, edge: usize) -> Option<Ephemeron> {
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

#[cfg(test)]
mod tests {
  use super::parse_ephemeron;
  use crate::heap::{Heap, Keep, Rules};
  use crate::testing::Snapshot;

  /// A WeakMap entry: the table and the key each hold the value by an internal edge with
  /// the same name. DevTools (`computeIsEssentialEdge`) drops the table's edge for
  /// dominators, so the value is in its key's retained size, as a WeakMap means it; and its
  /// distance search (`calculateDistances`) skips the first of the two edges it meets, so the
  /// value is one step beyond the farther of table and key. memlab keeps the table's edge,
  /// and the value then belongs to no single retainer.
  #[test]
  fn a_weakmap_value_is_retained_by_its_key_not_the_table() {
    let (mut s, global) = Snapshot::with_global(0);
    let [weak_map, table, holder, inner, key, value] = s.nodes([
      ("object", "WeakMap", 10),
      ("object", "system / EphemeronHashTable", 20),
      ("object", "Holder", 1),
      ("object", "Inner", 1),
      ("object", "Key", 5),
      ("object", "Value", 100),
    ]);
    let entry = format!(
      "1 / part of key (Key @{}) -> value (Value @{}) pair in WeakMap (table @{})",
      Snapshot::id(key),
      Snapshot::id(value),
      Snapshot::id(table)
    );
    s.edges(&[
      (global, "property", "map", weak_map),
      (weak_map, "internal", "table", table),
      (global, "property", "holder", holder),
      (holder, "property", "inner", inner),
      (inner, "property", "key", key),
      (table, "internal", &entry, value),
      (key, "internal", &entry, value),
    ]);
    let heap = s.heap();
    assert_eq!(heap.dominator[value] as usize, key);
    assert_eq!(heap.retained[key], 5 + 100);
    assert_eq!(heap.retained[holder], 1 + 1 + 105);
    assert_eq!(heap.retained[weak_map], 10 + 20, "the table holds nothing");
    // global 1; map and holder 2; table and inner 3; key 4; the value 5, past the key (the
    // table's edge, met first at 3, is skipped).
    let distance = |node: usize| heap.distance[node];
    assert_eq!(
      [global, weak_map, holder, table, inner, key, value].map(distance),
      [1, 2, 2, 3, 3, 4, 5]
    );

    let memlab = Heap::with_rules(s.graph(), Rules::MEMLAB, Keep::Everything, &mut |_| {});
    assert_eq!(memlab.dominator[value] as usize, global);
    assert_eq!(memlab.retained[key], 5);
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
