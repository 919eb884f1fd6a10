//! Streaming reader of V8 `.heapsnapshot` files.
//!
//! The file is one JSON object, but building a JSON tree of a multi-GB snapshot would take
//! several times its size in memory. V8 writes the small `snapshot` header first, then flat
//! arrays of integers (`nodes`, `edges`) and of strings; this reader parses the header with
//! serde_json and streams the arrays straight into `Vec<u32>` and `Vec<String>`, skipping
//! sections it does not use (`trace_*`, `samples`, `locations`).
//!
//! Untrusted input: capacities are taken from the header only up to what the file's size can
//! hold (every number needs at least two bytes, a digit and a separator), values must fit in
//! u32 (as in DevTools), and the header itself is bounded. Every error says at which byte.

mod error;
mod meta;
mod reader;

pub use error::ParseError;
pub use meta::Meta;
pub(crate) use meta::{enum_names, field_position, Layout};

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use reader::{show, Count, Reader};

#[derive(Debug, Deserialize)]
struct Header {
  meta: Meta,
  node_count: u64,
  edge_count: u64,
  /// Where the root node starts in `nodes`, when the header says (DevTools reads it; V8 writes
  /// the root first and leaves it out).
  root_index: Option<f64>,
}

/// A parsed snapshot: the node and edge arrays exactly as in the file, in compact form.
#[derive(Debug, Clone)]
pub struct HeapSnapshot {
  pub meta: Meta,
  pub node_count: usize,
  pub edge_count: usize,
  pub nodes: Vec<u32>,
  pub edges: Vec<u32>,
  pub strings: Vec<String>,
}

/// The header is a few KB in every snapshot V8 writes; anything far larger is not one.
const MAX_HEADER: usize = 4 << 20;

pub fn read_file(path: &Path) -> Result<HeapSnapshot, ParseError> {
  let file = File::open(path)?;
  let size = file.metadata()?.len();
  read(file, size)
}

/// Receives a snapshot's parts in file order as they are read: the header first, then the
/// `nodes` and `edges` values in chunks, then each string.
pub trait Visitor {
  /// Called once, before any array; an error stops the read.
  fn header(&mut self, meta: &Meta, node_count: usize, edge_count: usize) -> Result<(), String>;
  /// The header's `root_index`, when it has one; called after [`Visitor::header`]. Every
  /// analysis reads node 0 as the root, where V8 writes it: anything else stops the read.
  fn root_index(&mut self, index: f64) -> Result<(), String> {
    if index == 0.0 {
      Ok(())
    } else {
      Err(format!(
        "root_index is {index}: rheapdump reads the first node as the root, as V8 writes it"
      ))
    }
  }
  fn nodes(&mut self, values: &[u32]) -> Result<(), String>;
  fn edges(&mut self, values: &[u32]) -> Result<(), String>;
  fn string(&mut self, text: String);
  /// The `locations` array, in chunks; ignored unless a visitor wants it.
  fn locations(&mut self, _values: &[u32]) -> Result<(), String> {
    Ok(())
  }
  /// The `trace_function_infos` array, in chunks; ignored unless a visitor wants it.
  fn trace_function_infos(&mut self, _values: &[u32]) -> Result<(), String> {
    Ok(())
  }
  /// Called after the closing brace; `seen` says which of nodes, edges, strings were present.
  fn finish(&mut self) -> Result<(), String> {
    Ok(())
  }
}

/// Collects everything into a [`HeapSnapshot`].
#[derive(Default)]
struct Collect {
  meta: Option<Meta>,
  node_count: usize,
  edge_count: usize,
  nodes: Vec<u32>,
  edges: Vec<u32>,
  strings: Vec<String>,
}

impl Visitor for Collect {
  fn header(&mut self, meta: &Meta, node_count: usize, edge_count: usize) -> Result<(), String> {
    self.meta = Some(meta.clone());
    self.node_count = node_count;
    self.edge_count = edge_count;
    Ok(())
  }
  fn nodes(&mut self, values: &[u32]) -> Result<(), String> {
    self.nodes.extend_from_slice(values);
    Ok(())
  }
  fn edges(&mut self, values: &[u32]) -> Result<(), String> {
    self.edges.extend_from_slice(values);
    Ok(())
  }
  fn string(&mut self, text: String) {
    self.strings.push(text);
  }
}

/// Reads a snapshot from `input`, whose total size is `size` bytes.
pub fn read(input: impl Read, size: u64) -> Result<HeapSnapshot, ParseError> {
  let mut collect = Collect::default();
  visit(input, size, &mut collect)?;
  Ok(HeapSnapshot {
    meta: collect.meta.expect("visit calls header first"),
    node_count: collect.node_count,
    edge_count: collect.edge_count,
    nodes: collect.nodes,
    edges: collect.edges,
    strings: collect.strings,
  })
}

/// Streams a snapshot from `input` (`size` bytes in all) into `visitor`. Capacities a visitor
/// reserves from the header's counts are safe: [`visit`] refuses counts the file cannot hold.
pub fn visit(input: impl Read, size: u64, visitor: &mut impl Visitor) -> Result<(), ParseError> {
  let mut reader = Reader::new(input);
  reader.expect(b'{')?;
  let key = reader.key()?;
  if key == "head" {
    return Err(reader.error(
      "a sampling heap profile (.heapprofile), not a heap snapshot: read it with `rheapdump profile top FILE`".to_string(),
    ));
  }
  if key != "snapshot" {
    return Err(reader.error(format!(
      "expected the \"snapshot\" header first, found \"{key}\""
    )));
  }
  let header_bytes = reader.raw_value(MAX_HEADER)?;
  let header: Header = serde_json::from_slice(&header_bytes)
    .map_err(|err| reader.error(format!("unreadable snapshot header: {err}")))?;
  let node_fields = header.meta.node_fields.len() as u64;
  let edge_fields = header.meta.edge_fields.len() as u64;
  if node_fields == 0 || edge_fields == 0 {
    return Err(reader.error("the header declares no node or edge fields".to_string()));
  }
  let node_values = checked_values(&reader, "nodes", header.node_count, node_fields, size)?;
  let edge_values = checked_values(&reader, "edges", header.edge_count, edge_fields, size)?;
  visitor
    .header(
      &header.meta,
      header.node_count as usize,
      header.edge_count as usize,
    )
    .map_err(|message| reader.error(message))?;
  if let Some(index) = header.root_index {
    visitor
      .root_index(index)
      .map_err(|message| reader.error(message))?;
  }

  let (mut nodes, mut edges, mut strings) = (false, false, false);
  loop {
    match reader.next_non_ws()? {
      Some(b',') => {}
      Some(b'}') => break,
      Some(other) => {
        return Err(reader.error(format!("expected ',' or '}}', found {}", show(other))))
      }
      None => {
        return Err(reader.error("the file ends inside the top-level object (truncated?)".into()))
      }
    }
    let key = reader.key()?;
    match key.as_str() {
      "nodes" if !nodes => {
        reader.numbers(Count::Exactly(node_values), "nodes", |values| {
          visitor.nodes(values)
        })?;
        nodes = true;
      }
      "edges" if !edges => {
        reader.numbers(Count::Exactly(edge_values), "edges", |values| {
          visitor.edges(values)
        })?;
        edges = true;
      }
      "strings" if !strings => {
        reader.strings(|text| visitor.string(text))?;
        strings = true;
      }
      "locations" if !header.meta.location_fields.is_empty() => {
        // The header gives no count: at most what the file can hold.
        reader.numbers(Count::AtMost((size / 2) as usize), "locations", |values| {
          visitor.locations(values)
        })?;
      }
      "trace_function_infos" if !header.meta.trace_function_info_fields.is_empty() => {
        reader.numbers(
          Count::AtMost((size / 2) as usize),
          "trace_function_infos",
          |values| visitor.trace_function_infos(values),
        )?;
      }
      "nodes" | "edges" | "strings" => {
        return Err(reader.error(format!("a second \"{key}\" array")));
      }
      _ => reader.skip_value()?,
    }
  }
  if let Some(extra) = reader.next_non_ws()? {
    return Err(reader.error(format!(
      "unexpected {} after the end of the snapshot",
      show(extra)
    )));
  }
  for (present, what) in [(nodes, "nodes"), (edges, "edges"), (strings, "strings")] {
    if !present {
      return Err(reader.error(format!("the snapshot has no \"{what}\" array")));
    }
  }
  visitor.finish().map_err(|message| reader.error(message))
}

fn checked_values<R: Read>(
  reader: &Reader<R>,
  what: &str,
  count: u64,
  fields: u64,
  size: u64,
) -> Result<usize, ParseError> {
  match count.checked_mul(fields) {
    Some(values) if values <= size / 2 => Ok(values as usize),
    _ => Err(reader.error(format!(
      "the header claims {count} {what} of {fields} fields, more than a file of {size} bytes can hold"
    ))),
  }
}
