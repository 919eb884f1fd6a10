//! `rheapdump report`: the leak-suspects report as one self-contained HTML page. The page
//! (page.html) holds its style and script; the report goes in as JSON in a
//! `<script type="application/json">`, which the script reads and draws with `textContent` and
//! SVG text nodes only. A Content-Security-Policy forbids every request, so nothing leaves the
//! reader's machine.

use std::path::Path;

use rheapdump_analysis::output::write_private;
use rheapdump_analysis::report::LeakSuspects;
use rheapdump_analysis::run::Failure;

const TEMPLATE: &str = include_str!("page.html");
const DATA: &str = "__REPORT_DATA__";

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

/// Writes the page to `out` (temporary file, renamed into place, mode 0600); its size in bytes.
pub fn write(report: &LeakSuspects, out: &Path) -> Result<u64, Failure> {
  write_private(out, html(report).as_bytes())
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
