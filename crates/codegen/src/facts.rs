//! `lib/facts.js`: the facts the JS side needs from the Rust side, as a frozen object.

use rheapdump_core::compression::Compression;
use rheapdump_core::estimate::COST_FACTORS;
use rheapdump_core::fork::{exit, IN_PROCESS_MS_PER_HEAP_MB};
use rheapdump_core::naming::{default_name_pattern, FileKind};
use rheapdump_core::request::{Reason, TRANSITIONS};
use rheapdump_core::sampling::{DEFAULT_SAMPLING_INTERVAL, MIN_SAMPLING_INTERVAL};
use rheapdump_core::size::{EXAMPLES, UNITS};

/// A JavaScript value, as much of one as the facts need.
enum Js {
  Str(String),
  Num(String),
  Null,
  Arr(Vec<Js>),
  /// Keys with the comment that goes above each, if any.
  Obj(Vec<(&'static str, Option<&'static str>, Js)>),
}

fn str(text: &str) -> Js {
  Js::Str(text.to_string())
}

fn num(number: impl ToString) -> Js {
  Js::Num(number.to_string())
}

fn obj(entries: Vec<(&'static str, Js)>) -> Js {
  Js::Obj(
    entries
      .into_iter()
      .map(|(key, value)| (key, None, value))
      .collect(),
  )
}

pub fn facts_js() -> String {
  let facts = Js::Obj(vec![
    (
      "names",
      Some("Default file names (crates/core/src/naming.rs): each kind's pattern checks that prefix and\n// suffix belong together (a snapshot's may end in a compression's extension); `pattern` takes\n// either kind. Both capture time, pid, run (undefined in names from before runs) and sequence."),
      names(),
    ),
    (
      "compression",
      Some("Compressed snapshots by `compress` value (crates/core/src/compression.rs): the extension a\n// default name gets, the first bytes of such a file, and what the guard divides its estimate of\n// the plain file by."),
      obj(
        Compression::ALL
          .iter()
          .map(|c| {
            let magic = c.magic().iter().map(|&byte| num(byte)).collect();
            let row = obj(vec![
              ("extension", str(c.extension())),
              ("magic", Js::Arr(magic)),
              ("estimateDivisor", num(c.estimate_divisor())),
            ]);
            (c.name(), row)
          })
          .collect(),
      ),
    ),
    (
      "estimate",
      Some("What a snapshot costs per byte of used heap, by Node major (crates/core/src/estimate.rs):\n// the first row whose maxMajor is at least the major, or whose maxMajor is null."),
      Js::Arr(
        COST_FACTORS
          .iter()
          .map(|row| {
            obj(vec![
              ("maxMajor", row.max_major.map_or(Js::Null, num)),
              ("extraPerHeapByte", num(row.extra_per_heap_byte)),
              ("filePerHeapByte", num(row.file_per_heap_byte)),
            ])
          })
          .collect(),
      ),
    ),
    (
      "sampling",
      Some("The sampling heap profiler (crates/core/src/sampling.rs): bytes per sample by default, and the least accepted."),
      obj(vec![
        ("defaultInterval", num(DEFAULT_SAMPLING_INTERVAL)),
        ("minInterval", num(MIN_SAMPLING_INTERVAL)),
      ]),
    ),
    (
      "sizeUnits",
      Some("Units of a size (crates/core/src/size.rs), [name in lower case, bytes]: one rule for the\n// settings and the command line's SIZE; no unit means bytes."),
      Js::Arr(
        UNITS
          .iter()
          .map(|&(name, bytes)| Js::Arr(vec![str(name), num(bytes)]))
          .collect(),
      ),
    ),
    (
      "sizeExamples",
      None,
      str(EXAMPLES),
    ),
    (
      "forkExit",
      Some("Exit codes of a fork snapshot's child (crates/core/src/fork.rs, exit)."),
      obj(exit::NAMED.iter().map(|&(name, code)| (name, num(code))).collect()),
    ),
    (
      "forkAuto",
      Some("fork: 'auto' (crates/core/src/fork.rs): the in-process pause it estimates, ms per MB of used heap."),
      obj(vec![("inProcessMsPerHeapMb", num(IN_PROCESS_MS_PER_HEAP_MB))]),
    ),
    (
      "triggers",
      Some("Why the addon asks for a snapshot: what claimRequest() returns (crates/core/src/request.rs)."),
      Js::Arr(Reason::ALL.iter().map(|reason| str(reason.name())).collect()),
    ),
    (
      "request",
      Some("The snapshot request's moves, by method: from which phase to which (crates/core/src/\n// request.rs); the fallback runs the same machine. A move from another phase does nothing."),
      obj(
        TRANSITIONS
          .iter()
          .map(|t| (t.name, obj(vec![("from", str(t.from_phase())), ("to", str(t.to_phase()))])))
          .collect(),
      ),
    ),
  ]);
  let mut out = crate::header("//", "the Rust constants");
  out.push_str("'use strict'\n\nmodule.exports = ");
  render(&facts, 0, &mut out);
  out.push('\n');
  out
}

fn names() -> Js {
  let kind = |kind: FileKind| {
    obj(vec![
      ("prefix", str(kind.prefix())),
      ("suffix", str(kind.suffix())),
      ("pattern", str(&default_name_pattern(&[kind]))),
    ])
  };
  obj(vec![
    ("snapshot", kind(FileKind::Snapshot)),
    ("profile", kind(FileKind::Profile)),
    ("pattern", str(&default_name_pattern(&FileKind::ALL))),
  ])
}

/// Every object and array frozen; one line where it fits in 100 columns.
fn render(value: &Js, indent: usize, out: &mut String) {
  let inline = inline(value);
  let has_comments =
    matches!(value, Js::Obj(entries) if entries.iter().any(|entry| entry.1.is_some()));
  if indent + inline.len() <= 100 && !has_comments {
    out.push_str(&inline);
    return;
  }
  let pad = "  ".repeat(indent + 1);
  match value {
    Js::Arr(items) => {
      out.push_str("Object.freeze([\n");
      for item in items {
        out.push_str(&pad);
        render(item, indent + 1, out);
        out.push_str(",\n");
      }
      out.push_str(&format!("{}])", "  ".repeat(indent)));
    }
    Js::Obj(entries) => {
      out.push_str("Object.freeze({\n");
      for (key, comment, item) in entries {
        if let Some(comment) = comment {
          out.push_str(&format!(
            "{pad}// {}\n",
            comment.replace("\n// ", &format!("\n{pad}// "))
          ));
        }
        out.push_str(&format!("{pad}{key}: "));
        render(item, indent + 1, out);
        out.push_str(",\n");
      }
      out.push_str(&format!("{}}})", "  ".repeat(indent)));
    }
    _ => out.push_str(&inline),
  }
}

fn inline(value: &Js) -> String {
  match value {
    Js::Str(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
    Js::Num(number) => number.clone(),
    Js::Null => "null".to_string(),
    Js::Arr(items) => {
      let items: Vec<_> = items.iter().map(inline).collect();
      format!("Object.freeze([{}])", items.join(", "))
    }
    Js::Obj(entries) => {
      let entries: Vec<_> = entries
        .iter()
        .map(|(key, _, item)| format!("{key}: {}", inline(item)))
        .collect();
      format!("Object.freeze({{ {} }})", entries.join(", "))
    }
  }
}
