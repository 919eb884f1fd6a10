//! Compressed snapshots and profiles (`.gz`, `.zst`), read as they stream: the format is told by
//! the file's first bytes (`rheapdump_core::compression`), never by its name, and the decoder
//! sits between the file and the parser, so no plain copy is ever made, in memory or on disk.
//!
//! The parser bounds what it allocates by the input's size (a hostile header must not make it
//! reserve gigabytes); for a compressed file that bound is the file's size times
//! `MAX_EXPANSION`, deflate's own limit, far above what a heap snapshot compresses to (5–11×).

use std::fmt;
use std::io::{self, BufRead, Read};

use rheapdump_core::compression::Compression;

use crate::parse::ParseError;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// The most bytes one compressed byte stands for, as far as the parser's bounds are concerned:
/// deflate cannot exceed 1032:1; a zstd file beyond it is not a snapshot rheapdump wrote.
const MAX_EXPANSION: u64 = 1032;

/// Why a compressed stream could not be read: truncated, corrupt, or not what its first bytes
/// claim. Carried inside an `io::Error` through the reader, and told apart from a failing disk.
#[derive(Debug)]
pub struct Corrupt {
  pub format: Compression,
  pub message: String,
}

impl fmt::Display for Corrupt {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (name, decompress) = match self.format {
      Compression::Gzip => ("gzip", "gunzip -t"),
      Compression::Zstd => ("zstd", "zstd -t"),
    };
    write!(
      f,
      "the {name} stream is truncated or corrupt ({}); `{decompress}` checks the file",
      self.message
    )
  }
}

impl std::error::Error for Corrupt {}

/// The `Corrupt` inside `err`, if that is what it carries.
pub fn corrupt(err: &io::Error) -> Option<&Corrupt> {
  err.get_ref()?.downcast_ref::<Corrupt>()
}

/// A file's content, decompressed as it is read when the file is compressed.
pub struct Input<'a> {
  reader: Box<dyn Read + 'a>,
  /// The most bytes it can yield, for the parser's bounds.
  pub bound: u64,
  pub format: Option<Compression>,
}

impl Read for Input<'_> {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    self.reader.read(buf)
  }
}

impl Input<'_> {
  /// Reads a compressed stream to its end after the parser stopped at the snapshot's last byte,
  /// so that the decoder checks what follows it (zstd's checksum, gzip's CRC and length): a
  /// corrupt stream can still decode to JSON that parses.
  pub fn finish(&mut self) -> io::Result<()> {
    if self.format.is_some() {
      io::copy(self, &mut io::sink())?;
    }
    Ok(())
  }

  /// The error to report for a parse that failed with `error`: corrupt compressed data makes
  /// garbage that the parser may trip over before the decoder's checksum at the end says why,
  /// so a syntax error in a compressed file is checked against the rest of its stream.
  pub fn blame(&mut self, error: ParseError) -> ParseError {
    if self.format.is_none() || !matches!(error, ParseError::Syntax { .. }) {
      return error;
    }
    match io::copy(self, &mut io::sink()) {
      Err(err) if corrupt(&err).is_some() => ParseError::Io(err),
      _ => error,
    }
  }
}

/// `input` decompressed when it starts like a compressed file, else as it is, with the bound on
/// its decompressed size for a file of `size` bytes.
pub fn decompressing<'a>(mut input: impl BufRead + 'a, size: u64) -> io::Result<Input<'a>> {
  let head = loop {
    match input.fill_buf() {
      Ok(head) => break head,
      Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
      Err(err) => return Err(err),
    }
  };
  let Some(format) = Compression::detect(head) else {
    return Ok(Input {
      reader: Box::new(input),
      bound: size,
      format: None,
    });
  };
  let bound = size.saturating_mul(MAX_EXPANSION);
  let decoder: Box<dyn Read + 'a> = match format {
    // Multi-member: `cat a.gz b.gz` is a valid gzip file, and gunzip reads it whole.
    Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
    Compression::Zstd => Box::new(ZstdFrames {
      source: input,
      frame: FrameDecoder::new(),
      in_frame: false,
    }),
  };
  Ok(Input {
    reader: Box::new(Checked {
      format,
      inner: decoder,
    }),
    bound,
    format: Some(format),
  })
}

/// Decompresses a whole file already in memory (profiles, which are read whole).
pub fn decompress_all(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
  if Compression::detect(&bytes).is_none() {
    return Ok(bytes);
  }
  let size = bytes.len() as u64;
  let mut plain = Vec::new();
  decompressing(io::Cursor::new(bytes), size)?.read_to_end(&mut plain)?;
  Ok(plain)
}

/// A decoder whose errors say that the compressed data, not the disk, is at fault. A stream
/// that stops before its end is an error, never a shorter snapshot.
struct Checked<'a> {
  format: Compression,
  inner: Box<dyn Read + 'a>,
}

impl Read for Checked<'_> {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    self.inner.read(buf).map_err(|err| {
      let from_the_disk = err.raw_os_error().is_some() || corrupt(&err).is_some();
      if from_the_disk {
        err
      } else {
        corrupt_error(self.format, err.to_string())
      }
    })
  }
}

/// Every frame of a zstd file in turn (`zstd` writes one; `cat a.zst b.zst`, and the pure-JS
/// fallback's chunks, make several), skipping skippable frames, as `zstd -d` does.
struct ZstdFrames<R> {
  source: R,
  frame: FrameDecoder,
  in_frame: bool,
}

impl<R: BufRead> Read for ZstdFrames<R> {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
      return Ok(0);
    }
    loop {
      if !self.in_frame {
        if self.source.fill_buf()?.is_empty() {
          return Ok(0);
        }
        match self.frame.reset(&mut self.source) {
          Ok(()) => self.in_frame = true,
          Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
            length,
            ..
          })) => {
            let skipped = io::copy(&mut (&mut self.source).take(length.into()), &mut io::sink())?;
            if skipped < length.into() {
              return Err(io::Error::other("a skippable frame ends early"));
            }
          }
          Err(err) => return Err(io::Error::other(err)),
        }
        continue;
      }
      // As ruzstd's StreamingDecoder, frame by frame: decode until `buf` can be filled.
      while self.frame.can_collect() < buf.len() && !self.frame.is_finished() {
        let wanted = buf.len() - self.frame.can_collect();
        self
          .frame
          .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(wanted))
          .map_err(io::Error::other)?;
      }
      let n = self.frame.read(buf)?;
      if n > 0 {
        return Ok(n);
      }
      if self.frame.is_finished() {
        self.in_frame = false;
        let (stored, computed) = (
          self.frame.get_checksum_from_data(),
          self.frame.get_calculated_checksum(),
        );
        if let (Some(stored), Some(computed)) = (stored, computed) {
          if stored != computed {
            return Err(io::Error::other(
              "the frame's checksum does not match its content",
            ));
          }
        }
      }
    }
  }
}

fn corrupt_error(format: Compression, message: String) -> io::Error {
  io::Error::new(io::ErrorKind::InvalidData, Corrupt { format, message })
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::io::Write;

  const TEXT: &[u8] = b"{\"snapshot\":{\"meta\":{}},\"nodes\":[1,2,3],\"strings\":[\"a\"]}";

  fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
  }

  fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
  }

  fn read(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    decompressing(io::BufReader::new(bytes), bytes.len() as u64)?.read_to_end(&mut out)?;
    Ok(out)
  }

  #[test]
  fn plain_gzip_and_zstd_inputs_read_as_the_same_bytes() {
    assert_eq!(read(TEXT).unwrap(), TEXT);
    assert_eq!(read(&gzip(TEXT)).unwrap(), TEXT);
    assert_eq!(read(&zstd(TEXT)).unwrap(), TEXT);
    assert_eq!(decompress_all(zstd(TEXT)).unwrap(), TEXT);
    assert_eq!(read(b"").unwrap(), b"");
  }

  #[test]
  fn concatenated_members_and_frames_read_as_one_stream() {
    let (a, b) = TEXT.split_at(20);
    assert_eq!(read(&[gzip(a), gzip(b)].concat()).unwrap(), TEXT);
    let skippable = [&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0][..], b"abc"].concat();
    assert_eq!(read(&[zstd(a), skippable, zstd(b)].concat()).unwrap(), TEXT);
  }

  #[test]
  fn a_truncated_or_corrupt_stream_is_an_error_that_says_so() {
    for (format, mut bytes) in [
      (Compression::Gzip, gzip(TEXT)),
      (Compression::Zstd, zstd(TEXT)),
    ] {
      bytes.truncate(bytes.len() - 6);
      let err = read(&bytes).unwrap_err();
      let found = corrupt(&err).unwrap_or_else(|| panic!("{format:?}: {err}"));
      assert_eq!(found.format, format);
    }
    let mut flipped = gzip(TEXT);
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let err = read(&flipped).unwrap_err();
    assert!(corrupt(&err).is_some(), "{err}");
  }

  #[test]
  fn finish_finds_a_corrupt_trailer_after_the_snapshot_s_last_byte() {
    // A parser stops at the snapshot's last byte; the stream's CRC comes after it.
    let mut bad_crc = gzip(TEXT);
    let crc = bad_crc.len() - 8;
    bad_crc[crc] ^= 0xff;
    let mut input = decompressing(io::BufReader::new(&bad_crc[..]), bad_crc.len() as u64).unwrap();
    let mut parsed = vec![0; TEXT.len()];
    input.read_exact(&mut parsed).unwrap();
    assert_eq!(parsed, TEXT);
    let err = input.finish().unwrap_err();
    assert!(corrupt(&err).is_some(), "{err}");
    let good = gzip(TEXT);
    let mut input = decompressing(io::BufReader::new(&good[..]), good.len() as u64).unwrap();
    input.read_exact(&mut parsed).unwrap();
    input.finish().unwrap();
  }

  #[test]
  fn the_size_bound_grows_only_for_compressed_input() {
    let plain = decompressing(io::BufReader::new(TEXT), 100).unwrap().bound;
    let gz = gzip(TEXT);
    let compressed = decompressing(io::BufReader::new(&gz[..]), 100)
      .unwrap()
      .bound;
    assert_eq!(plain, 100);
    assert_eq!(compressed, 100 * MAX_EXPANSION);
  }
}
