//! What the loader derives from real snapshots beyond the arrays: source locations by script
//! URL, bound functions' targets, dictionary-mode objects, the Node version. On Node 20 and, if
//! the test runner fetched it, 26.

use std::path::{Path, PathBuf};
use std::process::Command;

use rheapdump_analysis::graph::{load_file, Graph};

mod common;

/// The script, line by line: the class on line 1, the closure on line 2.
const SCRIPT: &str = "\
class Probe { constructor(i) { this.i = i } handle() { return this.i } }
function makeCache() { const cache = Object.create(null); return function lookup(k) { return cache[k] ??= { k } } }
const lookup = makeCache()
for (let i = 0; i < 500; i++) lookup(`key-${i}`)
const probe = new Probe(1)
globalThis.keep = { probe, lookup, bound: probe.handle.bind(probe), fast: { a: 1, b: 2, c: 3 } }
require('v8').writeHeapSnapshot(process.argv[2])
";

fn snapshot(node: &Path, dir: &Path) -> (Graph, PathBuf, String) {
  let script = dir.join("probe.js");
  std::fs::write(&script, SCRIPT).unwrap();
  let file = dir.join("probe.heapsnapshot");
  let status = Command::new(node)
    .arg(&script)
    .arg(&file)
    .status()
    .expect("node must be installed to run these tests");
  assert!(status.success());
  let version = Command::new(node).arg("--version").output().unwrap().stdout;
  let version = String::from_utf8(version).unwrap().trim().to_string();
  (load_file(&file).unwrap(), script, version)
}

/// The node the `keep` object holds under `name`.
fn kept(g: &Graph, name: &str) -> usize {
  let keep = (0..g.node_count())
    .find(|&n| {
      g.edges(n).any(|e| g.edge_string(e) == Some("keep"))
        && g.type_name(n) == "object"
        && g.name(n).starts_with("global")
    })
    .and_then(|global| {
      g.edges(global)
        .find(|&e| g.edge_string(e) == Some("keep"))
        .map(|e| g.edge_to[e] as usize)
    })
    .expect("globalThis.keep");
  g.edges(keep)
    .find(|&e| g.edge_string(e) == Some(name))
    .map(|e| g.edge_to[e] as usize)
    .unwrap_or_else(|| panic!("keep.{name}"))
}

#[test]
fn sources_bound_functions_dictionaries_and_version_come_from_the_snapshot() {
  for node in common::nodes(&["26"]) {
    let dir = tempfile::tempdir().unwrap();
    let (g, script, version) = snapshot(&node, dir.path());
    // V8 places a function at the `(` of its parameters (a class at its constructor's);
    // line and column count from 1.
    let at = |line: usize, before: &str| {
      let text = SCRIPT.lines().nth(line - 1).unwrap();
      let column = text.find(before).unwrap() + before.len();
      Some(format!("{}:{line}:{column}", script.display()))
    };
    let probe = kept(&g, "probe");
    assert_eq!(g.source(probe), at(1, "constructor("), "{node:?}");
    let lookup = kept(&g, "lookup");
    assert_eq!(g.source(lookup), at(2, "function lookup("));
    let bound = kept(&g, "bound");
    let target = g.bound_target(bound).expect("a bound function's target");
    assert_eq!(g.name(target), "handle");
    assert_eq!(g.source(bound), at(1, "handle("));

    let dictionaries = g.dictionary_objects();
    let fast = kept(&g, "fast") as u32;
    assert!(
      dictionaries.binary_search(&fast).is_err(),
      "{{a, b, c}} is a fast object"
    );
    let cache = (0..g.node_count())
      .find(|&n| {
        g.edges(n)
          .filter(|&e| g.edge_string(e) == Some("key-7"))
          .count()
          == 1
      })
      .expect("the cache object") as u32;
    assert!(
      dictionaries.binary_search(&cache).is_ok(),
      "a 500-key null-prototype object is a dictionary"
    );

    assert_eq!(g.node_version(), Some(version.as_str()));
  }
}
