//! The structural checks a sound snapshot passes (see NOTES.md): counts agree, every edge points
//! at a node, every name is a string index, ids are unique, node 0 is the synthetic root. One
//! streaming pass, so a multi-GB file is checked in a small fraction of its size.

use std::fmt;
use std::io::Read;

use crate::graph::Layout;
use crate::parse::{visit, Meta, ParseError, Visitor};

/// What a sound snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soundness {
  pub nodes: usize,
  pub edges: usize,
  pub strings: usize,
  pub node_fields: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsound(pub String);

impl fmt::Display for Unsound {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.0)
  }
}

impl std::error::Error for Unsound {}

/// Where `name` is among a record's fields (`meta.node_fields`, `meta.edge_fields`).
pub fn field_position(fields: &[String], name: &str) -> Result<usize, String> {
  fields
    .iter()
    .position(|f| f == name)
    .ok_or_else(|| format!("meta declares no '{name}' field"))
}

fn field(fields: &[String], name: &str) -> Result<usize, Unsound> {
  field_position(fields, name).map_err(Unsound)
}

/// Names of an enumerated field (`meta.node_types[i]` when it is a list).
pub fn enum_names(types: &[serde_json::Value], index: usize) -> Vec<String> {
  types
    .get(index)
    .and_then(|t| t.as_array())
    .map(|names| {
      names
        .iter()
        .map(|n| n.as_str().unwrap_or_default().to_string())
        .collect()
    })
    .unwrap_or_default()
}

/// Checks the snapshot `input` (`size` bytes) in one streaming pass: `Err` when it cannot be read
/// or is not a snapshot, `Ok(Err)` when it is one whose structure does not hold together. Holds
/// one id and ordinal per node (8 bytes), nothing else per node, edge or string.
pub fn validate(input: impl Read, size: u64) -> Result<Result<Soundness, Unsound>, ParseError> {
  let mut checks = Checks::default();
  let read = visit(input, size, &mut checks);
  // A fault stops the read early; it is the answer, not the syntax error that carries it out.
  if let Some(fault) = checks.fault {
    return Ok(Err(fault));
  }
  read?;
  Ok(Ok(Soundness {
    nodes: checks.node_count,
    edges: checks.edge_count,
    strings: checks.strings,
    node_fields: checks.nodes.fields,
  }))
}

/// A field's value in the record being read, and the record's ordinal.
#[derive(Default)]
struct Record {
  ordinal: usize,
  kind: u32,
  name: u32,
  /// The node's id and edge count, or the edge's target.
  id_or_to: u32,
  edge_count: u32,
}

/// The largest string index a node's or an edge's name uses, and the first record that uses it:
/// whether it names a string is known only once the strings, which come last, are counted.
#[derive(Default)]
struct Names(Option<(u32, usize)>);

impl Names {
  fn see(&mut self, name: u32, ordinal: usize) {
    if self.0.is_none_or(|(largest, _)| name > largest) {
      self.0 = Some((name, ordinal));
    }
  }

  fn check(&self, what: &str, strings: usize) -> Result<(), Unsound> {
    match self.0 {
      Some((name, ordinal)) if name as usize >= strings => Err(Unsound(format!(
        "{what} {ordinal}: name {name} is not a string index"
      ))),
      _ => Ok(()),
    }
  }
}

#[derive(Default)]
struct Checks {
  node_count: usize,
  edge_count: usize,
  strings: usize,
  nodes: Layout,
  edges: Layout,
  /// Node field positions: type, name, id, edge_count.
  node_at: [usize; 4],
  /// Edge field positions: type, name_or_index, to_node.
  edge_at: [usize; 3],
  node_types: Vec<String>,
  edge_types: usize,
  /// Edge types whose name_or_index is a number, not a string index.
  index_edges: Vec<u32>,
  node: Record,
  edge: Record,
  /// Each node's `id << 32 | ordinal`, sorted at the end to find a repeated id.
  ids: Vec<u64>,
  edge_sum: u64,
  node_names: Names,
  edge_names: Names,
  fault: Option<Unsound>,
}

impl Checks {
  /// Keeps the first fault and stops the read with it.
  fn fault(&mut self, fault: Unsound) -> String {
    let message = fault.0.clone();
    self.fault.get_or_insert(fault);
    message
  }

  fn setup(&mut self, meta: &Meta, node_count: usize, edge_count: usize) -> Result<(), Unsound> {
    let (nf, ef) = (&meta.node_fields, &meta.edge_fields);
    self.node_at = [
      field(nf, "type")?,
      field(nf, "name")?,
      field(nf, "id")?,
      field(nf, "edge_count")?,
    ];
    self.edge_at = [
      field(ef, "type")?,
      field(ef, "name_or_index")?,
      field(ef, "to_node")?,
    ];
    self.nodes.fields = nf.len();
    self.edges.fields = ef.len();
    self.node_types = enum_names(&meta.node_types, self.node_at[0]);
    let edge_types = enum_names(&meta.edge_types, self.edge_at[0]);
    self.index_edges = ["element", "hidden"]
      .iter()
      .filter_map(|t| edge_types.iter().position(|e| e == t).map(|p| p as u32))
      .collect();
    self.edge_types = edge_types.len();
    if node_count == 0 {
      return Err(Unsound("the snapshot has no nodes".into()));
    }
    (self.node_count, self.edge_count) = (node_count, edge_count);
    // `visit` has checked that the file is large enough to hold this many nodes.
    self.ids.reserve_exact(node_count);
    Ok(())
  }

  fn node(&mut self) -> Result<(), Unsound> {
    let node = &self.node;
    let ordinal = node.ordinal;
    match self.node_types.get(node.kind as usize) {
      None => {
        return Err(Unsound(format!(
          "node {ordinal}: type {} is not in meta",
          node.kind
        )))
      }
      Some(kind) if ordinal == 0 && kind != "synthetic" => {
        return Err(Unsound("node 0 is not the synthetic root".into()))
      }
      Some(_) => {}
    }
    self.node_names.see(node.name, ordinal);
    self
      .ids
      .push(u64::from(node.id_or_to) << 32 | ordinal as u64);
    self.edge_sum += u64::from(node.edge_count);
    self.node.ordinal += 1;
    Ok(())
  }

  fn edge(&mut self) -> Result<(), Unsound> {
    let edge = &self.edge;
    let (to, ordinal) = (edge.id_or_to as usize, edge.ordinal);
    if to >= self.node_count * self.nodes.fields || !to.is_multiple_of(self.nodes.fields) {
      return Err(Unsound(format!(
        "edge {ordinal}: to_node {to} is not a node"
      )));
    }
    if edge.kind as usize >= self.edge_types {
      return Err(Unsound(format!(
        "edge {ordinal}: type {} is not in meta",
        edge.kind
      )));
    }
    if !self.index_edges.contains(&edge.kind) {
      self.edge_names.see(edge.name, ordinal);
    }
    self.edge.ordinal += 1;
    Ok(())
  }

  fn end(&mut self) -> Result<(), Unsound> {
    self.ids.sort_unstable();
    let repeated = self.ids.windows(2).find(|w| w[0] >> 32 == w[1] >> 32);
    if let Some(&[first, second]) = repeated {
      return Err(Unsound(format!(
        "node {}: id {} is not unique (node {} has it too)",
        second as u32,
        second >> 32,
        first as u32
      )));
    }
    if self.edge_sum != self.edge_count as u64 {
      return Err(Unsound(format!(
        "the nodes' edge counts add up to {}, edge_count is {}",
        self.edge_sum, self.edge_count
      )));
    }
    self.node_names.check("node", self.strings)?;
    self.edge_names.check("edge", self.strings)
  }
}

impl Visitor for Checks {
  fn header(&mut self, meta: &Meta, node_count: usize, edge_count: usize) -> Result<(), String> {
    self
      .setup(meta, node_count, edge_count)
      .map_err(|fault| self.fault(fault))
  }

  fn nodes(&mut self, values: &[u32]) -> Result<(), String> {
    let [type_at, name_at, id_at, count_at] = self.node_at;
    for &value in values {
      let at = self.nodes.advance();
      let node = &mut self.node;
      if at == type_at {
        node.kind = value;
      } else if at == name_at {
        node.name = value;
      } else if at == id_at {
        node.id_or_to = value;
      } else if at == count_at {
        node.edge_count = value;
      }
      if at + 1 == self.nodes.fields {
        self.node().map_err(|fault| self.fault(fault))?;
      }
    }
    Ok(())
  }

  fn edges(&mut self, values: &[u32]) -> Result<(), String> {
    let [type_at, name_at, to_at] = self.edge_at;
    for &value in values {
      let at = self.edges.advance();
      let edge = &mut self.edge;
      if at == type_at {
        edge.kind = value;
      } else if at == name_at {
        edge.name = value;
      } else if at == to_at {
        edge.id_or_to = value;
      }
      if at + 1 == self.edges.fields {
        self.edge().map_err(|fault| self.fault(fault))?;
      }
    }
    Ok(())
  }

  fn string(&mut self, _text: String) {
    self.strings += 1;
  }

  fn finish(&mut self) -> Result<(), String> {
    self.end().map_err(|fault| self.fault(fault))
  }
}
