//! rheapdump against independent implementations, on snapshots of real Node processes:
//!
//! - Chrome DevTools' heap-snapshot worker (chrome-devtools-frontend, bundled for Node by
//!   scripts/peers.js): every node's shallow size, retained size, distance and dominator, and
//!   every class row of the Summary view, must be equal.
//! - memlab (@memlab/core): it makes three choices differently from DevTools (raw shallow sizes,
//!   WeakMap table→value edges kept, page objects seeded from the GC roots instead of `global`).
//!   With those three switched to memlab's
//!   (`Rules::MEMLAB`) every node's retained size must equal memlab's: so rheapdump differs from
//!   memlab exactly there and nowhere else.
//!
//! `node scripts/peers.js` installs the peers into .cache/peers from the npm registry, so this
//! test is `#[ignore]`d: plain `cargo test` runs offline. `npm test` (scripts/test.js, which CI
//! runs) passes `--include-ignored`; by hand, `cargo test --test parity -- --ignored`. The test
//! runs scripts/peers.js itself, so a fresh checkout needs nothing else.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rheapdump_analysis::graph::load_file;
use rheapdump_analysis::heap::{Heap, Keep, Rules};
use rheapdump_analysis::report::summary;
use rheapdump_analysis::run::{self, Quiet};
use serde_json::Value;

mod common;

fn root() -> PathBuf {
  Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(command: &mut Command) {
  let out = command
    .output()
    .expect("node must be installed to run these tests");
  assert!(
    out.status.success(),
    "{command:?} failed: {}{}",
    String::from_utf8_lossy(&out.stdout),
    String::from_utf8_lossy(&out.stderr)
  );
}

fn read_json(path: &Path) -> Value {
  serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn numbers(value: &Value, key: &str) -> Vec<i64> {
  value[key]
    .as_array()
    .unwrap_or_else(|| panic!("dump has no {key}"))
    .iter()
    .map(|v| v.as_f64().unwrap() as i64)
    .collect()
}

#[test]
#[ignore = "installs the peers from the npm registry (scripts/peers.js); npm test runs it"]
fn devtools_and_memlab_agree_with_rheapdump_on_every_node() {
  run(Command::new("node").arg(root().join("scripts/peers.js")));
  for node in common::nodes(&["22", "24", "26"]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("service.heapsnapshot");
    // A service-like heap: class instances in a Map, WeakMap entries, closures, buffers.
    run(
      Command::new(&node)
        .arg(root().join("tools/heap-app.js"))
        .arg(&file)
        .arg("20"),
    );
    let devtools_dump = dir.path().join("devtools.json");
    let memlab_dump = dir.path().join("memlab.json");
    run(
      Command::new("node")
        .arg(root().join("tools/peers/devtools.js"))
        .arg(&file)
        .arg("--dump")
        .arg(&devtools_dump),
    );
    run(
      Command::new("node")
        .arg(root().join("tools/peers/memlab.js"))
        .arg(&file)
        .arg("--dump")
        .arg(&memlab_dump),
    );
    let devtools = read_json(&devtools_dump);
    let memlab = read_json(&memlab_dump);

    let heap = Heap::new(load_file(&file).unwrap(), &mut |_| {});
    let g = &heap.graph;
    let n = g.node_count();
    let ids: Vec<i64> = g.node_id.iter().map(|&i| i64::from(i)).collect();
    assert_eq!(
      numbers(&devtools, "ids"),
      ids,
      "{node:?}: same nodes in the same order"
    );
    let expect_each = |what: &str, ours: Vec<i64>| {
      let theirs = numbers(&devtools, what);
      let differ: Vec<usize> = (0..n).filter(|&i| ours[i] != theirs[i]).collect();
      assert!(
        differ.is_empty(),
        "{node:?}: {what} differs from DevTools on {} of {n} nodes, e.g. id {} ({} vs {})",
        differ.len(),
        ids[differ[0]],
        ours[differ[0]],
        theirs[differ[0]]
      );
    };
    expect_each("self", g.self_size.iter().map(|&s| i64::from(s)).collect());
    expect_each(
      "retained",
      heap.retained.iter().map(|&r| r as i64).collect(),
    );
    expect_each(
      "distance",
      heap.distance.iter().map(|&d| i64::from(d)).collect(),
    );
    expect_each(
      "dominator_id",
      heap
        .dominator
        .iter()
        .map(|&d| i64::from(g.node_id[d as usize]))
        .collect(),
    );

    // The Summary view, class by class (DevTools keys classes by name and location), as the
    // CLI computes it: with the edges freed before the dominators. It equals the report of
    // the heap that kept everything.
    let ours = run::summary(&file, 0, &mut Quiet).unwrap();
    assert_eq!(
      serde_json::to_value(&ours).unwrap(),
      serde_json::to_value(summary(&heap, &file.display().to_string(), 0)).unwrap(),
      "{node:?}: summary from nodes only"
    );
    assert_eq!(
      ours.total_size as i64,
      devtools["total_size"].as_i64().unwrap()
    );
    let mut rows: HashMap<String, _> = HashMap::new();
    for row in &ours.classes {
      let location = row.location.as_deref().map(|l| l.replace(':', ","));
      rows.insert(
        format!("{},{}", location.unwrap_or_default(), row.name),
        row,
      );
    }
    let theirs = devtools["classes"].as_array().unwrap();
    assert_eq!(
      rows.len(),
      theirs.len(),
      "{node:?}: as many classes as DevTools"
    );
    for class in theirs {
      // "script,line,column,Name", or ",Name" for classes without a location.
      let key = class["key"].as_str().unwrap();
      let row = rows
        .get(key)
        .unwrap_or_else(|| panic!("{node:?}: no class {key}"));
      let want = |field: &str| class[field].as_f64().unwrap() as i64;
      assert_eq!(row.count as i64, want("count"), "{key} count");
      assert_eq!(
        row.shallow_size as i64,
        want("self_size"),
        "{key} shallow size"
      );
      assert_eq!(
        row.retained_size as i64,
        want("retained_size"),
        "{key} retained size"
      );
      // DevTools' -5 for "no root reaches one of them" is null in rheapdump's JSON.
      let distance = row.distance.unwrap_or(-5);
      assert_eq!(distance, want("distance"), "{key} distance");
    }
    for class in ["Session", "RequestLog", "WeakMap"] {
      assert!(
        rows.keys().any(|k| k.ends_with(&format!(",{class}"))),
        "{class} is a row"
      );
    }

    // memlab: equal under memlab's three choices; different under DevTools' (or the test
    // would prove nothing).
    let memlab_ids = numbers(&memlab, "ids");
    let memlab_retained = numbers(&memlab, "retained");
    let by_id: HashMap<i64, i64> = memlab_ids.into_iter().zip(memlab_retained).collect();
    let devtools_rules_differ = (0..n)
      .filter(|&i| by_id.get(&ids[i]) != Some(&(heap.retained[i] as i64)))
      .count();
    drop(heap);
    let as_memlab = Heap::with_rules(
      load_file(&file).unwrap(),
      Rules::MEMLAB,
      Keep::Everything,
      &mut |_| {},
    );
    let differ: Vec<usize> = (0..n)
      .filter(|&i| by_id.get(&ids[i]) != Some(&(as_memlab.retained[i] as i64)))
      .collect();
    assert!(
      differ.is_empty(),
      "{node:?}: under memlab's rules, {} of {n} retained sizes still differ from memlab's, e.g. id {}",
      differ.len(),
      ids[differ[0]]
    );
    assert!(devtools_rules_differ > 0);
    eprintln!(
      "{node:?}: {n} nodes equal DevTools'; memlab differs on {devtools_rules_differ} under DevTools' rules, on none under its own"
    );
  }
}
