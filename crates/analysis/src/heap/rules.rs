//! The choices where heap analyzers differ, so that one code base computes DevTools' figures
//! and, in the parity test, memlab's.

/// The choices where heap analyzers differ. [`Rules::DEVTOOLS`] is what rheapdump reports; the
/// others exist to show, in tests, that rheapdump differs from memlab exactly there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
  /// Move owned arrays' and hidden nodes' sizes to their owner (DevTools; memlab does not).
  pub attribute_owned_sizes: bool,
  /// Ignore the WeakMap table's edge to a value, keeping only the key's (DevTools; memlab keeps
  /// both, so a value held by a live key is not in the key's retained size).
  pub skip_weakmap_table_edges: bool,
  /// Where the "page objects" start: an edge from a non-page object into a page object is
  /// ignored. DevTools starts from the root's shortcuts (`global`); memlab from the root's
  /// other edges (the GC roots), so that only what no root reaches is not "page".
  pub page_from_shortcuts: bool,
}

impl Rules {
  pub const DEVTOOLS: Rules = Rules {
    attribute_owned_sizes: true,
    skip_weakmap_table_edges: true,
    page_from_shortcuts: true,
  };
  pub const MEMLAB: Rules = Rules {
    attribute_owned_sizes: false,
    skip_weakmap_table_edges: false,
    page_from_shortcuts: false,
  };
}
