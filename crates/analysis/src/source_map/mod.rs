//! Source maps: every `file:line:column` a report prints shown where the code was written
//! (`/app/src/cache.ts:12:3`), not where it ran (`/app/dist/server.js:1:48213`), with the
//! position that ran kept beside it (`generated` in the JSON).
//!
//! A script's map is found as Node and DevTools find it ([`locate`]): the script's last
//! `//# sourceMappingURL=` comment, an inline `data:` URL or a file relative to the script, else
//! `<script>.map` beside it. The script is read from disk: a snapshot keeps only the first 1,024
//! characters of a string, so the comment at the end of a script is not in it. With a source
//! root (the snapshot comes from another machine), scripts and maps are looked for under it;
//! the original files are still named as the snapshot's machine names them, so that a report
//! reads the same wherever it is made.
//!
//! Maps are read lazily, once per script, and only for the scripts the report's rows name, once
//! the report is made ([`SourceMaps::apply`]): a report of a big snapshot decodes a handful of
//! maps, not every one the application has. Memory by package is the exception: a script of the
//! application (outside `node_modules`) whose map lists sources under `node_modules/` is a
//! bundle, and its objects count under the packages its map names. For that the map of each
//! application script an object's location names is looked at while the report is made: its
//! `sources` only, and its mappings too for a bundle.
//!
//! A map that cannot be used (missing, unreadable, not a source map) leaves its script's
//! positions as they are, with one note per script saying why (`source_map_notes` in the JSON, a
//! `note:` line on stderr from the CLI): a report never fails for a map.

mod apply;
mod decoded;
mod locate;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rustc_hash::FxHashMap;

pub use decoded::Original;
use decoded::{names_packages, Decoded};
use locate::{locate, Found, Located, MapText};

/// The source maps of one analysis: how to find them, and those found so far.
#[derive(Debug, Default)]
pub struct SourceMaps {
  root: Option<PathBuf>,
  scripts: Mutex<FxHashMap<String, Arc<Script>>>,
  notes: Mutex<Notes>,
}

#[derive(Debug, Default)]
struct Notes {
  /// One per script whose map cannot be used.
  unusable: Vec<String>,
  /// Scripts not found on this machine, in the order rows named them.
  missing: Vec<String>,
}

/// One script: where its map is, and the map once it is needed.
#[derive(Debug)]
struct Script {
  found: Found,
  /// Whether its map lists sources under `node_modules/`.
  packages: OnceLock<bool>,
  decoded: OnceLock<Option<Decoded>>,
  /// Set once why its map cannot be used has been noted.
  noted: OnceLock<()>,
}

impl SourceMaps {
  /// Maps found beside the scripts the snapshot names, or with `root` under it.
  pub fn new(root: Option<PathBuf>) -> SourceMaps {
    SourceMaps {
      root,
      ..SourceMaps::default()
    }
  }

  /// Where the generated place `line`, `column` (0-based) of the script `url` was written, if the
  /// script has a usable map that maps it. Why it has not, when it names a map or is not on this
  /// machine, goes into [`SourceMaps::notes`] once.
  pub fn original(&self, url: &str, line: u32, column: u32) -> Option<Original> {
    let script = self.script(url);
    match &script.found {
      Found::Map(_) => script.decoded(url, self)?.original(line, column),
      Found::None => None,
      Found::Missing => {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        if !notes.missing.iter().any(|known| known == url) {
          notes.missing.push(url.to_string());
        }
        None
      }
      Found::Unusable(why) => {
        script.noted.get_or_init(|| {
          self.note(format!(
            "{url}: {why}; its positions are the generated ones"
          ))
        });
        None
      }
    }
  }

  /// The npm package whose code is at `line`, `column` (0-based) of `url`, when `url` is a bundle
  /// (its map lists sources under `node_modules/`) and the place maps into one of them.
  pub fn bundled_package(&self, url: &str, line: u32, column: u32) -> Option<String> {
    if !self.is_bundle(url) {
      return None;
    }
    let original = self.original(url, line, column)?;
    crate::report::package_of(&original.file)
  }

  /// Whether `url`'s map lists sources under `node_modules/`: its `sources` read once, the
  /// mappings left for [`SourceMaps::original`]. Nothing is noted here: only the places a report
  /// shows are.
  pub fn is_bundle(&self, url: &str) -> bool {
    let script = self.script(url);
    let Found::Map(located) = &script.found else {
      return false;
    };
    *script
      .packages
      .get_or_init(|| text(located).is_ok_and(|json| names_packages(&json, &located.base)))
  }

  /// Why some places are the generated ones: one line per script whose map cannot be used, and
  /// one for the scripts not on this machine.
  pub fn notes(&self) -> Vec<String> {
    let notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
    let mut lines = notes.unusable.clone();
    if let Some(first) = notes.missing.first() {
      let place = match &self.root {
        Some(root) => format!("under {}", root.display()),
        None => "on this machine".to_string(),
      };
      let (scripts, their) = match notes.missing.len() - 1 {
        0 => (first.clone(), "its source map is"),
        1 => (
          format!("{first} and 1 other script"),
          "their source maps are",
        ),
        n => (
          format!("{first} and {n} other scripts"),
          "their source maps are",
        ),
      };
      lines.push(format!(
        "{scripts}: not found {place}, so {their} unknown; give the directory that holds the scripts with --source-root (sourceRoot in the JS API)"
      ));
    }
    lines
  }

  fn note(&self, line: String) {
    let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
    notes.unusable.push(line);
  }

  /// The script `url` names, looked for once.
  fn script(&self, url: &str) -> Arc<Script> {
    let mut scripts = self.scripts.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(script) = scripts.get(url) {
      return script.clone();
    }
    let script = Arc::new(Script {
      found: locate(url, self.root.as_deref()),
      packages: OnceLock::new(),
      decoded: OnceLock::new(),
      noted: OnceLock::new(),
    });
    scripts.insert(url.to_string(), script.clone());
    script
  }
}

/// A map's JSON, or why it cannot be read.
fn text(located: &Located) -> Result<String, String> {
  match &located.text {
    MapText::Inline(json) => Ok(json.clone()),
    MapText::File(path) => {
      let bytes = locate::read_bounded(path)
        .map_err(|why| format!("its source map {} {why}", path.display()))?;
      String::from_utf8(bytes)
        .map_err(|_| format!("its source map {} is not UTF-8 text", path.display()))
    }
  }
}

impl Script {
  /// The decoded map, decoded once; None (noted once) when it cannot be.
  fn decoded(&self, url: &str, maps: &SourceMaps) -> Option<&Decoded> {
    self
      .decoded
      .get_or_init(|| {
        let Found::Map(located) = &self.found else {
          return None;
        };
        let decoded = text(located).and_then(|json| {
          Decoded::new(&json, &located.base).map_err(|why| match &located.text {
            MapText::File(path) => format!("its source map {} {why}", path.display()),
            MapText::Inline(_) => format!("its inline source map {why}"),
          })
        });
        decoded
          .map_err(|why| {
            maps.note(format!(
              "{url}: {why}; its positions are the generated ones"
            ))
          })
          .ok()
      })
      .as_ref()
  }
}

thread_local! {
  /// The maps of the analysis running on this thread ([`run`]). Memory by package is counted
  /// deep inside each report, from graphs loaded in a dozen places; the maps reach it this way
  /// rather than through every function in between.
  static ACTIVE: RefCell<Option<Arc<SourceMaps>>> = const { RefCell::new(None) };
}

/// The maps of the analysis running on this thread, if it maps sources.
pub(crate) fn active() -> Option<Arc<SourceMaps>> {
  ACTIVE.with(|active| active.borrow().clone())
}

/// Runs `analysis` with `maps` active on this thread (None: positions as they ran), for memory
/// by package to follow a bundle's map ([`bundled_package`]); what was active before comes back
/// however it ends.
pub(crate) fn with<T>(maps: Option<&Arc<SourceMaps>>, analysis: impl FnOnce() -> T) -> T {
  /// Puts back what was active before.
  struct Restore(Option<Arc<SourceMaps>>);
  impl Drop for Restore {
    fn drop(&mut self) {
      let previous = self.0.take();
      ACTIVE.with(|active| *active.borrow_mut() = previous);
    }
  }
  let _restore = Restore(ACTIVE.with(|active| active.replace(maps.cloned())));
  analysis()
}

/// The npm package a bundled application source (`file:line:column`, 1-based) was written in,
/// when the analysis on this thread maps sources.
pub(crate) fn bundled_package(source: &str) -> Option<String> {
  let maps = active()?;
  let (file, line, column) = split(source)?;
  maps.bundled_package(file, line.checked_sub(1)?, column.checked_sub(1)?)
}

/// `file:line:column` as its parts (a file's name may hold `:` itself).
pub(crate) fn split(source: &str) -> Option<(&str, u32, u32)> {
  let mut parts = source.rsplitn(3, ':');
  let column = parts.next()?.parse().ok()?;
  let line = parts.next()?.parse().ok()?;
  Some((parts.next()?, line, column))
}

#[cfg(test)]
mod tests {
  use super::*;

  /// `dist/a.js` line 0 from `src/a.ts` line 2, line 1 from column 4 on from line 5 column 2;
  /// `dist/bundle.js` line 0 from a package, line 1 from the application.
  fn service() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
      "dist/a.js",
      "class A {}\n    function f() {}\n//# sourceMappingURL=a.js.map\n",
    );
    write(
      "dist/a.js.map",
      r#"{"version":3,"sources":["../src/a.ts"],"names":[],"mappings":"AAEA;IAGE"}"#,
    );
    write("dist/bundle.js", "class Entry {}\nclass Session {}\n");
    write(
      "dist/bundle.js.map",
      r#"{"version":3,"sources":["../node_modules/@acme/lru/index.js","../src/session.ts"],"names":[],"mappings":"AAAA;ACAA"}"#,
    );
    (dir, root)
  }

  #[test]
  fn a_generated_place_maps_to_the_mapping_at_or_before_it_on_its_line() {
    let (_dir, root) = service();
    let maps = SourceMaps::new(None);
    let script = format!("{root}/dist/a.js");
    let at = |line, column| {
      maps
        .original(&script, line, column)
        .map(|o| (o.file, o.line, o.column))
    };
    let ts = format!("{root}/src/a.ts");
    assert_eq!(at(0, 0), Some((ts.clone(), 2, 0)));
    assert_eq!(at(0, 7), Some((ts.clone(), 2, 0)));
    assert_eq!(at(1, 4), Some((ts.clone(), 5, 2)));
    // Before the line's first mapping (its indentation): still that line's.
    assert_eq!(at(1, 0), Some((ts, 5, 2)));
    assert_eq!(at(2, 0), None);
    assert!(maps.notes().is_empty());
  }

  #[test]
  fn a_bundles_code_belongs_to_the_packages_its_map_names() {
    let (_dir, root) = service();
    let maps = SourceMaps::new(None);
    let bundle = format!("{root}/dist/bundle.js");
    assert!(maps.is_bundle(&bundle));
    assert!(!maps.is_bundle(&format!("{root}/dist/a.js")));
    assert_eq!(
      maps.bundled_package(&bundle, 0, 6).as_deref(),
      Some("@acme/lru")
    );
    assert_eq!(maps.bundled_package(&bundle, 1, 6), None);
  }

  #[test]
  fn a_map_that_cannot_be_used_is_noted_once_and_leaves_the_place_as_it_ran() {
    let (dir, root) = service();
    std::fs::write(
      dir.path().join("dist/a.js.map"),
      "{\"version\":3,\"mappings\":\"@@",
    )
    .unwrap();
    let maps = SourceMaps::new(None);
    let script = format!("{root}/dist/a.js");
    assert_eq!(maps.original(&script, 0, 0), None);
    assert_eq!(maps.original(&script, 1, 4), None);
    let notes = maps.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
      notes[0].starts_with(&format!(
        "{script}: its source map {root}/dist/a.js.map cannot be read"
      )),
      "{notes:?}"
    );
  }

  #[test]
  fn scripts_not_on_this_machine_are_noted_in_one_line() {
    let maps = SourceMaps::new(None);
    for script in ["/nowhere/a.js", "/nowhere/b.js", "/nowhere/c.js"] {
      assert_eq!(maps.original(script, 0, 0), None);
    }
    assert_eq!(
      maps.notes(),
      ["/nowhere/a.js and 2 other scripts: not found on this machine, so their source maps are unknown; give the directory that holds the scripts with --source-root (sourceRoot in the JS API)"]
    );
  }

  #[test]
  fn under_a_source_root_the_files_keep_the_names_of_the_snapshots_machine() {
    let (dir, _root) = service();
    let maps = SourceMaps::new(Some(dir.path().to_path_buf()));
    let original = maps.original("/srv/app/dist/a.js", 1, 4).unwrap();
    assert_eq!(original.file, "/srv/app/src/a.ts");
  }

  #[test]
  fn sources_are_split_from_the_right() {
    assert_eq!(split("/a:b/c.js:12:3"), Some(("/a:b/c.js", 12, 3)));
    assert_eq!(split("/a/c.js"), None);
  }
}
