//! The structural checks a sound snapshot passes: counts agree, every edge points
//! at a node, every name is a string index, ids are unique, node 0 is the synthetic root. One
//! streaming pass, so a multi-GB file is checked in a small fraction of its size.

use std::fmt;
use std::io::Read;

use crate::parse::{enum_names, field_position, visit, Layout, Meta, ParseError, Visitor};

/// What a sound snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soundness {
  pub nodes: usize,
  pub edges: usize,
  pub strings: usize,
  pub node_fields: usize,
}

/// The `validate` report of a sound snapshot, the same JSON from the CLI (`validate --json`)
/// and the addon (`analysis.validate`). `valid` is always true here: an unsound file is a
/// failure, which the CLI prints as `{code, error, file, valid: false}`. The fields are in
/// alphabetical order, the order the CLI printed them in when it built this with `json!`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "SnapshotValidity"))]
pub struct Validity {
  pub edges: usize,
  pub file: String,
  pub nodes: usize,
  pub strings: usize,
  /// Always true: an unsound snapshot is a failure (ERR_SNAPSHOT_UNSOUND, ERR_SNAPSHOT_SYNTAX).
  #[cfg_attr(feature = "ts", ts(type = "true"))]
  pub valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsound(pub String);

impl fmt::Display for Unsound {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.0)
  }
}

impl std::error::Error for Unsound {}

fn field(fields: &[String], name: &str) -> Result<usize, Unsound> {
  field_position(fields, name).map_err(Unsound)
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
    node_fields: checks.nodes.record.len(),
  }))
}

/// The node or edge records of one array, gathered value by value across the chunks the
/// parser hands over.
#[derive(Default)]
struct Records {
  layout: Layout,
  /// The record being read, one value per field.
  record: Vec<u32>,
  /// How many whole records have been read.
  read: usize,
}

impl Records {
  fn new(fields: usize) -> Records {
    Records {
      layout: Layout::new(fields),
      record: vec![0; fields],
      read: 0,
    }
  }

  /// Takes the next value; the record's ordinal once it is whole.
  fn push(&mut self, value: u32) -> Option<usize> {
    let at = self.layout.advance();
    self.record[at] = value;
    (at + 1 == self.record.len()).then(|| {
      self.read += 1;
      self.read - 1
    })
  }
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
  nodes: Records,
  edges: Records,
  /// Node field positions: type, name, id, edge_count.
  node_at: [usize; 4],
  /// Edge field positions: type, name_or_index, to_node.
  edge_at: [usize; 3],
  /// The `locations` records, and where `object_index` is in one (None: no such field).
  locations: Records,
  object_index_at: Option<usize>,
  node_types: Vec<String>,
  edge_types: usize,
  /// Edge types whose name_or_index is a number, not a string index.
  index_edges: Vec<u32>,
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
    self.nodes = Records::new(nf.len());
    self.edges = Records::new(ef.len());
    let lf = &meta.location_fields;
    self.locations = Records::new(lf.len());
    self.object_index_at = lf.iter().position(|f| f == "object_index");
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

  fn node(&mut self, ordinal: usize) -> Result<(), Unsound> {
    let [type_at, name_at, id_at, count_at] = self.node_at;
    let node = &self.nodes.record;
    match self.node_types.get(node[type_at] as usize) {
      None => {
        return Err(Unsound(format!(
          "node {ordinal}: type {} is not in meta",
          node[type_at]
        )))
      }
      Some(kind) if ordinal == 0 && kind != "synthetic" => {
        return Err(Unsound("node 0 is not the synthetic root".into()))
      }
      Some(_) => {}
    }
    self.node_names.see(node[name_at], ordinal);
    self.ids.push(u64::from(node[id_at]) << 32 | ordinal as u64);
    self.edge_sum += u64::from(node[count_at]);
    Ok(())
  }

  fn edge(&mut self, ordinal: usize) -> Result<(), Unsound> {
    let [type_at, name_at, to_at] = self.edge_at;
    let edge = &self.edges.record;
    let (to, fields) = (edge[to_at] as usize, self.nodes.record.len());
    if to >= self.node_count * fields || !to.is_multiple_of(fields) {
      return Err(Unsound(format!(
        "edge {ordinal}: to_node {to} is not a node"
      )));
    }
    // V8's root is synthetic: it retains the GC roots and nothing retains it.
    if to == 0 {
      return Err(Unsound(format!(
        "edge {ordinal}: to_node 0 points at the root, which nothing retains"
      )));
    }
    if edge[type_at] as usize >= self.edge_types {
      return Err(Unsound(format!(
        "edge {ordinal}: type {} is not in meta",
        edge[type_at]
      )));
    }
    if !self.index_edges.contains(&edge[type_at]) {
      self.edge_names.see(edge[name_at], ordinal);
    }
    Ok(())
  }

  /// A location names the node of the object whose constructor it gives: `object_index` must be
  /// where a node starts.
  fn location(&mut self, ordinal: usize) -> Result<(), Unsound> {
    let Some(at) = self.object_index_at else {
      return Ok(());
    };
    let index = self.locations.record[at] as usize;
    let fields = self.nodes.record.len();
    if index >= self.node_count * fields || !index.is_multiple_of(fields) {
      return Err(Unsound(format!(
        "location {ordinal}: object_index {index} is not a node"
      )));
    }
    Ok(())
  }

  fn end(&mut self) -> Result<(), Unsound> {
    if self.locations.layout.at() != 0 {
      return Err(Unsound(format!(
        "\"locations\" ends inside a record: its length is not a multiple of {} fields",
        self.locations.record.len()
      )));
    }
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
    for &value in values {
      if let Some(ordinal) = self.nodes.push(value) {
        self.node(ordinal).map_err(|fault| self.fault(fault))?;
      }
    }
    Ok(())
  }

  fn edges(&mut self, values: &[u32]) -> Result<(), String> {
    for &value in values {
      if let Some(ordinal) = self.edges.push(value) {
        self.edge(ordinal).map_err(|fault| self.fault(fault))?;
      }
    }
    Ok(())
  }

  fn root_index(&mut self, index: f64) -> Result<(), String> {
    let fields = self.nodes.record.len() as f64;
    let reason = if index == 0.0 {
      return Ok(());
    } else if !(index >= 0.0 && index.fract() == 0.0 && index < self.node_count as f64 * fields) {
      format!("root_index {index} is not in \"nodes\"")
    } else if index % fields != 0.0 {
      format!("root_index {index} is not where a node starts")
    } else {
      format!("root_index {index} is not node 0, where V8 writes the root")
    };
    Err(self.fault(Unsound(reason)))
  }

  fn locations(&mut self, values: &[u32]) -> Result<(), String> {
    for &value in values {
      if let Some(ordinal) = self.locations.push(value) {
        self.location(ordinal).map_err(|fault| self.fault(fault))?;
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
