//! Memory by npm package: every object counted under the package whose code defines its
//! constructor or closure, read from the script's path; and `--package`, which keeps the rows of
//! one package only.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::graph::Graph;
use crate::heap::Heap;
use crate::run::Report;

use super::common::{label, retained_by_key, NONE};

/// The group of the application's own code (a script outside `node_modules`).
pub const APP: &str = "(app)";
/// The group of Node's internals (`node:` and `internal/` scripts).
pub const NODE: &str = "(node)";
/// The group of what no script defines: arrays, strings, code, V8's own objects, and objects
/// whose constructor's script the snapshot does not name.
pub const UNKNOWN: &str = "(unknown)";

/// The npm package a script belongs to: what follows its last `node_modules/` (a scoped
/// package with its scope). Takes a script path or a `file:line:column` source.
pub fn package_of(source: &str) -> Option<String> {
  let at = source.rfind("node_modules/")? + "node_modules/".len();
  let mut parts = source[at..].split('/');
  let first = parts.next().filter(|p| !p.is_empty())?;
  if first.starts_with('@') {
    let second = parts.next().filter(|p| !p.is_empty() && !p.contains(':'))?;
    Some(format!("{first}/{second}"))
  } else {
    // `pkg:12:3` when the file is the package's only part.
    Some(first.split(':').next().unwrap_or(first).to_string())
  }
}

/// The group a script (or a `file:line:column` source) counts under: its npm package (cut as
/// class names are: a hostile script path can be megabytes long), else [`NODE`] for Node's
/// internals, [`APP`] for any other script, [`UNKNOWN`] without one. Application code in a
/// bundle counts under the package its source map places it in, when the analysis maps sources.
pub fn group_of(source: Option<&str>) -> String {
  match source.filter(|s| !s.is_empty()) {
    None => UNKNOWN.to_string(),
    Some(source) => match script_group(source) {
      Group::App => crate::source_map::bundled_package(source)
        .map(|name| label(&name))
        .unwrap_or_else(|| APP.to_string()),
      group => group.name(),
    },
  }
}

/// What a script's path says of its group.
enum Group {
  Package(String),
  Node,
  App,
}

impl Group {
  fn name(self) -> String {
    match self {
      Group::Package(name) => label(&name),
      Group::Node => NODE.to_string(),
      Group::App => APP.to_string(),
    }
  }
}

fn script_group(source: &str) -> Group {
  match package_of(source) {
    Some(name) => Group::Package(name),
    None if source.starts_with("node:") || source.starts_with("internal/") => Group::Node,
    None => Group::App,
  }
}

/// The objects of one package (or group): how many, their own size and what they retain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PackageRow {
  /// The npm package (`lru-cache`, `@scope/pkg`), or `(app)`, `(node)` or `(unknown)`.
  pub name: String,
  pub count: u64,
  pub shallow_size: u64,
  /// What they retain, each object counted once (an object inside another of the same
  /// package is in that one's figure already).
  pub retained_size: u64,
}

/// One package of a comparison: its objects allocated and freed between the two snapshots,
/// matched by id as DevTools' Comparison view matches a class's.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PackageDiff {
  /// The npm package, or `(app)`, `(node)` or `(unknown)`.
  pub name: String,
  /// Objects new in the later snapshot; null when the snapshots are matched by structure.
  pub new_count: Option<u64>,
  /// Objects gone from the earlier snapshot; null when matched by structure.
  pub deleted_count: Option<u64>,
  pub delta_count: i64,
  /// Shallow size of the new objects; null when matched by structure.
  pub alloc_size: Option<u64>,
  /// Shallow size of the deleted objects; null when matched by structure.
  pub freed_size: Option<u64>,
  pub size_delta: i64,
}

/// The package group of every node with a shallow size (NONE for the others), as an index into
/// the returned names; the group [`UNKNOWN`] is index 0. Keyed on script ids, so that each
/// script's path is read once however many objects its code made; a bundle's code (with source
/// maps) on each place in it, mapped once.
pub(crate) fn package_keys(graph: &Graph) -> (Vec<u32>, Vec<String>) {
  let mut groups = Groups {
    graph,
    names: vec![UNKNOWN.to_string()],
    by_name: FxHashMap::from_iter([(UNKNOWN.to_string(), 0)]),
    by_script: FxHashMap::default(),
    by_place: FxHashMap::default(),
    maps: crate::source_map::active(),
  };
  let mut key: Vec<u32> = graph
    .self_size
    .iter()
    .map(|&size| if size == 0 { NONE } else { 0 })
    .collect();
  for &[node, script, line, column] in &graph.locations {
    if key[node as usize] != NONE {
      key[node as usize] = groups.at([script, line, column]);
    }
  }
  // A bound function counts where the function it binds is written.
  for &(node, target) in &graph.bound_functions {
    if let (0, Some(location)) = (key[node as usize], graph.location(target as usize)) {
      key[node as usize] = groups.at(location);
    }
  }
  (key, groups.names)
}

/// The groups of [`package_keys`], by script and, in a bundle, by place.
struct Groups<'g> {
  graph: &'g Graph,
  names: Vec<String>,
  by_name: FxHashMap<String, u32>,
  /// Each script's group, and whether it is a bundle (its map lists `node_modules/` sources).
  by_script: FxHashMap<u32, (u32, bool)>,
  by_place: FxHashMap<[u32; 3], u32>,
  maps: Option<std::sync::Arc<crate::source_map::SourceMaps>>,
}

impl<'g> Groups<'g> {
  fn index(&mut self, name: String) -> u32 {
    let names = &mut self.names;
    *self.by_name.entry(name).or_insert_with_key(|name| {
      names.push(name.clone());
      names.len() as u32 - 1
    })
  }

  fn url(&self, script: u32) -> Option<&'g str> {
    let graph = self.graph;
    let found = graph.scripts.binary_search_by_key(&script, |s| s.0).ok()?;
    Some(graph.strings.get(graph.scripts[found].1))
  }

  /// The group of the code at `[script, line, column]` (0-based).
  fn at(&mut self, place: [u32; 3]) -> u32 {
    let script = place[0];
    let (group, bundle) = match self.by_script.get(&script) {
      Some(&known) => known,
      None => {
        let url = self.url(script).filter(|url| !url.is_empty());
        let (name, app) = match url.map(script_group) {
          None => (UNKNOWN.to_string(), false),
          Some(Group::App) => (APP.to_string(), true),
          Some(group) => (group.name(), false),
        };
        let bundle = app
          && self
            .maps
            .as_ref()
            .zip(url)
            .is_some_and(|(maps, url)| maps.is_bundle(url));
        let group = self.index(name);
        self.by_script.insert(script, (group, bundle));
        (group, bundle)
      }
    };
    if !bundle {
      return group;
    }
    if let Some(&known) = self.by_place.get(&place) {
      return known;
    }
    let [_, line, column] = place;
    let package = self
      .url(script)
      .zip(self.maps.as_ref())
      .and_then(|(url, maps)| maps.bundled_package(url, line, column));
    let found = match package {
      Some(name) => self.index(label(&name)),
      None => group,
    };
    self.by_place.insert(place, found);
    found
  }
}

/// The rows of the groups `key` gives each node (NONE: not counted), largest retained size
/// first; groups with no object are left out.
pub(crate) fn package_rows(heap: &Heap, key: &[u32], names: Vec<String>) -> Vec<PackageRow> {
  let retained = retained_by_key(heap, key, names.len());
  let mut rows: Vec<PackageRow> = names
    .into_iter()
    .zip(retained)
    .map(|(name, retained_size)| PackageRow {
      name,
      count: 0,
      shallow_size: 0,
      retained_size,
    })
    .collect();
  for (node, &k) in key.iter().enumerate() {
    if k != NONE {
      rows[k as usize].count += 1;
      rows[k as usize].shallow_size += u64::from(heap.graph.self_size[node]);
    }
  }
  rows.retain(|row| row.count > 0);
  rows.sort_by(|a, b| {
    (b.retained_size, b.shallow_size)
      .cmp(&(a.retained_size, a.shallow_size))
      .then_with(|| a.name.cmp(&b.name))
  });
  rows
}

/// Which rows a report keeps with `--package NAME`: those whose class, function or owner is
/// defined in the package (or group, `(app)`, `(node)`, `(unknown)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFilter {
  name: String,
}

impl PackageFilter {
  pub fn new(name: &str) -> PackageFilter {
    PackageFilter {
      name: name.to_string(),
    }
  }

  fn keeps(&self, package: &str) -> bool {
    package == self.name
  }

  /// Keeps the rows of `report` of the filter's package, then its first `top` (all if 0): the
  /// report must have been made with all its rows (a `top` of 0). The package tables keep the
  /// package's row; an owner of leaks is kept by its own package or by one of its classes' (then
  /// only those classes are listed).
  pub fn apply(&self, report: &mut Report, top: usize) {
    let cut = |len: usize| if top == 0 { len } else { top.min(len) };
    match report {
      Report::Summary(s) => {
        s.classes.retain(|row| self.keeps(&row.package));
        s.classes.truncate(cut(s.classes.len()));
        s.largest.retain(|object| self.keeps(&object.package));
        s.packages.retain(|row| self.keeps(&row.name));
      }
      Report::Diff(d) => {
        d.classes.retain(|row| self.keeps(&row.package));
        d.classes.truncate(cut(d.classes.len()));
        d.packages.retain(|row| self.keeps(&row.name));
      }
      Report::Leaks(l) => {
        l.owners.retain_mut(|owner| {
          if self.keeps(&owner.package) {
            return true;
          }
          owner.classes.retain(|class| self.keeps(&class.package));
          !owner.classes.is_empty()
        });
        l.owners.truncate(cut(l.owners.len()));
        l.groups.retain(|group| self.keeps(&group.package));
        l.groups.truncate(cut(l.groups.len()));
        l.packages.retain(|row| self.keeps(&row.name));
      }
      // Objects of one class: the class is the filter; only the cut is left to do.
      Report::Instances(i) => i.instances.truncate(cut(i.instances.len())),
      Report::Page(_)
      | Report::Paths(_)
      | Report::Validate(_)
      | Report::Redaction(_)
      | Report::Check(_)
      | Report::ProfileTop(_)
      | Report::ProfileDiff(_) => {}
    }
  }
}

/// The leaked objects by package when the snapshots are matched by structure: the growth of
/// each group added up under its package, largest retained size first. No object is known one
/// by one there, so `shallow_size` is 0.
pub fn packages_of_groups(groups: &[super::LeakGroup]) -> Vec<PackageRow> {
  let mut by_name: FxHashMap<&str, (u64, u64)> = FxHashMap::default();
  for group in groups {
    let row = by_name.entry(group.package.as_str()).or_default();
    row.0 += group.count;
    row.1 += group.retained_size;
  }
  let mut rows: Vec<PackageRow> = by_name
    .into_iter()
    .map(|(name, (count, retained_size))| PackageRow {
      name: name.to_string(),
      count,
      shallow_size: 0,
      retained_size,
    })
    .collect();
  rows.sort_by(|a, b| {
    b.retained_size
      .cmp(&a.retained_size)
      .then(a.name.cmp(&b.name))
  });
  rows
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::testing::Snapshot;

  /// Each object counts under the package of its constructor's script; a package's retained
  /// size counts an object inside another of the same package once; what no location names is
  /// unknown, and objects of size 0 are in no package.
  #[test]
  fn objects_count_under_their_constructors_package_and_nested_ones_once() {
    let (mut s, global) = Snapshot::with_global(0);
    let [cache, entry, session, array, empty] = s.nodes([
      ("object", "LRUCache", 40),
      ("object", "Entry", 24),
      ("object", "Session", 32),
      ("object", "Plain", 16),
      ("object", "Empty", 0),
    ]);
    s.edges(&[
      (global, "property", "cache", cache),
      (cache, "property", "head", entry),
      (entry, "property", "value", session),
      (global, "property", "list", array),
      (global, "property", "empty", empty),
    ]);
    let mut graph = s.graph();
    let lru = graph
      .strings
      .push("/srv/app/node_modules/lru-cache/index.js");
    let app = graph.strings.push("/srv/app/session.js");
    graph.scripts = vec![(7, lru), (9, app)];
    graph.locations = [(cache, 7), (entry, 7), (session, 9), (empty, 7)]
      .iter()
      .map(|&(node, script)| [node as u32, script, 1, 0])
      .collect();
    graph.locations.sort_unstable();
    let heap = Heap::new(graph, &mut |_| {});
    let (key, names) = package_keys(&heap.graph);
    assert_eq!(key[empty], NONE);
    assert_eq!(names[key[array] as usize], UNKNOWN);
    let rows = package_rows(&heap, &key, names);
    let row = |name: &str| rows.iter().find(|r| r.name == name).cloned().unwrap();
    // The cache holds its entry (same package) and the session (the app's): 96 bytes.
    assert_eq!(
      (row("lru-cache").count, row("lru-cache").shallow_size),
      (2, 64)
    );
    assert_eq!(row("lru-cache").retained_size, 96);
    assert_eq!((row(APP).count, row(APP).retained_size), (1, 32));
    assert_eq!((row(UNKNOWN).count, row(UNKNOWN).shallow_size), (1, 16));
    assert_eq!(rows[0].name, "lru-cache", "largest retained size first");
  }

  #[test]
  fn packages_are_read_from_the_script_path() {
    let cases = [
      (
        "/app/node_modules/lru-cache/dist/index.js:10:3",
        Some("lru-cache"),
      ),
      (
        "file:///app/node_modules/@scope/pkg/x.js:1:1",
        Some("@scope/pkg"),
      ),
      ("/a/node_modules/x/node_modules/y/i.js:1:1", Some("y")),
      ("/app/src/quote.js:3:1", None),
    ];
    for (source, package) in cases {
      assert_eq!(package_of(source).as_deref(), package, "{source}");
    }
  }

  #[test]
  fn scripts_outside_node_modules_are_the_app_or_node_and_none_is_unknown() {
    let group = |source| group_of(source);
    assert_eq!(group(Some("/srv/app/node_modules/pino/a.js:1:1")), "pino");
    assert_eq!(group(Some("/srv/app/src/quote.js:3:1")), APP);
    assert_eq!(group(Some("file:///srv/app/main.mjs:3:1")), APP);
    assert_eq!(group(Some("node:internal/timers:1:1")), NODE);
    assert_eq!(group(Some("node:events:10:2")), NODE);
    assert_eq!(group(Some("internal/streams/readable.js:4:1")), NODE);
    assert_eq!(group(Some("")), UNKNOWN);
    assert_eq!(group(None), UNKNOWN);
  }
}
