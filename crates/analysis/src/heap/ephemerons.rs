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
