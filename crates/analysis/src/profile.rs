//! Sampling heap profiles (`.heapprofile`, V8's `HeapProfiler.getSamplingProfile` as rheapdump
//! and DevTools save it): live bytes by function, what grew between two profiles, and
//! conversion to pprof and folded stacks.
//!
//! What a profile is: V8 samples one allocation every `interval` bytes (on average) and keeps a
//! sample while its object lives, so a profile holds live objects only, each sample standing for
//! about `interval` bytes. The call tree's `selfSize` is the sum of its samples' sizes. Samples
//! carry ordinals that grow with time and are never reused while the sampler runs, which makes a
//! diff of two profiles of one sampler exact: a sample in the later profile that the earlier one
//! lacks was allocated after the earlier one was taken (had it been allocated before and lived,
//! the earlier profile would hold it).
//!
//! rheapdump adds an `(external)` child of the root for memory outside the JS heap (Node's
//! `external`, Buffers included) that no sample points at, and its metadata under `rheapdump`.

pub mod pprof;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The deepest call stack a profile may hold: V8 samples 128 frames unless told otherwise, and
/// DevTools asks for no more.
const MAX_FRAMES: usize = 512;
/// JSON levels per frame: the node's object and its `children` array.
const MAX_NESTING: usize = 2 * MAX_FRAMES + 8;

/// How deeply `bytes` nest JSON objects and arrays, brackets inside strings aside.
fn nesting_depth(bytes: &[u8]) -> usize {
  let (mut depth, mut deepest) = (0usize, 0usize);
  let (mut in_string, mut escaped) = (false, false);
  for &byte in bytes {
    if in_string {
      match byte {
        _ if escaped => escaped = false,
        b'\\' => escaped = true,
        b'"' => in_string = false,
        _ => {}
      }
      continue;
    }
    match byte {
      b'"' => in_string = true,
      b'{' | b'[' => {
        depth += 1;
        deepest = deepest.max(depth);
      }
      b'}' | b']' => depth = depth.saturating_sub(1),
      _ => {}
    }
  }
  deepest
}

/// A profile that could not be read, or two that cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
  pub path: PathBuf,
  /// An errno name (`ENOENT`), `ERR_PROFILE_SYNTAX` or `ERR_PROFILE_MISMATCH`.
  pub code: &'static str,
  pub description: String,
}

impl std::fmt::Display for ProfileError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(
      f,
      "{}: {}: {}",
      self.path.display(),
      self.code,
      self.description
    )
  }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
  call_frame: RawFrame,
  self_size: f64,
  id: u64,
  #[serde(default)]
  children: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFrame {
  function_name: String,
  #[serde(default)]
  url: String,
  #[serde(default = "unknown_position")]
  line_number: i64,
  #[serde(default = "unknown_position")]
  column_number: i64,
}

fn unknown_position() -> i64 {
  -1
}

#[derive(Deserialize)]
struct RawSample {
  size: f64,
  #[serde(rename = "nodeId")]
  node_id: u64,
  ordinal: f64,
}

#[derive(Deserialize)]
struct RawProfile {
  head: RawNode,
  #[serde(default)]
  samples: Vec<RawSample>,
  #[serde(default)]
  rheapdump: Option<Meta>,
}

/// rheapdump's metadata in a profile it wrote.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
  /// Bytes per sample; null when another session started the sampler.
  pub interval: Option<u64>,
  pub sampling_since: Option<String>,
  pub written_at: Option<String>,
  pub pid: Option<u64>,
  pub node: Option<String>,
  pub external: Option<External>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct External {
  pub node_id: u64,
  pub bytes: u64,
}

/// A function as V8 names it: its name and where it starts (0-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
  pub name: String,
  pub url: String,
  pub line: i64,
  pub column: i64,
}

impl Frame {
  /// `name`, or `(anonymous)` for a function without one.
  pub fn name(&self) -> &str {
    if self.name.is_empty() {
      "(anonymous)"
    } else {
      &self.name
    }
  }

  /// `file:line` with a 1-based line, as editors take it; empty when V8 gives no script.
  pub fn location(&self) -> String {
    let file = self.url.strip_prefix("file://").unwrap_or(&self.url);
    match (file.is_empty(), self.line >= 0) {
      (true, _) => String::new(),
      (false, true) => format!("{file}:{}", self.line + 1),
      (false, false) => file.to_string(),
    }
  }
}

/// One node of the call tree, flattened.
#[derive(Debug, Clone)]
pub struct Node {
  pub frame: usize,
  pub parent: Option<usize>,
  pub self_size: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Sample {
  pub node: usize,
  pub size: u64,
  pub ordinal: u64,
}

/// A profile read into arrays: node 0 is the root.
#[derive(Debug, Clone)]
pub struct Profile {
  pub frames: Vec<Frame>,
  pub nodes: Vec<Node>,
  pub samples: Vec<Sample>,
  /// The `(external)` node rheapdump adds, if any.
  pub external: Option<usize>,
  /// Samples left out because their node is not in the tree. V8 listed one such sample once
  /// (Node 26, a profile read on SIGUSR2; not reproduced in 8 more runs), most likely an
  /// allocation sampled while V8 built the report. Its bytes are in no node's self size, so
  /// leaving it out keeps every total consistent.
  pub orphan_samples: u64,
  pub meta: Option<Meta>,
}

impl Profile {
  /// Reads the profile at `path`, which must be a regular file: a pipe, FIFO or device is
  /// refused at once with ERR_SNAPSHOT_NOT_A_FILE, as the snapshot commands refuse it (reading
  /// /dev/zero would never end). A heap snapshot is refused from its first bytes: it is read no
  /// further (snapshots run to gigabytes).
  pub fn read(path: &Path) -> Result<Profile, ProfileError> {
    let (mut file, size) = crate::run::open_regular(path).map_err(|failure| ProfileError {
      path: path.to_path_buf(),
      code: failure.code(),
      description: failure.description(),
    })?;
    let failed = |err: std::io::Error| ProfileError {
      path: path.to_path_buf(),
      code: match crate::compressed::corrupt(&err) {
        Some(_) => "ERR_SNAPSHOT_COMPRESSED_CORRUPT",
        None => rheapdump_core::errno::code_of(&err),
      },
      description: rheapdump_core::errno::describe(&err),
    };
    let snapshot = || ProfileError {
      path: path.to_path_buf(),
      code: "ERR_PROFILE_SYNTAX",
      description: format!(
        "a heap snapshot, not a sampling heap profile: read it with `rheapdump summary {}`",
        path.display()
      ),
    };
    let mut bytes = Vec::new();
    (&mut file)
      .take(HEAD)
      .read_to_end(&mut bytes)
      .map_err(failed)?;
    if is_snapshot_head(&bytes) {
      return Err(snapshot());
    }
    // A profile is read whole: kilobytes to a few megabytes, even decompressed.
    bytes.reserve(size as usize);
    file.read_to_end(&mut bytes).map_err(failed)?;
    let bytes = crate::compressed::decompress_all(bytes).map_err(failed)?;
    if is_snapshot_head(&bytes) {
      return Err(snapshot());
    }
    Profile::parse(&bytes).map_err(|description| ProfileError {
      path: path.to_path_buf(),
      code: "ERR_PROFILE_SYNTAX",
      description,
    })
  }

  pub fn parse(bytes: &[u8]) -> Result<Profile, String> {
    if is_snapshot_head(bytes) {
      return Err("a heap snapshot, not a sampling heap profile".to_string());
    }
    // The tree is as deep as the sampled stacks (V8 keeps up to 128 frames by default), deeper
    // than serde_json's default limit of 128 levels, so that limit is lifted; the recursion it
    // costs is bounded here instead, before parsing, so that a hostile file cannot overflow the
    // stack (the WebAssembly program's is 1 MB).
    let depth = nesting_depth(bytes);
    if depth > MAX_NESTING {
      return Err(format!(
        "not a sampling heap profile: nested {depth} levels deep, more than the {MAX_NESTING} \
         that {MAX_FRAMES} frames of call stack need"
      ));
    }
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    reader.disable_recursion_limit();
    let raw = RawProfile::deserialize(&mut reader)
      .map_err(|err| format!("not a sampling heap profile: {err}"))?;
    let mut profile = Profile {
      frames: Vec::new(),
      nodes: Vec::new(),
      samples: Vec::with_capacity(raw.samples.len()),
      external: None,
      orphan_samples: 0,
      meta: raw.rheapdump,
    };
    let mut frame_ids: HashMap<Frame, usize> = HashMap::new();
    let mut node_ids: HashMap<u64, usize> = HashMap::new();
    let mut pending = vec![(&raw.head, None)];
    while let Some((raw_node, parent)) = pending.pop() {
      let frame = Frame {
        name: raw_node.call_frame.function_name.clone(),
        url: raw_node.call_frame.url.clone(),
        line: raw_node.call_frame.line_number,
        column: raw_node.call_frame.column_number,
      };
      let next = frame_ids.len();
      let frame = *frame_ids.entry(frame.clone()).or_insert_with(|| {
        profile.frames.push(frame);
        next
      });
      let index = profile.nodes.len();
      if node_ids.insert(raw_node.id, index).is_some() {
        return Err(format!("node id {} appears twice", raw_node.id));
      }
      profile.nodes.push(Node {
        frame,
        parent,
        self_size: raw_node.self_size.max(0.0) as u64,
      });
      pending.extend(raw_node.children.iter().map(|child| (child, Some(index))));
    }
    for sample in &raw.samples {
      let Some(&node) = node_ids.get(&sample.node_id) else {
        profile.orphan_samples += 1;
        continue;
      };
      profile.samples.push(Sample {
        node,
        size: sample.size.max(0.0) as u64,
        ordinal: sample.ordinal.max(0.0) as u64,
      });
    }
    let external_id = profile
      .meta
      .as_ref()
      .and_then(|meta| meta.external.as_ref())
      .map(|external| external.node_id);
    profile.external = external_id.and_then(|id| node_ids.get(&id).copied());
    Ok(profile)
  }

  /// The frames from the root's child down to `node` (the root itself is left out).
  pub fn stack(&self, mut node: usize) -> Vec<usize> {
    let mut frames = Vec::new();
    while let Some(parent) = self.nodes[node].parent {
      frames.push(self.nodes[node].frame);
      node = parent;
    }
    frames.reverse();
    frames
  }

  /// Bytes outside the JS heap, as rheapdump recorded them.
  pub fn external_bytes(&self) -> u64 {
    self.external.map_or(0, |node| self.nodes[node].self_size)
  }

  /// Live bytes the sampler accounts for: every node's self size but the `(external)` one.
  pub fn sampled_bytes(&self) -> u64 {
    self
      .nodes
      .iter()
      .enumerate()
      .filter(|(index, _)| Some(*index) != self.external)
      .map(|(_, node)| node.self_size)
      .sum()
  }
}

/// Live bytes of one function: allocated in it (`self`) and in it or anything it called (`total`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FunctionRow {
  pub function: String,
  /// `file:line`, 1-based; empty for V8's own frames.
  pub location: String,
  pub self_bytes: u64,
  pub total_bytes: u64,
  /// Shares of the sampled bytes, 0 to 1.
  pub self_share: f64,
  pub total_share: f64,
  pub samples: u64,
  /// Where the code that ran is, `file:line:column` (1-based), when `location` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
  /// The function as V8 names it: a source map needs its column, which `location` leaves out.
  #[serde(skip)]
  pub(crate) frame: Frame,
}

/// Sums `(node, bytes, samples)` by function, self and total; every function counted once per
/// stack even when it recurses. Rows by self bytes, then total, largest first.
fn by_function(
  profile: &Profile,
  weights: impl Iterator<Item = (usize, u64, u64)>,
  whole: u64,
  limit: usize,
) -> Vec<FunctionRow> {
  #[derive(Default)]
  struct Sums {
    self_bytes: u64,
    total_bytes: u64,
    samples: u64,
  }
  let mut sums: HashMap<usize, Sums> = HashMap::new();
  for (node, bytes, samples) in weights {
    if bytes == 0 && samples == 0 {
      continue;
    }
    let stack = profile.stack(node);
    let mut seen = HashSet::new();
    for &frame in &stack {
      if seen.insert(frame) {
        sums.entry(frame).or_default().total_bytes += bytes;
      }
    }
    if let Some(&leaf) = stack.last() {
      let entry = sums.entry(leaf).or_default();
      entry.self_bytes += bytes;
      entry.samples += samples;
    }
  }
  let share = |bytes: u64| {
    if whole == 0 {
      0.0
    } else {
      bytes as f64 / whole as f64
    }
  };
  let mut rows: Vec<FunctionRow> = sums
    .into_iter()
    .map(|(frame, sums)| FunctionRow {
      function: profile.frames[frame].name().to_string(),
      location: profile.frames[frame].location(),
      self_bytes: sums.self_bytes,
      total_bytes: sums.total_bytes,
      self_share: share(sums.self_bytes),
      total_share: share(sums.total_bytes),
      samples: sums.samples,
      generated: None,
      frame: profile.frames[frame].clone(),
    })
    .collect();
  rows.sort_by(|a, b| {
    (b.self_bytes, b.total_bytes)
      .cmp(&(a.self_bytes, a.total_bytes))
      .then_with(|| a.function.cmp(&b.function))
      .then_with(|| a.location.cmp(&b.location))
  });
  if limit > 0 {
    rows.truncate(limit);
  }
  rows
}

/// Samples per node.
fn samples_per_node(profile: &Profile) -> Vec<u64> {
  let mut counts = vec![0; profile.nodes.len()];
  for sample in &profile.samples {
    counts[sample.node] += 1;
  }
  counts
}

/// `rheapdump profile top`, `analysis.profileTop()`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ProfileTopReport"))]
pub struct Top {
  pub file: String,
  pub interval: Option<u64>,
  pub samples: u64,
  /// Live bytes the samples stand for (the JS heap the sampler saw).
  pub sampled_bytes: u64,
  /// Off-heap bytes (Node's `external`, Buffers included): no function can be named for them.
  pub external_bytes: u64,
  pub functions: Vec<FunctionRow>,
  /// Why some scripts' positions are the generated ones: their source maps could not be used
  /// (one line per script), or the scripts are not on this machine.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

/// How much of a file is read to tell a snapshot from a profile.
const HEAD: u64 = 64;

/// Whether `bytes`, the start of a JSON document, open a heap snapshot (`{"snapshot":`).
fn is_snapshot_head(bytes: &[u8]) -> bool {
  let mut rest = bytes.iter().skip_while(|b| b.is_ascii_whitespace());
  if rest.next() != Some(&b'{') {
    return false;
  }
  let key: Vec<u8> = rest
    .skip_while(|b| b.is_ascii_whitespace())
    .take(b"\"snapshot\"".len())
    .copied()
    .collect();
  key == b"\"snapshot\""
}

pub fn top(path: &Path, limit: usize) -> Result<Top, ProfileError> {
  let profile = Profile::read(path)?;
  Ok(top_of(&profile, &path.display().to_string(), limit))
}

pub fn top_of(profile: &Profile, file: &str, limit: usize) -> Top {
  let counts = samples_per_node(profile);
  let whole = profile.sampled_bytes();
  let weights = profile
    .nodes
    .iter()
    .enumerate()
    .filter(|(index, _)| Some(*index) != profile.external)
    .map(|(index, node)| (index, node.self_size, counts[index]));
  Top {
    file: file.to_string(),
    interval: profile.meta.as_ref().and_then(|meta| meta.interval),
    samples: profile.samples.len() as u64,
    sampled_bytes: whole,
    external_bytes: profile.external_bytes(),
    functions: by_function(profile, weights, whole, limit),
    source_map_notes: None,
  }
}

/// `rheapdump profile diff`, `analysis.profileDiff()`: what was allocated after BEFORE and is
/// alive in AFTER.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ProfileDiffReport"))]
pub struct ProfileDiff {
  pub before: String,
  pub after: String,
  /// Samples allocated after BEFORE and alive in AFTER, and the bytes they stand for.
  pub new_samples: u64,
  pub new_bytes: u64,
  /// Samples alive in BEFORE and gone in AFTER.
  pub freed_samples: u64,
  pub freed_bytes: u64,
  /// Off-heap bytes in AFTER minus BEFORE.
  pub external_delta: i64,
  /// The new bytes by function; shares are of `new_bytes`.
  pub functions: Vec<FunctionRow>,
  /// Why some scripts' positions are the generated ones: their source maps could not be used
  /// (one line per script), or the scripts are not on this machine.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

pub fn diff(before: &Path, after: &Path, limit: usize) -> Result<ProfileDiff, ProfileError> {
  let (a, b) = (Profile::read(before)?, Profile::read(after)?);
  let same_sampler = match (&a.meta, &b.meta) {
    (Some(x), Some(y)) => x.pid == y.pid && x.sampling_since == y.sampling_since,
    _ => true,
  };
  if !same_sampler {
    return Err(ProfileError {
      path: after.to_path_buf(),
      code: "ERR_PROFILE_MISMATCH",
      description: format!(
        "not from the same sampler run as {} (another process, or sampling was restarted): sample ordinals cannot be matched",
        before.display()
      ),
    });
  }
  let max_before = a.samples.iter().map(|s| s.ordinal).max().unwrap_or(0);
  let max_after = b.samples.iter().map(|s| s.ordinal).max().unwrap_or(0);
  if max_after < max_before {
    return Err(ProfileError {
      path: after.to_path_buf(),
      code: "ERR_PROFILE_MISMATCH",
      description: format!(
        "its newest sample is older than {}'s: pass the earlier profile first",
        before.display()
      ),
    });
  }
  Ok(diff_of(
    &a,
    &b,
    (&before.display().to_string(), &after.display().to_string()),
    limit,
  ))
}

pub fn diff_of(a: &Profile, b: &Profile, names: (&str, &str), limit: usize) -> ProfileDiff {
  let in_a: HashSet<u64> = a.samples.iter().map(|s| s.ordinal).collect();
  let in_b: HashSet<u64> = b.samples.iter().map(|s| s.ordinal).collect();
  let new: Vec<&Sample> = b
    .samples
    .iter()
    .filter(|s| !in_a.contains(&s.ordinal))
    .collect();
  let freed: Vec<&Sample> = a
    .samples
    .iter()
    .filter(|s| !in_b.contains(&s.ordinal))
    .collect();
  let new_bytes = new.iter().map(|s| s.size).sum();
  ProfileDiff {
    before: names.0.to_string(),
    after: names.1.to_string(),
    new_samples: new.len() as u64,
    new_bytes,
    freed_samples: freed.len() as u64,
    freed_bytes: freed.iter().map(|s| s.size).sum(),
    external_delta: b.external_bytes() as i64 - a.external_bytes() as i64,
    functions: by_function(b, new.iter().map(|s| (s.node, s.size, 1)), new_bytes, limit),
    source_map_notes: None,
  }
}

/// Folded stacks (`root;caller;callee bytes`), one line per stack with live bytes, for
/// flamegraph.pl, speedscope and inferno. Frames are `name file:line`; `;` in a name becomes `:`.
pub fn to_folded(profile: &Profile) -> String {
  let mut out = String::new();
  for (index, node) in profile.nodes.iter().enumerate() {
    if node.self_size == 0 {
      continue;
    }
    let frames: Vec<String> = profile
      .stack(index)
      .into_iter()
      .map(|frame| {
        let frame = &profile.frames[frame];
        let location = frame.location();
        let label = if location.is_empty() {
          frame.name().to_string()
        } else {
          format!("{} {location}", frame.name())
        };
        label.replace(';', ":")
      })
      .collect();
    let _ = writeln!(out, "{} {}", frames.join(";"), node.self_size);
  }
  out
}
