//! The standard AWS configuration, as the AWS SDKs and CLI read it.

use std::collections::HashMap;

use rusty_s3::{Bucket, UrlStyle};
use url::Url;

use crate::failure::{Failure, FailureKind};

/// A copy of the environment variables the upload reads (`AWS_*`, `HOME`, the proxies).
pub type Env = HashMap<String, String>;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aws {
  pub region: String,
  /// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, else AWS's regional endpoint.
  pub endpoint: Url,
  /// Path-style addressing (`endpoint/bucket/key`): whenever a custom endpoint is set, which is
  /// what MinIO, Cloudflare R2, GCS interoperability and other S3 servers answer; AWS itself
  /// gets virtual-hosted addressing (`bucket.endpoint/key`).
  pub path_style: bool,
}

/// The first of `names` that is set and not empty.
pub fn var<'a>(env: &'a Env, names: &[&str]) -> Option<&'a str> {
  names
    .iter()
    .find_map(|name| env.get(*name).map(String::as_str).filter(|v| !v.is_empty()))
}

impl Aws {
  pub fn from_env(env: &Env) -> Result<Aws, Failure> {
    let region = var(env, &["AWS_REGION", "AWS_DEFAULT_REGION"])
      .unwrap_or("us-east-1")
      .to_string();
    let custom = var(env, &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]);
    let endpoint = match custom {
      Some(endpoint) => endpoint.to_string(),
      None => format!("https://s3.{region}.amazonaws.com"),
    };
    let endpoint = Url::parse(&endpoint).map_err(|err| {
      Failure::new(
        FailureKind::Settings,
        format!("the S3 endpoint '{endpoint}' is not a URL: {err}"),
      )
    })?;
    Ok(Aws {
      region,
      endpoint,
      path_style: custom.is_some(),
    })
  }

  /// The bucket's requests, addressed as this configuration says.
  pub fn bucket(&self, name: &str) -> Result<Bucket, Failure> {
    let style = if self.path_style {
      UrlStyle::Path
    } else {
      UrlStyle::VirtualHost
    };
    Bucket::new(
      self.endpoint.clone(),
      style,
      name.to_string(),
      self.region.clone(),
    )
    .map_err(|err| {
      Failure::new(
        FailureKind::Settings,
        format!("no S3 URL for bucket '{name}' at {}: {err}", self.endpoint),
      )
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect()
  }

  #[test]
  fn a_custom_endpoint_means_path_style() {
    let aws = Aws::from_env(&env(&[
      ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
      ("AWS_REGION", "eu-west-1"),
    ]))
    .unwrap();
    assert!(aws.path_style);
    let bucket = aws.bucket("heaps").unwrap();
    assert_eq!(bucket.base_url().as_str(), "http://127.0.0.1:9000/heaps/");
    assert_eq!(bucket.region(), "eu-west-1");
  }

  #[test]
  fn the_s3_specific_endpoint_wins_over_the_general_one() {
    let aws = Aws::from_env(&env(&[
      ("AWS_ENDPOINT_URL", "http://general:1"),
      ("AWS_ENDPOINT_URL_S3", "http://s3only:2"),
    ]))
    .unwrap();
    assert_eq!(aws.endpoint.as_str(), "http://s3only:2/");
  }

  #[test]
  fn aws_itself_is_regional_and_virtual_hosted() {
    let aws = Aws::from_env(&env(&[("AWS_DEFAULT_REGION", "ap-south-1")])).unwrap();
    assert!(!aws.path_style);
    let bucket = aws.bucket("heaps").unwrap();
    assert_eq!(
      bucket.base_url().as_str(),
      "https://heaps.s3.ap-south-1.amazonaws.com/"
    );
    assert_eq!(Aws::from_env(&env(&[])).unwrap().region, "us-east-1");
  }

  #[test]
  fn a_malformed_endpoint_is_a_settings_failure() {
    let err = Aws::from_env(&env(&[("AWS_ENDPOINT_URL", "not a url")])).unwrap_err();
    assert_eq!(err.kind, FailureKind::Settings);
  }
}
