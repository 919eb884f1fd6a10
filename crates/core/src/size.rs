//! Sizes as people write them, one rule for every place that reads one: the command line's
//! SIZE (`check --max-growth 1MB`) and the settings (`RHEAPDUMP_SAMPLING=64k`, `sampling:
//! '1MiB'`, which lib/environment.js parses with this table, through lib/facts.js).
//!
//! A single letter and the IEC names count in 1024s, as Docker's `512m` and the JVM's
//! `-Xss512k` do; the SI names count in 1000s, as disk makers and `bytesize` do: `1m` and `1MiB`
//! are 1,048,576 bytes, `1MB` is 1,000,000.

/// Each unit's name, lower case, and the bytes it stands for; no unit means bytes.
pub const UNITS: [(&str, u64); 11] = [
  ("", 1),
  ("b", 1),
  ("k", 1 << 10),
  ("kib", 1 << 10),
  ("kb", 1_000),
  ("m", 1 << 20),
  ("mib", 1 << 20),
  ("mb", 1_000_000),
  ("g", 1 << 30),
  ("gib", 1 << 30),
  ("gb", 1_000_000_000),
];

/// Sizes shown in messages as examples of what is accepted.
pub const EXAMPLES: &str = "65536, 64k, 64KiB, 1m, 1MiB";

/// The bytes `text` stands for: a number (whole, or with a fraction when a unit follows),
/// optionally followed by blanks and a unit of [`UNITS`] in any case; rounded to a whole byte.
/// `None` when it is not a size or does not fit in 64 bits.
pub fn parse(text: &str) -> Option<u64> {
  let text = text.trim();
  let split = text
    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
    .unwrap_or(text.len());
  let (number, unit) = text.split_at(split);
  let unit = unit.trim_start().to_ascii_lowercase();
  let (_, factor) = UNITS.iter().find(|(name, _)| *name == unit)?;
  let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
  if whole.is_empty() || (number.contains('.') && fraction.is_empty()) {
    return None;
  }
  if !whole
    .bytes()
    .chain(fraction.bytes())
    .all(|b| b.is_ascii_digit())
  {
    return None;
  }
  let whole: u64 = whole.parse().ok()?;
  let bytes = whole.checked_mul(*factor)?;
  if fraction.is_empty() {
    return Some(bytes);
  }
  // The fraction in exact integer arithmetic, rounded half up, as lib/environment.js rounds.
  let digits = &fraction[..fraction.len().min(18)];
  let scale = 10u128.pow(digits.len() as u32);
  let part = (digits.parse::<u128>().ok()? * u128::from(*factor) * 2 + scale) / (2 * scale);
  bytes.checked_add(u64::try_from(part).ok()?)
}

#[cfg(test)]
mod tests {
  use super::parse;

  #[test]
  fn letters_and_iec_names_count_in_1024s_si_names_in_1000s() {
    assert_eq!(parse("65536"), Some(65536));
    assert_eq!(parse("64k"), Some(65536));
    assert_eq!(parse("64KiB"), Some(65536));
    assert_eq!(parse("64 kb"), Some(64_000));
    assert_eq!(parse("1m"), Some(1 << 20));
    assert_eq!(parse("1M"), Some(1 << 20));
    assert_eq!(parse("1MiB"), Some(1 << 20));
    assert_eq!(parse("1MB"), Some(1_000_000));
    assert_eq!(parse(" 2g "), Some(2 << 30));
    assert_eq!(parse("3GB"), Some(3_000_000_000));
    assert_eq!(parse("7b"), Some(7));
  }

  #[test]
  fn fractions_round_to_a_whole_byte() {
    assert_eq!(parse("1.5MiB"), Some(1_572_864));
    assert_eq!(parse("0.5k"), Some(512));
    assert_eq!(parse("1.0005k"), Some(1025));
    assert_eq!(parse("2.5"), Some(3));
  }

  #[test]
  fn anything_else_is_not_a_size() {
    for text in [
      "",
      "k",
      "1x",
      "1 MiBs",
      "-1",
      "1.",
      ".5k",
      "1.2.3",
      "1e6",
      "18446744073709551616",
      "17179869184g",
    ] {
      assert_eq!(parse(text), None, "{text}");
    }
  }
}
