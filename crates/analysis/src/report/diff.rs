//! DevTools' Comparison view: what was allocated and freed between two snapshots, by class.

use std::collections::HashMap;

use serde::Serialize;

use crate::graph::Graph;

use super::common::{classes_of, label, top_by, ClassKey, MatchedBy, NONE};
use super::leaks::LeakOwner;
use super::packages::{group_of, package_keys, PackageDiff};

/// One class of DevTools' Comparison view: objects allocated and freed between the files.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClassDiff {
  pub name: String,
  /// `file:line:column` of the class's constructor, where the snapshot tells.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source: Option<String>,
  /// Where the code that ran is, `file:line:column` (1-based), when `source` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
  /// The npm package whose code defines the constructor, or `(app)`, `(node)` or `(unknown)`.
  pub package: String,
  /// Objects of the later snapshot that the earlier lacks; null when the snapshots are matched
  /// by structure (no ids to tell new objects from old), where only the deltas are known.
  pub new_count: Option<u64>,
  /// Objects of the earlier snapshot that the later lacks; null when matched by structure.
  pub deleted_count: Option<u64>,
  pub delta_count: i64,
  /// Shallow size of the new objects; null when matched by structure.
  pub alloc_size: Option<u64>,
  /// Shallow size of the deleted objects; null when matched by structure.
  pub freed_size: Option<u64>,
  pub size_delta: i64,
}

/// What `diff` reports (`rheapdump diff --json`, `analysis.diff()`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "SnapshotDiff"))]
pub struct Diff {
  pub before: String,
  pub after: String,
  /// How objects were matched: by their ids, or (fork snapshots, two processes, renumbered
  /// ids, or when asked) by their retaining paths and classes.
  pub matched_by: MatchedBy,
  /// By size delta, largest growth first.
  pub classes: Vec<ClassDiff>,
  /// The same comparison by npm package (and `(app)`, `(node)`, `(unknown)`), of every
  /// object, closures included; by size delta, largest growth first.
  pub packages: Vec<PackageDiff>,
  /// Objects more in the later snapshot, over all that grew (as `leaks` counts them).
  pub objects: u64,
  /// Where the objects that grew accumulate, largest retained size first, as `leaks` reports
  /// them; growth_count and growth_size are 0 (two snapshots have no after-the-target).
  pub owners: Vec<LeakOwner>,
  /// Why the comparison may mean little: files from two processes, given out of order,
  /// with ids renumbered or from two Node versions. Empty for a sound comparison.
  pub warnings: Vec<String>,
  /// Why some scripts' positions are the generated ones: their source maps could not be used
  /// (one line per script), or the scripts are not on this machine.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

/// Per class, the ids and shallow sizes of its objects, sorted by id: what DevTools' Comparison
/// view matches two snapshots by.
pub struct ClassMembers {
  pub by_class: HashMap<ClassKey, Vec<(u32, u32)>>,
  /// `file:line:column` of the classes that have a location.
  pub sources: HashMap<ClassKey, String>,
  /// The ids and shallow sizes of each package's objects, sorted by id.
  pub by_package: HashMap<String, Vec<(u32, u32)>>,
}

/// Needs only the graph (shallow sizes already attributed): no dominators.
pub fn class_members(graph: &Graph) -> ClassMembers {
  let (key, names) = classes_of(graph);
  let mut members: Vec<Vec<(u32, u32)>> = vec![Vec::new(); names.len()];
  for node in 0..graph.node_count() {
    let k = key[node];
    if k != NONE {
      members[k as usize].push((graph.node_id[node], graph.self_size[node]));
    }
  }
  let (package_key, packages) = package_keys(graph);
  let mut by_package: Vec<Vec<(u32, u32)>> = vec![Vec::new(); packages.len()];
  for node in 0..graph.node_count() {
    let k = package_key[node];
    if k != NONE {
      by_package[k as usize].push((graph.node_id[node], graph.self_size[node]));
    }
  }
  let by_package = packages
    .into_iter()
    .zip(by_package)
    .map(|(name, mut list)| {
      list.sort_unstable();
      (name, list)
    })
    .collect();
  let sources = names
    .iter()
    .filter_map(|name| Some((name.clone(), graph.source_at(name.1?)?)))
    .collect();
  let by_class = names
    .into_iter()
    .zip(members)
    .map(|(name, mut list)| {
      list.sort_unstable();
      (name, list)
    })
    .collect();
  ClassMembers {
    by_class,
    sources,
    by_package,
  }
}

/// The share of objects the two snapshots have in common, of the smaller: those with the same
/// id in the same class. An id that now names an object of another class does not count.
pub fn shared_ids(before: &ClassMembers, after: &ClassMembers) -> f64 {
  let total = |m: &ClassMembers| m.by_class.values().map(Vec::len).sum::<usize>();
  let smaller = total(before).min(total(after));
  if smaller == 0 {
    return 1.0;
  }
  let shared: usize = before
    .by_class
    .iter()
    .filter_map(|(class, old)| Some((old, after.by_class.get(class)?)))
    .map(|(old, new)| {
      let ids = |list: &[(u32, u32)]| list.iter().map(|m| m.0).collect::<Vec<u32>>();
      crate::origin::common_count(&ids(old), &ids(new))
    })
    .sum();
  shared as f64 / smaller as f64
}

/// DevTools' Comparison by class, objects matched by id; with `by_structure`, only the net
/// change of count and size per class (DevTools' # Delta and Size Delta), which need no ids.
pub fn diff(
  before: &ClassMembers,
  after: &ClassMembers,
  names: (&str, &str),
  by_structure: bool,
  top: usize,
) -> Diff {
  let empty = Vec::new();
  let mut classes = Vec::new();
  let mut seen: Vec<&ClassKey> = before.by_class.keys().collect();
  seen.extend(
    after
      .by_class
      .keys()
      .filter(|k| !before.by_class.contains_key(*k)),
  );
  for name in seen {
    let old = before.by_class.get(name).unwrap_or(&empty);
    let new = after.by_class.get(name).unwrap_or(&empty);
    let source = after
      .sources
      .get(name)
      .or_else(|| before.sources.get(name))
      .cloned();
    let row = if by_structure {
      let size = |list: &[(u32, u32)]| list.iter().map(|m| i64::from(m.1)).sum::<i64>();
      ClassDiff {
        name: label(&name.0),
        package: group_of(source.as_deref()),
        source,
        generated: None,
        new_count: None,
        deleted_count: None,
        delta_count: new.len() as i64 - old.len() as i64,
        alloc_size: None,
        freed_size: None,
        size_delta: size(new) - size(old),
      }
    } else {
      let (new_count, deleted_count, alloc_size, freed_size) = matched_by_id(old, new);
      if new_count == 0 && deleted_count == 0 {
        continue;
      }
      ClassDiff {
        name: label(&name.0),
        package: group_of(source.as_deref()),
        source,
        generated: None,
        new_count: Some(new_count),
        deleted_count: Some(deleted_count),
        delta_count: new_count as i64 - deleted_count as i64,
        alloc_size: Some(alloc_size),
        freed_size: Some(freed_size),
        size_delta: alloc_size as i64 - freed_size as i64,
      }
    };
    if row.delta_count == 0 && row.size_delta == 0 && by_structure {
      continue;
    }
    classes.push(row);
  }
  classes.sort_by(|a, b| a.name.cmp(&b.name));
  top_by(&mut classes, top, |r| i128::from(r.size_delta));
  Diff {
    before: names.0.to_string(),
    after: names.1.to_string(),
    matched_by: if by_structure {
      MatchedBy::Structure
    } else {
      MatchedBy::Ids
    },
    classes,
    packages: package_diff(before, after, by_structure),
    objects: 0,
    owners: Vec::new(),
    warnings: Vec::new(),
    source_map_notes: None,
  }
}

/// New and deleted objects of one class, and their sizes, by id: both lists sorted by id.
fn matched_by_id(old: &[(u32, u32)], new: &[(u32, u32)]) -> (u64, u64, u64, u64) {
  let (mut i, mut j) = (0, 0);
  let (mut new_count, mut deleted_count, mut alloc_size, mut freed_size) = (0, 0, 0, 0);
  while i < old.len() || j < new.len() {
    if j == new.len() || (i < old.len() && old[i].0 < new[j].0) {
      deleted_count += 1;
      freed_size += u64::from(old[i].1);
      i += 1;
    } else if i == old.len() || new[j].0 < old[i].0 {
      new_count += 1;
      alloc_size += u64::from(new[j].1);
      j += 1;
    } else {
      i += 1;
      j += 1;
    }
  }
  (new_count, deleted_count, alloc_size, freed_size)
}

/// The comparison by package, every package that changed, largest growth first. Matched by
/// structure, only the deltas are known, as for classes.
fn package_diff(
  before: &ClassMembers,
  after: &ClassMembers,
  by_structure: bool,
) -> Vec<PackageDiff> {
  let empty = Vec::new();
  let mut names: Vec<&String> = before.by_package.keys().collect();
  names.extend(
    after
      .by_package
      .keys()
      .filter(|k| !before.by_package.contains_key(*k)),
  );
  let mut rows: Vec<PackageDiff> = names
    .into_iter()
    .filter_map(|name| {
      let old = before.by_package.get(name).unwrap_or(&empty);
      let new = after.by_package.get(name).unwrap_or(&empty);
      let row = if by_structure {
        let size = |list: &[(u32, u32)]| list.iter().map(|m| i64::from(m.1)).sum::<i64>();
        PackageDiff {
          name: name.clone(),
          new_count: None,
          deleted_count: None,
          delta_count: new.len() as i64 - old.len() as i64,
          alloc_size: None,
          freed_size: None,
          size_delta: size(new) - size(old),
        }
      } else {
        let (new_count, deleted_count, alloc_size, freed_size) = matched_by_id(old, new);
        PackageDiff {
          name: name.clone(),
          new_count: Some(new_count),
          deleted_count: Some(deleted_count),
          delta_count: new_count as i64 - deleted_count as i64,
          alloc_size: Some(alloc_size),
          freed_size: Some(freed_size),
          size_delta: alloc_size as i64 - freed_size as i64,
        }
      };
      (row.delta_count != 0 || row.size_delta != 0 || row.new_count.is_some_and(|n| n > 0))
        .then_some(row)
    })
    .collect();
  rows.sort_by(|a, b| a.name.cmp(&b.name));
  top_by(&mut rows, 0, |r| i128::from(r.size_delta));
  rows
}

#[cfg(test)]
mod tests {
  use super::{class_members, diff, shared_ids};
  use crate::heap::prepare_classes;
  use crate::testing::Snapshot;

  /// DevTools' Comparison view matches objects by id within each class: an id in the later
  /// snapshot only is a new object, in the earlier only a deleted one. An id that names an
  /// object of another class now (V8 reuses ids of freed objects' addresses only across
  /// classes by accident) is a deletion in the old class and an allocation in the new.
  #[test]
  fn objects_are_matched_by_id_within_their_class() {
    let snapshot = |classes: &[(&str, u32)]| {
      let (mut s, global) = Snapshot::with_global(0);
      for &(class, size) in classes {
        let node = s.node("object", class, size);
        s.edge(global, "property", "o", node);
      }
      let mut g = s.graph();
      prepare_classes(&mut g, None);
      class_members(&g)
    };
    // Ids 5, 7, 9 (ordinals 2 to 4) in both; 9 is a B before and an A after.
    let before = snapshot(&[("A", 10), ("A", 10), ("B", 30)]);
    let after = snapshot(&[("A", 10), ("A", 10), ("A", 12)]);
    let report = diff(&before, &after, ("before", "after"), false, 0);
    let row = |name: &str| report.classes.iter().find(|c| c.name == name).unwrap();
    let (a, b) = (row("A"), row("B"));
    assert_eq!(
      (a.new_count, a.deleted_count, a.delta_count),
      (Some(1), Some(0), 1)
    );
    assert_eq!(
      (a.alloc_size, a.freed_size, a.size_delta),
      (Some(12), Some(0), 12)
    );
    assert_eq!(
      (b.new_count, b.deleted_count, b.delta_count),
      (Some(0), Some(1), -1)
    );
    assert_eq!(
      (b.alloc_size, b.freed_size, b.size_delta),
      (Some(0), Some(30), -30)
    );
    // Of each snapshot's 3 objects (global, of size 0, is in no class, as in DevTools'
    // views), 2 are the same object in both.
    assert_eq!(shared_ids(&before, &after), 2.0 / 3.0);
  }
}
