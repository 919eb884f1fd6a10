//! The requests: one PUT for a file of up to one part, else a multipart upload whose parts are
//! read from the file one at a time (one part's memory at most), each request retried.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use rusty_s3::actions::{
  AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, PutObject, UploadPart,
};
use rusty_s3::{Bucket, Credentials, S3Action};

use crate::aws::{Aws, Env};
use crate::credentials;
use crate::destination::Destination;
use crate::failure::{xml_text, Failure, FailureKind};

/// Files up to this size go in one PUT; larger ones in parts of this size (or more, for
/// files beyond 10,000 parts, S3's limit). S3 wants at least 5 MiB per part but the last.
pub const PART_SIZE: u64 = 8 << 20;
const MAX_PARTS: u64 = 10_000;
/// Each request is tried this often; the waits between grow 0.5, 1, 2, 4 s (7.5 s in all),
/// which rides out a restarting server or a dropped connection without holding the thread
/// for long when the server is simply gone.
const ATTEMPTS: u32 = 5;
const FIRST_WAIT: Duration = Duration::from_millis(500);
/// Presigned URLs are made just before their request; an hour covers the slowest part.
const VALID_FOR: Duration = Duration::from_secs(3600);

/// A completed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
  pub key: String,
  pub url: String,
  pub bytes: u64,
  /// 1 for a single PUT, else the number of parts.
  pub parts: u32,
}

/// Uploads the whole of `file` as `name` under `destination`. `env` is the copy of the
/// environment to read settings and credentials from; `on_multipart` hears the upload id of a
/// multipart upload as soon as it exists (to abort it if the process ends first) and None once
/// it is completed or aborted.
pub fn upload(
  file: &File,
  name: &str,
  destination: &Destination,
  env: &Env,
  agent: &ureq::Agent,
  on_multipart: &mut dyn FnMut(Option<Pending>),
) -> Result<Uploaded, Failure> {
  let bytes = file
    .metadata()
    .map_err(|err| Failure::new(FailureKind::File, err.to_string()))?
    .len();
  let aws = Aws::from_env(env)?;
  let bucket = aws.bucket(&destination.bucket)?;
  let keys = credentials::resolve(env, &aws.region, agent)?;
  let key = destination.key_for(name);
  let target = Target {
    agent,
    bucket: &bucket,
    keys: &keys,
    key: &key,
  };
  let parts = if bytes <= PART_SIZE {
    let body = read_part(file, 0, bytes)?;
    let url = PutObject::new(&bucket, Some(&keys), &key).sign(VALID_FOR);
    target.send(Verb::Put, &url, &body, "PutObject")?;
    1
  } else {
    target.multipart(file, bytes, on_multipart)?
  };
  Ok(Uploaded {
    url: destination.url_for(&key),
    key,
    bytes,
    parts,
  })
}

/// What it takes to abort a multipart upload that was started and not completed.
#[derive(Debug, Clone)]
pub struct Pending {
  pub bucket: Bucket,
  pub keys: Credentials,
  pub key: String,
  pub upload_id: String,
}

impl Pending {
  /// Asks the server to drop the parts uploaded so far; one try, short timeouts.
  pub fn abort(&self, agent: &ureq::Agent) {
    let url = AbortMultipartUpload::new(&self.bucket, Some(&self.keys), &self.key, &self.upload_id)
      .sign(VALID_FOR);
    let _ = agent
      .delete(url.as_str())
      .config()
      .timeout_global(Some(Duration::from_secs(2)))
      .build()
      .call();
  }
}

struct Target<'a> {
  agent: &'a ureq::Agent,
  bucket: &'a Bucket,
  keys: &'a Credentials,
  key: &'a str,
}

#[derive(Clone, Copy)]
enum Verb {
  Put,
  Post,
}

/// A successful answer: its ETag header and body.
struct Answer {
  etag: Option<String>,
  body: String,
}

impl Target<'_> {
  fn multipart(
    &self,
    file: &File,
    bytes: u64,
    on_multipart: &mut dyn FnMut(Option<Pending>),
  ) -> Result<u32, Failure> {
    let part_size = part_size(bytes);
    let create = CreateMultipartUpload::new(self.bucket, Some(self.keys), self.key).sign(VALID_FOR);
    let created = self.send(Verb::Post, &create, b"", "CreateMultipartUpload")?;
    let upload_id = xml_text(&created.body, "UploadId").ok_or_else(|| {
      Failure::new(
        FailureKind::Refused,
        "CreateMultipartUpload: no UploadId in the answer",
      )
    })?;
    let pending = Pending {
      bucket: self.bucket.clone(),
      keys: self.keys.clone(),
      key: self.key.to_string(),
      upload_id: upload_id.clone(),
    };
    on_multipart(Some(pending.clone()));
    let outcome = self.parts_then_complete(file, bytes, part_size, &upload_id);
    if outcome.is_err() {
      pending.abort(self.agent);
    }
    on_multipart(None);
    outcome
  }

  fn parts_then_complete(
    &self,
    file: &File,
    bytes: u64,
    part_size: u64,
    upload_id: &str,
  ) -> Result<u32, Failure> {
    let mut etags = Vec::new();
    let mut offset = 0;
    while offset < bytes {
      let length = part_size.min(bytes - offset);
      let body = read_part(file, offset, length)?;
      let number = etags.len() as u16 + 1;
      let url =
        UploadPart::new(self.bucket, Some(self.keys), self.key, number, upload_id).sign(VALID_FOR);
      let answer = self.send(Verb::Put, &url, &body, "UploadPart")?;
      let etag = answer.etag.ok_or_else(|| {
        Failure::new(
          FailureKind::Refused,
          format!("UploadPart {number}: no ETag in the answer"),
        )
      })?;
      etags.push(etag);
      offset += length;
    }
    let complete = CompleteMultipartUpload::new(
      self.bucket,
      Some(self.keys),
      self.key,
      upload_id,
      etags.iter().map(String::as_str),
    );
    let url = complete.sign(VALID_FOR);
    self.send(
      Verb::Post,
      &url,
      complete.body().as_bytes(),
      "CompleteMultipartUpload",
    )?;
    Ok(etags.len() as u32)
  }

  /// Sends one request, retrying what may pass on a later try: no connection, a timeout,
  /// 5xx, 429, 408 and S3's RequestTimeout/SlowDown (also inside a 200, as
  /// CompleteMultipartUpload may answer).
  fn send(&self, verb: Verb, url: &url::Url, body: &[u8], what: &str) -> Result<Answer, Failure> {
    let mut wait = FIRST_WAIT;
    let mut attempt = 1;
    loop {
      let failure = match self.send_once(verb, url, body, what) {
        Ok(answer) => return Ok(answer),
        Err(failure) => failure,
      };
      if failure.kind != FailureKind::Unreachable || attempt == ATTEMPTS {
        let mut failure = failure;
        if attempt > 1 {
          failure.message = format!("{} (after {attempt} tries)", failure.message);
        }
        return Err(failure);
      }
      std::thread::sleep(wait);
      wait *= 2;
      attempt += 1;
    }
  }

  fn send_once(
    &self,
    verb: Verb,
    url: &url::Url,
    body: &[u8],
    what: &str,
  ) -> Result<Answer, Failure> {
    // Expect: 100-continue: a server that refuses the request (wrong keys, no bucket) says so
    // before the body is sent, instead of closing the connection under it.
    let sent = match verb {
      Verb::Put => self
        .agent
        .put(url.as_str())
        .header("expect", "100-continue")
        .send(body),
      Verb::Post => self.agent.post(url.as_str()).send(body),
    };
    let answer = sent.map_err(|err| {
      Failure::new(
        FailureKind::Unreachable,
        format!("{what}: {}", describe(&err)),
      )
    })?;
    let status = answer.status().as_u16();
    let etag = answer
      .headers()
      .get("etag")
      .and_then(|v| v.to_str().ok())
      .map(str::to_string);
    let text = answer
      .into_body()
      .with_config()
      .limit(1 << 20)
      .read_to_string()
      .map_err(|err| {
        Failure::new(
          FailureKind::Unreachable,
          format!("{what}: {}", describe(&err)),
        )
      })?;
    judge(status, &text, what)?;
    Ok(Answer { etag, body: text })
  }
}

/// Whether an answer is a success, else the failure it tells: transient (retried) for 5xx,
/// 429, 408 and S3's RequestTimeout/SlowDown/InternalError, also inside a 200 (as
/// CompleteMultipartUpload may answer); refused for the rest.
fn judge(status: u16, body: &str, what: &str) -> Result<(), Failure> {
  if status == 200 && !body.contains("<Error>") {
    return Ok(());
  }
  let code = xml_text(body, "Code");
  let transient = status >= 500
    || status == 429
    || status == 408
    || matches!(
      code.as_deref(),
      Some("RequestTimeout" | "SlowDown" | "InternalError")
    );
  let message = xml_text(body, "Message").unwrap_or_default();
  Err(Failure {
    kind: if transient {
      FailureKind::Unreachable
    } else {
      FailureKind::Refused
    },
    message: format!(
      "{what}: HTTP {status}{}{}",
      code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
      if message.is_empty() {
        String::new()
      } else {
        format!(": {message}")
      }
    ),
    status: Some(status),
    s3_code: code,
  })
}

/// The size of every part but the last of a file of `bytes`.
fn part_size(bytes: u64) -> u64 {
  PART_SIZE.max(bytes.div_ceil(MAX_PARTS))
}

fn read_part(file: &File, offset: u64, length: u64) -> Result<Vec<u8>, Failure> {
  let mut body = vec![0; length as usize];
  file
    .read_exact_at(&mut body, offset)
    .map_err(|err| Failure::new(FailureKind::File, format!("cannot read the file: {err}")))?;
  Ok(body)
}

/// A transport failure in words, without the request's URL (a presigned URL carries the
/// access key id and any session token).
pub(crate) fn describe(err: &ureq::Error) -> String {
  match err {
    ureq::Error::Io(io) => io.to_string(),
    ureq::Error::Timeout(what) => format!("timed out ({what})"),
    ureq::Error::HostNotFound => "host not found".to_string(),
    ureq::Error::ConnectionFailed => "connection failed".to_string(),
    ureq::Error::Tls(what) => format!("TLS: {what}"),
    ureq::Error::Rustls(err) => format!("TLS: {err}"),
    ureq::Error::BodyExceedsLimit(_) => "the answer is too long".to_string(),
    ureq::Error::ConnectProxyFailed(_) | ureq::Error::InvalidProxyUrl => {
      "the proxy (HTTPS_PROXY) refused or is malformed".to_string()
    }
    _ => "the request failed".to_string(),
  }
}

/// The HTTP client: rustls with Mozilla's roots, or only the certificates of `AWS_CA_BUNDLE`
/// (as the AWS CLI does); the proxy of `HTTPS_PROXY`/`ALL_PROXY` less `NO_PROXY`. Build it on
/// the thread that owns the environment: ureq reads the proxy variables from the live
/// environment.
pub fn agent(env: &Env) -> Result<ureq::Agent, Failure> {
  use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};
  let mut tls = TlsConfig::builder();
  if let Some(bundle) = crate::aws::var(env, &["AWS_CA_BUNDLE"]) {
    let unusable = |why: String| {
      Failure::new(
        FailureKind::Settings,
        format!("AWS_CA_BUNDLE {bundle}: {why}"),
      )
    };
    let pem = std::fs::read(bundle).map_err(|err| unusable(err.to_string()))?;
    let certificates: Vec<_> = parse_pem(&pem)
      .filter_map(|item| match item {
        Ok(PemItem::Certificate(certificate)) => Some(certificate),
        _ => None,
      })
      .collect();
    if certificates.is_empty() {
      return Err(unusable("no PEM certificate in it".to_string()));
    }
    tls = tls.root_certs(RootCerts::new_with_certs(&certificates));
  }
  let config = ureq::Agent::config_builder()
    .http_status_as_error(false)
    .timeout_connect(Some(Duration::from_secs(10)))
    .timeout_recv_response(Some(Duration::from_secs(120)))
    .tls_config(tls.build())
    .build();
  Ok(config.into())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_missing_bucket_is_refused_with_its_code() {
    // S3's answer to a PUT into a bucket that does not exist.
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>heaps</BucketName><RequestId>R</RequestId></Error>";
    let err = judge(404, body, "PutObject").unwrap_err();
    assert_eq!(err.kind, FailureKind::Refused);
    assert_eq!(
      (err.status, err.s3_code.as_deref()),
      (Some(404), Some("NoSuchBucket"))
    );
    assert_eq!(
      err.message,
      "PutObject: HTTP 404 NoSuchBucket: The specified bucket does not exist"
    );
  }

  #[test]
  fn server_trouble_is_retried_and_an_error_inside_a_200_is_no_success() {
    assert_eq!(
      judge(503, "<Error><Code>SlowDown</Code></Error>", "UploadPart")
        .unwrap_err()
        .kind,
      FailureKind::Unreachable
    );
    assert_eq!(
      judge(
        200,
        "<Error><Code>InternalError</Code></Error>",
        "CompleteMultipartUpload"
      )
      .unwrap_err()
      .kind,
      FailureKind::Unreachable
    );
    assert_eq!(
      judge(403, "<Error><Code>AccessDenied</Code></Error>", "PutObject")
        .unwrap_err()
        .kind,
      FailureKind::Refused
    );
    assert!(judge(
      200,
      "<CompleteMultipartUploadResult/>",
      "CompleteMultipartUpload"
    )
    .is_ok());
  }

  #[test]
  fn parts_are_8_mib_until_the_10000_part_limit_needs_more() {
    assert_eq!(part_size(100 << 20), PART_SIZE);
    let huge: u64 = 200 << 30;
    assert!(part_size(huge) > PART_SIZE && part_size(huge) * MAX_PARTS >= huge);
  }
}
