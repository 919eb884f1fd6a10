//! The four analyses, as the JSON the CLI prints (a stable contract: see the README).

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use serde::Serialize;

use crate::graph::Graph;
use crate::heap::{Heap, BASE_SYSTEM_DISTANCE, NO_DISTANCE};

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClassRow {
  pub name: String,
  pub count: u64,
  pub shallow_size: u64,
  pub retained_size: u64,
  /// The smallest distance from a GC root of an object in the class (DevTools' Distance);
  /// null when no root reaches any of them.
  pub distance: Option<i64>,
  /// `script_id:line:column` of the constructor, when DevTools tells two classes of the same
  /// name apart by it.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub location: Option<String>,
  /// The same place as `file:line:column`, 1-based as editors count, where the snapshot names
  /// the script.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LargeObject {
  pub id: u32,
  pub name: String,
  #[serde(rename = "type")]
  pub kind: String,
  pub self_size: u64,
  pub retained_size: u64,
  /// `file:line:column` of its function or constructor, where the snapshot tells.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
  pub file: String,
  pub nodes: u64,
  pub edges: u64,
  /// The root's retained size: everything the snapshot holds.
  pub total_size: u64,
  /// By retained size, largest first.
  pub classes: Vec<ClassRow>,
  pub largest: Vec<LargeObject>,
}

/// One step of a retaining path: a node, and the edge from it to the next step (null on the
/// last step, the object itself).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
  pub node: String,
  pub id: u32,
  pub edge: Option<String>,
  /// `file:line:column` (1-based) of the node's function or constructor, where the snapshot
  /// tells.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub source: Option<String>,
}

impl Step {
  fn of(heap: &Heap, node: usize, edge: Option<String>) -> Step {
    Step {
      node: short(&heap.display_name(node)),
      id: heap.graph.node_id[node],
      edge,
      source: heap.graph.source(node),
    }
  }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassDiff {
  pub name: String,
  /// `file:line:column` of the class's constructor, where the snapshot tells.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub source: Option<String>,
  pub new_count: u64,
  pub deleted_count: u64,
  pub delta_count: i64,
  pub alloc_size: u64,
  pub freed_size: u64,
  pub size_delta: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
  pub before: String,
  pub after: String,
  /// By size delta, largest growth first.
  pub classes: Vec<ClassDiff>,
  /// Why the comparison may mean little: files from two processes, given out of order,
  /// with ids renumbered or from two Node versions. Empty for a sound comparison.
  pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeakGroup {
  pub name: String,
  pub count: u64,
  pub retained_size: u64,
  pub path: Vec<Step>,
}

/// Leaked objects of one class held by one owner.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerClass {
  /// The class, or for functions the function's name (`bound onRates`).
  pub name: String,
  pub count: u64,
  pub retained_size: u64,
  /// `file:line:column` of the class's constructor or the function, 1-based.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub source: Option<String>,
  /// The id of the largest of them, for `path`.
  pub example: u32,
}

/// An object that was in the baseline already and holds leaked objects: where they
/// accumulate (a listener array, a cache's table).
#[derive(Debug, Clone, Serialize)]
pub struct LeakOwner {
  pub id: u32,
  pub name: String,
  pub class: String,
  /// `file:line:column` (1-based) of the owner's function or class, or else of the nearest
  /// node on its path that has one: the class of the instance or the closure that holds it.
  pub source: Option<String>,
  /// The node `source` belongs to, by name.
  pub source_of: Option<String>,
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

#[derive(Debug, Clone, Serialize)]
pub struct Leaks {
  pub baseline: String,
  pub target: String,
  #[serde(rename = "final")]
  pub final_: String,
  /// Leaked objects in all, before grouping.
  pub objects: u64,
  /// By class and shape of the retaining path (memlab's clusters), largest retained size first.
  pub groups: Vec<LeakGroup>,
  /// Where the leaked objects accumulate, largest retained size first.
  pub owners: Vec<LeakOwner>,
  /// As in `diff`: why the comparison may mean little; empty for a sound one.
  pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Paths {
  pub file: String,
  pub id: u32,
  pub name: String,
  pub distance: Option<i64>,
  pub paths: Vec<Vec<Step>>,
}

fn distance_of(d: i32) -> Option<i64> {
  (d != NO_DISTANCE).then_some(i64::from(d))
}

/// Sums `retained` over nodes with a key, counting a node only if no node above it in the
/// dominator tree has the same key, so that nothing is counted twice (DevTools'
/// `calculateClassesRetainedSize`).
fn retained_by_key(heap: &Heap, key: &[u32], keys: usize) -> Vec<u64> {
  let n = heap.graph.node_count();
  // Children lists of the dominator tree.
  let mut first = vec![0u32; n + 1];
  for node in 1..n {
    first[heap.dominator[node] as usize + 1] += 1;
  }
  for i in 1..=n {
    first[i] += first[i - 1];
  }
  let mut children = vec![0u32; n.saturating_sub(1)];
  let mut fill = first.clone();
  for node in 1..n {
    let d = heap.dominator[node] as usize;
    children[fill[d] as usize] = node as u32;
    fill[d] += 1;
  }
  drop(fill);
  let mut active = vec![0u32; keys];
  let mut sums = vec![0u64; keys];
  // (node, entering?): on leaving a counted node its key becomes free again.
  let mut stack: Vec<(u32, bool)> = vec![(0, true)];
  while let Some((node, entering)) = stack.pop() {
    let k = key[node as usize];
    if !entering {
      active[k as usize] -= 1;
      continue;
    }
    if k != NONE && active[k as usize] == 0 {
      sums[k as usize] += heap.retained[node as usize];
      active[k as usize] += 1;
      stack.push((node, false));
    }
    for &child in &children[first[node as usize] as usize..first[node as usize + 1] as usize] {
      stack.push((child, true));
    }
  }
  sums
}

/// A class as DevTools keys it: the name, and for objects the constructor's location.
type ClassKey = (String, Option<[u32; 3]>);

/// Class of every node with a shallow size (DevTools leaves size-0 nodes out of its views),
/// as an index into the returned keys.
fn classes_of(graph: &Graph) -> (Vec<u32>, Vec<ClassKey>) {
  // A node's class follows from its type, its name string and (for plain objects) its
  // interface: key on those numbers so that the 2 M nodes of a 170 MB snapshot need no string
  // hashing, and build each name once.
  let mut by_code: FxHashMap<(u64, Option<[u32; 3]>), u32> = FxHashMap::default();
  let mut ids: FxHashMap<ClassKey, u32> = FxHashMap::default();
  let mut keys = Vec::new();
  let t = &graph.types;
  let key = (0..graph.node_count())
    .map(|node| {
      if graph.self_size[node] == 0 {
        return NONE;
      }
      let kind = graph.node_type[node];
      let location = if kind == t.object {
        graph.location(node)
      } else {
        None
      };
      let code = if kind == t.object || kind == t.native {
        match graph.interface_of(node) {
          Some(interface) => (1 << 40) | u64::from(interface),
          None => u64::from(graph.node_name[node]),
        }
      } else {
        (2 << 40) | u64::from(kind)
      };
      *by_code.entry((code, location)).or_insert_with(|| {
        let class = (graph.class_name(node).into_owned(), location);
        *ids.entry(class).or_insert_with_key(|class| {
          keys.push(class.clone());
          keys.len() as u32 - 1
        })
      })
    })
    .collect();
  (key, keys)
}

fn location_text(location: Option<[u32; 3]>) -> Option<String> {
  location.map(|[script, line, column]| format!("{script}:{line}:{column}"))
}

/// Sorts by `size` descending and keeps the first `top` (all if `top` is 0).
fn top_by<T>(rows: &mut Vec<T>, top: usize, size: impl Fn(&T) -> i128) {
  rows.sort_by_key(|row| std::cmp::Reverse(size(row)));
  if top > 0 {
    rows.truncate(top);
  }
}

pub fn summary(heap: &Heap, file: &str, top: usize) -> Summary {
  let g = &heap.graph;
  let (key, names) = classes_of(g);
  let mut rows: Vec<ClassRow> = names
    .iter()
    .map(|(name, location)| ClassRow {
      name: name.clone(),
      count: 0,
      shallow_size: 0,
      retained_size: 0,
      distance: None,
      location: location_text(*location),
      source: location.and_then(|l| g.source_at(l)),
    })
    .collect();
  let mut min_distance = vec![i32::MAX; names.len()];
  for node in 0..g.node_count() {
    let k = key[node];
    if k == NONE {
      continue;
    }
    let row = &mut rows[k as usize];
    row.count += 1;
    row.shallow_size += u64::from(g.self_size[node]);
    min_distance[k as usize] = min_distance[k as usize].min(heap.distance[node]);
  }
  let retained = retained_by_key(heap, &key, names.len());
  for (i, row) in rows.iter_mut().enumerate() {
    row.retained_size = retained[i];
    row.distance = distance_of(min_distance[i]);
  }
  top_by(&mut rows, top, |r| i128::from(r.retained_size));

  let mut largest: Vec<u32> = (1..g.node_count() as u32)
    .filter(|&n| g.node_type[n as usize] != g.types.synthetic)
    .collect();
  // Every class can be worth listing (--top 0); every object is not: 20 then.
  let keep = if top == 0 { 20 } else { top }.min(largest.len());
  let by_retained = |a: &u32, b: &u32| {
    heap.retained[*b as usize]
      .cmp(&heap.retained[*a as usize])
      .then(g.node_id[*a as usize].cmp(&g.node_id[*b as usize]))
  };
  if keep > 0 && keep < largest.len() {
    largest.select_nth_unstable_by(keep - 1, by_retained);
    largest.truncate(keep);
  }
  largest.sort_by(by_retained);
  let largest = largest
    .into_iter()
    .map(|n| {
      let n = n as usize;
      LargeObject {
        id: g.node_id[n],
        name: short(&heap.display_name(n)),
        kind: g.type_name(n).to_string(),
        self_size: u64::from(g.self_size[n]),
        retained_size: heap.retained[n],
        source: g.source(n),
      }
    })
    .collect();
  Summary {
    file: file.to_string(),
    nodes: g.node_count() as u64,
    edges: g.edge_count() as u64,
    total_size: heap.retained[0],
    classes: rows,
    largest,
  }
}

/// One object of a class (`summary --class`, `diff --class`).
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
  pub id: u32,
  pub name: String,
  pub self_size: u64,
  pub retained_size: u64,
  pub distance: Option<i64>,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub source: Option<String>,
}

/// The objects of one class, largest retained size first.
#[derive(Debug, Clone, Serialize)]
pub struct Instances {
  pub file: String,
  /// With `diff --class`: the earlier snapshot; only objects it lacks are listed.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub before: Option<String>,
  pub class: String,
  /// All of them (before `--top`), and their shallow size.
  pub count: u64,
  pub shallow_size: u64,
  pub instances: Vec<Instance>,
  /// With `diff --class`, as in `diff`; empty for a sound comparison.
  pub warnings: Vec<String>,
}

/// The objects of class `class` (as the Summary names classes; a function also by its own
/// name), largest retained size first, the first `top` (all if 0). With `before` (sorted ids
/// of an earlier snapshot of the process), only those allocated since.
pub fn instances(
  heap: &Heap,
  file: &str,
  class: &str,
  before: Option<(&str, &[u32])>,
  top: usize,
) -> Instances {
  let g = &heap.graph;
  let mut nodes: Vec<usize> = (1..g.node_count())
    .filter(|&node| g.self_size[node] > 0)
    .filter(|&node| {
      g.class_name(node) == class || (g.node_type[node] == g.types.closure && g.name(node) == class)
    })
    .filter(|&node| before.is_none_or(|(_, ids)| ids.binary_search(&g.node_id[node]).is_err()))
    .collect();
  let count = nodes.len() as u64;
  let shallow_size = nodes.iter().map(|&n| u64::from(g.self_size[n])).sum();
  nodes.sort_by(|&a, &b| {
    heap.retained[b]
      .cmp(&heap.retained[a])
      .then(g.node_id[a].cmp(&g.node_id[b]))
  });
  if top > 0 {
    nodes.truncate(top);
  }
  Instances {
    file: file.to_string(),
    before: before.map(|(name, _)| name.to_string()),
    class: class.to_string(),
    count,
    shallow_size,
    instances: nodes
      .into_iter()
      .map(|n| Instance {
        id: g.node_id[n],
        name: short(&heap.display_name(n)),
        self_size: u64::from(g.self_size[n]),
        retained_size: heap.retained[n],
        distance: distance_of(heap.distance[n]),
        source: g.source(n),
      })
      .collect(),
    warnings: Vec::new(),
  }
}

/// Names are shown on one line: long strings (source code, JSON) are cut.
fn short(name: &str) -> String {
  const MAX: usize = 80;
  let flat: String = name
    .chars()
    .map(|c| if c.is_control() { ' ' } else { c })
    .take(MAX + 1)
    .collect();
  if flat.chars().count() > MAX {
    let cut: String = flat.chars().take(MAX - 1).collect();
    format!("{cut}…")
  } else {
    flat
  }
}

/// Per class, the ids and shallow sizes of its objects, sorted by id: what DevTools' Comparison
/// view matches two snapshots by.
pub struct ClassMembers {
  pub by_class: HashMap<ClassKey, Vec<(u32, u32)>>,
  /// `file:line:column` of the classes that have a location.
  pub sources: HashMap<ClassKey, String>,
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
  ClassMembers { by_class, sources }
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

pub fn diff(before: &ClassMembers, after: &ClassMembers, names: (&str, &str), top: usize) -> Diff {
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
    let (mut i, mut j) = (0, 0);
    let mut row = ClassDiff {
      name: name.0.clone(),
      source: after
        .sources
        .get(name)
        .or_else(|| before.sources.get(name))
        .cloned(),
      new_count: 0,
      deleted_count: 0,
      delta_count: 0,
      alloc_size: 0,
      freed_size: 0,
      size_delta: 0,
    };
    while i < old.len() || j < new.len() {
      if j == new.len() || (i < old.len() && old[i].0 < new[j].0) {
        row.deleted_count += 1;
        row.freed_size += u64::from(old[i].1);
        i += 1;
      } else if i == old.len() || new[j].0 < old[i].0 {
        row.new_count += 1;
        row.alloc_size += u64::from(new[j].1);
        j += 1;
      } else {
        i += 1;
        j += 1;
      }
    }
    if row.new_count == 0 && row.deleted_count == 0 {
      continue;
    }
    row.delta_count = row.new_count as i64 - row.deleted_count as i64;
    row.size_delta = row.alloc_size as i64 - row.freed_size as i64;
    classes.push(row);
  }
  classes.sort_by(|a, b| a.name.cmp(&b.name));
  top_by(&mut classes, top, |r| i128::from(r.size_delta));
  Diff {
    before: names.0.to_string(),
    after: names.1.to_string(),
    classes,
    warnings: Vec::new(),
  }
}

/// The shortest retaining path DevTools' distance search found to `node`, from the user root
/// (or the system root) down to the node.
fn first_path(heap: &Heap, node: usize) -> Vec<Step> {
  let mut steps = vec![Step::of(heap, node, None)];
  let mut at = node;
  while let Some((from, kind, name)) = heap.parents.of(at) {
    if from == 0 {
      break;
    }
    steps.push(Step::of(heap, from, Some(heap.graph.label(kind, name))));
    at = from;
  }
  steps.reverse();
  steps
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
/// does), with that node's name.
fn nearest_source(heap: &Heap, node: usize) -> Option<(String, String)> {
  let mut at = node;
  loop {
    if let Some(source) = heap.graph.source(at) {
      return Some((source, short(&heap.display_name(at))));
    }
    match heap.parents.of(at) {
      Some((from, _, _)) if from != 0 => at = from,
      _ => return None,
    }
  }
}

/// The name a leaked object is counted under within its owner: its class, or for a function
/// its own name (`bound onRates`), so that the closures of different functions stay apart.
fn owner_class(heap: &Heap, node: usize) -> String {
  let g = &heap.graph;
  if g.node_type[node] == g.types.closure {
    short(&heap.display_name(node))
  } else {
    g.class_name(node).into_owned()
  }
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
      .entry((o, owner_class(heap, node)))
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
    let class = g.class_name(node);
    signature.clear();
    signature.push_str(&class);
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
          signature.push_str(name)
        }
        _ => signature.push_str("[]"),
      }
      at = from;
      if at == 0 {
        break;
      }
      signature.push('\u{1}');
      signature.push_str(&g.class_name(at));
    }
    let group = match groups.get(signature.as_str()) {
      Some(&group) => group,
      None => {
        let group = rows.len() as u32;
        groups.insert(signature.clone(), group);
        rows.push((class.into_owned(), 0, node));
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
      count: rows[i].1,
      retained_size: retained[i],
      path: first_path(heap, rows[i].2),
    })
    .collect();
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
    objects,
    groups,
    owners,
    warnings: Vec::new(),
  }
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
  let g = &heap.graph;
  let [owner_key, class_key, growth_key] = keys;
  let retained = retained_by_key(heap, owner_key, rows.len());
  let class_retained = retained_by_key(heap, class_key, classes.len());
  let growth_retained = retained_by_key(heap, growth_key, rows.len());
  let mut by_owner: Vec<Vec<OwnerClass>> = (0..rows.len()).map(|_| Vec::new()).collect();
  for (c, (owner, name, count, representative)) in classes.iter().enumerate() {
    by_owner[*owner as usize].push(OwnerClass {
      name: name.clone(),
      count: *count,
      retained_size: class_retained[c],
      source: g.source(*representative),
      example: g.node_id[*representative],
    });
  }
  let mut owners: Vec<LeakOwner> = rows
    .into_iter()
    .zip(by_owner)
    .enumerate()
    .filter(|(_, (row, _))| row.count > 0)
    .map(|(o, (row, mut classes))| {
      top_by(&mut classes, OWNER_CLASSES, |c| i128::from(c.retained_size));
      let node = row.node;
      let (source, source_of) = match nearest_source(heap, node) {
        Some((source, name)) => (Some(source), Some(name)),
        None => (None, None),
      };
      LeakOwner {
        id: g.node_id[node],
        name: short(&heap.display_name(node)),
        class: g.class_name(node).into_owned(),
        source,
        source_of,
        count: row.count,
        retained_size: retained[o],
        growth_count: row.growth,
        growth_size: growth_retained[o],
        classes,
        path: first_path(heap, node),
      }
    })
    .collect();
  owners.sort_by(|a, b| {
    b.retained_size
      .cmp(&a.retained_size)
      .then(b.count.cmp(&a.count))
      .then(a.id.cmp(&b.id))
  });
  if top > 0 {
    owners.truncate(top);
  }
  owners
}

/// The node an edge comes from: edges are stored by source, so the source is the last node
/// whose first edge is at or before it.
fn source_of(graph: &Graph, edge: usize) -> usize {
  let e = edge as u32;
  graph.first_edge[..graph.node_count()]
    .partition_point(|&f| f <= e)
    .saturating_sub(1)
}

/// Each node's retaining edges, by target.
struct Retainers {
  first: Vec<u32>,
  edges: Vec<u32>,
}

impl Retainers {
  fn new(g: &Graph) -> Retainers {
    let n = g.node_count();
    let mut first = vec![0u32; n + 1];
    for &to in &g.edge_to {
      first[to as usize + 1] += 1;
    }
    for i in 1..=n {
      first[i] += first[i - 1];
    }
    let mut edges = vec![0u32; g.edge_count()];
    let mut fill = first.clone();
    for (edge, &to) in g.edge_to.iter().enumerate() {
      edges[fill[to as usize] as usize] = edge as u32;
      fill[to as usize] += 1;
    }
    Retainers { first, edges }
  }

  /// The edges into `node`, each with its source.
  fn of<'a>(&'a self, g: &'a Graph, node: usize) -> impl Iterator<Item = (usize, usize)> + 'a {
    let edges = &self.edges[self.first[node] as usize..self.first[node + 1] as usize];
    edges
      .iter()
      .map(move |&e| (e as usize, source_of(g, e as usize)))
  }
}

/// A path as (node, edge to the next node) from a root's child down to the object.
type Hops = Vec<(usize, Option<usize>)>;

fn steps_of(heap: &Heap, hops: &Hops) -> Vec<Step> {
  hops
    .iter()
    .map(|&(node, edge)| Step::of(heap, node, edge.map(|e| heap.graph.edge_label(e))))
    .collect()
}

/// rheapdump's own objects in the heap it analyses: what an edge named for it leads to (the
/// state it keeps on `process` under `Symbol(rheapdump.shared)`, its modules). A path through
/// them is true but misleads, as if rheapdump held what the application holds. The objects are
/// marked rather than the edges: `process` also reaches its state through its property store.
pub fn rheapdump_objects(g: &Graph) -> Vec<bool> {
  let named: Vec<bool> = (0..g.strings.len())
    .map(|s| g.strings.get(s as u32).contains("rheapdump"))
    .collect();
  let mut marked = vec![false; g.node_count()];
  for e in 0..g.edge_count() {
    if !g.types.edge_named_by_index(g.edge_type[e]) && named[g.edge_name[e] as usize] {
      marked[g.edge_to[e] as usize] = true;
    }
  }
  marked
}

/// Breadth-first from the user roots (distance 1) over strong edges, never entering `blocked`
/// nodes nor, if given, `avoided` ones: each node's parent edge.
fn search(heap: &Heap, blocked: &[bool], avoided: Option<&[bool]>) -> Vec<u32> {
  let g = &heap.graph;
  let n = g.node_count();
  let mut parent = vec![NONE; n];
  let mut seen = vec![false; n];
  let avoid = |node: usize| blocked[node] || avoided.is_some_and(|a| a[node]);
  let mut queue: std::collections::VecDeque<usize> = (1..n)
    .filter(|&node| heap.distance[node] == 1 && !avoid(node))
    .collect();
  for &node in &queue {
    seen[node] = true;
  }
  while let Some(at) = queue.pop_front() {
    for e in g.edges(at) {
      let to = g.edge_to[e] as usize;
      if seen[to] || avoid(to) || g.edge_type[e] == g.types.weak {
        continue;
      }
      seen[to] = true;
      parent[to] = e as u32;
      queue.push_back(to);
    }
  }
  parent
}

/// The path `search` found to `node`, from its root's child, or None if it found none.
fn found_path(heap: &Heap, parent: &[u32], node: usize) -> Option<Hops> {
  let g = &heap.graph;
  let mut hops = vec![(node, None)];
  let mut at = node;
  // The search starts from the nodes at distance 1; every other node it reached has a parent.
  while heap.distance[at] != 1 {
    let e = parent[at];
    if e == NONE {
      return None;
    }
    at = source_of(g, e as usize);
    hops.push((at, Some(e as usize)));
  }
  hops.reverse();
  Some(hops)
}

/// Up to `max` retaining paths to `node` that differ where it matters: each through another
/// retainer of the object or, where the object has one retainer only, of the nearest object
/// above it that has several. Shortest first; each avoids rheapdump's own objects where it can,
/// and those that cannot come after all others. Empty when no user root reaches the node.
fn distinct_paths(heap: &Heap, retainers: &Retainers, node: usize, max: usize) -> Vec<Vec<Step>> {
  let g = &heap.graph;
  let usable = |e: usize, from: usize| {
    g.edge_type[e] != g.types.weak && from != 0 && heap.user_reachable(from)
  };
  // Up the chain of single retainers: the part every path shares.
  let mut blocked = vec![false; g.node_count()];
  let mut suffix: Hops = vec![(node, None)];
  let mut at = node;
  blocked[at] = true;
  let branches = loop {
    let mut retaining: Vec<(usize, usize)> = retainers
      .of(g, at)
      .filter(|&(e, from)| usable(e, from) && !blocked[from])
      .collect();
    retaining.sort_by_key(|&(e, from)| (from, e));
    retaining.dedup_by_key(|r| r.1);
    if retaining.len() == 1 && heap.distance[at] != 1 {
      let (e, from) = retaining[0];
      suffix.push((from, Some(e)));
      at = from;
      blocked[at] = true;
      continue;
    }
    break retaining;
  };
  suffix.reverse();
  if heap.distance[at] == 1 || branches.is_empty() {
    return vec![steps_of(heap, &suffix)];
  }
  // Where the branches join: shortest paths to each retainer of `at` that do not run through
  // the shared part, preferably not through rheapdump's objects either.
  let clean = search(heap, &blocked, Some(&rheapdump_objects(g)));
  let mut candidates: Vec<(bool, usize, u32, Hops)> = Vec::new();
  let mut any = None;
  for &(e, from) in &branches {
    let (through_rheapdump, hops) = match found_path(heap, &clean, from) {
      Some(hops) => (false, hops),
      None => {
        let parent = any.get_or_insert_with(|| search(heap, &blocked, None));
        match found_path(heap, parent, from) {
          Some(hops) => (true, hops),
          None => continue,
        }
      }
    };
    // A retainer reached only through another (an array's elements store, an object's
    // property store, both of which V8 lists beside the holder's own edge) adds nothing.
    if hops[..hops.len() - 1]
      .iter()
      .any(|&(node, _)| branches.iter().any(|&(_, other)| other == node))
    {
      continue;
    }
    let mut hops = hops;
    hops.last_mut().unwrap().1 = Some(e);
    hops.extend_from_slice(&suffix);
    candidates.push((through_rheapdump, hops.len(), g.node_id[from], hops));
  }
  candidates.sort_by_key(|c| (c.0, c.1, c.2));
  candidates.truncate(max);
  candidates
    .iter()
    .map(|(_, _, _, hops)| steps_of(heap, hops))
    .collect()
}

/// For each id, a shortest retaining path that avoids rheapdump's own objects where one
/// exists ([`distinct_paths`]); None for an id no user root reaches or no node has.
pub fn clean_paths(heap: &Heap, ids: &[u32]) -> Vec<Option<Vec<Step>>> {
  let g = &heap.graph;
  let retainers = Retainers::new(g);
  ids
    .iter()
    .map(|&id| {
      let node = g.node_id.iter().position(|&i| i == id)?;
      if node == 0 || !heap.user_reachable(node) {
        return None;
      }
      distinct_paths(heap, &retainers, node, 1).into_iter().next()
    })
    .collect()
}

/// Up to `max` retaining paths from the GC roots to the node with `id`: distinct ones
/// ([`distinct_paths`]) for what a user root reaches, the shortest ones for the rest.
pub fn paths(heap: &Heap, file: &str, id: u32, max: usize) -> Option<Paths> {
  let g = &heap.graph;
  let node = g.node_id.iter().position(|&i| i == id)?;
  let name = short(&heap.display_name(node));
  let distance = heap.distance[node];
  let mut result = Paths {
    file: file.to_string(),
    id,
    name,
    distance: distance_of(distance),
    paths: Vec::new(),
  };
  if distance == NO_DISTANCE || node == 0 || max == 0 {
    return Some(result);
  }
  let retainers = Retainers::new(g);
  if heap.user_reachable(node) {
    result.paths = distinct_paths(heap, &retainers, node, max);
    return Some(result);
  }
  let root_distance = |d: i32| d == 1 || d == BASE_SYSTEM_DISTANCE + 1;
  // Depth-first over "one step nearer" retainers, collecting up to `max` paths.
  let mut stack: Vec<(usize, Vec<(usize, usize)>)> = vec![(node, Vec::new())];
  while let Some((at, tail)) = stack.pop() {
    if result.paths.len() >= max {
      break;
    }
    let d = heap.distance[at];
    if root_distance(d) {
      let mut steps: Vec<Step> = vec![Step::of(heap, at, None)];
      for &(edge, to) in tail.iter().rev() {
        steps.last_mut().unwrap().edge = Some(g.edge_label(edge));
        steps.push(Step::of(heap, to, None));
      }
      result.paths.push(steps);
      continue;
    }
    let mut nearer: Vec<(usize, usize)> = retainers
      .of(g, at)
      .filter(|&(e, from)| {
        g.edge_type[e] != g.types.weak && from != 0 && heap.distance[from] == d - 1
      })
      .collect();
    nearer.sort_by_key(|&(e, from)| (std::cmp::Reverse(g.node_id[from]), e));
    for (edge, from) in nearer {
      let mut next = tail.clone();
      next.push((edge, at));
      stack.push((from, next));
    }
  }
  Some(result)
}

#[cfg(test)]
mod tests {
  use super::new_ids;

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
