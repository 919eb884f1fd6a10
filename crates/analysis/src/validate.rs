//! The structural checks a sound snapshot passes (see NOTES.md): counts agree, every edge points
//! at a node, every name is a string index, ids are unique, node 0 is the synthetic root.

use std::collections::HashSet;
use std::fmt;

use crate::parse::HeapSnapshot;

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

pub fn validate(snapshot: &HeapSnapshot) -> Result<Soundness, Unsound> {
  let meta = &snapshot.meta;
  let nf = meta.node_fields.len();
  let ef = meta.edge_fields.len();
  let (nodes, edges, strings) = (&snapshot.nodes, &snapshot.edges, snapshot.strings.len());
  if nodes.len() != snapshot.node_count * nf {
    return Err(Unsound(format!(
      "nodes has {} values, node_count {} × {nf} fields needs {}",
      nodes.len(),
      snapshot.node_count,
      snapshot.node_count * nf
    )));
  }
  if edges.len() != snapshot.edge_count * ef {
    return Err(Unsound(format!(
      "edges has {} values, edge_count {} × {ef} fields needs {}",
      edges.len(),
      snapshot.edge_count,
      snapshot.edge_count * ef
    )));
  }
  let node_type = field(&meta.node_fields, "type")?;
  let node_name = field(&meta.node_fields, "name")?;
  let node_id = field(&meta.node_fields, "id")?;
  let node_edges = field(&meta.node_fields, "edge_count")?;
  let edge_type = field(&meta.edge_fields, "type")?;
  let edge_name = field(&meta.edge_fields, "name_or_index")?;
  let edge_to = field(&meta.edge_fields, "to_node")?;
  let node_types = enum_names(&meta.node_types, node_type);
  let edge_types = enum_names(&meta.edge_types, edge_type);
  let index_edges: Vec<u32> = ["element", "hidden"]
    .iter()
    .filter_map(|t| edge_types.iter().position(|e| e == t).map(|p| p as u32))
    .collect();

  if snapshot.node_count == 0 {
    return Err(Unsound("the snapshot has no nodes".into()));
  }
  if node_types
    .get(nodes[node_type] as usize)
    .map(String::as_str)
    != Some("synthetic")
  {
    return Err(Unsound("node 0 is not the synthetic root".into()));
  }
  let mut ids = HashSet::with_capacity(snapshot.node_count);
  let mut edge_sum: u64 = 0;
  for (ordinal, node) in nodes.chunks_exact(nf).enumerate() {
    if node[node_type] as usize >= node_types.len() {
      return Err(Unsound(format!(
        "node {ordinal}: type {} is not in meta",
        node[node_type]
      )));
    }
    if node[node_name] as usize >= strings {
      return Err(Unsound(format!(
        "node {ordinal}: name {} is not a string index",
        node[node_name]
      )));
    }
    if !ids.insert(node[node_id]) {
      return Err(Unsound(format!(
        "node {ordinal}: id {} is not unique",
        node[node_id]
      )));
    }
    edge_sum += u64::from(node[node_edges]);
  }
  if edge_sum != snapshot.edge_count as u64 {
    return Err(Unsound(format!(
      "the nodes' edge counts add up to {edge_sum}, edge_count is {}",
      snapshot.edge_count
    )));
  }
  for (ordinal, edge) in edges.chunks_exact(ef).enumerate() {
    let to = edge[edge_to] as usize;
    if to >= nodes.len() || !to.is_multiple_of(nf) {
      return Err(Unsound(format!(
        "edge {ordinal}: to_node {to} is not a node"
      )));
    }
    if edge[edge_type] as usize >= edge_types.len() {
      return Err(Unsound(format!(
        "edge {ordinal}: type {} is not in meta",
        edge[edge_type]
      )));
    }
    if !index_edges.contains(&edge[edge_type]) && edge[edge_name] as usize >= strings {
      return Err(Unsound(format!(
        "edge {ordinal}: name {} is not a string index",
        edge[edge_name]
      )));
    }
  }
  Ok(Soundness {
    nodes: snapshot.node_count,
    edges: snapshot.edge_count,
    strings,
    node_fields: nf,
  })
}
