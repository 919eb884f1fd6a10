//! From a script, as a snapshot names it, to its source map: the script's last
//! `//# sourceMappingURL=` comment (an inline `data:` URL or a file relative to the script), else
//! `<script>.map` beside it; with a source root, both are looked for under it.

use std::path::{Component, Path, PathBuf};

/// Where a script's map is, and what its `sources` are relative to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Located {
  pub text: MapText,
  /// The directory the map's relative `sources` are in, as the snapshot's machine names it: the
  /// same whether the files were found there or under a source root, so that a report names the
  /// same original files wherever it is made.
  pub base: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MapText {
  /// A map file on this machine.
  File(PathBuf),
  /// An inline map, decoded from its `data:` URL.
  Inline(String),
}

/// What finding a script's map came to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found {
  Map(Located),
  /// The script says it has none, or says nothing and has no `.map` beside it.
  None,
  /// The script is not on this machine (nor under the source root): whether it has a map is
  /// unknown.
  Missing,
  /// The script names a map that cannot be used: why.
  Unusable(String),
}

/// Finds the map of the script `url` names (`/app/dist/server.js`, `file:///app/main.mjs`).
/// Scripts with no file (`node:events`, `evalmachine.<anonymous>`) have none.
pub(super) fn locate(url: &str, root: Option<&Path>) -> Found {
  let Some(named) = script_path(url) else {
    return Found::None;
  };
  let Some(found) = on_this_machine(&named, root) else {
    return Found::Missing;
  };
  let text = match read_bounded(&found) {
    Ok(bytes) => bytes,
    Err(why) => return Found::Unusable(format!("the script {why}")),
  };
  let named_dir = parent(&named);
  match mapping_url(&String::from_utf8_lossy(&text)) {
    Some(url) if url.starts_with("data:") => match data_url(url) {
      Ok(json) => Found::Map(Located {
        text: MapText::Inline(json),
        base: named_dir,
      }),
      Err(why) => Found::Unusable(format!("its inline source map {why}")),
    },
    Some(url) => {
      let Some(relative) = file_url(url) else {
        return Found::Unusable(format!(
          "its source map is at {url}, which rheapdump does not fetch"
        ));
      };
      // The map as the snapshot's machine names it, then where it is here.
      let named_map = if relative.starts_with('/') {
        normalize(&relative)
      } else {
        normalize(&format!("{named_dir}/{relative}"))
      };
      let here = if relative.starts_with('/') {
        on_this_machine(&named_map, root)
      } else {
        Some(PathBuf::from(normalize(&format!(
          "{}/{relative}",
          parent(&found.to_string_lossy())
        ))))
      };
      match here.filter(|path| path.is_file()) {
        Some(path) => Found::Map(Located {
          text: MapText::File(path),
          base: parent(&named_map),
        }),
        None => Found::Unusable(format!("its source map {named_map} is not there")),
      }
    }
    None => {
      let beside = PathBuf::from(format!("{}.map", found.display()));
      if beside.is_file() {
        Found::Map(Located {
          text: MapText::File(beside),
          base: named_dir,
        })
      } else {
        Found::None
      }
    }
  }
}

/// The most of a script or a map that is read: a hostile snapshot may name any file.
const LARGEST: u64 = 256 << 20;

/// A regular file's bytes, up to [`LARGEST`]: never a device or a FIFO, which could be read
/// for ever or wait for a writer.
pub(super) fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
  let meta = std::fs::metadata(path).map_err(|err| format!("cannot be read ({err})"))?;
  if !meta.is_file() {
    return Err("is not a regular file".to_string());
  }
  if meta.len() > LARGEST {
    return Err(format!("is larger than {} MiB", LARGEST >> 20));
  }
  std::fs::read(path).map_err(|err| format!("cannot be read ({err})"))
}

/// The path of a script URL, if it names a file: an absolute path, or a `file://` URL.
pub(super) fn script_path(url: &str) -> Option<String> {
  let path = file_url(url)?;
  path.starts_with('/').then_some(path)
}

/// A `file://` URL as a path (percent-decoded), a path as it is; None for another scheme.
fn file_url(url: &str) -> Option<String> {
  if let Some(path) = url.strip_prefix("file://") {
    return Some(percent_decoded(path));
  }
  let scheme = url.split_once("://").map(|(scheme, _)| scheme);
  match scheme {
    Some(scheme) if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) => None,
    _ => Some(url.to_string()),
  }
}

/// Where `named` (a path on the snapshot's machine) is here: itself, or with a source root the
/// first of `ROOT/app/dist/server.js`, `ROOT/dist/server.js`, `ROOT/server.js` that is a file
/// (ROOT may stand for the other machine's `/` or any directory below it).
pub(super) fn on_this_machine(named: &str, root: Option<&Path>) -> Option<PathBuf> {
  let Some(root) = root else {
    let path = PathBuf::from(named);
    return path.is_file().then_some(path);
  };
  let parts: Vec<&str> = named.split('/').filter(|p| !p.is_empty()).collect();
  (0..parts.len())
    .map(|skip| root.join(parts[skip..].join("/")))
    .find(|path| path.is_file())
}

/// The URL of a script's source map: its last `//# sourceMappingURL=` (or older `//@`) comment,
/// found as DevTools finds it, reading up from the end over blank lines and other line comments.
pub(super) fn mapping_url(text: &str) -> Option<&str> {
  for line in text.lines().rev() {
    let line = line.trim();
    if line.is_empty() {
      continue;
    }
    let comment = line.strip_prefix("//")?;
    let url = comment
      .strip_prefix('#')
      .or_else(|| comment.strip_prefix('@'))
      .map(str::trim_start)
      .and_then(|rest| rest.strip_prefix("sourceMappingURL="));
    if let Some(url) = url {
      return url.split_whitespace().next();
    }
  }
  None
}

/// The JSON of a `data:application/json;base64,…` URL (or one of percent-encoded text).
pub(super) fn data_url(url: &str) -> Result<String, String> {
  let (header, data) = url
    .strip_prefix("data:")
    .and_then(|rest| rest.split_once(','))
    .ok_or("is not a data: URL")?;
  let bytes = if header.split(';').any(|part| part == "base64") {
    base64_simd::STANDARD
      .decode_to_vec(data.trim_end_matches(char::is_whitespace))
      .map_err(|_| "is not valid base64".to_string())?
  } else {
    percent_decoded(data).into_bytes()
  };
  String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())
}

/// `%20` and the like decoded; anything malformed kept as it is.
fn percent_decoded(text: &str) -> String {
  if !text.contains('%') {
    return text.to_string();
  }
  let bytes = text.as_bytes();
  let mut out = Vec::with_capacity(bytes.len());
  let mut i = 0;
  while i < bytes.len() {
    let hex = |b: u8| (b as char).to_digit(16);
    if bytes[i] == b'%' && i + 2 < bytes.len() {
      if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
        out.push((high * 16 + low) as u8);
        i += 3;
        continue;
      }
    }
    out.push(bytes[i]);
    i += 1;
  }
  String::from_utf8_lossy(&out).into_owned()
}

/// `a/./b/../c` as `a/c`, by the text alone (the files may be on another machine).
pub(super) fn normalize(path: &str) -> String {
  let absolute = path.starts_with('/');
  let mut parts: Vec<&str> = Vec::new();
  for component in Path::new(path).components() {
    match component {
      Component::Normal(part) => parts.push(part.to_str().unwrap_or_default()),
      Component::ParentDir => {
        if parts.pop().is_none() && !absolute {
          parts.push("..");
        }
      }
      Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
    }
  }
  let joined = parts.join("/");
  if absolute {
    format!("/{joined}")
  } else {
    joined
  }
}

/// The directory of a path, by its text.
fn parent(path: &str) -> String {
  match path.rfind('/') {
    Some(0) => "/".to_string(),
    Some(at) => path[..at].to_string(),
    None => ".".to_string(),
  }
}

/// A source a map lists, as reports name it: under the map's `sourceRoot`, then relative to the
/// map's directory (`base`) unless it is absolute or a URL (`webpack://app/./src/cache.ts` is
/// kept; `file:///app/src/cache.ts` becomes a path).
pub(super) fn resolve_source(source: &str, source_root: Option<&str>, base: &str) -> String {
  let rooted = match source_root.filter(|root| !root.is_empty()) {
    Some(root) if !is_url(source) && !source.starts_with('/') => {
      format!("{}/{source}", root.trim_end_matches('/'))
    }
    _ => source.to_string(),
  };
  if let Some(path) = rooted.strip_prefix("file://") {
    return normalize(&percent_decoded(path));
  }
  if is_url(&rooted) {
    return rooted;
  }
  if rooted.starts_with('/') {
    normalize(&rooted)
  } else {
    normalize(&format!("{base}/{rooted}"))
  }
}

fn is_url(text: &str) -> bool {
  text
    .split_once("://")
    .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains('/'))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_last_mapping_comment_counts_read_up_over_blank_lines_and_other_comments() {
    let script = "f()\n//# sourceMappingURL=old.js.map\ng()\n//# sourceMappingURL=a.js.map\n//# debugId=85314830\n\n";
    assert_eq!(mapping_url(script), Some("a.js.map"));
    assert_eq!(
      mapping_url("f()\n//@ sourceMappingURL=b.map"),
      Some("b.map")
    );
    assert_eq!(
      mapping_url("f()\n  //#  sourceMappingURL=c.map  \r\n"),
      Some("c.map")
    );
    // A comment followed by code, or the text inside a string, is not the script's.
    assert_eq!(mapping_url("//# sourceMappingURL=a.map\nf()\n"), None);
    assert_eq!(
      mapping_url("const s = '//# sourceMappingURL=a.map'\n"),
      None
    );
    assert_eq!(mapping_url(""), None);
  }

  #[test]
  fn inline_maps_are_base64_or_percent_encoded_json() {
    let json = r#"{"version":3}"#;
    let base64 = base64_simd::STANDARD.encode_to_string(json);
    assert_eq!(
      data_url(&format!("data:application/json;base64,{base64}")).unwrap(),
      json
    );
    assert_eq!(
      data_url(&format!(
        "data:application/json;charset=utf-8;base64,{base64}"
      ))
      .unwrap(),
      json
    );
    assert_eq!(
      data_url("data:application/json,%7B%22version%22%3A3%7D").unwrap(),
      json
    );
    assert!(data_url("data:application/json;base64,@@@").is_err());
    assert!(data_url("data:nothing").is_err());
  }

  #[test]
  fn sources_are_resolved_from_the_maps_directory_under_its_source_root() {
    assert_eq!(
      resolve_source("../src/a.ts", None, "/app/dist"),
      "/app/src/a.ts"
    );
    assert_eq!(
      resolve_source("a.ts", Some("src/"), "/app/dist"),
      "/app/dist/src/a.ts"
    );
    assert_eq!(
      resolve_source("a.ts", Some(""), "/app/dist"),
      "/app/dist/a.ts"
    );
    assert_eq!(
      resolve_source("/abs/a.ts", Some("src"), "/app/dist"),
      "/abs/a.ts"
    );
    assert_eq!(
      resolve_source("file:///repo/my%20app/a.ts", None, "/app"),
      "/repo/my app/a.ts"
    );
    assert_eq!(
      resolve_source("webpack://app/./src/a.ts", None, "/app/dist"),
      "webpack://app/./src/a.ts"
    );
    assert_eq!(normalize("/a/./b/../../../c"), "/c");
    assert_eq!(normalize("../a/./b"), "../a/b");
  }

  #[test]
  fn scripts_are_paths_or_file_urls() {
    assert_eq!(
      script_path("/app/dist/a.js").as_deref(),
      Some("/app/dist/a.js")
    );
    assert_eq!(
      script_path("file:///app/main.mjs").as_deref(),
      Some("/app/main.mjs")
    );
    for url in [
      "node:events",
      "internal/timers",
      "evalmachine.<anonymous>",
      "https://x/a.js",
      "",
    ] {
      assert_eq!(script_path(url), None, "{url}");
    }
  }

  #[test]
  fn a_source_root_stands_for_the_other_machines_root_or_any_directory_below_it() {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str| {
      let path = root.path().join(path);
      std::fs::create_dir_all(path.parent().unwrap()).unwrap();
      std::fs::write(&path, "f()\n").unwrap();
      path
    };
    let below = write("dist/server.js");
    assert_eq!(
      on_this_machine("/app/dist/server.js", Some(root.path())),
      Some(below)
    );
    // The whole path first.
    let whole = write("app/dist/server.js");
    assert_eq!(
      on_this_machine("/app/dist/server.js", Some(root.path())),
      Some(whole)
    );
    assert_eq!(
      on_this_machine("/app/dist/other.js", Some(root.path())),
      None
    );
  }

  #[test]
  fn a_map_is_inline_or_named_by_the_comment_or_beside_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let dir_name = dir.path().display().to_string();
    let file = |name: &str, text: &str| {
      std::fs::write(dir.path().join(name), text).unwrap();
      format!("{dir_name}/{name}")
    };
    std::fs::create_dir(dir.path().join("maps")).unwrap();
    file("maps/a.js.map", "{}");
    let named = file("a.js", "f()\n//# sourceMappingURL=maps/a.js.map\n");
    assert_eq!(
      locate(&named, None),
      Found::Map(Located {
        text: MapText::File(dir.path().join("maps/a.js.map")),
        base: format!("{dir_name}/maps"),
      })
    );
    let inline = file(
      "b.js",
      "f()\n//# sourceMappingURL=data:application/json,%7B%7D\n",
    );
    assert_eq!(
      locate(&inline, None),
      Found::Map(Located {
        text: MapText::Inline("{}".to_string()),
        base: dir_name.clone(),
      })
    );
    let beside = file("c.js", "f()\n");
    file("c.js.map", "{}");
    assert!(matches!(
      locate(&beside, None),
      Found::Map(Located {
        text: MapText::File(_),
        ..
      })
    ));
    let none = file("d.js", "f()\n");
    assert_eq!(locate(&none, None), Found::None);
    let lost = file("e.js", "f()\n//# sourceMappingURL=e.js.map\n");
    assert!(matches!(locate(&lost, None), Found::Unusable(why) if why.contains("e.js.map")));
    let remote = file(
      "f.js",
      "f()\n//# sourceMappingURL=https://cdn.example/f.js.map\n",
    );
    assert!(
      matches!(locate(&remote, None), Found::Unusable(why) if why.contains("does not fetch"))
    );
    assert_eq!(locate(&format!("{dir_name}/gone.js"), None), Found::Missing);
    assert_eq!(locate("node:events", None), Found::None);
  }
}
