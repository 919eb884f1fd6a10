//! Prints what the analyzer computes for every node, for comparing with other analyzers:
//! `cargo run --release --example dump FILE > OUT.json` writes
//! `{"ids", "retained", "self", "distance", "dominator_id", "summary"}`.

use std::time::Instant;

use rheapdump_analysis::graph::load_file;
use rheapdump_analysis::heap::{Heap, Keep, Rules};
use rheapdump_analysis::report::summary;

fn main() {
  let file = std::env::args().nth(1).expect("usage: dump FILE");
  let start = Instant::now();
  let graph = load_file(file.as_ref()).unwrap_or_else(|err| panic!("{file}: {err}"));
  let loaded = start.elapsed();
  // RHEAPDUMP_RULES=memlab: memlab's choices, to compare with memlab.
  let rules = match std::env::var("RHEAPDUMP_RULES").as_deref() {
    Ok("memlab") => Rules::MEMLAB,
    _ => Rules::DEVTOOLS,
  };
  let heap = Heap::with_rules(graph, rules, Keep::Everything, &mut |_| {});
  let analysed = start.elapsed();
  let s = summary(&heap, &file, 0);
  eprintln!(
    "load {:.0} ms, analysis {:.0} ms, summary {:.0} ms",
    loaded.as_secs_f64() * 1e3,
    (analysed - loaded).as_secs_f64() * 1e3,
    (start.elapsed() - analysed).as_secs_f64() * 1e3
  );
  let g = &heap.graph;
  let dominator_id: Vec<u32> = heap
    .dominator
    .iter()
    .map(|&d| g.node_id[d as usize])
    .collect();
  let out = serde_json::json!({
    "ids": g.node_id,
    "retained": heap.retained,
    "self": g.self_size,
    "distance": heap.distance,
    "dominator_id": dominator_id,
    "summary": s,
  });
  println!("{out}");
}
