use std::fmt;

/// What kind of failure ended an upload; the addon gives each its error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
  /// No credentials could be found, or the web-identity exchange was refused.
  Credentials,
  /// The server answered with an error that retrying does not cure (403, 404, 400…).
  Refused,
  /// The server could not be reached, or kept failing, through every retry.
  Unreachable,
  /// The file could not be read.
  File,
  /// The AWS settings are unusable (a malformed endpoint, a region that makes no URL).
  Settings,
}

/// An upload that did not complete. `message` never holds a key, a token or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
  pub kind: FailureKind,
  pub message: String,
  /// The HTTP status of the last answer, when there was one.
  pub status: Option<u16>,
  /// S3's (or STS's) error code from the answer's XML, e.g. `NoSuchBucket`.
  pub s3_code: Option<String>,
}

impl Failure {
  pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
    Failure {
      kind,
      message: message.into(),
      status: None,
      s3_code: None,
    }
  }
}

impl fmt::Display for Failure {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.message)
  }
}

/// The text of the first `<tag>…</tag>` in an XML answer (S3 and STS answers are flat enough
/// that the first one is the one meant).
pub(crate) fn xml_text(xml: &str, tag: &str) -> Option<String> {
  let open = format!("<{tag}>");
  let start = xml.find(&open)? + open.len();
  let end = start + xml[start..].find(&format!("</{tag}>"))?;
  Some(unescape(xml[start..end].trim()))
}

fn unescape(text: &str) -> String {
  text
    .replace("&lt;", "<")
    .replace("&gt;", ">")
    .replace("&quot;", "\"")
    .replace("&apos;", "'")
    .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn xml_text_reads_the_first_element_and_unescapes_it() {
    let xml = "<Error><Code>NoSuchBucket</Code><Message>a &amp; b</Message></Error>";
    assert_eq!(xml_text(xml, "Code").as_deref(), Some("NoSuchBucket"));
    assert_eq!(xml_text(xml, "Message").as_deref(), Some("a & b"));
    assert_eq!(xml_text(xml, "Missing"), None);
  }
}
