//! Rewrites the generated files that are out of date (`npm run generate`).
#![deny(clippy::all)]

use std::process::ExitCode;

fn main() -> ExitCode {
  let root = rheapdump_codegen::repository_root();
  for file in rheapdump_codegen::generated() {
    let path = root.join(file.path);
    if std::fs::read_to_string(&path).is_ok_and(|committed| committed == file.text) {
      continue;
    }
    if let Err(err) = std::fs::write(&path, &file.text) {
      eprintln!("rheapdump-codegen: {}: {err}", file.path);
      return ExitCode::FAILURE;
    }
    eprintln!("rheapdump-codegen: wrote {}", file.path);
  }
  ExitCode::SUCCESS
}
