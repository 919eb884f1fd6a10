use std::collections::HashMap;

use rheapdump_analysis::profile::{self, pprof, Profile};
use serde_json::{json, Value};

fn frame(name: &str, line: i64) -> Value {
  json!({ "functionName": name, "scriptId": "1", "url": "file:///app/main.js", "lineNumber": line, "columnNumber": 0 })
}

/// root → main → (leak 40, churn → build 10), and main → recurse → recurse 5; (external) 100.
/// Samples: ordinals 1..=4 on leak (10 each), 5 on build, 6 on the inner recurse.
fn sample_profile(extra_leak: &[u64]) -> Value {
  let mut samples: Vec<Value> = (1..=4)
    .map(|o| json!({ "size": 10, "nodeId": 3, "ordinal": o }))
    .collect();
  samples.push(json!({ "size": 10, "nodeId": 5, "ordinal": 5 }));
  samples.push(json!({ "size": 5, "nodeId": 7, "ordinal": 6 }));
  for &o in extra_leak {
    samples.push(json!({ "size": 10, "nodeId": 3, "ordinal": o }));
  }
  let leak_size = 10 * (4 + extra_leak.len() as u64);
  json!({
    "head": { "callFrame": frame("(root)", -1), "selfSize": 0, "id": 1, "children": [
      { "callFrame": frame("main", 0), "selfSize": 0, "id": 2, "children": [
        { "callFrame": frame("leak", 9), "selfSize": leak_size, "id": 3, "children": [] },
        { "callFrame": frame("churn", 19), "selfSize": 0, "id": 4, "children": [
          { "callFrame": frame("build", 29), "selfSize": 10, "id": 5, "children": [] }
        ] },
        { "callFrame": frame("recurse", 39), "selfSize": 0, "id": 6, "children": [
          { "callFrame": frame("recurse", 39), "selfSize": 5, "id": 7, "children": [] }
        ] }
      ] },
      { "callFrame": { "functionName": "(external)", "scriptId": "0", "url": "", "lineNumber": -1, "columnNumber": -1 }, "selfSize": 100, "id": 8, "children": [] }
    ] },
    "samples": samples,
    "rheapdump": { "version": 1, "interval": 8, "samplingSince": "2026-01-01T00:00:00.000Z", "pid": 42, "node": "v20.0.0",
      "external": { "nodeId": 8, "bytes": 100, "arrayBuffers": 7 } }
  })
}

fn parse(value: &Value) -> Profile {
  Profile::parse(value.to_string().as_bytes()).unwrap()
}

#[test]
fn top_gives_self_and_total_by_function_with_one_based_lines_and_external_apart() {
  let top = profile::top_of(&parse(&sample_profile(&[])), "p", 0);
  assert_eq!(
    (top.sampled_bytes, top.external_bytes, top.samples),
    (55, 100, 6)
  );
  let rows: HashMap<_, _> = top
    .functions
    .iter()
    .map(|r| (r.function.as_str(), r))
    .collect();
  assert_eq!(rows["leak"].location, "/app/main.js:10");
  assert_eq!(
    (rows["leak"].self_bytes, rows["leak"].total_bytes),
    (40, 40)
  );
  assert_eq!((rows["main"].self_bytes, rows["main"].total_bytes), (0, 55));
  assert_eq!(rows["churn"].total_bytes, 10);
  // A recursive function counts once per stack in its total.
  assert_eq!(
    (rows["recurse"].self_bytes, rows["recurse"].total_bytes),
    (5, 5)
  );
  assert!(!rows.contains_key("(external)") && !rows.contains_key("(root)"));
  assert!((rows["leak"].total_share - 40.0 / 55.0).abs() < 1e-9);
  assert_eq!(top.functions[0].function, "leak");
}

#[test]
fn diff_counts_exactly_the_samples_allocated_after_the_first_and_alive_in_the_second() {
  let before = parse(&sample_profile(&[]));
  // Later: two more leak samples; the build sample (ordinal 5) was freed.
  let mut later = sample_profile(&[7, 8]);
  let samples = later["samples"].as_array_mut().unwrap();
  samples.retain(|s| s["ordinal"] != 5);
  later["head"]["children"][0]["children"][1]["children"][0]["selfSize"] = json!(0);
  let diff = profile::diff_of(&before, &parse(&later), ("a", "b"), 0);
  assert_eq!((diff.new_samples, diff.new_bytes), (2, 20));
  assert_eq!((diff.freed_samples, diff.freed_bytes), (1, 10));
  assert_eq!(diff.functions[0].function, "leak");
  assert_eq!(diff.functions[0].self_bytes, 20);
  assert_eq!(diff.functions[0].self_share, 1.0);
}

#[test]
fn diff_refuses_profiles_of_different_sampler_runs() {
  let dir = tempfile::tempdir().unwrap();
  let a = dir.path().join("a.heapprofile");
  let b = dir.path().join("b.heapprofile");
  std::fs::write(&a, sample_profile(&[]).to_string()).unwrap();
  let mut other = sample_profile(&[9]);
  other["rheapdump"]["pid"] = json!(43);
  std::fs::write(&b, other.to_string()).unwrap();
  let err = profile::diff(&a, &b, 0).unwrap_err();
  assert_eq!(err.code, "ERR_PROFILE_MISMATCH");
  let err = profile::diff(&b, &a, 0).unwrap_err();
  assert_eq!(err.code, "ERR_PROFILE_MISMATCH");
  std::fs::write(&b, sample_profile(&[9]).to_string()).unwrap();
  let err = profile::diff(&b, &a, 0).unwrap_err();
  assert!(err.description.contains("earlier profile first"), "{err}");
}

#[test]
fn pprof_decodes_back_with_the_same_totals_and_leaf_first_stacks() {
  let source = parse(&sample_profile(&[]));
  let decoded = pprof::decode(&pprof::encode(&source)).unwrap();
  let name = |i: i64| decoded.string_table[i as usize].as_str();
  let types: Vec<_> = decoded
    .sample_type
    .iter()
    .map(|t| (name(t.r#type), name(t.unit)))
    .collect();
  assert_eq!(types, [("objects", "count"), ("space", "bytes")]);
  assert_eq!(name(decoded.default_sample_type), "space");
  assert_eq!(decoded.period, 8);
  let objects: i64 = decoded.sample.iter().map(|s| s.value[0]).sum();
  let bytes: i64 = decoded.sample.iter().map(|s| s.value[1]).sum();
  assert_eq!(objects, source.samples.len() as i64);
  assert_eq!(
    bytes,
    (source.sampled_bytes() + source.external_bytes()) as i64
  );
  let function_name = |location: u64| {
    let location = decoded.location.iter().find(|l| l.id == location).unwrap();
    let function = decoded
      .function
      .iter()
      .find(|f| f.id == location.line[0].function_id)
      .unwrap();
    (name(function.name), function.start_line)
  };
  let build = decoded.sample.iter().find(|s| s.value == [1, 10]).unwrap();
  let stack: Vec<_> = build
    .location_id
    .iter()
    .map(|&l| function_name(l))
    .collect();
  assert_eq!(stack, [("build", 30), ("churn", 20), ("main", 1)]);
}

#[test]
fn folded_stacks_carry_every_live_byte_once() {
  let folded = profile::to_folded(&parse(&sample_profile(&[])));
  let total: u64 = folded
    .lines()
    .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
    .sum();
  assert_eq!(total, 155);
  assert!(
    folded.contains("main /app/main.js:1;leak /app/main.js:10 40\n"),
    "{folded}"
  );
}

#[test]
fn a_profile_as_deep_as_v8_samples_parses() {
  let mut node = json!({ "callFrame": frame("f", 0), "selfSize": 8, "id": 1000, "children": [] });
  for id in (2..300).rev() {
    node = json!({ "callFrame": frame("f", 0), "selfSize": 0, "id": id, "children": [node] });
  }
  let value = json!({ "head": { "callFrame": frame("(root)", -1), "selfSize": 0, "id": 1, "children": [node] }, "samples": [] });
  let parsed = parse(&value);
  assert_eq!(parsed.nodes.len(), 300);
  assert_eq!(profile::top_of(&parsed, "p", 0).functions[0].total_bytes, 8);
}

#[test]
fn a_sample_whose_node_is_missing_from_the_tree_is_left_out_and_counted() {
  let mut value = sample_profile(&[]);
  let samples = value["samples"].as_array_mut().unwrap();
  samples.push(json!({ "size": 10, "nodeId": 99, "ordinal": 7 }));
  let parsed = parse(&value);
  assert_eq!((parsed.samples.len(), parsed.orphan_samples), (6, 1));
  assert_eq!(profile::top_of(&parsed, "p", 0).samples, 6);
}

#[test]
fn a_file_that_is_not_a_profile_is_an_error_with_a_code() {
  let dir = tempfile::tempdir().unwrap();
  let file = dir.path().join("x.heapprofile");
  std::fs::write(&file, "{\"snapshot\":{}}").unwrap();
  assert_eq!(Profile::read(&file).unwrap_err().code, "ERR_PROFILE_SYNTAX");
  assert_eq!(
    Profile::read(&dir.path().join("missing")).unwrap_err().code,
    "ENOENT"
  );
}

/// A call tree `frames` deep, as text (serde_json's own writer would recurse as deep).
fn deep_profile(frames: usize) -> String {
  let node = |id: usize| {
    format!(
      r#"{{"callFrame":{{"functionName":"f{id}","scriptId":"1","url":"file:///a.js","lineNumber":1,"columnNumber":0}},"selfSize":1,"id":{id},"children":["#
    )
  };
  let mut text = String::from(r#"{"head":"#);
  for id in 1..=frames {
    text.push_str(&node(id));
  }
  text.push_str(&"]}".repeat(frames));
  text.push_str(r#","samples":[]}"#);
  text
}

#[test]
fn a_call_tree_deeper_than_any_stack_is_refused_before_it_can_overflow_the_stack() {
  // On a main thread's 8 MB stack: an unoptimised build's frames are several times an optimised
  // one's, which reads 2,000 frames within the WebAssembly program's 1 MB.
  let parse = |text: String| {
    std::thread::Builder::new()
      .stack_size(8 * 1024 * 1024)
      .spawn(move || Profile::parse(text.as_bytes()).map(|profile| profile.nodes.len()))
      .unwrap()
      .join()
      .expect("no stack overflow")
  };
  assert_eq!(
    parse(deep_profile(512)),
    Ok(512),
    "512 frames, four times what V8 samples, are read"
  );
  let refused = parse(deep_profile(200_000)).unwrap_err();
  assert!(refused.contains("nested 400001 levels deep"), "{refused}");
  // Brackets inside strings do not count.
  let text = deep_profile(3).replace("f1", &"[{".repeat(5000));
  assert_eq!(parse(text), Ok(3));
}
