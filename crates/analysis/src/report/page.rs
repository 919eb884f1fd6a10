//! `report`: the leak-suspects report as one self-contained HTML page, written by the analysis
//! itself so that the CLI and the JS API write the same file. The page (page.html) holds its
//! style and script; the report goes in as JSON in a `<script type="application/json">`, which
//! the script reads and draws with `textContent` and SVG text nodes only. A
//! Content-Security-Policy forbids every request, so nothing leaves the reader's machine.

use std::path::Path;

use serde::Serialize;

use super::suspects::LeakSuspects;
use crate::failure::Failure;
use crate::output::write_private;

const TEMPLATE: &str = include_str!("page.html");
const DATA: &str = "__REPORT_DATA__";

/// What `report` answers once its page is written (`rheapdump report --json`,
/// `analysis.report()`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ReportPage"))]
pub struct Page {
  /// The page, as named.
  pub output: String,
  /// Its size in bytes.
  pub bytes: u64,
  /// As in `leaks`: why the comparison may mean little; empty when sound.
  pub warnings: Vec<String>,
  /// As in `leaks`: why some positions on the page are the generated ones.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

/// The page for `report`.
pub fn html(report: &LeakSuspects) -> String {
  let json = serde_json::to_string(report).unwrap_or_else(|_| "null".into());
  TEMPLATE.replacen(DATA, &inert(&json), 1)
}

/// JSON that cannot end its `<script>` element or open a comment in it: `<`, `>` and `&` as
/// JSON escapes, which JSON.parse reads back as they were (JSON has them only inside strings).
fn inert(json: &str) -> String {
  let mut out = String::with_capacity(json.len() + json.len() / 64);
  for c in json.chars() {
    match c {
      '<' => out.push_str("\\u003c"),
      '>' => out.push_str("\\u003e"),
      '&' => out.push_str("\\u0026"),
      c => out.push(c),
    }
  }
  out
}

/// Writes the page to `out` (temporary file, renamed into place, mode 0600).
pub fn write(report: &LeakSuspects, out: &Path) -> Result<Page, Failure> {
  let bytes = write_private(out, html(report).as_bytes())?;
  Ok(Page {
    output: out.display().to_string(),
    bytes,
    warnings: report.leaks.warnings.clone(),
    source_map_notes: report.leaks.source_map_notes.clone(),
  })
}

#[cfg(test)]
mod tests {
  use super::inert;

  #[test]
  fn a_string_cannot_close_the_script_element() {
    let json = serde_json::to_string("</script><script>alert(1)</script><!--&").unwrap();
    let safe = inert(&json);
    assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
    let back: String = serde_json::from_str(&safe).unwrap();
    assert_eq!(back, "</script><script>alert(1)</script><!--&");
  }
}
