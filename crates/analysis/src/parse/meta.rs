//! What the snapshot's `meta` declares, and the helpers both readers of records use: where a
//! field is, the names of an enumerated field, and which field the next value belongs to.

use serde::Deserialize;

/// Field layout and enumerations, as the snapshot's `meta` declares them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Meta {
  pub node_fields: Vec<String>,
  /// Per node field: a list of names (an enumeration) or a type name such as "string".
  pub node_types: Vec<serde_json::Value>,
  pub edge_fields: Vec<String>,
  pub edge_types: Vec<serde_json::Value>,
  /// Fields of the `locations` array (where each object's constructor is defined).
  #[serde(default)]
  pub location_fields: Vec<String>,
  /// Fields of the `trace_function_infos` array (functions of allocation stacks, when the
  /// snapshot was taken with allocation tracking on).
  #[serde(default)]
  pub trace_function_info_fields: Vec<String>,
}

/// Where `name` is among a record's fields (`meta.node_fields`, `meta.edge_fields`).
pub(crate) fn field_position(fields: &[String], name: &str) -> Result<usize, String> {
  fields
    .iter()
    .position(|f| f == name)
    .ok_or_else(|| format!("meta declares no '{name}' field"))
}

/// Names of an enumerated field (`meta.node_types[i]` when it is a list).
pub(crate) fn enum_names(types: &[serde_json::Value], index: usize) -> Vec<String> {
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

/// How many fields a record has, and which one the next value belongs to.
#[derive(Default)]
pub(crate) struct Layout {
  pub(crate) fields: usize,
  at: usize,
}

impl Layout {
  pub(crate) fn new(fields: usize) -> Layout {
    Layout { fields, at: 0 }
  }

  /// The field the next value belongs to: 0 between records.
  pub(crate) fn at(&self) -> usize {
    self.at
  }

  /// The field the next value belongs to; moves on to the one after.
  pub(crate) fn advance(&mut self) -> usize {
    let at = self.at;
    self.at = if at + 1 == self.fields { 0 } else { at + 1 };
    at
  }
}
