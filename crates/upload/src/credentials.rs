//! Where the keys come from, in the AWS SDKs' order: the environment, the shared credentials
//! file, then a web identity token (EKS IAM roles for service accounts). Instance metadata
//! (EC2 instance roles) and ECS task roles are not read.

use std::time::Duration;

use rusty_s3::Credentials;
use url::form_urlencoded;

use crate::aws::{var, Env};
use crate::failure::{xml_text, Failure, FailureKind};

/// Resolves credentials; `agent` makes the one STS request a web identity needs.
pub fn resolve(env: &Env, region: &str, agent: &ureq::Agent) -> Result<Credentials, Failure> {
  if let Some(found) = from_environment(env) {
    return Ok(found);
  }
  if let Some(found) = from_shared_file(env)? {
    return Ok(found);
  }
  if let (Some(token_file), Some(role)) = (
    var(env, &["AWS_WEB_IDENTITY_TOKEN_FILE"]),
    var(env, &["AWS_ROLE_ARN"]),
  ) {
    return assume_role_with_web_identity(env, region, token_file, role, agent);
  }
  Err(Failure::new(
    FailureKind::Credentials,
    "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in the shared credentials file, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (EKS)",
  ))
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for temporary keys, `AWS_SESSION_TOKEN`.
pub fn from_environment(env: &Env) -> Option<Credentials> {
  let key = var(env, &["AWS_ACCESS_KEY_ID"])?;
  let secret = var(env, &["AWS_SECRET_ACCESS_KEY"])?;
  Some(with_token(key, secret, var(env, &["AWS_SESSION_TOKEN"])))
}

/// The profile `AWS_PROFILE` (else `default`) of `AWS_SHARED_CREDENTIALS_FILE` (else
/// `~/.aws/credentials`). A missing file is no failure; an unreadable one is.
pub fn from_shared_file(env: &Env) -> Result<Option<Credentials>, Failure> {
  let path = match var(env, &["AWS_SHARED_CREDENTIALS_FILE"]) {
    Some(path) => path.to_string(),
    None => match var(env, &["HOME"]) {
      Some(home) => format!("{home}/.aws/credentials"),
      None => return Ok(None),
    },
  };
  let text = match std::fs::read_to_string(&path) {
    Ok(text) => text,
    Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
    Err(err) => {
      return Err(Failure::new(
        FailureKind::Credentials,
        format!("cannot read the shared credentials file {path}: {err}"),
      ))
    }
  };
  let profile = var(env, &["AWS_PROFILE"]).unwrap_or("default");
  Ok(profile_in(&text, profile))
}

/// The keys of `[profile]` in an INI credentials file.
pub fn profile_in(text: &str, profile: &str) -> Option<Credentials> {
  let (mut key, mut secret, mut token) = (None, None, None);
  let mut inside = false;
  for line in text.lines().map(str::trim) {
    if line.starts_with('[') && line.ends_with(']') {
      inside = line[1..line.len() - 1].trim() == profile;
      continue;
    }
    let Some((name, value)) = line.split_once('=').filter(|_| inside) else {
      continue;
    };
    let value = Some(value.trim().to_string());
    match name.trim() {
      "aws_access_key_id" => key = value,
      "aws_secret_access_key" => secret = value,
      "aws_session_token" => token = value,
      _ => {}
    }
  }
  Some(with_token(&key?, &secret?, token.as_deref()))
}

fn with_token(key: &str, secret: &str, token: Option<&str>) -> Credentials {
  match token {
    Some(token) => Credentials::new_with_token(key, secret, token),
    None => Credentials::new(key, secret),
  }
}

/// Exchanges the projected service-account token for temporary keys of `role`.
fn assume_role_with_web_identity(
  env: &Env,
  region: &str,
  token_file: &str,
  role: &str,
  agent: &ureq::Agent,
) -> Result<Credentials, Failure> {
  let refused = |message: String| Failure::new(FailureKind::Credentials, message);
  let token = std::fs::read_to_string(token_file).map_err(|err| {
    refused(format!(
      "cannot read AWS_WEB_IDENTITY_TOKEN_FILE {token_file}: {err}"
    ))
  })?;
  let endpoint = sts_endpoint(env, region);
  let session = var(env, &["AWS_ROLE_SESSION_NAME"])
    .map(str::to_string)
    .unwrap_or_else(|| format!("rheapdump-{}", std::process::id()));
  let form = sts_form(role, &session, token.trim());
  let answer = agent
    .post(&endpoint)
    .config()
    .timeout_global(Some(Duration::from_secs(30)))
    .build()
    .content_type("application/x-www-form-urlencoded")
    .send(form.as_str())
    .map_err(|err| {
      refused(format!(
        "STS at {endpoint} could not be reached: {}",
        crate::transfer::describe(&err)
      ))
    })?;
  let status = answer.status().as_u16();
  let body = answer
    .into_body()
    .with_config()
    .limit(1 << 20)
    .read_to_string()
    .map_err(|err| {
      refused(format!(
        "STS at {endpoint}: the answer could not be read: {}",
        crate::transfer::describe(&err)
      ))
    })?;
  parse_sts(status, &body).map_err(|mut failure| {
    failure.message = format!(
      "STS at {endpoint} refused AssumeRoleWithWebIdentity for {role}: {}",
      failure.message
    );
    failure
  })
}

/// `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL`, else the regional STS endpoint.
pub fn sts_endpoint(env: &Env, region: &str) -> String {
  var(env, &["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
    .map(str::to_string)
    .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com/"))
}

/// The form body of AssumeRoleWithWebIdentity (the token goes in the body, never a URL).
pub fn sts_form(role: &str, session: &str, token: &str) -> String {
  form_urlencoded::Serializer::new(String::new())
    .append_pair("Action", "AssumeRoleWithWebIdentity")
    .append_pair("Version", "2011-06-15")
    .append_pair("RoleArn", role)
    .append_pair("RoleSessionName", session)
    .append_pair("WebIdentityToken", token)
    .finish()
}

/// The keys in STS's answer, or its error code and message.
pub fn parse_sts(status: u16, body: &str) -> Result<Credentials, Failure> {
  let found = (
    xml_text(body, "AccessKeyId"),
    xml_text(body, "SecretAccessKey"),
    xml_text(body, "SessionToken"),
  );
  match found {
    (Some(key), Some(secret), Some(token)) if status == 200 => {
      Ok(Credentials::new_with_token(key, secret, token))
    }
    _ => {
      let code = xml_text(body, "Code");
      let message =
        xml_text(body, "Message").unwrap_or_else(|| "no credentials in the answer".to_string());
      Err(Failure {
        kind: FailureKind::Credentials,
        message: format!("HTTP {status} {}: {message}", code.as_deref().unwrap_or("")),
        status: Some(status),
        s3_code: code,
      })
    }
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
  fn environment_keys_carry_the_session_token() {
    let found = from_environment(&env(&[
      ("AWS_ACCESS_KEY_ID", "AKID"),
      ("AWS_SECRET_ACCESS_KEY", "SECRET"),
      ("AWS_SESSION_TOKEN", "TOKEN"),
    ]))
    .unwrap();
    assert_eq!(
      (found.key(), found.secret(), found.token()),
      ("AKID", "SECRET", Some("TOKEN"))
    );
    assert!(from_environment(&env(&[("AWS_ACCESS_KEY_ID", "AKID")])).is_none());
  }

  #[test]
  fn the_named_profile_of_the_shared_file_is_read() {
    let text = "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n[ prod ]\naws_access_key_id=P\naws_secret_access_key=PS\naws_session_token = PT\n";
    let prod = profile_in(text, "prod").unwrap();
    assert_eq!(
      (prod.key(), prod.secret(), prod.token()),
      ("P", "PS", Some("PT"))
    );
    assert_eq!(profile_in(text, "default").unwrap().key(), "D");
    assert!(profile_in(text, "staging").is_none());
  }

  #[test]
  fn the_shared_file_is_found_by_variable_or_home() {
    let dir = tempfile::tempdir().unwrap();
    let aws = dir.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
      aws.join("credentials"),
      "[ci]\naws_access_key_id=C\naws_secret_access_key=CS\n",
    )
    .unwrap();
    let home = dir.path().to_str().unwrap();
    let found = from_shared_file(&env(&[("HOME", home), ("AWS_PROFILE", "ci")]))
      .unwrap()
      .unwrap();
    assert_eq!(found.key(), "C");
    let file = aws.join("credentials");
    let by_variable = env(&[
      ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
      ("AWS_PROFILE", "ci"),
    ]);
    assert_eq!(
      from_shared_file(&by_variable).unwrap().unwrap().secret(),
      "CS"
    );
    assert!(from_shared_file(&env(&[("HOME", "/nonexistent")]))
      .unwrap()
      .is_none());
  }

  #[test]
  fn the_sts_request_names_role_session_and_token_in_its_body() {
    let form = sts_form("arn:aws:iam::1:role/r", "s", "tok/en=");
    assert!(form.starts_with("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&"));
    assert!(form.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr"));
    assert!(form.contains("WebIdentityToken=tok%2Fen%3D"));
    let env = env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
    assert_eq!(sts_endpoint(&env, "eu-west-1"), "http://127.0.0.1:1");
    assert_eq!(
      sts_endpoint(&Env::new(), "eu-west-1"),
      "https://sts.eu-west-1.amazonaws.com/"
    );
  }

  #[test]
  fn sts_answers_give_keys_or_their_error() {
    let ok = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    let keys = parse_sts(200, ok).unwrap();
    assert_eq!((keys.key(), keys.token()), ("ASIA", Some("T")));
    let denied = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>Not authorized</Message></Error></ErrorResponse>";
    let err = parse_sts(403, denied).unwrap_err();
    assert_eq!(
      (err.kind, err.status, err.s3_code.as_deref()),
      (FailureKind::Credentials, Some(403), Some("AccessDenied"))
    );
  }
}
