//! A decoded source map: its mappings as tokens sorted by generated position, and its sources
//! as reports name them. The decoding is oxc_sourcemap's.

use oxc_sourcemap::{SourceMap, Token};
use serde::Deserialize;

use super::locate::resolve_source;

/// A place in an original source, 0-based as in the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
  /// The source file, as [`resolve_source`] names it.
  pub file: String,
  pub line: u32,
  pub column: u32,
}

#[derive(Debug)]
pub(super) struct Decoded {
  tokens: Vec<Token>,
  sources: Vec<String>,
}

impl Decoded {
  /// Decodes the map `json`, whose relative sources are in `base`.
  pub fn new(json: &str, base: &str) -> Result<Decoded, String> {
    let map = SourceMap::from_json_string(json).map_err(|err| {
      if sections(json) {
        "is an index map (with sections), which rheapdump does not read".to_string()
      } else {
        format!("cannot be read: {err}")
      }
    })?;
    let root = map.get_source_root();
    let sources = map
      .get_sources()
      .map(|source| resolve_source(source, root, base))
      .collect();
    let mut tokens: Vec<Token> = map.get_tokens().collect();
    // Generated order, as the mappings are written; sorted in case a tool wrote them otherwise.
    tokens.sort_by_key(|t| (t.get_dst_line(), t.get_dst_col()));
    Ok(Decoded { tokens, sources })
  }

  /// The original place of the generated one (0-based): the mapping at or before it on its line,
  /// else the first of the line (a function V8 places before the line's first mapping, in its
  /// indentation, is still on that line); None for a line with no mapping, or one to no source.
  pub fn original(&self, line: u32, column: u32) -> Option<Original> {
    let after = self
      .tokens
      .partition_point(|t| (t.get_dst_line(), t.get_dst_col()) <= (line, column));
    let on_line = |t: &&Token| t.get_dst_line() == line;
    let token = after
      .checked_sub(1)
      .map(|at| &self.tokens[at])
      .filter(on_line)
      .or_else(|| self.tokens.get(after).filter(on_line))?;
    let file = self.sources.get(token.get_source_id()? as usize)?.clone();
    Some(Original {
      file,
      line: token.get_src_line(),
      column: token.get_src_col(),
    })
  }
}

/// Whether the map's `sources` name a file under `node_modules/`: a bundle, whose code belongs
/// to packages. Reads the sources only, without decoding the mappings.
pub(super) fn names_packages(json: &str, base: &str) -> bool {
  #[derive(Deserialize)]
  struct Sources {
    #[serde(default)]
    sources: Vec<Option<String>>,
    #[serde(default, rename = "sourceRoot")]
    source_root: Option<String>,
  }
  let Ok(map) = serde_json::from_str::<Sources>(json) else {
    return false;
  };
  map.sources.iter().flatten().any(|source| {
    resolve_source(source, map.source_root.as_deref(), base).contains("node_modules/")
  })
}

/// Whether `json` is an index map (`sections` instead of `mappings`).
fn sections(json: &str) -> bool {
  #[derive(Deserialize)]
  struct Index {
    sections: Option<serde_json::Value>,
  }
  serde_json::from_str::<Index>(json).is_ok_and(|index| index.sections.is_some())
}
