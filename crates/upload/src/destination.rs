/// Where files go: a bucket and a key prefix, from `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
  pub bucket: String,
  /// The prefix without leading or trailing slashes; empty for the bucket's top.
  pub prefix: String,
}

impl Destination {
  /// Reads `s3://BUCKET` or `s3://BUCKET/PREFIX` (a trailing slash or none: the same prefix).
  pub fn parse(url: &str) -> Result<Destination, String> {
    let rest = url
      .strip_prefix("s3://")
      .ok_or_else(|| format!("'{url}' is not an s3://BUCKET/PREFIX URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
      && bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid_bucket {
      return Err(format!(
        "'{url}': '{bucket}' is not a bucket name (3 to 63 lowercase letters, digits, '-' and '.')"
      ));
    }
    Ok(Destination {
      bucket: bucket.to_string(),
      prefix: prefix.trim_matches('/').to_string(),
    })
  }

  /// The key of a file called `name` (its base name) under the prefix.
  pub fn key_for(&self, name: &str) -> String {
    if self.prefix.is_empty() {
      name.to_string()
    } else {
      format!("{}/{name}", self.prefix)
    }
  }

  /// `s3://BUCKET/KEY`, for messages and events.
  pub fn url_for(&self, key: &str) -> String {
    format!("s3://{}/{key}", self.bucket)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_prefix_is_kept_without_its_slashes() {
    let at = Destination::parse("s3://heaps/prod/api/").unwrap();
    assert_eq!(at.bucket, "heaps");
    assert_eq!(at.key_for("a.heapsnapshot"), "prod/api/a.heapsnapshot");
    assert_eq!(at.url_for("prod/api/a"), "s3://heaps/prod/api/a");
  }

  #[test]
  fn a_bare_bucket_puts_files_at_its_top() {
    let at = Destination::parse("s3://heaps").unwrap();
    assert_eq!(at.key_for("a.heapprofile"), "a.heapprofile");
    assert_eq!(Destination::parse("s3://heaps/").unwrap(), at);
  }

  #[test]
  fn other_schemes_and_bad_bucket_names_are_refused() {
    assert!(Destination::parse("https://heaps/x").is_err());
    assert!(Destination::parse("s3://").is_err());
    assert!(Destination::parse("s3://Heaps/x").is_err());
    assert!(Destination::parse("s3://a/x").is_err());
  }
}
