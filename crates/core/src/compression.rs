//! Compressed snapshots: the formats rheapdump writes (`compress: 'gzip' | 'zstd'`), what each
//! adds to a file's name, how a reader recognises one from its first bytes whatever the file is
//! called, and how large a compressed snapshot may be, for the guard's disk estimate.

/// A compression format of snapshot files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
  /// gzip (RFC 1952): `gunzip`, and every language's standard library, read it.
  Gzip,
  /// Zstandard (RFC 8878): several times faster than gzip at a better ratio; `zstd -d` reads it.
  Zstd,
}

impl Compression {
  pub const ALL: [Compression; 2] = [Compression::Gzip, Compression::Zstd];

  /// The setting's value (`RHEAPDUMP_COMPRESS=gzip`), and the name in messages.
  pub fn name(self) -> &'static str {
    match self {
      Compression::Gzip => "gzip",
      Compression::Zstd => "zstd",
    }
  }

  /// What a default name gets after its kind's suffix: `….heapsnapshot.gz`.
  pub fn extension(self) -> &'static str {
    match self {
      Compression::Gzip => ".gz",
      Compression::Zstd => ".zst",
    }
  }

  /// The format a setting names; `None` for `off` and for any other word.
  pub fn from_name(name: &str) -> Option<Compression> {
    Compression::ALL.into_iter().find(|c| c.name() == name)
  }

  /// The bytes every file of this format starts with.
  pub fn magic(self) -> &'static [u8] {
    match self {
      // ID1, ID2 and CM = 8 (deflate), the only method gzip defines.
      Compression::Gzip => &[0x1f, 0x8b, 0x08],
      // The frame magic number 0xFD2FB528, little-endian.
      Compression::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
    }
  }

  /// The format of a file that starts with `head`, or `None` for an uncompressed one (a
  /// snapshot starts with `{`). Decided by content, never by name: a renamed file still reads.
  pub fn detect(head: &[u8]) -> Option<Compression> {
    Compression::ALL
      .into_iter()
      .find(|c| head.starts_with(c.magic()))
  }

  /// What the guard divides its estimate of the plain file by (`estimate`, whose worst case is
  /// a heap of small objects) to estimate the compressed one. A snapshot's ratio depends on the
  /// heap: small objects compress 6–24×, random strings (tokens, hashes) only 2–2.4×, but their
  /// plain snapshot is also smaller per byte of heap. So the divisor is chosen against the
  /// largest compressed file per byte of heap measured (bench/compress.js, bench/README.md
  /// "Compression"): random strings, 0.70 (gzip) and 0.60 (zstd) bytes per heap byte, which the
  /// smallest plain estimate (2.45 bytes per heap byte) divided by these still exceeds by a third.
  pub fn estimate_divisor(self) -> f64 {
    match self {
      Compression::Gzip => 2.5,
      Compression::Zstd => 3.0,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_format_is_recognised_by_its_first_bytes_and_a_plain_snapshot_is_not() {
    assert_eq!(
      Compression::detect(&[0x1f, 0x8b, 0x08, 0, 0]),
      Some(Compression::Gzip)
    );
    assert_eq!(
      Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 4]),
      Some(Compression::Zstd)
    );
    assert_eq!(Compression::detect(b"{\"snapshot\":{"), None);
    assert_eq!(Compression::detect(&[0x1f]), None);
    assert_eq!(Compression::detect(b""), None);
  }

  #[test]
  fn each_format_has_its_setting_name_and_extension() {
    for c in Compression::ALL {
      assert_eq!(Compression::from_name(c.name()), Some(c));
      assert!(c.extension().starts_with('.'));
      assert!(c.estimate_divisor() > 1.0);
    }
    assert_eq!(Compression::from_name("off"), None);
    assert_eq!(Compression::from_name("GZIP"), None);
  }
}
