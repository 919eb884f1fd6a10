//! The three-snapshot technique (memlab's find-leaks): what was allocated after the baseline,
//! is in the target and still lives, by the object that holds it and by retaining path.

use std::collections::HashMap;
use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::graph::Graph;
use crate::heap::Heap;

use super::common::{
  key_part, label, node_name, retained_by_key, short, top_by, MatchedBy, Step, NONE,
};
use super::packages::{group_of, package_keys, package_rows, PackageRow};
use super::paths::{first_path, from_module};

/// Leaked objects of one class retained along paths of one shape (memlab's cluster); keys of
/// hash tables and indices are left out of the shape.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeakGroup {
  /// The class, or for closures the function (`pollJob()`), as `leaks` names them.
  pub name: String,
  /// The class as DevTools' Summary and Comparison name it (`Function` for every closure).
  pub class: String,
  pub count: u64,
  pub retained_size: u64,
  /// The npm package whose code defines the class or function, or `(app)`, `(node)` or
  /// `(unknown)`.
  pub package: String,
  pub path: Vec<Step>,
}

/// Leaked objects of one class held by one owner.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnerClass {
  /// The class, or for closures the function (`pollJob()`, `bound onRates()`), so that the
  /// closures of different functions stay apart.
  pub name: String,
  /// The class as DevTools' Summary and Comparison name it (`Function` for every closure).
  pub class: String,
  pub count: u64,
  pub retained_size: u64,
  /// `file:line:column` of the class's constructor or the function, 1-based.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source: Option<String>,
  /// Where the code that ran is, `file:line:column` (1-based), when `source` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
  /// The npm package `source` is in, or `(app)`, `(node)` or `(unknown)`.
  pub package: String,
  /// The id of the largest of them, for `path`.
  pub example: u32,
}

/// An object that was in the baseline already and holds leaked objects: where they
/// accumulate (a listener array, a cache's table).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeakOwner {
  pub id: u32,
  /// What holds it, by the path to it where that names it (`global.scheduledTasks`,
  /// `module "pino/lib/registry.js" .exports.loggers`, `loggers in the scope of setLevel()`),
  /// else its class or function.
  pub name: String,
  pub class: String,
  /// `file:line:column` (1-based) of the owner's function or class, or else of the nearest
  /// node on its path that has one: the class of the instance or the closure that holds it
  /// (the module, for one held by a module's exports).
  pub source: Option<String>,
  /// Where the code that ran is, `file:line:column` (1-based), when `source` is the original
  /// place a source map gives.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub generated: Option<String>,
  /// The node `source` belongs to, by name, when it is not the owner itself: what holds it.
  pub source_of: Option<String>,
  /// The npm package `source` is in, or `(app)`, `(node)` or `(unknown)`: whose code holds
  /// the leak.
  pub package: String,
  /// Leaked objects it holds (allocated after the baseline, present in the target).
  pub count: u64,
  /// What they retain (each object counted once).
  pub retained_size: u64,
  /// Objects allocated after the target that it holds too: how it went on growing.
  pub growth_count: u64,
  pub growth_size: u64,
  /// Its leaked objects by class, largest retained size first (at most 10).
  pub classes: Vec<OwnerClass>,
  /// The shortest retaining path from a root to the owner.
  pub path: Vec<Step>,
}

/// What `leaks` reports (`rheapdump leaks --json`, `analysis.leaks()`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "LeakReport"))]
pub struct Leaks {
  pub baseline: String,
  pub target: String,
  #[serde(rename = "final")]
  pub final_: String,
  /// How objects were matched: by their ids, or (fork snapshots, two processes, renumbered
  /// ids, or when asked) by their retaining paths and classes; then counts and sizes are net
  /// growth per group of objects of one path and class.
  pub matched_by: MatchedBy,
  /// Leaked objects in all, before grouping.
  pub objects: u64,
  /// By class and shape of the retaining path (memlab's clusters), largest retained size first.
  pub groups: Vec<LeakGroup>,
  /// Where the leaked objects accumulate, largest retained size first.
  pub owners: Vec<LeakOwner>,
  /// The leaked objects by the npm package whose code defines their class or function (and
  /// `(app)`, `(node)`, `(unknown)`), largest retained size first.
  pub packages: Vec<PackageRow>,
  /// As in `diff`: why the comparison may mean little; empty for a sound one.
  pub warnings: Vec<String>,
  /// Owners left out because rheapdump's own code holds them (its state, its profiles):
  /// how many, and what they retain in all.
  pub hidden_owners: u64,
  pub hidden_size: u64,
  /// Why some scripts' positions are the generated ones: their source maps could not be used
  /// (one line per script), or the scripts are not on this machine.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub source_map_notes: Option<Vec<String>>,
}

/// The ids of `target` not in `baseline`, both sorted: the objects allocated between them.
pub fn new_ids(baseline: &[u32], target: &[u32]) -> Vec<u32> {
  let mut rest = baseline;
  target
    .iter()
    .copied()
    .filter(|id| {
      // Both ascend: skip the baseline ids below `id`, then see whether it is next.
      rest = &rest[rest.partition_point(|b| b < id)..];
      rest.first() != Some(id)
    })
    .collect()
}

/// Where an object of the last snapshot comes from, by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
  /// In the baseline already.
  Old,
  /// Allocated after the baseline and present in the target: a leak candidate.
  Leaked,
  /// Allocated after the target.
  Newer,
}

/// The ids of the first two snapshots, sorted: `baseline` all of them, `new` those of the
/// target that the baseline lacks ([`new_ids`]); and `reused`, the nodes of the last snapshot
/// (ordinals, sorted) whose id is in `new` but that are not the object that had it.
pub struct History<'a> {
  pub baseline: &'a [u32],
  pub new: &'a [u32],
  pub reused: &'a [u32],
}

impl History<'_> {
  fn age(&self, g: &Graph, node: usize) -> Age {
    let id = g.node_id[node];
    if self.new.binary_search(&id).is_ok() {
      if self.reused.binary_search(&(node as u32)).is_ok() {
        Age::Newer
      } else {
        Age::Leaked
      }
    } else if self.baseline.binary_search(&id).is_ok() {
      Age::Old
    } else {
      Age::Newer
    }
  }
}

/// For every node, the nearest node on its shortest retaining path (itself included) that was
/// in the baseline: where objects allocated since accumulate. NONE where no path is known.
fn accumulation_points(heap: &Heap, history: &History) -> Vec<u32> {
  let g = &heap.graph;
  let n = g.node_count();
  let mut owner = vec![NONE; n];
  let mut chain: Vec<usize> = Vec::new();
  for node in 0..n {
    // Climb until a node whose owner is known or that is its own, then fill in the chain.
    let mut at = node;
    let found = loop {
      if owner[at] != NONE {
        break owner[at];
      }
      if history.age(g, at) == Age::Old {
        break at as u32;
      }
      chain.push(at);
      match heap.parents.of(at) {
        Some((from, _, _)) => at = from,
        None => break NONE,
      }
    };
    if found != NONE {
      owner[at] = found;
    }
    for at in chain.drain(..) {
      owner[at] = found;
    }
  }
  owner
}

/// A leak's location for a person: the owner's own `file:line:column`, or that of the nearest
/// node on its path that has one (the class whose instance holds it, the closure whose context
/// does; a module's file for its exports), with that node's name when it is not the owner. The
/// climb stops at the global object: what leads to it says nothing of the owner.
fn nearest_source(heap: &Heap, node: usize) -> Option<(String, Option<String>)> {
  let g = &heap.graph;
  if let Some(source) = g.source(node) {
    return Some((source, None));
  }
  let mut at = node;
  loop {
    match heap.parents.of(at) {
      Some((from, _, _)) if from != 0 && Some(from as u32) != g.global => at = from,
      _ => return None,
    }
    if let Some(source) = g.source(at) {
      return Some((source, Some(short(&heap.display_name(at)))));
    }
    if let Some(file) = g.module_file(at) {
      return Some((file.to_string(), Some(node_name(heap, at))));
    }
  }
}

/// The name a leaked object is counted under within its owner: its class, or for a closure
/// its function (`pollJob()`, `bound onRates()`), so that the closures of different functions
/// stay apart. `summary --class` and `diff --class` take it too.
pub(super) fn leak_class(heap: &Heap, node: usize) -> String {
  let g = &heap.graph;
  if g.node_type[node] == g.types.closure
    && !heap.display_name(node).is_empty()
    && heap.display_name(node) != "Function"
  {
    format!("{}()", short(&heap.display_name(node)))
  } else {
    label(&g.class_name(node))
  }
}

/// Adds `name` to a group's key: its first bytes and its length.
fn push_key(key: &mut String, name: &str) {
  key.push_str(key_part(name));
  let _ = write!(key, "\u{2}{}", name.len());
}

/// How many edges up from an owner a name by path looks for the global object or a module.
const NAME_DEPTH: usize = 8;

/// An object as its retaining path `steps` names it: from the global object
/// (`global.scheduledTasks`), from a CommonJS module (`module "cron/lib/storage.js"
/// .exports.tasks`) or from the scope of a function (`loggers in the scope of setLevel()`), when
/// one is at most [`NAME_DEPTH`] property, variable or element edges up; None otherwise.
pub fn name_by_path(heap: &Heap, steps: &[Step]) -> Option<String> {
  let g = &heap.graph;
  let global = g.global.map(|node| g.node_id[node as usize]);
  let is_module = |id: u32| {
    g.modules
      .iter()
      .any(|&(node, _)| g.node_id[node as usize] == id)
  };
  let mut parts: Vec<String> = Vec::new();
  let last = steps.len().checked_sub(1)?;
  for at in (last.saturating_sub(NAME_DEPTH)..last).rev() {
    let holder = &steps[at];
    // Cut first: a hostile snapshot names edges by megabyte strings.
    let edge = label(holder.edge.as_deref()?);
    let label = edge.as_str();
    // An element index, `[3]`. A hostile name such as `[` or `[é` is no index, and slicing
    // it by bytes would panic.
    let index = label
      .strip_prefix('[')
      .and_then(|rest| rest.strip_suffix(']'))
      .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    let part = if index {
      label.to_string()
    } else if label.starts_with('{') || label.starts_with("[[") {
      return None;
    } else if !label.is_empty()
      && !label.starts_with(|c: char| c.is_ascii_digit())
      && label
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    {
      format!(".{label}")
    } else {
      format!("[{}]", serde_json::to_string(label).unwrap_or_default())
    };
    parts.push(part);
    let joined = || parts.iter().rev().map(String::as_str).collect::<String>();
    if Some(holder.id) == global {
      return Some(format!("global{}", joined()));
    }
    if is_module(holder.id) {
      return Some(format!("{} {}", holder.node, joined()));
    }
    // A variable of a function's scope: a context, which the closure before it holds.
    let context = holder.node == "system / Context";
    let closure = at.checked_sub(1).map(|before| &steps[before]);
    if let Some(closure) = closure.filter(|c| context && c.edge.as_deref() == Some("{context}")) {
      // An anonymous function has DevTools' class for a name.
      let scope = match closure.node.as_str() {
        "Function" => "an anonymous function".to_string(),
        name => format!("{name}()"),
      };
      return Some(format!(
        "{} in the scope of {scope}",
        joined().trim_start_matches('.')
      ));
    }
  }
  None
}

/// How many classes of an owner's objects the report lists.
const OWNER_CLASSES: usize = 10;

/// Objects allocated after `baseline`, present in `target` and still alive in the heap
/// (memlab's find-leaks), by the object that was in the baseline already and holds them (the
/// owner), and by class and retaining path. `dictionaries`: the nodes whose named properties
/// are keys of a hash table ([`Graph::dictionary_objects`]), whose names do not split a group.
pub fn leaks(
  heap: &Heap,
  history: &History,
  dictionaries: &[u32],
  names: (&str, &str, &str),
  top: usize,
) -> Leaks {
  let g = &heap.graph;
  let t = &g.types;
  let n = g.node_count();
  let owner_of = accumulation_points(heap, history);
  let mut key = vec![NONE; n];
  let mut groups: HashMap<String, u32> = HashMap::new();
  // Groups by class and path shape: (class, count, representative).
  let mut rows: Vec<(String, u64, usize)> = Vec::new();
  // Owners, by node, and their classes, by owner and name: (owner, class, count, representative).
  let mut owner_index: FxHashMap<u32, u32> = FxHashMap::default();
  let mut owners: Vec<OwnerRow> = Vec::new();
  let mut class_index: FxHashMap<(u32, String), u32> = FxHashMap::default();
  let mut classes: Vec<(u32, String, u64, usize)> = Vec::new();
  let mut owner_key = vec![NONE; n];
  let mut class_key = vec![NONE; n];
  let mut growth_key = vec![NONE; n];
  let mut objects = 0u64;
  let mut signature = String::new();
  for node in 1..n {
    let kind = g.node_type[node];
    if g.self_size[node] == 0
      || kind == t.hidden
      || kind == t.code
      || kind == t.synthetic
      || !heap.user_reachable(node)
    {
      continue;
    }
    let age = history.age(g, node);
    let owner = owner_of[node];
    if age == Age::Old || owner == NONE {
      continue;
    }
    let next = owners.len() as u32;
    let o = *owner_index.entry(owner).or_insert_with(|| {
      owners.push(OwnerRow::new(owner as usize));
      next
    });
    if age == Age::Newer {
      owners[o as usize].growth += 1;
      growth_key[node] = o;
      continue;
    }
    objects += 1;
    owners[o as usize].count += 1;
    owner_key[node] = o;
    let next = classes.len() as u32;
    let c = *class_index
      .entry((o, leak_class(heap, node)))
      .or_insert_with_key(|(_, name)| {
        classes.push((o, name.clone(), 0, node));
        next
      });
    classes[c as usize].2 += 1;
    if heap.retained[node] > heap.retained[classes[c as usize].3] {
      classes[c as usize].3 = node;
    }
    class_key[node] = c;

    // Group by class and by the shape of the retaining path: classes and edge names along
    // it, with element indices and the keys of hash tables left out.
    let class = leak_class(heap, node);
    signature.clear();
    // Names are keyed by their start and length: a 32 MB class name costs no more than a short one.
    push_key(&mut signature, &class);
    let mut at = node;
    while heap.distance[at] > 1 {
      let Some((from, kind, name)) = heap.parents.of(at) else {
        break;
      };
      signature.push('\u{0}');
      // Indices differ from one element to the next: leave them out, whether the edge is
      // named by a number (elements) or by a string of digits (hash table slots). So do the
      // keys of a dictionary-mode object, one per cache entry.
      let keyed = kind == t.property && dictionaries.binary_search(&(from as u32)).is_ok();
      match g.name_string(kind, name) {
        Some(name) if !keyed && !name.bytes().all(|b| b.is_ascii_digit()) => {
          push_key(&mut signature, name)
        }
        _ => signature.push_str("[]"),
      }
      at = from;
      if at == 0 {
        break;
      }
      signature.push('\u{1}');
      push_key(&mut signature, &g.class_name(at));
    }
    let group = match groups.get(signature.as_str()) {
      Some(&group) => group,
      None => {
        let group = rows.len() as u32;
        groups.insert(signature.clone(), group);
        rows.push((label(&class), 0, node));
        group
      }
    };
    let row = &mut rows[group as usize];
    row.1 += 1;
    if heap.retained[node] > heap.retained[row.2] {
      row.2 = node;
    }
    key[node] = group;
  }
  drop(owner_of);
  let retained = retained_by_key(heap, &key, rows.len());
  drop(key);
  let mut order: Vec<usize> = (0..rows.len()).collect();
  order.sort_by(|&a, &b| {
    retained[b]
      .cmp(&retained[a])
      .then(rows[b].1.cmp(&rows[a].1))
  });
  if top > 0 {
    order.truncate(top);
  }
  let groups = order
    .into_iter()
    .map(|i| LeakGroup {
      name: rows[i].0.clone(),
      class: label(&g.class_name(rows[i].2)),
      count: rows[i].1,
      retained_size: retained[i],
      package: group_of(g.source(rows[i].2).as_deref()),
      path: from_module(heap, first_path(heap, rows[i].2)),
    })
    .collect();
  let packages = leaked_packages(heap, &owner_key);
  let owners = leak_owners(
    heap,
    owners,
    &classes,
    [&owner_key, &class_key, &growth_key],
    top,
  );
  Leaks {
    baseline: names.0.to_string(),
    target: names.1.to_string(),
    final_: names.2.to_string(),
    matched_by: MatchedBy::Ids,
    objects,
    groups,
    owners,
    packages,
    warnings: Vec::new(),
    hidden_owners: 0,
    hidden_size: 0,
    source_map_notes: None,
  }
}

/// The leaked objects (those with an owner in `owner_key`) by package, largest retained size
/// first.
fn leaked_packages(heap: &Heap, owner_key: &[u32]) -> Vec<PackageRow> {
  let (mut key, names) = package_keys(&heap.graph);
  for (k, &owner) in key.iter_mut().zip(owner_key) {
    if owner == NONE {
      *k = NONE;
    }
  }
  package_rows(heap, &key, names)
}

/// An owner while leaks are counted.
struct OwnerRow {
  node: usize,
  count: u64,
  growth: u64,
}

impl OwnerRow {
  fn new(node: usize) -> OwnerRow {
    OwnerRow {
      node,
      count: 0,
      growth: 0,
    }
  }
}

/// The owners that hold leaked objects, largest retained size first, each with its classes.
/// `keys`: each node's owner row (leaked objects), class row, and owner row (objects newer
/// than the target).
fn leak_owners(
  heap: &Heap,
  rows: Vec<OwnerRow>,
  classes: &[(u32, String, u64, usize)],
  keys: [&[u32]; 3],
  top: usize,
) -> Vec<LeakOwner> {
  let [owner_key, class_key, growth_key] = keys;
  let retained = retained_by_key(heap, owner_key, rows.len());
  let class_retained = retained_by_key(heap, class_key, classes.len());
  let growth_retained = retained_by_key(heap, growth_key, rows.len());
  let mut by_owner: Vec<Vec<OwnerClass>> = (0..rows.len()).map(|_| Vec::new()).collect();
  for (c, (owner, name, count, representative)) in classes.iter().enumerate() {
    by_owner[*owner as usize].push(owner_class(
      heap,
      name.clone(),
      *count,
      class_retained[c],
      *representative,
    ));
  }
  let mut owners: Vec<LeakOwner> = rows
    .into_iter()
    .zip(by_owner)
    .enumerate()
    .filter(|(_, (row, _))| row.count > 0)
    .map(|(o, (row, classes))| {
      let held = Held {
        count: row.count,
        retained_size: retained[o],
        growth_count: row.growth,
        growth_size: growth_retained[o],
      };
      owner_report(heap, row.node, held, classes)
    })
    .collect();
  rank_owners(&mut owners, top);
  owners
}

/// What an owner holds: leaked objects, and what was added after the target.
pub(super) struct Held {
  pub count: u64,
  pub retained_size: u64,
  pub growth_count: u64,
  pub growth_size: u64,
}

/// One class of an owner's leaked objects; `representative`, the largest of them.
pub(super) fn owner_class(
  heap: &Heap,
  name: String,
  count: u64,
  retained_size: u64,
  representative: usize,
) -> OwnerClass {
  let g = &heap.graph;
  OwnerClass {
    name,
    class: label(&g.class_name(representative)),
    count,
    retained_size,
    package: group_of(g.source(representative).as_deref()),
    source: g.source(representative),
    generated: None,
    example: g.node_id[representative],
  }
}

/// The report of the owner `node`: its name, source and path from a root, what it holds, and
/// the largest [`OWNER_CLASSES`] of its classes.
pub(super) fn owner_report(
  heap: &Heap,
  node: usize,
  held: Held,
  mut classes: Vec<OwnerClass>,
) -> LeakOwner {
  let g = &heap.graph;
  top_by(&mut classes, OWNER_CLASSES, |c| i128::from(c.retained_size));
  let (source, source_of) = match nearest_source(heap, node) {
    Some((source, holder)) => (Some(source), holder),
    None => (None, None),
  };
  let path = from_module(heap, first_path(heap, node));
  LeakOwner {
    id: g.node_id[node],
    name: name_by_path(heap, &path)
      .map(|name| short(&name))
      .unwrap_or_else(|| node_name(heap, node)),
    class: label(&g.class_name(node)),
    package: group_of(source.as_deref()),
    source,
    generated: None,
    source_of,
    count: held.count,
    retained_size: held.retained_size,
    growth_count: held.growth_count,
    growth_size: held.growth_size,
    classes,
    path,
  }
}

/// Largest retained size first (then most objects, then the lower id); the first `top` kept,
/// all for 0.
pub(super) fn rank_owners(owners: &mut Vec<LeakOwner>, top: usize) {
  owners.sort_by(|a, b| {
    b.retained_size
      .cmp(&a.retained_size)
      .then(b.count.cmp(&a.count))
      .then(a.id.cmp(&b.id))
  });
  if top > 0 {
    owners.truncate(top);
  }
}

#[cfg(test)]
mod tests {
  use super::{name_by_path, new_ids};
  use crate::report::common::Step;
  use crate::testing::Snapshot;

  /// An owner is named from the global object, a module or a function's scope, by the
  /// property, variable and element edges on its path; an internal edge ends the name.
  #[test]
  fn owners_are_named_by_the_path_that_holds_them() {
    let (mut s, global) = Snapshot::with_global(0);
    let [tasks, module, file, exports, cache, closure, context, loggers, table] = s.nodes([
      ("object", "Map", 32),
      ("object", "Module", 40),
      ("string", "/srv/app/node_modules/cron/lib/storage.js", 16),
      ("object", "Object", 24),
      ("object", "Object", 24),
      ("closure", "setLevel", 32),
      ("hidden", "system / Context", 40),
      ("array", "Array", 16),
      ("array", "(object elements)", 16),
    ]);
    s.edges(&[
      (global, "property", "scheduledTasks", tasks),
      (global, "property", "mod", module),
      (module, "property", "filename", file),
      (module, "property", "exports", exports),
      (exports, "property", "the cache", cache),
      (global, "property", "setLevel", closure),
      (closure, "internal", "context", context),
      (context, "context", "loggers", loggers),
      (loggers, "internal", "elements", table),
    ]);
    let heap = s.heap();
    let name = |path: &[(usize, Option<&str>)]| {
      let steps: Vec<Step> = path
        .iter()
        .map(|&(node, edge)| Step::of(&heap, node, edge.map(str::to_string)))
        .collect();
      name_by_path(&heap, &steps)
    };
    assert_eq!(
      name(&[(global, Some("scheduledTasks")), (tasks, None)]).as_deref(),
      Some("global.scheduledTasks")
    );
    assert_eq!(
      name(&[
        (module, Some("exports")),
        (exports, Some("the cache")),
        (cache, None)
      ])
      .as_deref(),
      Some("module \"cron/lib/storage.js\" .exports[\"the cache\"]")
    );
    assert_eq!(
      name(&[
        (global, Some("setLevel")),
        (closure, Some("{context}")),
        (context, Some("loggers")),
        (loggers, None)
      ])
      .as_deref(),
      Some("loggers in the scope of setLevel()")
    );
    assert_eq!(name(&[(loggers, Some("{elements}")), (table, None)]), None);
    // Element indexes, and names that only look like the start of one: no panic, JSON-quoted.
    let under_global = |edge: &str| name(&[(global, Some(edge)), (tasks, None)]);
    assert_eq!(under_global("[7]").as_deref(), Some("global[7]"));
    for (edge, quoted) in [
      ("[", "[\"[\"]"),
      ("[]", "[\"[]\"]"),
      ("[é", "[\"[é\"]"),
      ("[1x]", "[\"[1x]\"]"),
    ] {
      assert_eq!(
        under_global(edge),
        Some(format!("global{quoted}")),
        "edge {edge:?}"
      );
    }
  }

  #[test]
  fn new_ids_are_the_target_ids_the_baseline_lacks() {
    // Small pseudo-random sorted sets, overlapping in every way, against the definition.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      (seed % 40) as u32
    };
    for _ in 0..2000 {
      let mut set = || {
        let len = next();
        let mut ids: Vec<u32> = (0..len).map(|_| next()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
      };
      let (baseline, target) = (set(), set());
      let expected: Vec<u32> = target
        .iter()
        .copied()
        .filter(|id| baseline.binary_search(id).is_err())
        .collect();
      assert_eq!(
        new_ids(&baseline, &target),
        expected,
        "{baseline:?} {target:?}"
      );
    }
    assert_eq!(new_ids(&[], &[1, 2]), vec![1, 2]);
    assert_eq!(new_ids(&[1, 2], &[]), Vec::<u32>::new());
  }
}
