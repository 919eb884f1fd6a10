//! The graph's columns and what they say about a node or an edge: names, classes, labels,
//! sources.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::parse::{enum_names, Meta};

/// The strings of a snapshot, back to back.
#[derive(Debug, Default)]
pub struct Strings {
  text: String,
  ends: Vec<usize>,
}

impl Strings {
  pub fn len(&self) -> usize {
    self.ends.len()
  }

  pub fn is_empty(&self) -> bool {
    self.ends.is_empty()
  }

  /// String `index`, in constant time: slicing a `String` checks only that both ends fall on
  /// character boundaries, which they do (each string was pushed whole). Validating the bytes
  /// on every call instead took hours on a snapshot whose every node is named by one 32 MB string.
  pub fn get(&self, index: u32) -> &str {
    let index = index as usize;
    let start = if index == 0 { 0 } else { self.ends[index - 1] };
    &self.text[start..self.ends[index]]
  }

  pub fn push(&mut self, text: &str) -> u32 {
    self.text.push_str(text);
    self.ends.push(self.text.len());
    (self.ends.len() - 1) as u32
  }
}

/// A node or edge type that the snapshot may not declare.
pub(super) const ABSENT: u8 = u8::MAX;

/// The node and edge type numbers the analyses look at, as this snapshot's `meta` numbers them.
#[derive(Debug, Clone)]
pub struct Types {
  pub node: Vec<String>,
  /// `(type)` for each node type: the class DevTools files nodes of no other class under.
  pub class: Vec<String>,
  pub edge: Vec<String>,
  pub hidden: u8,
  pub array: u8,
  pub object: u8,
  pub code: u8,
  pub closure: u8,
  pub regexp: u8,
  pub native: u8,
  pub synthetic: u8,
  pub element: u8,
  pub hidden_edge: u8,
  pub internal: u8,
  pub shortcut: u8,
  pub weak: u8,
  pub property: u8,
}

/// Before the header is read: no type declared.
impl Default for Types {
  fn default() -> Types {
    Types {
      node: Vec::new(),
      class: Vec::new(),
      edge: Vec::new(),
      hidden: ABSENT,
      array: ABSENT,
      object: ABSENT,
      code: ABSENT,
      closure: ABSENT,
      regexp: ABSENT,
      native: ABSENT,
      synthetic: ABSENT,
      element: ABSENT,
      hidden_edge: ABSENT,
      internal: ABSENT,
      shortcut: ABSENT,
      weak: ABSENT,
      property: ABSENT,
    }
  }
}

impl Types {
  pub(super) fn new(meta: &Meta, node_type: usize, edge_type: usize) -> Types {
    let node = enum_names(&meta.node_types, node_type);
    let edge = enum_names(&meta.edge_types, edge_type);
    let find = |names: &[String], name: &str| {
      names
        .iter()
        .position(|n| n == name)
        .map_or(ABSENT, |i| i as u8)
    };
    Types {
      hidden: find(&node, "hidden"),
      array: find(&node, "array"),
      object: find(&node, "object"),
      code: find(&node, "code"),
      closure: find(&node, "closure"),
      regexp: find(&node, "regexp"),
      native: find(&node, "native"),
      synthetic: find(&node, "synthetic"),
      element: find(&edge, "element"),
      hidden_edge: find(&edge, "hidden"),
      internal: find(&edge, "internal"),
      shortcut: find(&edge, "shortcut"),
      weak: find(&edge, "weak"),
      property: find(&edge, "property"),
      class: node.iter().map(|t| format!("({t})")).collect(),
      node,
      edge,
    }
  }

  /// Element and hidden edges are named by a number, the others by a string index.
  pub fn edge_named_by_index(&self, edge_type: u8) -> bool {
    edge_type == self.element || edge_type == self.hidden_edge
  }
}

#[derive(Debug, Default)]
pub struct Graph {
  pub types: Types,
  pub node_type: Vec<u8>,
  pub node_name: Vec<u32>,
  pub node_id: Vec<u32>,
  pub self_size: Vec<u32>,
  /// DOM link state of embedder nodes (0 unknown, 1 attached, 2 detached); empty when the
  /// snapshot has no `detachedness` field.
  pub detachedness: Vec<u8>,
  /// Edges of node `i` are `first_edge[i]..first_edge[i + 1]`.
  pub first_edge: Vec<u32>,
  pub edge_type: Vec<u8>,
  pub edge_name: Vec<u32>,
  /// Target node ordinal.
  pub edge_to: Vec<u32>,
  pub strings: Strings,
  /// Where the constructor of an object is defined, by node ordinal (sorted):
  /// (ordinal, script id, line, column).
  pub locations: Vec<[u32; 4]>,
  /// The interface name (`{a, b, c}`) DevTools gives plain objects, by node ordinal (sorted),
  /// as an index into `interface_names`; set by [`crate::heap::Heap::new`].
  pub interfaces: Vec<(u32, u32)>,
  pub interface_names: Vec<String>,
  /// The URL of each script a location names, by script id (sorted): (script id, string index).
  pub scripts: Vec<(u32, u32)>,
  /// Bound functions (`f.bind(x)`) and the function each binds, by node ordinal (sorted).
  pub bound_functions: Vec<(u32, u32)>,
  /// CommonJS `Module` objects and the string index of their `filename`, by node ordinal
  /// (sorted): a retaining path through `require.cache` names the module, not `Module`.
  pub modules: Vec<(u32, u32)>,
  /// The global object's ordinal (`global`, the user root's child), if there is one.
  pub global: Option<u32>,
  /// How many edges the snapshot has, also once they are released.
  pub(crate) edges: usize,
}

impl Graph {
  /// The source location DevTools files an object's class under, if the snapshot has one.
  pub fn location(&self, node: usize) -> Option<[u32; 3]> {
    let found = self
      .locations
      .binary_search_by_key(&(node as u32), |l| l[0])
      .ok()?;
    let [_, script, line, column] = self.locations[found];
    Some([script, line, column])
  }

  /// Where the node's function or constructor is written, as editors count (1-based):
  /// `/srv/app/cache.js:12:3`; None when the snapshot has no location for it or does not
  /// name its script.
  /// A bound function has the source of the function it binds.
  pub fn source(&self, node: usize) -> Option<String> {
    let location = self
      .location(node)
      .or_else(|| self.location(self.bound_target(node)?))?;
    self.source_at(location)
  }

  /// The function a bound function (`f.bind(x)`, a closure named `native_bind`) calls.
  pub fn bound_target(&self, node: usize) -> Option<usize> {
    let found = self
      .bound_functions
      .binary_search_by_key(&(node as u32), |b| b.0)
      .ok()?;
    Some(self.bound_functions[found].1 as usize)
  }

  /// Finds what each bound function binds (its `bound_function` edge), while the edges are
  /// there: a listener added with `this.onRates.bind(this)` is then `bound onRates`, at
  /// `onRates`'s source.
  pub(super) fn find_bound_functions(&mut self) {
    let t = &self.types;
    let bound = (0..self.node_count())
      .filter(|&node| self.node_type[node] == t.closure)
      .filter_map(|node| {
        self
          .edges(node)
          .find(|&e| {
            self.edge_type[e] == t.internal
              && self.strings.get(self.edge_name[e]) == "bound_function"
          })
          .map(|e| (node as u32, self.edge_to[e]))
      })
      .collect();
    self.bound_functions = bound;
  }

  /// Finds every CommonJS `Module` object's `filename` and the global object, while the edges
  /// are there.
  pub(super) fn find_modules(&mut self) {
    let t = &self.types;
    let string = |node: usize| self.type_name(node).contains("string");
    let modules = (0..self.node_count())
      .filter(|&node| self.node_type[node] == t.object && self.name(node) == "Module")
      .filter_map(|node| {
        self
          .edges(node)
          .find(|&e| {
            self.edge_type[e] == t.property && self.strings.get(self.edge_name[e]) == "filename"
          })
          .map(|e| self.edge_to[e] as usize)
          .filter(|&file| string(file) && !self.name(file).is_empty())
          .map(|file| (node as u32, self.node_name[file]))
      })
      .collect();
    self.modules = modules;
    // V8 names Node's global object `global` (`global (global*)` on Node 26), one step below the
    // synthetic root, or (Node 26) behind the native context the root leads to.
    if self.node_count() == 0 {
      return;
    }
    let named_global = |node: usize| {
      let name = self.name(node);
      self.node_type[node] == t.object && (name == "global" || name.starts_with("global "))
    };
    let near_root = self.edges(0).map(|e| self.edge_to[e] as usize);
    let behind_context = near_root.clone().flat_map(|child| {
      self
        .edges(child)
        .filter(|&e| {
          !t.edge_named_by_index(self.edge_type[e])
            && self.strings.get(self.edge_name[e]) == "global_object"
        })
        .map(|e| self.edge_to[e] as usize)
    });
    self.global = near_root
      .chain(behind_context)
      .find(|&node| named_global(node))
      .map(|node| node as u32);
  }

  /// The file a CommonJS `Module` object loaded, as its `filename` says.
  pub fn module_file(&self, node: usize) -> Option<&str> {
    let found = self
      .modules
      .binary_search_by_key(&(node as u32), |m| m.0)
      .ok()?;
    Some(self.strings.get(self.modules[found].1))
  }

  /// A location (`[script id, line, column]`, 0-based) as `file:line:column`, 1-based.
  pub fn source_at(&self, [script, line, column]: [u32; 3]) -> Option<String> {
    let found = self.scripts.binary_search_by_key(&script, |s| s.0).ok()?;
    let url = self.strings.get(self.scripts[found].1);
    Some(format!("{url}:{}:{}", line + 1, column + 1))
  }

  /// Script ids to URLs: a function's location names its script by id only, but its shared
  /// function info leads to the script (`shared` → `script` or `script_or_debug_info`), whose
  /// node is named by its URL.
  pub(super) fn find_scripts(&mut self) {
    let t = &self.types;
    let edge_to = |node: usize, named: &dyn Fn(&str) -> bool| {
      self
        .edges(node)
        .find(|&e| self.edge_type[e] == t.internal && named(self.strings.get(self.edge_name[e])))
        .map(|e| self.edge_to[e] as usize)
    };
    let mut scripts: FxHashMap<u32, u32> = FxHashMap::default();
    for &[node, script, _, _] in &self.locations {
      let node = node as usize;
      if self.node_type[node] != t.closure || scripts.contains_key(&script) {
        continue;
      }
      let found = edge_to(node, &|name| name == "shared")
        .and_then(|shared| edge_to(shared, &|name| name.starts_with("script")))
        .map(|script| self.node_name[script])
        .filter(|&name| {
          let url = self.strings.get(name);
          !url.is_empty() && !url.starts_with("system / ")
        });
      if let Some(name) = found {
        scripts.insert(script, name);
      }
    }
    self.scripts = scripts.into_iter().collect();
    self.scripts.sort_unstable();
  }

  /// Objects whose named properties live in a hash table (dictionary mode: caches keyed by
  /// data, objects made by `Object.create(null)`, objects with deleted properties), sorted. The
  /// snapshot does not say so; the size of the property store does. A dictionary holds at least
  /// 1.5 slots of 3 words per property, a fast object's property array one word per property
  /// and a few of slack.
  pub fn dictionary_objects(&self) -> Vec<u32> {
    let t = &self.types;
    (0..self.node_count())
      .filter(|&node| self.node_type[node] == t.object)
      .filter(|&node| {
        let mut properties = 0u64;
        let mut store = None;
        for e in self.edges(node) {
          if self.edge_type[e] == t.property {
            properties += 1;
          } else if self.edge_type[e] == t.internal
            && self.strings.get(self.edge_name[e]) == "properties"
          {
            store = Some(self.edge_to[e] as usize);
          }
        }
        store.is_some_and(|store| u64::from(self.self_size[store]) > 16 * properties + 48)
      })
      .map(|node| node as u32)
      .collect()
  }

  /// The Node.js version the snapshot was taken in (`v20.20.2`): the `version` property of the
  /// `process` object. None when there is none (not Node, or the edges are freed).
  pub fn node_version(&self) -> Option<&str> {
    let t = &self.types;
    (0..self.node_count())
      .filter(|&node| self.node_type[node] == t.object && self.name(node) == "process")
      .filter(|&node| node + 1 < self.first_edge.len())
      .flat_map(|node| self.edges(node))
      .filter(|&e| {
        self.edge_type[e] == t.property && self.strings.get(self.edge_name[e]) == "version"
      })
      .map(|e| self.name(self.edge_to[e] as usize))
      .find(|version| {
        version.starts_with('v') && version[1..].starts_with(|c: char| c.is_ascii_digit())
      })
  }

  /// A node's type and name, and an object's size, in 32 bits (FNV-1a): to tell whether the
  /// node with an id in another snapshot of the process is the same object. Strings are only
  /// strings: V8 flattens a concatenated string in place.
  pub fn fingerprint(&self, node: usize) -> u32 {
    let kind = self.node_type[node];
    let size = if kind == self.types.object {
      self.self_size[node]
    } else {
      0
    };
    // A string's content is its name, and V8 flattens and internalizes strings in place.
    let string = self.type_name(node).contains("string");
    let (category, name) = if string {
      (u8::MAX, "")
    } else {
      (kind, self.name(node))
    };
    // A name's start and length: enough to tell two objects apart, and the same cost for a
    // 32 MB name as for a short one.
    let start = &name.as_bytes()[..name.len().min(crate::report::LONGEST_NAME)];
    std::iter::once(category)
      .chain(size.to_le_bytes())
      .chain((name.len() as u64).to_le_bytes())
      .chain(start.iter().copied())
      .fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
      })
  }

  pub fn node_count(&self) -> usize {
    self.node_type.len()
  }

  pub fn edge_count(&self) -> usize {
    self.edges
  }

  /// Frees the edges' types and names, for an analysis that needs no more than where edges
  /// lead from here on: on a 170 MB snapshot they are 35 of the graph's 110 MB. `edge_type`
  /// and `edge_name` are empty afterwards.
  pub fn release_edge_labels(&mut self) {
    self.edge_type = Vec::new();
    self.edge_name = Vec::new();
  }

  /// Frees the edges, for an analysis that reads only nodes from here on (summary, once its
  /// dominators are known): on a 170 MB snapshot they are 60 of the graph's 110 MB.
  /// `edges` and every edge column are empty afterwards.
  pub fn release_edges(&mut self) {
    self.release_edge_labels();
    self.first_edge = Vec::new();
    self.edge_to = Vec::new();
  }

  pub fn edges(&self, node: usize) -> std::ops::Range<usize> {
    self.first_edge[node] as usize..self.first_edge[node + 1] as usize
  }

  pub fn name(&self, node: usize) -> &str {
    self.strings.get(self.node_name[node])
  }

  pub fn type_name(&self, node: usize) -> &str {
    &self.types.node[self.node_type[node] as usize]
  }

  /// The interface (`{a, b}`) of a plain object, as an index into `interface_names`.
  pub fn interface_of(&self, node: usize) -> Option<u32> {
    if self.interfaces.is_empty() || self.node_type[node] != self.types.object {
      return None;
    }
    let found = self
      .interfaces
      .binary_search_by_key(&(node as u32), |p| p.0)
      .ok()?;
    Some(self.interfaces[found].1)
  }

  /// The name DevTools' Summary groups a node under (`calculateObjectNames`).
  pub fn class_name(&self, node: usize) -> Cow<'_, str> {
    let t = &self.types;
    let kind = self.node_type[node];
    if kind == t.hidden {
      Cow::Borrowed("(system)")
    } else if kind == t.object || kind == t.native {
      let name = self.name(node);
      if let Some(interface) = self.interface_of(node) {
        return Cow::Borrowed(&self.interface_names[interface as usize]);
      }
      // '<div id="a">' → '<div>', 'Detached <div id="a">' → 'Detached <div>' (DOM wrappers).
      let from = if name.starts_with("Detached <") {
        10
      } else if name.starts_with('<') {
        0
      } else {
        return Cow::Borrowed(name);
      };
      match name[from..].find(' ') {
        Some(space) => Cow::Owned(format!("{}>", &name[..from + space])),
        None => Cow::Borrowed(name),
      }
    } else if kind == t.code {
      Cow::Borrowed("(compiled code)")
    } else if kind == t.closure {
      Cow::Borrowed("Function")
    } else if kind == t.regexp {
      Cow::Borrowed("RegExp")
    } else {
      Cow::Borrowed(&t.class[kind as usize])
    }
  }

  /// An edge's name as DevTools' retainer view writes it: `name` for properties and context
  /// variables, `[3]` for elements, `{name}` for internal and hidden edges, `[[name]]` for weak.
  pub fn edge_label(&self, edge: usize) -> String {
    self.label(self.edge_type[edge], self.edge_name[edge])
  }

  /// The label of an edge of type `kind` and name_or_index `name` (see [`Graph::edge_label`]).
  pub fn label(&self, kind: u8, name: u32) -> String {
    let t = &self.types;
    let name = match self.name_string(kind, name) {
      Some(text) => crate::report::label(text),
      None => name.to_string(),
    };
    if kind == t.element {
      format!("[{name}]")
    } else if kind == t.internal || kind == t.hidden_edge {
      format!("{{{name}}}")
    } else if kind == t.weak {
      format!("[[{name}]]")
    } else {
      name
    }
  }

  /// The edge's name string, or None for edges named by a number.
  pub fn edge_string(&self, edge: usize) -> Option<&str> {
    self.name_string(self.edge_type[edge], self.edge_name[edge])
  }

  /// The name string of an edge of type `kind` and name_or_index `name`, or None when that
  /// type is named by a number.
  pub fn name_string(&self, kind: u8, name: u32) -> Option<&str> {
    (!self.types.edge_named_by_index(kind)).then(|| self.strings.get(name))
  }
}

#[cfg(test)]
mod tests {
  use crate::testing::Snapshot;

  /// DevTools' `calculateObjectNames`: hidden nodes are `(system)`, code `(compiled code)`,
  /// closures `Function`, regexps `RegExp`; objects and native nodes go by their own name, a
  /// DOM element's cut to its tag (`<div id="a">` → `<div>`); everything else by its type in
  /// parentheses.
  #[test]
  fn class_names_follow_devtools_object_names() {
    let cases = [
      ("hidden", "system / Context", "(system)"),
      ("code", "foo", "(compiled code)"),
      ("closure", "handler", "Function"),
      ("regexp", "a+b", "RegExp"),
      ("object", "Session", "Session"),
      ("native", "<div id=\"a\" class=\"b\">", "<div>"),
      ("native", "Detached <span id=\"x\">", "Detached <span>"),
      ("native", "<br>", "<br>"),
      (
        "native",
        "system / JSArrayBufferData",
        "system / JSArrayBufferData",
      ),
      ("string", "hello", "(string)"),
      ("number", "heap number", "(number)"),
      ("array", "(object elements)", "(array)"),
      ("synthetic", "(GC roots)", "(synthetic)"),
      ("concatenated string", "ab", "(concatenated string)"),
    ];
    let mut s = Snapshot::new();
    let nodes: Vec<usize> = cases
      .iter()
      .map(|(kind, name, _)| s.node(kind, name, 1))
      .collect();
    let g = s.graph();
    for (node, (kind, name, class)) in nodes.into_iter().zip(cases) {
      assert_eq!(g.class_name(node), class, "{kind} {name}");
    }
  }
}
