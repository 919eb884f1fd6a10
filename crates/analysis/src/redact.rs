//! `redact`: a copy of a snapshot that can be shared, with every value string replaced.
//!
//! A snapshot's `strings` table is shared by everything that has a name: the content of string
//! nodes, the values of heap numbers and regexp sources, but also class, function, property and
//! script names. Only the first kind is data the program handled (tokens, passwords, customer
//! records); the second kind is its code. A table entry is redacted when some node of a value type
//! (string, concatenated string, sliced string, number, regexp, bigint) is named by it and nothing
//! else is: an entry that also names a class, a function, a property (edge), or a script or
//! function of an allocation stack is kept, because the same text stays visible as that name
//! anyway and the nodes, edges and class summary must not change.
//!
//! The placeholder has the entry's length in UTF-16 units (what V8 and DevTools count), all `*`,
//! so each string node keeps a name as long as before. Only the `strings` array changes: every
//! other byte of the file is copied as it is, so `nodes`, `edges`, `locations` and the rest are
//! identical.
//!
//! Two streaming passes, so that files larger than memory can be redacted: the first reads the
//! nodes and edges and marks each string index as a value, a name or both (two bits per string,
//! bounded by the file's size); the second copies the file into a temporary file beside the
//! output, rewriting the strings to redact, and renames it into place once it is complete (mode
//! 0600 on Unix): there is never a partial file under the output's name.

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use serde::Serialize;

use crate::failure::Failure;
use crate::input;
use crate::parse::{enum_names, field_position, visit, Layout, Meta, ParseError, Visitor};

/// Node types whose name is a value the program held, not a name in its code.
const VALUE_TYPES: [&str; 6] = [
  "string",
  "concatenated string",
  "sliced string",
  "number",
  "regexp",
  "bigint",
];

/// What `redact` did (`rheapdump redact --json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "RedactionReport"))]
pub struct Redaction {
  pub file: String,
  pub output: String,
  /// Entries of the strings table.
  pub strings: u64,
  /// Entries replaced by a placeholder.
  pub redacted: u64,
  /// Entries that name a value and also a class, function, property or script: kept.
  pub kept_as_names: u64,
  /// The output's size in bytes.
  pub bytes: u64,
}

/// One bit per string index, grown as indices are seen.
#[derive(Default)]
struct Bits(Vec<u64>);

impl Bits {
  fn set(&mut self, index: usize) {
    let word = index / 64;
    if word >= self.0.len() {
      self.0.resize(word + 1, 0);
    }
    self.0[word] |= 1 << (index % 64);
  }

  fn get(&self, index: usize) -> bool {
    self
      .0
      .get(index / 64)
      .is_some_and(|word| word & (1 << (index % 64)) != 0)
  }
}

/// Which string indices name values and which name code: the first pass.
#[derive(Default)]
struct Uses {
  /// The largest index a string can have in a file of this size (each needs at least `"",`).
  limit: usize,
  nodes: Layout,
  node_type_at: usize,
  node_name_at: usize,
  node_type: u32,
  /// Per node type: whether its nodes are named by values.
  value_type: Vec<bool>,
  edges: Layout,
  edge_type_at: usize,
  edge_name_at: usize,
  edge_type: u32,
  /// Per edge type: whether its `name_or_index` is a number (element, hidden).
  index_edge: Vec<bool>,
  traces: Layout,
  /// Positions of `name` and `script_name` in `trace_function_infos`.
  trace_names: Vec<usize>,
  values: Bits,
  names: Bits,
  largest: Option<usize>,
  strings: usize,
}

impl Uses {
  fn mark(&mut self, index: u32, value: bool) -> Result<(), String> {
    let index = index as usize;
    if index > self.limit {
      return Err(format!(
        "string index {index} is more than a file of this size can hold"
      ));
    }
    self.largest = self.largest.max(Some(index));
    if value {
      self.values.set(index);
    } else {
      self.names.set(index);
    }
    Ok(())
  }

  fn redacts(&self, index: usize) -> bool {
    self.values.get(index) && !self.names.get(index)
  }
}

impl Visitor for Uses {
  fn header(&mut self, meta: &Meta, _nodes: usize, _edges: usize) -> Result<(), String> {
    let (nf, ef) = (&meta.node_fields, &meta.edge_fields);
    self.node_type_at = field_position(nf, "type")?;
    self.node_name_at = field_position(nf, "name")?;
    self.nodes = Layout::new(nf.len());
    self.value_type = enum_names(&meta.node_types, self.node_type_at)
      .iter()
      .map(|name| VALUE_TYPES.contains(&name.as_str()))
      .collect();
    self.edge_type_at = field_position(ef, "type")?;
    self.edge_name_at = field_position(ef, "name_or_index")?;
    self.edges = Layout::new(ef.len());
    self.index_edge = enum_names(&meta.edge_types, self.edge_type_at)
      .iter()
      .map(|name| name == "element" || name == "hidden")
      .collect();
    let tf = &meta.trace_function_info_fields;
    self.traces = Layout::new(tf.len());
    self.trace_names = ["name", "script_name"]
      .iter()
      .filter_map(|name| tf.iter().position(|f| f == name))
      .collect();
    Ok(())
  }

  fn nodes(&mut self, values: &[u32]) -> Result<(), String> {
    for &value in values {
      let at = self.nodes.advance();
      if at == self.node_type_at {
        self.node_type = value;
      }
      // The type comes before the name in every layout V8 writes; a file where it does not is
      // read with the previous node's type, which can only keep more.
      if at == self.node_name_at {
        let value_type = self
          .value_type
          .get(self.node_type as usize)
          .copied()
          .unwrap_or(false);
        self.mark(value, value_type)?;
      }
    }
    Ok(())
  }

  fn edges(&mut self, values: &[u32]) -> Result<(), String> {
    for &value in values {
      let at = self.edges.advance();
      if at == self.edge_type_at {
        self.edge_type = value;
      }
      if at == self.edge_name_at {
        let by_index = self
          .index_edge
          .get(self.edge_type as usize)
          .copied()
          .unwrap_or(false);
        if !by_index {
          self.mark(value, false)?;
        }
      }
    }
    Ok(())
  }

  fn trace_function_infos(&mut self, values: &[u32]) -> Result<(), String> {
    for &value in values {
      let at = self.traces.advance();
      if self.trace_names.contains(&at) {
        self.mark(value, false)?;
      }
    }
    Ok(())
  }

  fn string(&mut self, _text: String) {
    self.strings += 1;
  }

  fn finish(&mut self) -> Result<(), String> {
    match self.largest {
      Some(index) if index >= self.strings => Err(format!(
        "a node or edge names string {index}, but there are {}",
        self.strings
      )),
      _ => Ok(()),
    }
  }
}

/// Copies `input` to `output` with the strings that `redacts` picks (by index) replaced by `*`s,
/// as many as the string has UTF-16 units. Every other byte is copied unchanged. Returns how
/// many strings the `strings` array held. `input` has passed the first pass's reader: it is one
/// JSON object whose values are well formed.
fn rewrite(
  input: impl Read,
  output: &mut impl Write,
  redacts: impl Fn(usize) -> bool,
) -> io::Result<usize> {
  const STARS: [u8; 4096] = [b'*'; 4096];
  let mut input = input;
  let mut buf = vec![0u8; 1 << 20];
  // Where the walk is: depth of brackets, inside a string or not, after a backslash.
  let mut depth = 0u32;
  let mut in_string = false;
  let mut escaped = false;
  // Top-level keys: the one being read (its first bytes), and whether the last was "strings".
  let mut key: Option<Vec<u8>> = None;
  let mut after_strings_key = false;
  let mut in_strings = false;
  // The element of `strings` being redacted: units still to write, hex digits to skip.
  let mut redacting = false;
  let mut hex_left = 0u8;
  let mut stars = 0usize;
  let mut strings = 0usize;
  loop {
    let n = match input.read(&mut buf) {
      Ok(0) => break,
      Ok(n) => n,
      Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
      Err(err) => return Err(err),
    };
    let chunk = &buf[..n];
    // Bytes of `chunk` from `copied` on are still to be written as they are.
    let mut copied = 0;
    let mut i = 0;
    while i < n {
      let byte = chunk[i];
      if redacting {
        if hex_left > 0 {
          hex_left -= 1;
        } else if escaped {
          escaped = false;
          stars += 1;
          if byte == b'u' {
            hex_left = 4;
          }
        } else if byte == b'\\' {
          escaped = true;
        } else if byte == b'"' {
          redacting = false;
          in_string = false;
          while stars > 0 {
            let run = stars.min(STARS.len());
            output.write_all(&STARS[..run])?;
            stars -= run;
          }
          copied = i; // the closing quote is copied
        } else {
          // UTF-16 units of UTF-8: one per lead byte, two for a 4-byte sequence, none for
          // continuation bytes.
          stars += match byte {
            0x80..=0xbf => 0,
            0xf0..=0xf7 => 2,
            _ => 1,
          };
        }
        i += 1;
        continue;
      }
      if in_string {
        // Jump to the next quote or backslash.
        match chunk[i..].iter().position(|&b| b == b'"' || b == b'\\') {
          None => {
            if let Some(key) = key.as_mut() {
              extend_key(key, &chunk[i..]);
            }
            if escaped {
              escaped = false;
            }
            i = n;
            continue;
          }
          Some(at) => {
            if let Some(key) = key.as_mut() {
              extend_key(key, &chunk[i..i + at]);
            }
            if escaped && at == 0 {
              escaped = false;
              i += 1;
              continue;
            }
            escaped = false;
            i += at;
            let byte = chunk[i];
            i += 1;
            if byte == b'\\' {
              escaped = true;
              continue;
            }
            in_string = false;
            if let Some(done) = key.take() {
              after_strings_key = done == b"strings";
            }
            continue;
          }
        }
      }
      match byte {
        b'"' => {
          in_string = true;
          if in_strings && depth == 2 {
            if redacts(strings) {
              output.write_all(&chunk[copied..=i])?;
              copied = i + 1;
              redacting = true;
            }
            strings += 1;
          } else if depth == 1 && !after_strings_key {
            key = Some(Vec::new());
          }
        }
        b'[' | b'{' => {
          depth += 1;
          if byte == b'[' && depth == 2 && after_strings_key {
            in_strings = true;
          }
          after_strings_key = false;
        }
        b']' | b'}' => {
          if depth == 2 {
            in_strings = false;
          }
          depth = depth.saturating_sub(1);
          after_strings_key = false;
        }
        b',' if depth == 1 => after_strings_key = false,
        _ => {}
      }
      i += 1;
    }
    if !redacting {
      output.write_all(&chunk[copied..])?;
    }
  }
  Ok(strings)
}

/// Keys are compared with "strings" only: their first bytes are enough.
fn extend_key(key: &mut Vec<u8>, bytes: &[u8]) {
  let room = 16usize.saturating_sub(key.len());
  key.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Which strings of a snapshot are redacted: the first pass, over `input` (`size` bytes).
pub struct Plan(Uses);

impl Plan {
  pub fn read(input: impl Read, size: u64) -> Result<Plan, ParseError> {
    let mut uses = Uses {
      limit: (size / 3) as usize,
      ..Uses::default()
    };
    visit(input, size, &mut uses)?;
    Ok(Plan(uses))
  }
}

/// Refuses to write the redacted copy over the snapshot itself.
pub fn check_output(file: &Path, output: &Path) -> Result<(), Failure> {
  if same_file(file, output) {
    return Err(Failure::file(
      output,
      ParseError::Io(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "the output is the snapshot itself; name another file",
      )),
    ));
  }
  Ok(())
}

/// Writes the redacted copy of `file` (read again from `input`) to `output`: the second pass.
pub fn write(
  plan: &Plan,
  input: impl Read,
  file: &Path,
  output: &Path,
) -> Result<Redaction, Failure> {
  let uses = &plan.0;
  let write_failed = |err: io::Error| Failure::file(output, ParseError::Io(err));
  let temporary = crate::output::temporary(output, "redacting");
  let created = input::create_private(&temporary).map_err(write_failed)?;
  let written = (|| {
    let mut writer = BufWriter::with_capacity(1 << 20, created);
    let strings = rewrite(input, &mut writer, |i| uses.redacts(i))?;
    let file = writer.into_inner().map_err(|err| err.into_error())?;
    file.sync_all()?;
    Ok::<_, io::Error>((strings, file.metadata()?.len()))
  })();
  let finished = written.and_then(|(strings, bytes)| {
    if strings != uses.strings {
      return Err(io::Error::other(format!(
        "the snapshot changed while it was redacted ({} strings, then {strings})",
        uses.strings
      )));
    }
    std::fs::rename(&temporary, output)?;
    Ok(bytes)
  });
  let bytes = finished.map_err(|err| {
    let _ = std::fs::remove_file(&temporary);
    write_failed(err)
  })?;
  let count = |keep: &dyn Fn(usize) -> bool| (0..uses.strings).filter(|&i| keep(i)).count() as u64;
  Ok(Redaction {
    file: file.display().to_string(),
    output: output.display().to_string(),
    strings: uses.strings as u64,
    redacted: count(&|i| uses.redacts(i)),
    kept_as_names: count(&|i| uses.values.get(i) && uses.names.get(i)),
    bytes,
  })
}

/// Whether `a` and `b` name one file. Where paths cannot be resolved (WASI has no
/// `canonicalize`), the same path given twice still counts.
fn same_file(a: &Path, b: &Path) -> bool {
  match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
    (Ok(a), Ok(b)) => a == b,
    _ => a == b,
  }
}

#[cfg(test)]
mod tests {
  use super::rewrite;

  fn redacted(json: &str, redacts: impl Fn(usize) -> bool) -> (String, usize) {
    let mut out = Vec::new();
    // Small reads, so that strings and escapes straddle chunk ends.
    let strings = rewrite(Trickle(json.as_bytes()), &mut out, redacts).unwrap();
    (String::from_utf8(out).unwrap(), strings)
  }

  struct Trickle<'a>(&'a [u8]);
  impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
      let n = self.0.len().min(buf.len()).min(3);
      buf[..n].copy_from_slice(&self.0[..n]);
      self.0 = &self.0[n..];
      Ok(n)
    }
  }

  #[test]
  fn only_the_picked_strings_change_and_keep_their_utf16_length() {
    let json = r#"{"snapshot":{"meta":{"x":"strings"}},"nodes":[1,2],"strings":["keep","s3cr\"t","caf\u00e9 é","\ud83d\ude00😀",""],"z":"strings"}"#;
    let (out, strings) = redacted(json, |i| i != 0);
    assert_eq!(strings, 5);
    assert_eq!(
      out,
      r#"{"snapshot":{"meta":{"x":"strings"}},"nodes":[1,2],"strings":["keep","******","******","****",""],"z":"strings"}"#
    );
  }

  #[test]
  fn a_key_named_strings_elsewhere_is_not_the_strings_array() {
    let json = r#"{"a":{"strings":["x"]},"strings":["y"]}"#;
    let (out, strings) = redacted(json, |_| true);
    assert_eq!(
      (out.as_str(), strings),
      (r#"{"a":{"strings":["x"]},"strings":["*"]}"#, 1)
    );
  }
}
