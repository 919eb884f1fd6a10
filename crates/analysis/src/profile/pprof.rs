//! A sampling heap profile as a gzipped pprof protobuf (`go tool pprof`, Pyroscope, Grafana).
//!
//! The messages are the subset of pprof's `profile.proto` this writer fills, declared by hand
//! with prost's derive so that no `protoc` is needed at build time; the field numbers are
//! profile.proto's. Two sample types: `objects/count` (samples V8 kept: sampled objects, not an
//! estimate of all objects) and `space/bytes` (the live bytes they stand for, the default).
//! Stacks are functions, leaf first, with the line where each function starts (V8 records no
//! allocation lines). The off-heap `(external)` frame, when present, has bytes and no objects.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use prost::Message;

use super::Profile;

#[derive(Clone, PartialEq, Message)]
pub struct PprofProfile {
  #[prost(message, repeated, tag = "1")]
  pub sample_type: Vec<ValueType>,
  #[prost(message, repeated, tag = "2")]
  pub sample: Vec<PprofSample>,
  #[prost(message, repeated, tag = "4")]
  pub location: Vec<Location>,
  #[prost(message, repeated, tag = "5")]
  pub function: Vec<Function>,
  #[prost(string, repeated, tag = "6")]
  pub string_table: Vec<String>,
  #[prost(message, optional, tag = "11")]
  pub period_type: Option<ValueType>,
  #[prost(int64, tag = "12")]
  pub period: i64,
  #[prost(int64, repeated, tag = "13")]
  pub comment: Vec<i64>,
  #[prost(int64, tag = "14")]
  pub default_sample_type: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct ValueType {
  #[prost(int64, tag = "1")]
  pub r#type: i64,
  #[prost(int64, tag = "2")]
  pub unit: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct PprofSample {
  #[prost(uint64, repeated, tag = "1")]
  pub location_id: Vec<u64>,
  #[prost(int64, repeated, tag = "2")]
  pub value: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Location {
  #[prost(uint64, tag = "1")]
  pub id: u64,
  #[prost(message, repeated, tag = "4")]
  pub line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Line {
  #[prost(uint64, tag = "1")]
  pub function_id: u64,
  #[prost(int64, tag = "2")]
  pub line: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Function {
  #[prost(uint64, tag = "1")]
  pub id: u64,
  #[prost(int64, tag = "2")]
  pub name: i64,
  #[prost(int64, tag = "3")]
  pub system_name: i64,
  #[prost(int64, tag = "4")]
  pub filename: i64,
  #[prost(int64, tag = "5")]
  pub start_line: i64,
}

/// Strings by index, index 0 being "" as pprof requires.
struct Strings {
  table: Vec<String>,
  index: std::collections::HashMap<String, i64>,
}

impl Strings {
  fn new() -> Self {
    let mut strings = Strings {
      table: Vec::new(),
      index: Default::default(),
    };
    strings.add("");
    strings
  }

  fn add(&mut self, text: &str) -> i64 {
    if let Some(&i) = self.index.get(text) {
      return i;
    }
    let i = self.table.len() as i64;
    self.table.push(text.to_string());
    self.index.insert(text.to_string(), i);
    i
  }
}

/// The pprof message for `profile`.
pub fn build(profile: &Profile) -> PprofProfile {
  let mut strings = Strings::new();
  let objects = ValueType {
    r#type: strings.add("objects"),
    unit: strings.add("count"),
  };
  let space = ValueType {
    r#type: strings.add("space"),
    unit: strings.add("bytes"),
  };
  // Function and location ids are frame index + 1 (0 is not a valid id in pprof).
  let mut function = Vec::with_capacity(profile.frames.len());
  let mut location = Vec::with_capacity(profile.frames.len());
  for (index, frame) in profile.frames.iter().enumerate() {
    let id = index as u64 + 1;
    let name = strings.add(frame.name());
    let file = frame.url.strip_prefix("file://").unwrap_or(&frame.url);
    let start_line = frame.line.max(-1) + 1;
    function.push(Function {
      id,
      name,
      system_name: name,
      filename: strings.add(file),
      start_line,
    });
    location.push(Location {
      id,
      line: vec![Line {
        function_id: id,
        line: start_line,
      }],
    });
  }
  let mut counts = vec![0i64; profile.nodes.len()];
  for sample in &profile.samples {
    counts[sample.node] += 1;
  }
  let sample = profile
    .nodes
    .iter()
    .enumerate()
    .filter(|(index, node)| node.self_size > 0 || counts[*index] > 0)
    .map(|(index, node)| PprofSample {
      location_id: profile
        .stack(index)
        .into_iter()
        .rev()
        .map(|frame| frame as u64 + 1)
        .collect(),
      value: vec![counts[index], node.self_size as i64],
    })
    .collect();
  let interval = profile.meta.as_ref().and_then(|meta| meta.interval);
  let comment = profile
    .meta
    .as_ref()
    .map(|meta| {
      let mut lines = vec!["V8 sampling heap profile: live objects only".to_string()];
      lines.extend(meta.node.as_ref().map(|node| format!("node {node}")));
      lines.extend(meta.pid.map(|pid| format!("pid {pid}")));
      lines.extend(meta.written_at.as_ref().map(|at| format!("written {at}")));
      lines.iter().map(|line| strings.add(line)).collect()
    })
    .unwrap_or_default();
  PprofProfile {
    sample_type: vec![objects, space.clone()],
    period_type: Some(space.clone()),
    sample,
    location,
    function,
    period: interval.unwrap_or(0) as i64,
    comment,
    // A string-table index: the name of the preferred type.
    default_sample_type: space.r#type,
    string_table: strings.table,
  }
}

/// The gzipped protobuf, as `go tool pprof` reads it.
pub fn encode(profile: &Profile) -> Vec<u8> {
  let bytes = build(profile).encode_to_vec();
  let mut gz = GzEncoder::new(Vec::new(), Compression::default());
  gz.write_all(&bytes).expect("writing to memory");
  gz.finish().expect("writing to memory")
}

/// Reads a gzipped (or plain) pprof protobuf back.
pub fn decode(bytes: &[u8]) -> Result<PprofProfile, String> {
  let plain = if bytes.starts_with(&[0x1f, 0x8b]) {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
      .read_to_end(&mut out)
      .map_err(|err| format!("not gzip: {err}"))?;
    out
  } else {
    bytes.to_vec()
  };
  PprofProfile::decode(plain.as_slice()).map_err(|err| format!("not a pprof profile: {err}"))
}
