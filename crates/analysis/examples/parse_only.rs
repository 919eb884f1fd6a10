use std::time::Instant;
fn main() {
  let file = std::env::args().nth(1).unwrap();
  let t = Instant::now();
  let s = rheapdump_analysis::parse::read_file(file.as_ref()).unwrap();
  eprintln!("collect {:?} {}", t.elapsed(), s.nodes.len());
  drop(s);
  let t = Instant::now();
  let g = rheapdump_analysis::graph::load_file(file.as_ref()).unwrap();
  eprintln!("graph {:?} {}", t.elapsed(), g.node_count());
  let t = Instant::now();
  let data = std::fs::read(&file).unwrap();
  eprintln!("read {:?} {}", t.elapsed(), data.len());
}
