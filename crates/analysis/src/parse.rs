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

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

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
}

#[derive(Debug, Deserialize)]
struct Header {
  meta: Meta,
  node_count: u64,
  edge_count: u64,
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

#[derive(Debug)]
pub enum ParseError {
  Io(io::Error),
  /// The bytes are not what a heap snapshot has at `offset`.
  Syntax {
    offset: u64,
    message: String,
  },
}

impl fmt::Display for ParseError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      ParseError::Io(err) => write!(f, "{err}"),
      ParseError::Syntax { offset, message } => write!(f, "at byte {offset}: {message}"),
    }
  }
}

impl std::error::Error for ParseError {}

impl From<io::Error> for ParseError {
  fn from(err: io::Error) -> Self {
    ParseError::Io(err)
  }
}

/// How many values an array must hold: what the header declares, or (for arrays the header
/// gives no count for) at most what the file's size can hold.
#[derive(Clone, Copy)]
enum Count {
  Exactly(usize),
  AtMost(usize),
}

/// The header is a few KB in every snapshot V8 writes; anything far larger is not one.
const MAX_HEADER: usize = 4 << 20;
const BUFFER: usize = 1 << 16;

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
  fn nodes(&mut self, values: &[u32]) -> Result<(), String>;
  fn edges(&mut self, values: &[u32]) -> Result<(), String>;
  fn string(&mut self, text: String);
  /// The `locations` array, in chunks; ignored unless a visitor wants it.
  fn locations(&mut self, _values: &[u32]) -> Result<(), String> {
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

fn show(byte: u8) -> String {
  if byte.is_ascii_graphic() {
    format!("'{}'", byte as char)
  } else {
    format!("byte 0x{byte:02x}")
  }
}

struct Reader<R> {
  input: R,
  buf: Vec<u8>,
  pos: usize,
  len: usize,
  /// Bytes consumed before `buf`.
  base: u64,
}

impl<R: Read> Reader<R> {
  fn new(input: R) -> Self {
    Reader {
      input,
      buf: vec![0; BUFFER],
      pos: 0,
      len: 0,
      base: 0,
    }
  }

  fn offset(&self) -> u64 {
    self.base + self.pos as u64
  }

  fn error(&self, message: String) -> ParseError {
    ParseError::Syntax {
      offset: self.offset(),
      message,
    }
  }

  fn peek(&mut self) -> Result<Option<u8>, ParseError> {
    if self.pos == self.len {
      self.base += self.len as u64;
      self.pos = 0;
      self.len = loop {
        match self.input.read(&mut self.buf) {
          Ok(n) => break n,
          Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
          Err(err) => return Err(err.into()),
        }
      };
      if self.len == 0 {
        return Ok(None);
      }
    }
    Ok(Some(self.buf[self.pos]))
  }

  fn next(&mut self) -> Result<Option<u8>, ParseError> {
    let byte = self.peek()?;
    if byte.is_some() {
      self.pos += 1;
    }
    Ok(byte)
  }

  fn next_non_ws(&mut self) -> Result<Option<u8>, ParseError> {
    loop {
      match self.next()? {
        Some(b' ' | b'\n' | b'\r' | b'\t') => {}
        other => return Ok(other),
      }
    }
  }

  fn peek_non_ws(&mut self) -> Result<Option<u8>, ParseError> {
    loop {
      match self.peek()? {
        Some(b' ' | b'\n' | b'\r' | b'\t') => self.pos += 1,
        other => return Ok(other),
      }
    }
  }

  fn expect(&mut self, wanted: u8) -> Result<(), ParseError> {
    match self.next_non_ws()? {
      Some(byte) if byte == wanted => Ok(()),
      Some(byte) => Err(self.error(format!(
        "expected '{}', found {}",
        wanted as char,
        show(byte)
      ))),
      None => Err(self.error(format!(
        "expected '{}', found the end of the file",
        wanted as char
      ))),
    }
  }

  /// An object key and the ':' after it.
  fn key(&mut self) -> Result<String, ParseError> {
    let key = self.string()?;
    self.expect(b':')?;
    Ok(key)
  }

  /// A JSON string, escapes decoded; invalid UTF-8 and lone surrogates become U+FFFD.
  fn string(&mut self) -> Result<String, ParseError> {
    self.expect(b'"')?;
    let mut bytes = Vec::new();
    loop {
      // Copy the run up to the next quote or backslash in one go.
      if self.peek()?.is_some() {
        let run = &self.buf[self.pos..self.len];
        let end = run
          .iter()
          .position(|&b| b == b'"' || b == b'\\')
          .unwrap_or(run.len());
        bytes.extend_from_slice(&run[..end]);
        self.pos += end;
      }
      let Some(byte) = self.next()? else {
        return Err(self.error("the file ends inside a string (truncated?)".into()));
      };
      match byte {
        b'"' => break,
        b'\\' => self.escape(&mut bytes)?,
        _ => bytes.push(byte),
      }
    }
    Ok(match String::from_utf8(bytes) {
      Ok(text) => text,
      Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
  }

  fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ParseError> {
    let Some(byte) = self.next()? else {
      return Err(self.error("the file ends inside a string escape".into()));
    };
    let simple = match byte {
      b'"' => b'"',
      b'\\' => b'\\',
      b'/' => b'/',
      b'b' => 0x08,
      b'f' => 0x0c,
      b'n' => b'\n',
      b'r' => b'\r',
      b't' => b'\t',
      b'u' => {
        let unit = self.hex4()?;
        let c = if (0xd800..0xdc00).contains(&unit) && self.peek()? == Some(b'\\') {
          self.pos += 1;
          if self.next()? != Some(b'u') {
            return Err(self.error("expected a \\u escape after a high surrogate".into()));
          }
          let low = self.hex4()?;
          if (0xdc00..0xe000).contains(&low) {
            char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))
          } else {
            None
          }
        } else {
          char::from_u32(unit)
        };
        let mut utf8 = [0; 4];
        out.extend_from_slice(c.unwrap_or('\u{fffd}').encode_utf8(&mut utf8).as_bytes());
        return Ok(());
      }
      other => return Err(self.error(format!("invalid escape \\{}", other as char))),
    };
    out.push(simple);
    Ok(())
  }

  fn hex4(&mut self) -> Result<u32, ParseError> {
    let mut value = 0;
    for _ in 0..4 {
      let digit = self
        .next()?
        .and_then(|b| (b as char).to_digit(16))
        .ok_or_else(|| self.error("invalid \\u escape".into()))?;
      value = value * 16 + digit;
    }
    Ok(value)
  }

  /// `[n, n, …]` of non-negative integers that fit in u32, as many as `count` says, handed
  /// to `emit` in chunks. This is the hot loop of every analysis: it scans the buffer directly.
  fn numbers(
    &mut self,
    count_wanted: Count,
    what: &str,
    mut emit: impl FnMut(&[u32]) -> Result<(), String>,
  ) -> Result<(), ParseError> {
    const CHUNK: usize = 1 << 14;
    let (expected, exact) = match count_wanted {
      Count::Exactly(n) => (n, true),
      Count::AtMost(n) => (n, false),
    };
    self.expect(b'[')?;
    let mut chunk: Vec<u32> = Vec::with_capacity(CHUNK);
    let mut count = 0usize;
    let (mut value, mut digits) = (0u64, 0u32);
    // After a value and before its ',' (or the closing ']').
    let mut after_value = false;
    let mut first = true;
    loop {
      if self.peek()?.is_none() {
        return Err(self.error(format!("the file ends inside \"{what}\" (truncated?)")));
      }
      let mut i = self.pos;
      let mut closed = false;
      let mut bad: Option<String> = None;
      while i < self.len {
        let byte = self.buf[i];
        if byte.is_ascii_digit() {
          if after_value {
            bad = Some(format!(
              "expected ',' or ']' in \"{what}\", found {}",
              show(byte)
            ));
            break;
          }
          value = value * 10 + u64::from(byte - b'0');
          digits += 1;
          if digits > 10 || value > u64::from(u32::MAX) {
            bad = Some(format!("a value in \"{what}\" is larger than 2^32"));
            break;
          }
          i += 1;
          continue;
        }
        if digits > 0 {
          if count == expected {
            bad = Some(format!(
              "\"{what}\" has more values than {} ({expected})",
              if exact {
                "the header's count"
              } else {
                "the file can hold"
              }
            ));
            break;
          }
          chunk.push(value as u32);
          count += 1;
          if chunk.len() == CHUNK {
            if let Err(message) = emit(&chunk) {
              bad = Some(message);
              break;
            }
            chunk.clear();
          }
          value = 0;
          digits = 0;
          after_value = true;
        }
        match byte {
          b' ' | b'\n' | b'\r' | b'\t' => {}
          b',' if after_value => {
            after_value = false;
            first = false;
          }
          b']' if after_value || (first && count == 0) => {
            i += 1;
            closed = true;
            break;
          }
          _ => {
            bad = Some(if after_value {
              format!("expected ',' or ']' in \"{what}\", found {}", show(byte))
            } else {
              format!("expected a number in \"{what}\", found {}", show(byte))
            });
            break;
          }
        }
        i += 1;
      }
      self.pos = i;
      if let Some(message) = bad {
        return Err(self.error(message));
      }
      if closed {
        break;
      }
    }
    if !chunk.is_empty() {
      emit(&chunk).map_err(|message| self.error(message))?;
    }
    if exact && count != expected {
      return Err(self.error(format!(
        "\"{what}\" has {count} values; the header's count needs {expected}"
      )));
    }
    Ok(())
  }

  fn strings(&mut self, mut emit: impl FnMut(String)) -> Result<(), ParseError> {
    self.expect(b'[')?;
    if self.peek_non_ws()? == Some(b']') {
      self.pos += 1;
      return Ok(());
    }
    loop {
      emit(self.string()?);
      match self.next_non_ws()? {
        Some(b',') => {}
        Some(b']') => return Ok(()),
        Some(other) => {
          return Err(self.error(format!(
            "expected ',' or ']' in \"strings\", found {}",
            show(other)
          )))
        }
        None => return Err(self.error("the file ends inside \"strings\" (truncated?)".into())),
      }
    }
  }

  /// The bytes of one JSON value (object or array), at most `limit` of them.
  fn raw_value(&mut self, limit: usize) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::new();
    self.value(Some((&mut out, limit)))?;
    Ok(out)
  }

  fn skip_value(&mut self) -> Result<(), ParseError> {
    self.value(None)
  }

  /// Walks one JSON value, keeping its bytes in `keep` if given. Strings are walked with their
  /// escapes so that brackets inside them do not count.
  fn value(&mut self, mut keep: Option<(&mut Vec<u8>, usize)>) -> Result<(), ParseError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let first = self.peek_non_ws()?;
    if !matches!(
      first,
      Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
    ) {
      let found = first
        .map(show)
        .unwrap_or_else(|| "the end of the file".into());
      return Err(self.error(format!("expected a value, found {found}")));
    }
    loop {
      let Some(byte) = self.peek()? else {
        if depth == 0 && !in_string {
          return Ok(());
        }
        return Err(self.error("the file ends inside a value (truncated?)".into()));
      };
      if !in_string && depth == 0 && matches!(byte, b',' | b'}' | b']') {
        return Ok(()); // the end of a scalar; the caller reads the separator
      }
      self.pos += 1;
      if let Some((out, limit)) = keep.as_mut() {
        if out.len() == *limit {
          return Err(self.error(format!(
            "a header of more than {limit} bytes is not a heap snapshot's"
          )));
        }
        out.push(byte);
      }
      if in_string {
        match (escaped, byte) {
          (true, _) => escaped = false,
          (false, b'\\') => escaped = true,
          (false, b'"') => in_string = false,
          _ => {}
        }
        if !in_string && depth == 0 {
          return Ok(());
        }
        continue;
      }
      match byte {
        b'"' => in_string = true,
        b'{' | b'[' => depth += 1,
        b'}' | b']' => {
          depth -= 1;
          if depth == 0 {
            return Ok(());
          }
        }
        _ => {}
      }
    }
  }
}
