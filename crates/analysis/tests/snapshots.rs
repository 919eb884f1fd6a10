use std::path::{Path, PathBuf};
use std::process::Command;

use rheapdump_analysis::parse::{read, read_file, ParseError};
use rheapdump_analysis::validate::validate;

mod common;

fn make_snapshot(node: &Path, dir: &Path) -> PathBuf {
  let file = dir.join("real.heapsnapshot");
  let script = format!(
    "class Probe {{ constructor(i) {{ this.i = i; this.s = 'caf\\u00e9 \\ud83d\\ude00 ' + i }} }}
     globalThis.keep = Array.from({{ length: 777 }}, (_, i) => new Probe(i))
     require('v8').writeHeapSnapshot({:?})",
    file
  );
  let status = Command::new(node)
    .args(["-e", &script])
    .status()
    .expect("node must be installed to run these tests");
  assert!(status.success());
  file
}

#[test]
fn real_snapshots_parse_validate_and_match_a_full_json_parse() {
  for node in common::nodes(&["26"]) {
    let dir = tempfile::tempdir().unwrap();
    let file = make_snapshot(&node, dir.path());
    let snapshot = read_file(&file).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let sound = validate(&bytes[..], bytes.len() as u64).unwrap().unwrap();

    let reference: serde_json::Value =
      serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let numbers = |key: &str| -> Vec<u32> {
      reference[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
    };
    assert_eq!(snapshot.nodes, numbers("nodes"), "{node:?}");
    assert_eq!(snapshot.edges, numbers("edges"));
    let strings: Vec<String> = reference["strings"]
      .as_array()
      .unwrap()
      .iter()
      .map(|s| s.as_str().unwrap().to_string())
      .collect();
    assert_eq!(snapshot.strings, strings);
    assert_eq!(sound.nodes * sound.node_fields, snapshot.nodes.len());

    let probe = snapshot.strings.iter().position(|s| s == "Probe").unwrap() as u32;
    let name = snapshot
      .meta
      .node_fields
      .iter()
      .position(|f| f == "name")
      .unwrap();
    let count = snapshot
      .nodes
      .chunks_exact(sound.node_fields)
      .filter(|n| n[name] == probe)
      .count();
    assert!(count >= 777, "{count} Probe nodes with {node:?}");
    // V8 writes code points above U+FFFF truncated to 16 bits (the emoji becomes \uF600), so
    // only the é shows that escapes are decoded.
    assert!(
      snapshot.strings.iter().any(|s| s.starts_with("café ")),
      "escapes decoded"
    );
  }
}

fn syntax_error(bytes: &[u8]) -> String {
  match read(bytes, bytes.len() as u64) {
    Err(ParseError::Syntax { message, .. }) => message,
    Err(other) => panic!("not a syntax error: {other}"),
    Ok(_) => panic!(
      "accepted {:?}",
      String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
    ),
  }
}

#[test]
fn truncated_files_are_refused_wherever_they_are_cut() {
  let dir = tempfile::tempdir().unwrap();
  let bytes = std::fs::read(make_snapshot(Path::new("node"), dir.path())).unwrap();
  for tenth in 0..10 {
    let cut = bytes.len() * tenth / 10;
    syntax_error(&bytes[..cut]);
  }
  syntax_error(&bytes[..bytes.len() - 1]);
}

const MINIMAL: &str = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["synthetic","object"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["element","property"],"string_or_number","node"]},"node_count":2,"edge_count":1},
"nodes":[0,0,1,0,1,1,1,3,16,0],
"edges":[1,1,5],
"strings":["","Thing"]}"#;

#[test]
fn a_minimal_snapshot_is_sound() {
  let sound = validate(MINIMAL.as_bytes(), MINIMAL.len() as u64).unwrap();
  assert_eq!(sound.unwrap().nodes, 2);
}

#[test]
fn non_snapshots_are_refused_with_what_is_wrong() {
  assert!(syntax_error(b"").contains("end of the file"));
  assert!(syntax_error(b"[1,2,3]").contains("expected '{'"));
  assert!(syntax_error(b"{\"nodes\":[]}").contains("\"snapshot\" header first"));
  assert!(syntax_error(b"{\"snapshot\":{\"a\":1}}").contains("unreadable snapshot header"));
  assert!(syntax_error(b"\x00\xff\xfe garbage").contains("expected '{'"));
  let trailing = format!("{MINIMAL} x");
  assert!(syntax_error(trailing.as_bytes()).contains("after the end"));
}

#[test]
fn absurd_counts_are_refused_before_any_allocation() {
  let absurd = MINIMAL.replace("\"node_count\":2", "\"node_count\":4000000000000");
  assert!(syntax_error(absurd.as_bytes()).contains("more than a file of"));
  let overflow = MINIMAL.replace("\"edge_count\":1", "\"edge_count\":18446744073709551615");
  assert!(syntax_error(overflow.as_bytes()).contains("more than a file of"));
}

#[test]
fn arrays_that_disagree_with_the_header_are_refused() {
  let more = MINIMAL.replace("\"edges\":[1,1,5]", "\"edges\":[1,1,5,1,1,5]");
  assert!(syntax_error(more.as_bytes()).contains("more values than the header"));
  let fewer = MINIMAL.replace("\"edges\":[1,1,5]", "\"edges\":[1,1]");
  assert!(syntax_error(fewer.as_bytes()).contains("has 2 values"));
  let huge = MINIMAL.replace("\"edges\":[1,1,5]", "\"edges\":[1,1,99999999999]");
  assert!(syntax_error(huge.as_bytes()).contains("larger than 2^32"));
  let negative = MINIMAL.replace("\"edges\":[1,1,5]", "\"edges\":[1,-1,5]");
  assert!(syntax_error(negative.as_bytes()).contains("expected a number"));
}

#[test]
fn structural_faults_are_named_by_validate() {
  let check = |text: String| {
    validate(text.as_bytes(), text.len() as u64)
      .unwrap()
      .unwrap_err()
      .0
  };
  assert!(
    check(MINIMAL.replace("\"edges\":[1,1,5]", "\"edges\":[1,1,7]"))
      .contains("to_node 7 is not a node")
  );
  assert!(
    check(MINIMAL.replace("\"edges\":[1,1,5]", "\"edges\":[1,9,5]")).contains("not a string index")
  );
  assert!(
    check(MINIMAL.replace("[0,0,1,0,1,1,1,3,16,0]", "[0,0,1,0,1,1,1,1,16,0]"))
      .contains("id 1 is not unique")
  );
  assert!(
    check(MINIMAL.replace("[0,0,1,0,1,1,1,3,16,0]", "[1,0,1,0,1,1,1,3,16,0]"))
      .contains("synthetic root")
  );
  assert!(
    check(MINIMAL.replace("[0,0,1,0,1,1,1,3,16,0]", "[0,0,1,0,0,1,1,3,16,0]"))
      .contains("add up to 0")
  );
}

#[test]
fn an_oversized_header_is_not_read_whole() {
  let padding = "x".repeat(5 << 20);
  let text = MINIMAL.replace(
    "\"node_count\":2",
    &format!("\"pad\":\"{padding}\",\"node_count\":2"),
  );
  assert!(syntax_error(text.as_bytes()).contains("header of more than"));
}

#[test]
fn a_missing_file_is_an_io_error() {
  assert!(matches!(
    read_file(Path::new("/nonexistent/x.heapsnapshot")),
    Err(ParseError::Io(_))
  ));
}
