use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use rheapdump_core::compression::Compression;
use rheapdump_core::fork::{is_fork_snapshot, FORK_MARKER, SNAPSHOT_PREFIX};
use rheapdump_core::naming::{is_default_file_name, FileKind};
use rheapdump_platform::snapshot_file::{Compress, PendingSnapshot, Target};

fn entries(dir: &Path) -> Vec<String> {
  let mut names: Vec<_> = fs::read_dir(dir)
    .unwrap()
    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
    .collect();
  names.sort();
  names
}

fn default_in(dir: &Path) -> Target {
  Target::DefaultName {
    dir: dir.to_path_buf(),
  }
}

fn compressed(
  target: Target,
  format: Compression,
  by_name: bool,
  mark_fork: bool,
) -> PendingSnapshot {
  let compress = Compress { format, mark_fork };
  PendingSnapshot::create_compressed(target, FileKind::Snapshot, by_name, Some(compress)).unwrap()
}

/// Decompressed by the reference implementations (zlib's format through flate2, libzstd).
fn decompress(path: &Path) -> Vec<u8> {
  let bytes = fs::read(path).unwrap();
  let mut plain = Vec::new();
  match Compression::detect(&bytes).expect("a compressed file") {
    Compression::Gzip => {
      flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut plain)
        .unwrap();
    }
    Compression::Zstd => plain = zstd::decode_all(&bytes[..]).unwrap(),
  }
  plain
}

/// Writes as Node's writer does: opens the path it is given (O_TRUNC) and writes in chunks.
fn write_like_node(pending: &PendingSnapshot, chunks: &[&[u8]]) {
  let mut file = fs::OpenOptions::new()
    .write(true)
    .create(true)
    .truncate(true)
    .open(pending.writer_path())
    .unwrap();
  for chunk in chunks {
    file.write_all(chunk).unwrap();
  }
}

/// Text like a snapshot's, larger than the pipe holds, so the writer must wait for the thread.
fn snapshot_text() -> Vec<u8> {
  let mut text = b"{\"snapshot\":{\"meta\":{}},\"nodes\":[".to_vec();
  for i in 0..600_000u32 {
    text.extend_from_slice(format!("{},{},", i % 13, i).as_bytes());
  }
  text.extend_from_slice(b"0]}");
  text
}

#[test]
fn each_format_is_compressed_as_written_private_and_named_with_its_extension() {
  let text = snapshot_text();
  for format in Compression::ALL {
    let dir = tempfile::tempdir().unwrap();
    let pending = compressed(default_in(dir.path()), format, false, false);
    write_like_node(&pending, &text.chunks(64 * 1024).collect::<Vec<_>>());
    assert!(
      entries(dir.path()).is_empty(),
      "nothing visible before commit"
    );
    let written = pending.commit().unwrap();
    let name = written.path.file_name().unwrap().to_str().unwrap();
    assert!(
      name.ends_with(&format!(".heapsnapshot{}", format.extension())),
      "{name}"
    );
    assert!(is_default_file_name(name), "{name}");
    assert_eq!(entries(dir.path()), vec![name.to_string()]);
    let mode = fs::metadata(&written.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(written.plain_bytes, text.len() as u64);
    assert_eq!(written.bytes, fs::metadata(&written.path).unwrap().len());
    assert!(
      written.bytes * 2 < written.plain_bytes,
      "{format:?} compresses"
    );
    assert!(decompress(&written.path) == text, "{format:?} round trip");
  }
}

#[test]
fn by_name_the_writer_gets_a_hidden_fifo_in_the_directory_that_is_gone_after_commit() {
  let dir = tempfile::tempdir().unwrap();
  let pending = compressed(default_in(dir.path()), Compression::Zstd, true, false);
  let writer = pending.writer_path();
  assert_eq!(writer.parent().unwrap(), dir.path());
  assert!(fs::metadata(&writer).unwrap().file_type().is_fifo());
  assert!(writer
    .file_name()
    .unwrap()
    .to_str()
    .unwrap()
    .starts_with(".rheapdump-"));
  write_like_node(&pending, &[b"{\"snapshot\":{}}"]);
  let written = pending.commit().unwrap();
  assert_eq!(
    entries(dir.path()),
    vec![written
      .path
      .file_name()
      .unwrap()
      .to_str()
      .unwrap()
      .to_string()]
  );
  assert_eq!(decompress(&written.path), b"{\"snapshot\":{}}");
}

#[test]
fn an_abandoned_or_empty_compressed_snapshot_leaves_nothing_behind() {
  for by_name in [false, true] {
    let dir = tempfile::tempdir().unwrap();
    let pending = compressed(default_in(dir.path()), Compression::Gzip, by_name, false);
    write_like_node(&pending, &[b"partial"]);
    drop(pending);
    assert!(
      entries(dir.path()).is_empty(),
      "abandoned, by_name {by_name}"
    );

    let pending = compressed(default_in(dir.path()), Compression::Gzip, by_name, false);
    let err = pending.commit().unwrap_err();
    assert_eq!((err.code, err.syscall), ("EIO", "write"));
    assert!(entries(dir.path()).is_empty(), "empty, by_name {by_name}");
  }
}

#[test]
fn an_explicit_name_is_kept_exactly_as_given() {
  let dir = tempfile::tempdir().unwrap();
  let path = dir.path().join("mine.heapsnapshot");
  fs::write(&path, "old").unwrap();
  let pending = compressed(
    Target::Explicit { path: path.clone() },
    Compression::Gzip,
    false,
    false,
  );
  write_like_node(&pending, &[b"{\"snapshot\":{}}"]);
  assert_eq!(pending.commit().unwrap().path, path);
  assert_eq!(entries(dir.path()), vec!["mine.heapsnapshot"]);
  assert_eq!(decompress(&path), b"{\"snapshot\":{}}");
}

#[test]
fn the_fork_marker_goes_into_the_stream_after_the_prefix_however_the_writes_are_split() {
  let rest = b"\"meta\":{}},\"nodes\":[]}";
  let (a, b) = SNAPSHOT_PREFIX.split_at(5);
  for chunks in [
    vec![a, b, &rest[..]],
    vec![&[SNAPSHOT_PREFIX, &rest[..]].concat()[..]],
  ] {
    let dir = tempfile::tempdir().unwrap();
    let pending = compressed(default_in(dir.path()), Compression::Zstd, false, true);
    write_like_node(&pending, &chunks);
    let written = pending.commit().unwrap();
    let plain = decompress(&written.path);
    assert_eq!(plain, [SNAPSHOT_PREFIX, FORK_MARKER, &rest[..]].concat());
    assert!(is_fork_snapshot(&plain));
  }
}
