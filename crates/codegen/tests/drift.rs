//! The committed generated files are what the Rust side generates now.

#[test]
fn every_generated_file_is_up_to_date() {
  let root = rheapdump_codegen::repository_root();
  let stale: Vec<_> = rheapdump_codegen::generated()
    .into_iter()
    .filter(|file| std::fs::read_to_string(root.join(file.path)).ok().as_ref() != Some(&file.text))
    .map(|file| file.path)
    .collect();
  assert!(
    stale.is_empty(),
    "stale, not what the Rust side generates now: {}; run `npm run generate` and commit the result",
    stale.join(", ")
  );
}
