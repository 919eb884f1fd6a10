//! Comparison by structure, for snapshots whose object ids cannot be matched: fork snapshots
//! (each child numbers objects afresh), two processes of one service, ids renumbered by an
//! inspector session. Eclipse MAT compares JVM dumps this way.
//!
//! Each object gets a *shape*: a hash of its shortest retaining path from the root, normalised
//! as `leaks` groups paths (element indices, digit-named slots, the keys of dictionary-mode
//! objects and of Map and Set tables are left out, and a step that repeats the one before it,
//! as along a linked list, counts once), and of its class. Objects of one shape are
//! one group: the records of an array, the values of a cache, the listeners of an emitter.
//! A group that has more objects in the later snapshot grew; it is held by its *owner*, the
//! nearest object up its path whose own group did not grow (the array, the cache, the
//! emitter), as the id-based report holds new objects by the nearest old one.
//!
//! A path from the root can change while the objects at its end stay where they were: a
//! request in flight during one snapshot holds the service's feed by a shorter path than the
//! timer that holds it the rest of the time, and every object below the feed takes a new
//! shape in that snapshot alone. So each group has a second key, its path from the nearest
//! *anchor* on it: an object that is the only one of its class in the snapshot (the feed of a
//! service, the `memoized` closure of a cache), whose shape is its class alone. The only
//! object of a class is the same object whichever path leads to it. A group is matched to the
//! group of another snapshot on the same path, else to the one on the same path from the same
//! anchor: growth below an anchor is found whatever the path to the anchor was.
//!
//! What this cannot tell: which objects of a group are new (only how many more there are), an
//! object that moved to another path with no anchor between the change and it (it counts as
//! one fewer here and one more there), and growth inside one object (a string or a typed array
//! that got longer). Counts and sizes are net changes per group.

use rustc_hash::FxHashMap;

use crate::heap::Heap;

use super::common::{label, retained_by_key, top_by, NONE};
use super::leaks::{
  leak_class, owner_class, owner_report, rank_owners, Held, LeakGroup, LeakOwner, OwnerClass,
};
use super::packages::group_of;
use super::paths::{first_path, from_module};

/// One snapshot's groups of objects by shape: what a comparison by structure keeps of it.
pub struct Shape {
  /// Per group: its shape, how many objects, what they retain (each counted once) and the
  /// object that retains the most.
  groups: Vec<Group>,
  by_shape: FxHashMap<u64, u32>,
  /// The groups by their shape from the nearest anchor.
  by_anchored: FxHashMap<u64, u32>,
  /// Per node, its group; NONE for nodes left out (no size, V8's internals, unreachable).
  /// Emptied by [`Shape::forget_nodes`] for a snapshot that is not the last.
  node_group: Vec<u32>,
  /// Per node, the retainer its shape was taken from ([`path_shapes`]); emptied with
  /// `node_group`.
  parent: Vec<u32>,
  /// Objects per class, whatever their path.
  class_counts: FxHashMap<u64, u64>,
}

#[derive(Clone, Copy)]
struct Group {
  shape: u64,
  /// The shape of its path from the nearest anchor on it (the shape itself when there is
  /// none): the key it is matched by when no group of the other snapshot has its shape.
  anchored: u64,
  /// The hash of its objects' class (one per group: the class is part of the shape).
  class: u64,
  count: u64,
  retained: u64,
  representative: u32,
}

impl Shape {
  /// The groups of `heap`'s objects (built with its edges). `dictionaries`: the nodes whose named properties are keys
  /// of a hash table ([`crate::graph::Graph::dictionary_objects`], sorted).
  pub fn of(heap: &Heap, dictionaries: &[u32]) -> Shape {
    let g = &heap.graph;
    let t = &g.types;
    let n = g.node_count();
    let grouped = |node: usize| {
      let kind = g.node_type[node];
      g.self_size[node] != 0
        && kind != t.hidden
        && kind != t.code
        && kind != t.synthetic
        && heap.user_reachable(node)
    };
    let mut classes: FxHashMap<(u8, u32, Option<u32>), u64> = FxHashMap::default();
    let mut class_of = |node: usize| {
      *classes
        .entry((g.node_type[node], g.node_name[node], g.interface_of(node)))
        .or_insert_with(|| hash_name(&class_in_shape(heap, node)))
    };
    // Objects and closures of a class with one instance are anchors: by class, the last one
    // of each is kept while counting.
    let mut class_counts: FxHashMap<u64, u64> = FxHashMap::default();
    let mut one_of_class: FxHashMap<u64, u32> = FxHashMap::default();
    for node in (1..n).filter(|&node| grouped(node)) {
      let class = class_of(node);
      *class_counts.entry(class).or_insert(0) += 1;
      let kind = g.node_type[node];
      if kind == t.object || kind == t.closure {
        one_of_class.insert(class, node as u32);
      }
    }
    let anchors: FxHashMap<u32, u64> = one_of_class
      .into_iter()
      .filter(|(class, _)| class_counts[class] == 1)
      .map(|(class, node)| (node, class))
      .collect();
    let (shapes, anchored, parent) = path_shapes(heap, dictionaries, &anchors);
    drop(anchors);
    let mut by_shape: FxHashMap<u64, u32> = FxHashMap::default();
    let mut by_anchored: FxHashMap<u64, u32> = FxHashMap::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut node_group = vec![NONE; n];
    for node in 1..n {
      if shapes[node] == NO_SHAPE || !grouped(node) {
        continue;
      }
      let next = groups.len() as u32;
      let group = *by_shape.entry(shapes[node]).or_insert_with(|| {
        groups.push(Group {
          shape: shapes[node],
          anchored: anchored[node],
          class: class_of(node),
          count: 0,
          retained: 0,
          representative: node as u32,
        });
        by_anchored.entry(anchored[node]).or_insert(next);
        next
      });
      let row = &mut groups[group as usize];
      row.count += 1;
      if heap.retained[node] > heap.retained[row.representative as usize] {
        row.representative = node as u32;
      }
      node_group[node] = group;
    }
    let retained = retained_by_key(heap, &node_group, groups.len());
    for (group, size) in groups.iter_mut().zip(retained) {
      group.retained = size;
    }
    Shape {
      groups,
      by_shape,
      by_anchored,
      node_group,
      parent,
      class_counts,
    }
  }

  /// Keeps only the groups' counts and sizes: all an earlier snapshot contributes.
  pub fn forget_nodes(&mut self) {
    self.node_group = Vec::new();
    self.parent = Vec::new();
  }

  fn class_count(&self, class: u64) -> u64 {
    self.class_counts.get(&class).copied().unwrap_or(0)
  }

  /// The count and retained size of the group that is `other` (a group of another snapshot)
  /// here: the one on the same path, else the one on the same path from the same anchor;
  /// (0, 0) if neither is.
  fn get(&self, other: &Group) -> (u64, u64) {
    self
      .by_shape
      .get(&other.shape)
      .or_else(|| self.by_anchored.get(&other.anchored))
      .map_or((0, 0), |&g| {
        (
          self.groups[g as usize].count,
          self.groups[g as usize].retained,
        )
      })
  }
}

const NO_SHAPE: u64 = 0;
/// Stands for a name left out of a shape (an index, a key).
const FOLDED: u64 = 0x5bd1_e995_u64;
/// Where the shape of an anchor starts, instead of the root's.
const ANCHOR: u64 = 0x9e37_79b9_7f4a_7c15;

/// 64-bit FNV-1a of a name's start and its length: bounded whatever the snapshot holds.
fn hash_name(name: &str) -> u64 {
  let start = &name.as_bytes()[..name.len().min(super::common::LONGEST_NAME)];
  (name.len() as u64)
    .to_le_bytes()
    .iter()
    .chain(start)
    .fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
      (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Combines a path's shape with one more step; never NO_SHAPE.
fn mix(shape: u64, edge: u64, class: u64) -> u64 {
  let mut h = shape ^ edge.rotate_left(21) ^ class.rotate_left(42);
  // splitmix64's finaliser: one step changes every bit of the result.
  h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
  h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
  h ^= h >> 31;
  h | 1
}

/// Each node's shape, its shape from the nearest anchor on its path (`anchors`: node and class
/// hash; with none on the path, the shape itself), and the parent they were taken from (NONE
/// for the root and nodes no path reaches). Of a node's shortest retaining paths the one
/// chosen is the same whatever order the snapshot lists edges in — the distance search keeps
/// whichever it met first, and two processes meet them in different orders: among the
/// retainers one step nearer the root, a property, element or variable edge before V8's
/// internal ones, then the least hash. Needs the edges ([`crate::heap::Keep::Everything`]).
fn path_shapes(
  heap: &Heap,
  dictionaries: &[u32],
  anchors: &FxHashMap<u32, u64>,
) -> (Vec<u64>, Vec<u64>, Vec<u32>) {
  let g = &heap.graph;
  let t = &g.types;
  let n = g.node_count();
  let mut shapes = vec![NO_SHAPE; n];
  let mut anchored = vec![NO_SHAPE; n];
  let mut parent = vec![NONE; n];
  if n == 0 {
    return (shapes, anchored, parent);
  }
  // Each node's last step (the edge to it and its class), hashed.
  let mut steps = vec![0u64; n];
  // The best candidate so far: (internal edge?, shape).
  let mut best: Vec<(bool, u64)> = vec![(true, u64::MAX); n];
  shapes[0] = mix(0, 0, hash_name(g.name(0)));
  anchored[0] = shapes[0];
  // Names are hashed once per string, classes once per (type, name, interface).
  let mut names: Vec<u64> = vec![0; g.strings.len()];
  let mut classes: FxHashMap<(u8, u32, Option<u32>), u64> = FxHashMap::default();
  let edge_kinds: Vec<u64> = t.edge.iter().map(|k| hash_name(k)).collect();
  let mut order: Vec<u32> = (0..n as u32)
    .filter(|&node| heap.distance[node as usize] >= 0 || node == 0)
    .collect();
  order.sort_by_key(|&node| {
    if node == 0 {
      -1
    } else {
      heap.distance[node as usize]
    }
  });
  for &from in &order {
    let from = from as usize;
    if from != 0 {
      if parent[from] == NONE {
        continue;
      }
      shapes[from] = best[from].1;
      // The same steps as the shape, from the anchor instead of the root.
      let up = parent[from] as usize;
      anchored[from] = match anchors.get(&(from as u32)) {
        Some(&class) => mix(ANCHOR, 0, class),
        None if up != 0 && steps[from] == steps[up] => anchored[up],
        None => mix(anchored[up], steps[from], 0),
      };
    }
    let distance = if from == 0 { 0 } else { heap.distance[from] };
    for e in g.edges(from) {
      let kind = g.edge_type[e];
      let to = g.edge_to[e] as usize;
      if kind == t.weak || to == from {
        continue;
      }
      // The root reaches the GC roots and `global` at distances of their own.
      if from != 0 && heap.distance[to] != distance + 1 {
        continue;
      }
      if from == 0 && parent[to] != NONE {
        continue;
      }
      let name = g.edge_name[e];
      let keyed = kind == t.property && dictionaries.binary_search(&(from as u32)).is_ok();
      let edge = match g.name_string(kind, name) {
        Some(text) if !keyed && !text.bytes().all(|b| b.is_ascii_digit()) => {
          let slot = &mut names[name as usize];
          if *slot == 0 {
            *slot = hash_name(text) | 1;
          }
          *slot
        }
        _ => FOLDED,
      };
      let class = *classes
        .entry((g.node_type[to], g.node_name[to], g.interface_of(to)))
        .or_insert_with(|| hash_name(&class_in_shape(heap, to)));
      let step = mix(0, edge ^ edge_kinds[kind as usize].rotate_left(7), class);
      // A step that repeats the one before it (`_idleNext` from a Timeout to a Timeout, `next`
      // along a linked list) leaves the shape as it was: every node of a chain is one group,
      // however far down the chain it sits.
      let shape = if from != 0 && step == steps[from] {
        shapes[from]
      } else {
        mix(shapes[from], step, 0)
      };
      let candidate = (kind == t.internal || kind == t.hidden_edge, shape);
      if candidate < best[to] {
        best[to] = candidate;
        steps[to] = step;
        parent[to] = from as u32;
      }
    }
  }
  (shapes, anchored, parent)
}

/// What a shape calls a node's class: DevTools' class, and for closures the function (so that
/// the listeners of one function stay apart from another's), and for V8's internal arrays and
/// nodes their own name (`(object elements)`, `system / Context`). Strings and numbers are
/// their type only: their name is their value.
fn class_in_shape(heap: &Heap, node: usize) -> String {
  let g = &heap.graph;
  let t = &g.types;
  let kind = g.node_type[node];
  if kind == t.closure || kind == t.hidden || kind == t.array {
    format!(
      "{}\u{0}{}",
      g.type_name(node),
      super::common::key_part(g.name(node))
    )
  } else {
    g.class_name(node).into_owned()
  }
}

/// How a group changed from the first snapshot to the last; with three snapshots, `middle`
/// is the target and the leak is what the target added and the last still holds.
struct Change {
  /// Objects more in the target (or the last) than in the first, still there in the last.
  count: u64,
  retained: i128,
  /// Objects more in the last than in the target: how it went on growing.
  growth_count: u64,
  growth_size: i128,
}

fn change(first: &Shape, middle: Option<&Shape>, group: &Group) -> Change {
  let (first_count, first_size) = first.get(group);
  let (middle_count, middle_size) = middle.map_or((group.count, group.retained), |m| m.get(group));
  let count = middle_count.min(group.count).saturating_sub(first_count);
  Change {
    count,
    retained: i128::from(middle_size) - i128::from(first_size),
    growth_count: group.count.saturating_sub(middle_count),
    growth_size: i128::from(group.retained) - i128::from(middle_size),
  }
}

/// What a comparison by structure finds: the groups that grew and the owners that hold them.
pub struct Grown {
  /// Objects more, over all groups that grew.
  pub objects: u64,
  pub groups: Vec<LeakGroup>,
  pub owners: Vec<LeakOwner>,
}

/// An owner while its groups are added up.
struct OwnerRow {
  node: usize,
  count: u64,
  retained: i128,
  growth_count: u64,
  growth_size: i128,
  classes: FxHashMap<String, (u64, i128, usize)>,
}

/// The groups of `heap` (the last snapshot, `last` its shapes) that have more objects than in
/// `first` (and in `middle`, the target of three), and their owners: the nearest object up the
/// path whose group did not grow. Largest growth of retained size first. `own`: per node,
/// whether it is rheapdump's own state ([`super::rheapdump_objects`]): what grows under it
/// (the profiles it keeps) is left out, as the id-based report leaves its owners out.
pub fn grown(
  heap: &Heap,
  first: &Shape,
  middle: Option<&Shape>,
  last: &Shape,
  own: &[bool],
  top: usize,
) -> Grown {
  let g = &heap.graph;
  let changes: Vec<Change> = last
    .groups
    .iter()
    .map(|group| change(first, middle, group))
    .collect();
  let is_grown = |group: u32| group != NONE && changes[group as usize].count > 0;
  // A group on a path the first snapshot lacks is no accumulation when it holds one object (made
  // once: `process.config` built on first use, a module loaded late) or its class did not grow
  // in number (the same object reached another way since: `process` through another function's
  // scope). What lies below it came with it, and is left out too.
  let is_moved = |group: u32| {
    let row = &last.groups[group as usize];
    first.get(row).0 == 0
      && (row.count == 1 || last.class_count(row.class) <= first.class_count(row.class))
  };

  let mut objects = 0u64;
  let mut rows: Vec<OwnerRow> = Vec::new();
  let mut owner_index: FxHashMap<usize, usize> = FxHashMap::default();
  let mut groups: Vec<LeakGroup> = Vec::new();
  for (index, group) in last.groups.iter().enumerate() {
    let change = &changes[index];
    if change.count == 0 {
      continue;
    }
    let representative = group.representative as usize;
    // Up the path to the first object whose group did not grow; the group's size counts
    // towards the owner only when no grown object lies between (it is counted in that one's).
    let mut at = representative;
    let mut outermost = true;
    let mut moved = is_moved(index as u32);
    let owner = loop {
      match last.parent.get(at) {
        Some(&from) if from != NONE && from != 0 => at = from as usize,
        _ => break None,
      }
      let up = last.node_group[at];
      if up == NONE {
        continue;
      }
      if !is_grown(up) {
        break Some(at);
      }
      moved |= is_moved(up) || own.get(at).copied().unwrap_or(false);
      // Up a chain of the group's own (a linked list) is still the group.
      outermost &= up as usize == index;
    };
    if moved {
      continue;
    }
    objects += change.count;
    groups.push(LeakGroup {
      name: leak_class(heap, representative),
      class: label(&g.class_name(representative)),
      count: change.count,
      retained_size: positive(change.retained),
      package: group_of(g.source(representative).as_deref()),
      path: from_module(heap, first_path(heap, representative)),
    });
    let Some(owner) = owner else {
      continue;
    };
    let next = rows.len();
    let o = *owner_index.entry(owner).or_insert_with(|| {
      rows.push(OwnerRow {
        node: owner,
        count: 0,
        retained: 0,
        growth_count: 0,
        growth_size: 0,
        classes: FxHashMap::default(),
      });
      next
    });
    let row = &mut rows[o];
    row.count += change.count;
    row.growth_count += change.growth_count;
    if outermost {
      row.retained += change.retained;
      row.growth_size += change.growth_size;
    }
    let class = row
      .classes
      .entry(leak_class(heap, representative))
      .or_insert((0, 0, representative));
    class.0 += change.count;
    class.1 += change.retained;
    if heap.retained[representative] > heap.retained[class.2] {
      class.2 = representative;
    }
  }
  top_by(&mut groups, top, |row| i128::from(row.retained_size));
  let mut owners: Vec<LeakOwner> = rows
    .into_iter()
    .filter(|row| row.retained > 0)
    .map(|row| {
      let mut classes: Vec<OwnerClass> = row
        .classes
        .into_iter()
        .map(|(name, (count, retained, representative))| {
          owner_class(heap, name, count, positive(retained), representative)
        })
        .collect();
      // From a hash map: in name order, so that equal sizes rank the same on every run.
      classes.sort_by(|a, b| a.name.cmp(&b.name));
      let held = Held {
        count: row.count,
        retained_size: positive(row.retained),
        growth_count: row.growth_count,
        growth_size: positive(row.growth_size),
      };
      owner_report(heap, row.node, held, classes)
    })
    .collect();
  rank_owners(&mut owners, top);
  Grown {
    objects,
    groups,
    owners,
  }
}

fn positive(size: i128) -> u64 {
  u64::try_from(size.max(0)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
  use super::{grown, Grown, Shape};
  use crate::heap::Heap;
  use crate::testing::Snapshot;

  /// What `diff` (two heaps) or `leaks` (three) finds by structure.
  fn compare(heaps: &[Heap]) -> Grown {
    let shapes: Vec<Shape> = heaps.iter().map(|heap| Shape::of(heap, &[])).collect();
    let last = heaps.last().unwrap();
    let own = vec![false; last.graph.node_count()];
    let middle = (heaps.len() == 3).then(|| &shapes[1]);
    grown(last, &shapes[0], middle, shapes.last().unwrap(), &own, 0)
  }

  /// A service's heap: `listeners` closures, each holding a Payload in its scope, in the
  /// listener array of the service's only Feed, which its timer holds three steps from the
  /// global object. With `in_flight`, a request being served holds the feed too, by a shorter
  /// path: in that snapshot every object below the feed is reached another way.
  fn service(listeners: usize, in_flight: bool) -> Heap {
    let (mut s, global) = Snapshot::with_global(0);
    let [timers, timer, feed, events, array] = s.nodes([
      ("object", "TimersList", 32),
      ("object", "Timeout", 48),
      ("object", "Feed", 40),
      ("object", "Object", 24),
      ("object", "Array", 16),
    ]);
    s.edges(&[
      (global, "property", "timers", timers),
      (timers, "property", "_idleNext", timer),
      (timer, "property", "feed", feed),
      (feed, "property", "_events", events),
      (events, "property", "rates", array),
    ]);
    if in_flight {
      let request = s.node("object", "IncomingMessage", 64);
      s.edges(&[
        (global, "property", "request", request),
        (request, "property", "feed", feed),
      ]);
    }
    for i in 0..listeners {
      let [listener, scope, payload] = s.nodes([
        ("closure", "onRates", 32),
        ("hidden", "system / Context", 24),
        ("object", "Payload", 40),
      ]);
      s.edges(&[
        (array, "element", &i.to_string(), listener),
        (listener, "internal", "context", scope),
        (scope, "context", "payload", payload),
      ]);
    }
    s.heap()
  }

  /// Each owner found: its class, objects, retained size, and objects added after the target.
  fn owners(found: &Grown) -> Vec<(&str, u64, u64, u64)> {
    found
      .owners
      .iter()
      .map(|o| (o.class.as_str(), o.count, o.retained_size, o.growth_count))
      .collect()
  }

  /// A request in flight during one snapshot holds the feed by a shorter path, which gives
  /// every object below the feed another shape there. Matched by their path from the feed (the
  /// only Feed), the listeners that grew are found under their array whichever snapshot that
  /// was, counted as the id-based report counts them.
  #[test]
  fn growth_is_found_below_an_object_whose_path_changed_in_one_snapshot() {
    // A closure, its scope and its Payload: 32 + 24 + 40 bytes.
    const LISTENER: u64 = 96;
    for in_flight in [None, Some(0), Some(1), Some(2)] {
      let heaps: Vec<Heap> = [10, 25, 30]
        .iter()
        .enumerate()
        .map(|(at, &n)| service(n, in_flight == Some(at)))
        .collect();
      let found = compare(&heaps);
      // 15 listeners and their 15 Payloads in the target, 5 and 5 more in the final one.
      assert_eq!(
        owners(&found),
        [("Array", 30, 15 * LISTENER, 10)],
        "a request in flight during snapshot {in_flight:?}"
      );
      let classes: Vec<(&str, u64)> = found.owners[0]
        .classes
        .iter()
        .map(|c| (c.name.as_str(), c.count))
        .collect();
      assert_eq!(classes, [("onRates()", 15), ("Payload", 15)]);
    }
    for in_flight in [None, Some(0), Some(1)] {
      let heaps: Vec<Heap> = [10, 30]
        .iter()
        .enumerate()
        .map(|(at, &n)| service(n, in_flight == Some(at)))
        .collect();
      assert_eq!(
        owners(&compare(&heaps)),
        [("Array", 40, 20 * LISTENER, 0)],
        "diff, a request in flight during snapshot {in_flight:?}"
      );
    }
  }

  /// A heap with an array of 5 Records and a Registry (the only one of its class) whose table
  /// holds `entries` Entries. With `moved`, the array has been handed to another holder, the
  /// registry has moved under `global.services`, and a Config made on first use holds three
  /// objects: nothing there is accumulation.
  fn handed_over(moved: bool, entries: usize) -> Heap {
    let (mut s, global) = Snapshot::with_global(0);
    let [records, registry, table] = s.nodes([
      ("object", "Array", 16),
      ("object", "Registry", 32),
      ("object", "Array", 16),
    ]);
    if moved {
      let [done, services, config] = s.nodes([
        ("object", "Object", 24),
        ("object", "Object", 24),
        ("object", "Config", 32),
      ]);
      s.edges(&[
        (global, "property", "done", done),
        (done, "property", "batch", records),
        (global, "property", "services", services),
        (services, "property", "registry", registry),
        (global, "property", "config", config),
      ]);
      for key in ["variables", "target_defaults", "flags"] {
        let value = s.node("object", "Object", 24);
        s.edge(config, "property", key, value);
      }
    } else {
      s.edges(&[
        (global, "property", "pending", records),
        (global, "property", "registry", registry),
      ]);
    }
    s.edge(registry, "property", "entries", table);
    for i in 0..5 {
      let record = s.node("object", "Record", 40);
      s.edge(records, "element", &i.to_string(), record);
    }
    for i in 0..entries {
      let entry = s.node("object", "Entry", 24);
      s.edge(table, "element", &i.to_string(), entry);
    }
    s.heap()
  }

  /// Objects that moved are no growth, nor is an object made once and what it holds; the
  /// only Registry is the same registry on any path, so entries added to it after it moved
  /// are found, under its table.
  #[test]
  fn objects_that_moved_are_no_growth() {
    let found = compare(&[handed_over(false, 4), handed_over(true, 4)]);
    assert!(found.owners.is_empty(), "{:?}", found.owners);
    assert_eq!(found.objects, 0);
    let found = compare(&[handed_over(false, 4), handed_over(true, 9)]);
    assert_eq!(owners(&found), [("Array", 5, 5 * 24, 0)]);
    assert_eq!(found.owners[0].name, "global.services.registry.entries");
  }

  /// A heap with `records` Records in `global.audit` (an array) and `timers` Timeouts in a
  /// linked list under `global.list`, and a config object that does not change.
  fn heap(records: usize, timers: usize) -> Heap {
    let (mut s, global) = Snapshot::with_global(0);
    // A JS array is an object named Array (its elements store, V8's array, is left out here).
    let [audit, config, list] = s.nodes([
      ("object", "Array", 16),
      ("object", "Config", 32),
      ("object", "TimersList", 32),
    ]);
    s.edges(&[
      (global, "property", "audit", audit),
      (global, "property", "config", config),
      (global, "property", "list", list),
    ]);
    for i in 0..records {
      let record = s.node("object", "Record", 40);
      s.edge(audit, "element", &i.to_string(), record);
      let body = s.node("object", "Body", 24);
      s.edge(record, "property", "body", body);
    }
    let mut at = list;
    for _ in 0..timers {
      let timer = s.node("object", "Timeout", 48);
      s.edge(at, "property", "_idleNext", timer);
      at = timer;
    }
    s.heap()
  }

  /// Records are one group whatever their index, and the timers of a linked list one group
  /// whatever their depth: what grew is found under the array and the list, counted exactly,
  /// and what did not change (the config) is no owner.
  #[test]
  fn growth_is_found_under_the_owner_that_did_not_grow() {
    let before = heap(2, 3);
    let after = heap(5, 7);
    let first = Shape::of(&before, &[]);
    let last = Shape::of(&after, &[]);
    let own = vec![false; after.graph.node_count()];
    let found = grown(&after, &first, None, &last, &own, 0);
    let owner = |class: &str| {
      found
        .owners
        .iter()
        .find(|o| o.class == class)
        .unwrap_or_else(|| panic!("{class} in {:?}", found.owners))
    };
    let audit = owner("Array");
    assert_eq!(audit.name, "global.audit");
    let count = |name: &str| audit.classes.iter().find(|c| c.name == name).unwrap().count;
    assert_eq!((count("Record"), count("Body")), (3, 3));
    assert_eq!(audit.count, 6);
    assert_eq!(audit.retained_size, 3 * (40 + 24));
    let list = owner("TimersList");
    assert_eq!((list.count, list.retained_size), (4, 4 * 48));
    assert_eq!(found.owners.len(), 2, "{:?}", found.owners);
    assert_eq!(found.objects, 10);
  }
}
