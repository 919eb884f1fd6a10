//! The loader: a parse visitor that keeps the fields the analyses read, as the file streams by.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::columns::{Graph, Types, ABSENT};
use crate::parse::{field_position, visit, Layout, Meta, ParseError, Visitor};

#[derive(Default)]
struct Loader {
  graph: Graph,
  nodes: Layout,
  edges: Layout,
  /// Node field positions: type, name, id, self_size, edge_count.
  node_at: [usize; 5],
  detachedness_at: Option<usize>,
  /// Location field positions (object_index, script_id, line, column), and the record read.
  location_at: Option<[usize; 4]>,
  location: [u32; 4],
  locations: Layout,
  /// Edge field positions: type, name_or_index, to_node.
  edge_at: [usize; 3],
  node_count: usize,
  edge_count: usize,
  edges_declared: u64,
}

impl Visitor for Loader {
  fn header(&mut self, meta: &Meta, node_count: usize, edge_count: usize) -> Result<(), String> {
    let nf = &meta.node_fields;
    let ef = &meta.edge_fields;
    self.node_at = [
      field_position(nf, "type")?,
      field_position(nf, "name")?,
      field_position(nf, "id")?,
      field_position(nf, "self_size")?,
      field_position(nf, "edge_count")?,
    ];
    self.detachedness_at = nf.iter().position(|f| f == "detachedness");
    let lf = &meta.location_fields;
    self.location_at = (|| {
      Some([
        lf.iter().position(|f| f == "object_index")?,
        lf.iter().position(|f| f == "script_id")?,
        lf.iter().position(|f| f == "line")?,
        lf.iter().position(|f| f == "column")?,
      ])
    })();
    self.locations.fields = lf.len();
    self.edge_at = [
      field_position(ef, "type")?,
      field_position(ef, "name_or_index")?,
      field_position(ef, "to_node")?,
    ];
    self.nodes.fields = nf.len();
    self.edges.fields = ef.len();
    let types = Types::new(meta, self.node_at[0], self.edge_at[0]);
    if types.node.is_empty() || types.node.len() >= ABSENT as usize {
      return Err("meta.node_types declares no list of node types".into());
    }
    if types.edge.is_empty() || types.edge.len() >= ABSENT as usize {
      return Err("meta.edge_types declares no list of edge types".into());
    }
    if node_count == 0 {
      return Err("the snapshot has no nodes (not even the root)".into());
    }
    if node_count > u32::MAX as usize - 1 || edge_count > u32::MAX as usize - 1 {
      return Err("more than 2^32 nodes or edges".into());
    }
    let g = &mut self.graph;
    g.types = types;
    // `visit` has checked that the file is large enough to hold these counts.
    g.node_type.reserve_exact(node_count);
    g.node_name.reserve_exact(node_count);
    g.node_id.reserve_exact(node_count);
    g.self_size.reserve_exact(node_count);
    if self.detachedness_at.is_some() {
      g.detachedness.reserve_exact(node_count);
    }
    g.first_edge.reserve_exact(node_count + 1);
    g.first_edge.push(0);
    g.edge_type.reserve_exact(edge_count);
    g.edge_name.reserve_exact(edge_count);
    g.edge_to.reserve_exact(edge_count);
    self.node_count = node_count;
    self.edge_count = edge_count;
    Ok(())
  }

  fn nodes(&mut self, values: &[u32]) -> Result<(), String> {
    let [type_at, name_at, id_at, size_at, count_at] = self.node_at;
    let types = self.graph.types.node.len();
    for &value in values {
      let at = self.nodes.advance();
      let g = &mut self.graph;
      if at == type_at {
        if value as usize >= types {
          return Err(format!(
            "node {} has type {value}, but meta declares {types} node types",
            g.node_type.len()
          ));
        }
        g.node_type.push(value as u8);
      } else if at == name_at {
        g.node_name.push(value);
      } else if at == id_at {
        g.node_id.push(value);
      } else if at == size_at {
        g.self_size.push(value);
      } else if at == count_at {
        self.edges_declared += u64::from(value);
        if self.edges_declared > self.edge_count as u64 {
          return Err(format!(
            "the nodes' edge counts add up to more than edge_count ({})",
            self.edge_count
          ));
        }
        g.first_edge.push(self.edges_declared as u32);
      } else if Some(at) == self.detachedness_at {
        g.detachedness.push(value.min(3) as u8);
      }
    }
    Ok(())
  }

  fn edges(&mut self, values: &[u32]) -> Result<(), String> {
    let [type_at, name_at, to_at] = self.edge_at;
    let (types, fields) = (self.graph.types.edge.len(), self.nodes.fields);
    for &value in values {
      let at = self.edges.advance();
      let g = &mut self.graph;
      if at == type_at {
        if value as usize >= types {
          return Err(format!(
            "edge {} has type {value}, but meta declares {types} edge types",
            g.edge_type.len()
          ));
        }
        g.edge_type.push(value as u8);
      } else if at == name_at {
        g.edge_name.push(value);
      } else if at == to_at {
        let ordinal = value as usize / fields;
        if !(value as usize).is_multiple_of(fields) || ordinal >= self.node_count {
          return Err(format!(
            "edge {} points at {value}, which is not the start of a node",
            g.edge_to.len()
          ));
        }
        g.edge_to.push(ordinal as u32);
      }
    }
    Ok(())
  }

  fn string(&mut self, text: String) {
    self.graph.strings.push(&text);
  }

  fn locations(&mut self, values: &[u32]) -> Result<(), String> {
    let Some(at) = self.location_at else {
      return Ok(());
    };
    let nf = self.nodes.fields as u32;
    for &value in values {
      let field = self.locations.advance();
      if let Some(i) = at.iter().position(|&a| a == field) {
        self.location[i] = value;
      }
      if field + 1 == self.locations.fields {
        let [index, script, line, column] = self.location;
        // A record that names no node start is ignored, as DevTools never looks it up.
        if index % nf == 0 && ((index / nf) as usize) < self.node_count {
          self
            .graph
            .locations
            .push([index / nf, script, line, column]);
        }
      }
    }
    Ok(())
  }

  fn finish(&mut self) -> Result<(), String> {
    self.graph.edges = self.graph.edge_type.len();
    self.graph.locations.sort_unstable_by_key(|l| l[0]);
    self.graph.locations.dedup_by_key(|l| l[0]);
    let g = &self.graph;
    if self.edges_declared != self.edge_count as u64 {
      return Err(format!(
        "the nodes' edge counts add up to {}, edge_count is {}",
        self.edges_declared, self.edge_count
      ));
    }
    let strings = g.strings.len();
    if let Some(node) = g.node_name.iter().position(|&n| n as usize >= strings) {
      return Err(format!(
        "node {node} names string {}, but there are {strings}",
        g.node_name[node]
      ));
    }
    for edge in 0..g.edge_type.len() {
      if !g.types.edge_named_by_index(g.edge_type[edge]) && g.edge_name[edge] as usize >= strings {
        return Err(format!(
          "edge {edge} names string {}, but there are {strings}",
          g.edge_name[edge]
        ));
      }
    }
    self.graph.find_scripts();
    self.graph.find_bound_functions();
    self.graph.find_modules();
    Ok(())
  }
}

/// Reads a snapshot into a [`Graph`]; every index in it is then in range.
pub fn load(input: impl Read, size: u64) -> Result<Graph, ParseError> {
  let mut loader = Loader::default();
  visit(input, size, &mut loader)?;
  Ok(loader.graph)
}

pub fn load_file(path: &Path) -> Result<Graph, ParseError> {
  let file = File::open(path)?;
  let size = file.metadata()?.len();
  load(file, size)
}
