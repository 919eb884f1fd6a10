//! The byte-level JSON walker under [`super::visit`]: a buffered reader that knows where it is,
//! parses keys and strings, streams arrays of numbers and strings in chunks, and skips or keeps
//! any other value.

use std::io::{self, Read};

use super::error::ParseError;

const BUFFER: usize = 1 << 16;

/// How many values an array must hold: what the header declares, or (for arrays the header
/// gives no count for) at most what the file's size can hold.
#[derive(Clone, Copy)]
pub(super) enum Count {
  Exactly(usize),
  AtMost(usize),
}

pub(super) fn show(byte: u8) -> String {
  if byte.is_ascii_graphic() {
    format!("'{}'", byte as char)
  } else {
    format!("byte 0x{byte:02x}")
  }
}
pub(super) struct Reader<R> {
  input: R,
  buf: Vec<u8>,
  pos: usize,
  len: usize,
  /// Bytes consumed before `buf`.
  base: u64,
}

impl<R: Read> Reader<R> {
  pub(super) fn new(input: R) -> Self {
    Reader {
      input,
      buf: vec![0; BUFFER],
      pos: 0,
      len: 0,
      base: 0,
    }
  }

  fn offset(&self) -> u64 {
    self.base + self.pos as u64
  }

  pub(super) fn error(&self, message: String) -> ParseError {
    ParseError::Syntax {
      offset: self.offset(),
      message,
    }
  }

  fn peek(&mut self) -> Result<Option<u8>, ParseError> {
    if self.pos == self.len {
      self.base += self.len as u64;
      self.pos = 0;
      self.len = loop {
        match self.input.read(&mut self.buf) {
          Ok(n) => break n,
          Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
          Err(err) => return Err(err.into()),
        }
      };
      if self.len == 0 {
        return Ok(None);
      }
    }
    Ok(Some(self.buf[self.pos]))
  }

  fn next(&mut self) -> Result<Option<u8>, ParseError> {
    let byte = self.peek()?;
    if byte.is_some() {
      self.pos += 1;
    }
    Ok(byte)
  }

  pub(super) fn next_non_ws(&mut self) -> Result<Option<u8>, ParseError> {
    loop {
      match self.next()? {
        Some(b' ' | b'\n' | b'\r' | b'\t') => {}
        other => return Ok(other),
      }
    }
  }

  fn peek_non_ws(&mut self) -> Result<Option<u8>, ParseError> {
    loop {
      match self.peek()? {
        Some(b' ' | b'\n' | b'\r' | b'\t') => self.pos += 1,
        other => return Ok(other),
      }
    }
  }

  pub(super) fn expect(&mut self, wanted: u8) -> Result<(), ParseError> {
    match self.next_non_ws()? {
      Some(byte) if byte == wanted => Ok(()),
      Some(byte) => Err(self.error(format!(
        "expected '{}', found {}",
        wanted as char,
        show(byte)
      ))),
      None => Err(self.error(format!(
        "expected '{}', found the end of the file",
        wanted as char
      ))),
    }
  }

  /// An object key and the ':' after it.
  pub(super) fn key(&mut self) -> Result<String, ParseError> {
    let key = self.string()?;
    self.expect(b':')?;
    Ok(key)
  }

  /// A JSON string, escapes decoded; invalid UTF-8 and lone surrogates become U+FFFD.
  fn string(&mut self) -> Result<String, ParseError> {
    self.expect(b'"')?;
    let mut bytes = Vec::new();
    loop {
      // Copy the run up to the next quote or backslash in one go.
      if self.peek()?.is_some() {
        let run = &self.buf[self.pos..self.len];
        let end = run
          .iter()
          .position(|&b| b == b'"' || b == b'\\')
          .unwrap_or(run.len());
        bytes.extend_from_slice(&run[..end]);
        self.pos += end;
      }
      let Some(byte) = self.next()? else {
        return Err(self.error("the file ends inside a string (truncated?)".into()));
      };
      match byte {
        b'"' => break,
        b'\\' => self.escape(&mut bytes)?,
        _ => bytes.push(byte),
      }
    }
    Ok(match String::from_utf8(bytes) {
      Ok(text) => text,
      Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
  }

  fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ParseError> {
    let Some(byte) = self.next()? else {
      return Err(self.error("the file ends inside a string escape".into()));
    };
    let simple = match byte {
      b'"' => b'"',
      b'\\' => b'\\',
      b'/' => b'/',
      b'b' => 0x08,
      b'f' => 0x0c,
      b'n' => b'\n',
      b'r' => b'\r',
      b't' => b'\t',
      b'u' => {
        let unit = self.hex4()?;
        let c = if (0xd800..0xdc00).contains(&unit) && self.peek()? == Some(b'\\') {
          self.pos += 1;
          if self.next()? != Some(b'u') {
            return Err(self.error("expected a \\u escape after a high surrogate".into()));
          }
          let low = self.hex4()?;
          if (0xdc00..0xe000).contains(&low) {
            char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))
          } else {
            None
          }
        } else {
          char::from_u32(unit)
        };
        let mut utf8 = [0; 4];
        out.extend_from_slice(c.unwrap_or('\u{fffd}').encode_utf8(&mut utf8).as_bytes());
        return Ok(());
      }
      other => return Err(self.error(format!("invalid escape \\{}", other as char))),
    };
    out.push(simple);
    Ok(())
  }

  fn hex4(&mut self) -> Result<u32, ParseError> {
    let mut value = 0;
    for _ in 0..4 {
      let digit = self
        .next()?
        .and_then(|b| (b as char).to_digit(16))
        .ok_or_else(|| self.error("invalid \\u escape".into()))?;
      value = value * 16 + digit;
    }
    Ok(value)
  }

  /// `[n, n, …]` of non-negative integers that fit in u32, as many as `count` says, handed
  /// to `emit` in chunks. This is the hot loop of every analysis: it scans the buffer directly.
  pub(super) fn numbers(
    &mut self,
    count_wanted: Count,
    what: &str,
    mut emit: impl FnMut(&[u32]) -> Result<(), String>,
  ) -> Result<(), ParseError> {
    const CHUNK: usize = 1 << 14;
    let (expected, exact) = match count_wanted {
      Count::Exactly(n) => (n, true),
      Count::AtMost(n) => (n, false),
    };
    self.expect(b'[')?;
    let mut chunk: Vec<u32> = Vec::with_capacity(CHUNK);
    let mut count = 0usize;
    let (mut value, mut digits) = (0u64, 0u32);
    // After a value and before its ',' (or the closing ']').
    let mut after_value = false;
    let mut first = true;
    loop {
      if self.peek()?.is_none() {
        return Err(self.error(format!("the file ends inside \"{what}\" (truncated?)")));
      }
      let mut i = self.pos;
      let mut closed = false;
      let mut bad: Option<String> = None;
      while i < self.len {
        let byte = self.buf[i];
        if byte.is_ascii_digit() {
          if after_value {
            bad = Some(format!(
              "expected ',' or ']' in \"{what}\", found {}",
              show(byte)
            ));
            break;
          }
          value = value * 10 + u64::from(byte - b'0');
          digits += 1;
          if digits > 10 || value > u64::from(u32::MAX) {
            bad = Some(format!("a value in \"{what}\" is larger than 2^32"));
            break;
          }
          i += 1;
          continue;
        }
        if digits > 0 {
          if count == expected {
            bad = Some(format!(
              "\"{what}\" has more values than {} ({expected})",
              if exact {
                "the header's count"
              } else {
                "the file can hold"
              }
            ));
            break;
          }
          chunk.push(value as u32);
          count += 1;
          if chunk.len() == CHUNK {
            if let Err(message) = emit(&chunk) {
              bad = Some(message);
              break;
            }
            chunk.clear();
          }
          value = 0;
          digits = 0;
          after_value = true;
        }
        match byte {
          b' ' | b'\n' | b'\r' | b'\t' => {}
          b',' if after_value => {
            after_value = false;
            first = false;
          }
          b']' if after_value || (first && count == 0) => {
            i += 1;
            closed = true;
            break;
          }
          _ => {
            bad = Some(if after_value {
              format!("expected ',' or ']' in \"{what}\", found {}", show(byte))
            } else {
              format!("expected a number in \"{what}\", found {}", show(byte))
            });
            break;
          }
        }
        i += 1;
      }
      self.pos = i;
      if let Some(message) = bad {
        return Err(self.error(message));
      }
      if closed {
        break;
      }
    }
    if !chunk.is_empty() {
      emit(&chunk).map_err(|message| self.error(message))?;
    }
    if exact && count != expected {
      return Err(self.error(format!(
        "\"{what}\" has {count} values; the header's count needs {expected}"
      )));
    }
    Ok(())
  }

  pub(super) fn strings(&mut self, mut emit: impl FnMut(String)) -> Result<(), ParseError> {
    self.expect(b'[')?;
    if self.peek_non_ws()? == Some(b']') {
      self.pos += 1;
      return Ok(());
    }
    loop {
      emit(self.string()?);
      match self.next_non_ws()? {
        Some(b',') => {}
        Some(b']') => return Ok(()),
        Some(other) => {
          return Err(self.error(format!(
            "expected ',' or ']' in \"strings\", found {}",
            show(other)
          )))
        }
        None => return Err(self.error("the file ends inside \"strings\" (truncated?)".into())),
      }
    }
  }

  /// The bytes of one JSON value (object or array), at most `limit` of them.
  pub(super) fn raw_value(&mut self, limit: usize) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::new();
    self.value(Some((&mut out, limit)))?;
    Ok(out)
  }

  pub(super) fn skip_value(&mut self) -> Result<(), ParseError> {
    self.value(None)
  }

  /// Walks one JSON value, keeping its bytes in `keep` if given. Strings are walked with their
  /// escapes so that brackets inside them do not count.
  fn value(&mut self, mut keep: Option<(&mut Vec<u8>, usize)>) -> Result<(), ParseError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let first = self.peek_non_ws()?;
    if !matches!(
      first,
      Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
    ) {
      let found = first
        .map(show)
        .unwrap_or_else(|| "the end of the file".into());
      return Err(self.error(format!("expected a value, found {found}")));
    }
    loop {
      let Some(byte) = self.peek()? else {
        if depth == 0 && !in_string {
          return Ok(());
        }
        return Err(self.error("the file ends inside a value (truncated?)".into()));
      };
      if !in_string && depth == 0 && matches!(byte, b',' | b'}' | b']') {
        return Ok(()); // the end of a scalar; the caller reads the separator
      }
      self.pos += 1;
      if let Some((out, limit)) = keep.as_mut() {
        if out.len() == *limit {
          return Err(self.error(format!(
            "a header of more than {limit} bytes is not a heap snapshot's"
          )));
        }
        out.push(byte);
      }
      if in_string {
        match (escaped, byte) {
          (true, _) => escaped = false,
          (false, b'\\') => escaped = true,
          (false, b'"') => in_string = false,
          _ => {}
        }
        if !in_string && depth == 0 {
          return Ok(());
        }
        continue;
      }
      match byte {
        b'"' => in_string = true,
        b'{' | b'[' => depth += 1,
        b'}' | b']' => {
          depth -= 1;
          if depth == 0 {
            return Ok(());
          }
        }
        _ => {}
      }
    }
  }
}
