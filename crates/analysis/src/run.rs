//! Whole analyses from file names to reports, with progress: what the CLI and the addon call.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::compressed::Input;
pub use crate::failure::Failure;
use crate::fork::{first_fork_snapshot, refuse_fork_snapshots};
use crate::graph::{self, Graph};
use crate::heap::{infer_interfaces, prepare_classes, Heap, Interfaces, Keep, Rules, Stage};
use crate::input;
use crate::origin::{self, common_share, Origin};
use crate::parse::ParseError;
use crate::redact::{self, Plan, Redaction};
use crate::report::{self, Diff, Leaks, Paths, Summary};
use crate::validate::{self, Soundness, Validity};

/// Rows per table when the caller names no number: the CLI's `--top` and the JS API's `top`.
pub const DEFAULT_TOP: usize = 20;
/// Retaining paths `path` shows when the caller names no number: the CLI's `--max` and the JS
/// API's `max`.
pub const DEFAULT_PATHS: usize = 5;

/// One analysis, as the addon's functions and the CLI's commands ask for it: the one request
/// type both dispatch through [`run`]. Paths are as given; a `top` of 0 means all rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
  /// DevTools' Summary view (`summary`).
  Summary { file: PathBuf, top: usize },
  /// The objects of one class (`summary --class`), or with `before` those that snapshot
  /// lacks (`diff --class`).
  Instances {
    file: PathBuf,
    class: String,
    before: Option<PathBuf>,
    top: usize,
  },
  /// DevTools' Comparison view, and the owners of what grew (`diff`).
  Diff {
    before: PathBuf,
    after: PathBuf,
    matching: Matching,
    top: usize,
  },
  /// The three-snapshot technique (`leaks`).
  Leaks {
    baseline: PathBuf,
    target: PathBuf,
    last: PathBuf,
    matching: Matching,
    top: usize,
  },
  /// The leak-suspects report (`report`): `leaks`, the comparison of `baseline` and `last`,
  /// and each snapshot's figures.
  Suspects {
    baseline: PathBuf,
    target: PathBuf,
    last: PathBuf,
    top: usize,
  },
  /// Retaining paths to node `id` (`path`).
  Path { file: PathBuf, id: u32, max: usize },
  /// The structural checks (`validate`).
  Validate { file: PathBuf },
  /// A copy of `file` with its values replaced, in `output` (`redact`).
  Redact { file: PathBuf, output: PathBuf },
  /// Growth from `baseline` to `current` against budgets (`check`).
  Check {
    baseline: PathBuf,
    current: PathBuf,
    budgets: report::Budgets,
    top: usize,
  },
}

impl Request {
  /// The request with all its rows (a `top` of 0), for a filter (`--source`, `--package`) to
  /// choose from before the first `top` are kept.
  pub fn all_rows(self) -> Request {
    match self {
      Request::Summary { file, .. } => Request::Summary { file, top: 0 },
      Request::Instances {
        file,
        class,
        before,
        ..
      } => Request::Instances {
        file,
        class,
        before,
        top: 0,
      },
      Request::Diff {
        before,
        after,
        matching,
        ..
      } => Request::Diff {
        before,
        after,
        matching,
        top: 0,
      },
      Request::Leaks {
        baseline,
        target,
        last,
        matching,
        ..
      } => Request::Leaks {
        baseline,
        target,
        last,
        matching,
        top: 0,
      },
      other => other,
    }
  }
}

/// How `diff` and `leaks` match the objects of their snapshots (the CLI's `--match`, the JS
/// API's `match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matching {
  /// By ids where they can be trusted; by structure for fork snapshots, snapshots of two
  /// processes (or two runs of a pid) and renumbered ids.
  #[default]
  Auto,
  /// By ids only: fork snapshots are refused.
  Ids,
  /// By retaining path and class, whatever the snapshots.
  Structure,
}

impl Matching {
  /// `auto`, `ids` or `structure`.
  pub fn parse(text: &str) -> Option<Matching> {
    match text {
      "auto" => Some(Matching::Auto),
      "ids" => Some(Matching::Ids),
      "structure" => Some(Matching::Structure),
      _ => None,
    }
  }
}

/// The report a [`Request`] yields. [`Report::to_json`] is the JSON contract, the same for the
/// CLI's `--json` and the addon.
#[derive(Debug)]
pub enum Report {
  Summary(Summary),
  Instances(report::Instances),
  Diff(Diff),
  Leaks(Leaks),
  Suspects(Box<report::LeakSuspects>),
  Paths(Paths),
  Validate(Validity),
  Redaction(Redaction),
  Check(report::Check),
}

impl Report {
  /// The report as one line of JSON.
  pub fn to_json(&self) -> serde_json::Result<String> {
    match self {
      Report::Summary(r) => serde_json::to_string(r),
      Report::Instances(r) => serde_json::to_string(r),
      Report::Diff(r) => serde_json::to_string(r),
      Report::Leaks(r) => serde_json::to_string(r),
      Report::Suspects(r) => serde_json::to_string(r),
      Report::Paths(r) => serde_json::to_string(r),
      Report::Validate(r) => serde_json::to_string(r),
      Report::Redaction(r) => serde_json::to_string(r),
      Report::Check(r) => serde_json::to_string(r),
    }
  }

  /// Why a comparison may mean little (two processes, out of order, …); empty when sound and
  /// for reports of one snapshot.
  pub fn warnings(&self) -> &[String] {
    match self {
      Report::Instances(r) => &r.warnings,
      Report::Diff(r) => &r.warnings,
      Report::Leaks(r) => &r.warnings,
      Report::Suspects(r) => &r.leaks.warnings,
      Report::Summary(_)
      | Report::Paths(_)
      | Report::Validate(_)
      | Report::Redaction(_)
      | Report::Check(_) => &[],
    }
  }
}

/// Runs one analysis, reporting progress.
pub fn run(request: &Request, progress: &mut dyn Progress) -> Result<Report, Failure> {
  Ok(match request {
    Request::Summary { file, top } => Report::Summary(summary(file, *top, progress)?),
    Request::Instances {
      file,
      class,
      before,
      top,
    } => Report::Instances(instances(file, class, before.as_deref(), *top, progress)?),
    Request::Diff {
      before,
      after,
      matching,
      top,
    } => Report::Diff(diff(before, after, *matching, *top, progress)?),
    Request::Leaks {
      baseline,
      target,
      last,
      matching,
      top,
    } => Report::Leaks(leaks(baseline, target, last, *matching, *top, progress)?),
    Request::Suspects {
      baseline,
      target,
      last,
      top,
    } => Report::Suspects(Box::new(suspects(baseline, target, last, *top, progress)?)),
    Request::Path { file, id, max } => Report::Paths(paths(file, *id, *max, progress)?),
    Request::Validate { file } => {
      let sound = validate(file, progress)?;
      Report::Validate(Validity {
        edges: sound.edges,
        file: name(file),
        nodes: sound.nodes,
        strings: sound.strings,
        valid: true,
      })
    }
    Request::Redact { file, output } => Report::Redaction(redact(file, output, progress)?),
    Request::Check {
      baseline,
      current,
      budgets,
      top,
    } => Report::Check(check(baseline, current, budgets, *top, progress)?),
  })
}

/// Told how far an analysis has come; the CLI draws it as a progress bar.
pub trait Progress {
  /// Reading `file` begins; it has `size` bytes.
  fn file(&mut self, _file: &Path, _size: u64) {}
  /// `bytes` more have been read.
  fn read(&mut self, _bytes: u64) {}
  fn stage(&mut self, _stage: &str) {}
}

/// No progress shown.
pub struct Quiet;
impl Progress for Quiet {}

/// Reports progress every few MB as the parser pulls bytes.
struct Counting<'a, R> {
  inner: R,
  progress: &'a mut dyn Progress,
  pending: u64,
}

impl<R: Read> Read for Counting<'_, R> {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    let n = self.inner.read(buf)?;
    self.pending += n as u64;
    if self.pending >= 4 << 20 || n == 0 {
      self.progress.read(self.pending);
      self.pending = 0;
    }
    Ok(n)
  }
}

/// Opens `path` for one streaming read that reports its progress (in bytes of the file), and
/// decompresses it as it goes if it is compressed; returns the bound on the bytes it yields.
fn open<'a>(path: &Path, progress: &'a mut dyn Progress) -> Result<Input<'a>, Failure> {
  let (file, size) = open_regular(path)?;
  progress.file(path, size);
  let counted = Counting {
    inner: file,
    progress,
    pending: 0,
  };
  crate::compressed::decompressing(io::BufReader::with_capacity(1 << 20, counted), size)
    .map_err(|err| Failure::file(path, err.into()))
}

/// Opens `path` if it is a regular file. The reader bounds what it allocates by the file's size
/// (the header is untrusted), which a pipe does not have.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64), Failure> {
  let failed = |err: io::Error| Failure::file(path, err.into());
  let not_a_file = |kind| Failure::NotAFile {
    path: path.to_path_buf(),
    kind: input::kind_name(kind),
  };
  // Looked at before the open too: where the open cannot be made non-blocking (WASI, whose
  // node:wasi host opens files with a plain open), opening a FIFO would wait for a writer for ever.
  if let Ok(meta) = std::fs::metadata(path) {
    let kind = meta.file_type();
    if !kind.is_file() && !kind.is_dir() {
      return Err(not_a_file(kind));
    }
  }
  let file = input::open_for_reading(path).map_err(failed)?;
  let meta = file.metadata().map_err(failed)?;
  let kind = meta.file_type();
  if kind.is_file() {
    Ok((file, meta.len()))
  } else if kind.is_dir() {
    Err(failed(io::ErrorKind::IsADirectory.into()))
  } else {
    Err(not_a_file(kind))
  }
}

pub fn load(path: &Path, progress: &mut dyn Progress) -> Result<Graph, Failure> {
  let mut input = open(path, progress)?;
  let bound = input.bound;
  let graph =
    graph::load(&mut input, bound).map_err(|error| Failure::file(path, input.blame(error)))?;
  input
    .finish()
    .map_err(|err| Failure::file(path, ParseError::Io(err)))?;
  Ok(graph)
}

fn analyse(path: &Path, keep: Keep, progress: &mut dyn Progress) -> Result<Heap, Failure> {
  let graph = load(path, progress)?;
  Ok(build(graph, keep, progress))
}

fn build(graph: Graph, keep: Keep, progress: &mut dyn Progress) -> Heap {
  Heap::with_rules(graph, Rules::DEVTOOLS, keep, &mut |stage| {
    progress.stage(match stage {
      Stage::Sizes => "shallow sizes",
      Stage::Dominators => "dominators",
      Stage::Distances => "distances",
    })
  })
}

/// The sorted node ids of a snapshot: all the three-snapshot technique needs of the first two.
/// A snapshot's sorted node ids, and where it comes from.
fn ids(path: &Path, progress: &mut dyn Progress) -> Result<(Vec<u32>, Origin), Failure> {
  let graph = load(path, progress)?;
  let origin = origin_of(path, &graph);
  let mut ids = graph.node_id;
  ids.sort_unstable();
  Ok((ids, origin))
}

fn origin_of(path: &Path, graph: &Graph) -> Origin {
  // V8 numbers heap objects with odd ids in the order it first sees them; embedder (native)
  // nodes get even ids made from addresses, which say nothing about time.
  let max_id = graph
    .node_id
    .iter()
    .copied()
    .filter(|id| id % 2 == 1)
    .max()
    .unwrap_or(0);
  Origin::new(path, graph.node_version(), max_id)
}

fn sorted_ids(graph: &Graph) -> Vec<u32> {
  let mut ids = graph.node_id.clone();
  ids.sort_unstable();
  ids
}

fn name(path: &Path) -> String {
  path.display().to_string()
}

pub fn summary(path: &Path, top: usize, progress: &mut dyn Progress) -> Result<Summary, Failure> {
  // The Summary reads only nodes once the dominators are known: the edges go before then.
  let heap = analyse(path, Keep::Nodes, progress)?;
  progress.stage("summary");
  Ok(report::summary(&heap, &name(path), top))
}

/// The objects of one class in `path`, or with `before` only those that snapshot lacks.
pub fn instances(
  path: &Path,
  class: &str,
  before: Option<&Path>,
  top: usize,
  progress: &mut dyn Progress,
) -> Result<report::Instances, Failure> {
  if let Some(before) = before {
    refuse_fork_snapshots(&[before, path])?;
  }
  let earlier = match before {
    Some(before) => Some((name(before), ids(before, progress)?)),
    None => None,
  };
  let graph = load(path, progress)?;
  let mut warnings = Vec::new();
  if let Some((_, (ids, origin))) = &earlier {
    let share = common_share(ids, &sorted_ids(&graph));
    warnings = origin::warnings(&[origin.clone(), origin_of(path, &graph)], &[share]);
  }
  let heap = build(graph, Keep::Nodes, progress);
  progress.stage("instances");
  let before = earlier
    .as_ref()
    .map(|(name, (ids, _))| (name.as_str(), ids.as_slice()));
  let mut report = report::instances(&heap, &name(path), class, before, top);
  report.warnings = warnings;
  Ok(report)
}

/// Comparison needs shallow sizes and classes only, not dominators.
fn members(
  path: &Path,
  interfaces: Option<&Interfaces>,
  progress: &mut dyn Progress,
) -> Result<(report::ClassMembers, Interfaces, Origin), Failure> {
  let mut graph = load(path, progress)?;
  let origin = origin_of(path, &graph);
  progress.stage("classes");
  let interfaces = match interfaces {
    Some(given) => given.clone(),
    None => infer_interfaces(&graph),
  };
  prepare_classes(&mut graph, Some(&interfaces));
  Ok((report::class_members(&graph), interfaces, origin))
}

pub fn diff(
  before: &Path,
  after: &Path,
  matching: Matching,
  top: usize,
  progress: &mut dyn Progress,
) -> Result<Diff, Failure> {
  let mut reason = structure_reason(&[before, after], matching)?;
  if reason.is_none() {
    // Both named with the later snapshot's plain-object interfaces, as DevTools compares.
    let (new, interfaces, after_origin) = members(after, None, progress)?;
    let (old, _, before_origin) = members(before, Some(&interfaces), progress)?;
    let share = report::shared_ids(&old, &new);
    let origins = [before_origin, after_origin];
    reason = unusable_ids(&origins, &[share], matching);
    if reason.is_none() {
      let mut diff = report::diff(&old, &new, (&name(before), &name(after)), false, top);
      diff.warnings = origin::warnings(&origins, &[share]);
      return Ok(diff);
    }
  }
  let earlier = shaped(before, progress)?;
  let later = shaped(after, progress)?;
  progress.stage("diff");
  let old = report::class_members(&earlier.last.heap.graph);
  drop(earlier.last);
  let new = report::class_members(&later.last.heap.graph);
  let mut diff = report::diff(&old, &new, (&name(before), &name(after)), true, top);
  let grown = report::grown(
    &later.last.heap,
    &earlier.shape,
    None,
    &later.shape,
    &later.own,
    0,
  );
  diff.objects = grown.objects;
  diff.owners = grown.owners;
  let origins = [earlier.origin, later.origin];
  diff.warnings = structure_note(reason, &origins);
  later
    .last
    .hide_own_owners(after, &mut diff.owners, progress)?;
  if top > 0 {
    diff.owners.truncate(top);
  }
  Ok(diff)
}

/// Why a comparison of `files` matches by structure before any is read: asked to, or a fork
/// snapshot among them (refused when asked for ids). None: ids, unless they prove unusable.
fn structure_reason(files: &[&Path], matching: Matching) -> Result<Option<String>, Failure> {
  match matching {
    Matching::Structure => Ok(Some("asked for".to_string())),
    Matching::Ids => refuse_fork_snapshots(files).map(|()| None),
    Matching::Auto => Ok(first_fork_snapshot(files).map(|path| {
      format!(
        "{} is a fork snapshot, whose ids match no other snapshot's",
        path.display()
      )
    })),
  }
}

/// Why the ids of snapshots with these origins cannot be matched, when matching is automatic.
fn unusable_ids(origins: &[Origin], shares: &[f64], matching: Matching) -> Option<String> {
  (matching == Matching::Auto)
    .then(|| origin::ids_unusable(origins, shares))
    .flatten()
}

/// A comparison by structure's warnings: first why it was made and what its figures mean.
fn structure_note(reason: Option<String>, origins: &[Origin]) -> Vec<String> {
  let mut warnings = vec![format!(
    "objects matched by structure (retaining path and class), not by id: {}; counts and sizes are net growth per group of objects",
    reason.unwrap_or_default()
  )];
  warnings.extend(origin::structure_warnings(origins));
  warnings
}

/// A snapshot read for a comparison by structure: its objects grouped by path and class.
struct Shaped {
  last: Last,
  shape: report::Shape,
  origin: Origin,
  /// Per node, whether it is rheapdump's own state.
  own: Vec<bool>,
}

/// The last snapshot of a comparison, with what tells rheapdump's own objects from the
/// application's.
struct Last {
  heap: Heap,
  /// The ids of rheapdump's own objects, sorted.
  rheapdump_ids: Vec<u32>,
  rheapdump_code: report::RheapdumpCode,
}

/// Reads `path` for a comparison by structure: its objects grouped by path and class.
fn shaped(path: &Path, progress: &mut dyn Progress) -> Result<Shaped, Failure> {
  let graph = load(path, progress)?;
  let origin = origin_of(path, &graph);
  let dictionaries = graph.dictionary_objects();
  let own = report::rheapdump_objects(&graph);
  let rheapdump_ids = rheapdump_ids(&graph, &own);
  let rheapdump_code = report::RheapdumpCode::of(&graph);
  // The shapes choose among all shortest paths: they need the edges, freed once they are made.
  let mut heap = build(graph, Keep::Everything, progress);
  progress.stage("shapes");
  let shape = report::Shape::of(&heap, &dictionaries);
  heap.graph.release_edges();
  Ok(Shaped {
    last: Last {
      heap,
      rheapdump_ids,
      rheapdump_code,
    },
    shape,
    origin,
    own,
  })
}

/// The ids of the nodes `own` marks as rheapdump's ([`report::rheapdump_objects`]), sorted.
fn rheapdump_ids(graph: &Graph, own: &[bool]) -> Vec<u32> {
  let mut ids: Vec<u32> = own
    .iter()
    .enumerate()
    .filter(|(_, &marked)| marked)
    .map(|(node, _)| graph.node_id[node])
    .collect();
  ids.sort_unstable();
  ids
}

impl Last {
  /// Leaves out the owners that only rheapdump's own state and code hold (its listeners, the
  /// last profile it wrote): how many, and what they retain in all. An owner's path is
  /// DevTools' shortest, which can run through rheapdump's state on `process` as if rheapdump
  /// held the leak: those few are looked for again, with the edges, by a path that avoids it.
  fn hide_own_owners(
    self,
    file: &Path,
    owners: &mut Vec<report::LeakOwner>,
    progress: &mut dyn Progress,
  ) -> Result<(u64, u64), Failure> {
    let Last {
      heap,
      rheapdump_ids,
      rheapdump_code,
    } = self;
    let through_rheapdump = |path: &[report::Step]| {
      path
        .iter()
        .any(|step| rheapdump_ids.binary_search(&step.id).is_ok())
    };
    let misleading: Vec<u32> = owners
      .iter()
      .filter(|owner| through_rheapdump(&owner.path))
      .map(|owner| owner.id)
      .collect();
    if !misleading.is_empty() {
      drop(heap);
      let heap = analyse(file, Keep::Distances, progress)?;
      let found = report::clean_paths(&heap, &misleading);
      for (id, path) in misleading.iter().zip(found) {
        let owner = owners.iter_mut().find(|o| o.id == *id);
        if let (Some(owner), Some(path)) = (owner, path) {
          // The source named with the owner is that of the nearest step that has one.
          let nearest = path.iter().rev().find(|step| step.source.is_some());
          owner.source = nearest.and_then(|step| step.source.clone());
          owner.source_of = nearest
            .filter(|step| step.id != owner.id)
            .map(|step| step.node.clone());
          owner.name = report::name_by_path(&heap, &path).unwrap_or_else(|| owner.class.clone());
          owner.path = path;
        }
      }
    }
    let (mut count, mut size) = (0, 0);
    owners.retain(|owner| {
      let own = through_rheapdump(&owner.path)
        || owner
          .source
          .as_deref()
          .is_some_and(|source| rheapdump_code.contains(source));
      if own {
        count += 1;
        size += owner.retained_size;
      }
      !own
    });
    Ok((count, size))
  }
}

pub fn leaks(
  baseline: &Path,
  target: &Path,
  last: &Path,
  matching: Matching,
  top: usize,
  progress: &mut dyn Progress,
) -> Result<Leaks, Failure> {
  let files = [baseline, target, last];
  let mut reason = structure_reason(&files, matching)?;
  if reason.is_none() && matching == Matching::Auto {
    // Two processes tell by their names: no need to read the ids to know they differ.
    let named: Vec<Origin> = files.iter().map(|f| Origin::new(f, None, 0)).collect();
    reason = origin::ids_unusable(&named, &[]);
  }
  if reason.is_none() {
    match leaks_by_ids(baseline, target, last, matching, progress)? {
      Ok((mut leaks, last_snapshot)) => {
        (leaks.hidden_owners, leaks.hidden_size) =
          last_snapshot.hide_own_owners(last, &mut leaks.owners, progress)?;
        if top > 0 {
          leaks.owners.truncate(top);
          leaks.groups.truncate(top);
        }
        return Ok(leaks);
      }
      Err(why) => reason = Some(why),
    }
  }
  // Of the first two only the groups' counts and sizes are kept.
  let earlier = |path: &Path, progress: &mut dyn Progress| {
    shaped(path, progress).map(
      |Shaped {
         mut shape, origin, ..
       }| {
        shape.forget_nodes();
        (shape, origin)
      },
    )
  };
  let (first, first_origin) = earlier(baseline, progress)?;
  let (middle, middle_origin) = earlier(target, progress)?;
  let later = shaped(last, progress)?;
  progress.stage("leaks");
  let grown = report::grown(
    &later.last.heap,
    &first,
    Some(&middle),
    &later.shape,
    &later.own,
    0,
  );
  let origins = [first_origin, middle_origin, later.origin];
  let mut leaks = Leaks {
    baseline: name(baseline),
    target: name(target),
    final_: name(last),
    matched_by: report::MatchedBy::Structure,
    objects: grown.objects,
    packages: report::packages_of_groups(&grown.groups),
    groups: grown.groups,
    owners: grown.owners,
    warnings: structure_note(reason, &origins),
    hidden_owners: 0,
    hidden_size: 0,
    source_map_notes: None,
  };
  (leaks.hidden_owners, leaks.hidden_size) =
    later
      .last
      .hide_own_owners(last, &mut leaks.owners, progress)?;
  if top > 0 {
    leaks.owners.truncate(top);
    leaks.groups.truncate(top);
  }
  Ok(leaks)
}

/// `leaks` by ids: the report and the last snapshot, or (matching automatically) why the ids
/// cannot be matched.
#[allow(clippy::type_complexity)]
fn leaks_by_ids(
  baseline: &Path,
  target: &Path,
  last: &Path,
  matching: Matching,
  progress: &mut dyn Progress,
) -> Result<Result<(Leaks, Last), String>, Failure> {
  // Of the first two snapshots only the ids are kept: those of the baseline, and those of
  // the target that are new, with what each was.
  let (baseline_ids, baseline_origin) = ids(baseline, progress)?;
  let (target_ids, target_kinds, target_origin) = {
    let graph = load(target, progress)?;
    let mut nodes: Vec<(u32, u32)> = (0..graph.node_count())
      .map(|node| (graph.node_id[node], graph.fingerprint(node)))
      .collect();
    nodes.sort_unstable();
    let origin = origin_of(target, &graph);
    let (ids, kinds): (Vec<u32>, Vec<u32>) = nodes.into_iter().unzip();
    (ids, kinds, origin)
  };
  let first_share = common_share(&baseline_ids, &target_ids);
  if let Some(why) = unusable_ids(
    &[baseline_origin.clone(), target_origin.clone()],
    &[first_share],
    matching,
  ) {
    return Ok(Err(why));
  }
  let new_ids = report::new_ids(&baseline_ids, &target_ids);
  // What each new object was in the target, to catch ids V8 gave to another object since.
  let new_kinds: Vec<u32> = new_ids
    .iter()
    .map(|id| target_kinds[target_ids.binary_search(id).unwrap_or(0)])
    .collect();
  drop(target_kinds);
  let graph = load(last, progress)?;
  let shares = [first_share, common_share(&target_ids, &sorted_ids(&graph))];
  let origins = [baseline_origin, target_origin, origin_of(last, &graph)];
  if let Some(why) = unusable_ids(&origins, &shares, matching) {
    return Ok(Err(why));
  }
  // V8 numbers objects by address between snapshots: an object allocated after the target where
  // one of the target's new objects died can inherit that object's id (203 of 60,203 cache
  // entries at 60,000 requests of the test service). Another type, name or size gives it away;
  // compared before the sizes are attributed as DevTools does.
  let reused: Vec<u32> = (0..graph.node_count())
    .filter(|&node| {
      new_ids
        .binary_search(&graph.node_id[node])
        .is_ok_and(|i| new_kinds[i] != graph.fingerprint(node))
    })
    .map(|node| node as u32)
    .collect();
  drop(new_kinds);
  drop(target_ids);
  let warnings = origin::warnings(&origins, &shares);
  let dictionaries = graph.dictionary_objects();
  let rheapdump_ids = rheapdump_ids(&graph, &report::rheapdump_objects(&graph));
  let rheapdump_code = report::RheapdumpCode::of(&graph);
  // Retaining paths need each node's parent edge, not the edges: they go as for a summary.
  let heap = build(graph, Keep::Parents, progress);
  progress.stage("leaks");
  let history = report::History {
    baseline: &baseline_ids,
    new: &new_ids,
    reused: &reused,
  };
  let mut leaks = report::leaks(
    &heap,
    &history,
    &dictionaries,
    (&name(baseline), &name(target), &name(last)),
    0,
  );
  leaks.warnings = warnings;
  Ok(Ok((
    leaks,
    Last {
      heap,
      rheapdump_ids,
      rheapdump_code,
    },
  )))
}

/// The leak-suspects report: the leaks of the three snapshots (the first `top` owners), the
/// comparison of the first and the last (every class), and per snapshot its figures and what
/// each owner retains in it.
pub fn suspects(
  baseline: &Path,
  target: &Path,
  last: &Path,
  top: usize,
  progress: &mut dyn Progress,
) -> Result<report::LeakSuspects, Failure> {
  let leaks = leaks(baseline, target, last, Matching::Auto, top, progress)?;
  let diff = diff(baseline, last, Matching::Auto, 0, progress)?;
  let ids: Vec<u32> = leaks.owners.iter().map(|owner| owner.id).collect();
  let mut snapshots = Vec::new();
  let mut retained: Vec<Vec<Option<u64>>> = Vec::new();
  for file in [baseline, target, last] {
    let heap = analyse(file, Keep::Nodes, progress)?;
    progress.stage("report");
    retained.push(report::retained_of(&heap, &ids));
    // The figures and packages only: one class row is enough.
    snapshots.push(report::SnapshotFigures::of(report::summary(
      &heap,
      &name(file),
      1,
    )));
  }
  let owners = ids
    .iter()
    .enumerate()
    .map(|(i, &id)| report::OwnerHistory {
      id,
      retained_size: retained.iter().map(|sizes| sizes[i]).collect(),
    })
    .collect();
  Ok(report::LeakSuspects {
    snapshots,
    leaks,
    diff,
    owners,
  })
}

pub fn paths(
  path: &Path,
  id: u32,
  max: usize,
  progress: &mut dyn Progress,
) -> Result<Paths, Failure> {
  // Paths follow distances; they need no dominator tree.
  let heap = analyse(path, Keep::Distances, progress)?;
  progress.stage("paths");
  report::paths(&heap, &name(path), id, max).ok_or(Failure::NoSuchNode {
    path: path.to_path_buf(),
    id,
  })
}

/// The structural checks (`validate`), in one streaming pass: the counts of a sound snapshot.
pub fn validate(path: &Path, progress: &mut dyn Progress) -> Result<Soundness, Failure> {
  let mut input = open(path, progress)?;
  let bound = input.bound;
  let soundness = validate::validate(&mut input, bound)
    .map_err(|error| Failure::file(path, input.blame(error)))?;
  input
    .finish()
    .map_err(|err| Failure::file(path, ParseError::Io(err)))?;
  soundness.map_err(|reason| Failure::Unsound {
    path: path.to_path_buf(),
    reason,
  })
}

/// A copy of `file` with every value string replaced, written to `output` (crate::redact): two
/// streaming passes over `file`.
pub fn redact(
  file: &Path,
  output: &Path,
  progress: &mut dyn Progress,
) -> Result<Redaction, Failure> {
  redact::check_output(file, output)?;
  let plan = {
    let mut input = open(file, progress)?;
    let bound = input.bound;
    let plan =
      Plan::read(&mut input, bound).map_err(|error| Failure::file(file, input.blame(error)))?;
    input
      .finish()
      .map_err(|err| Failure::file(file, ParseError::Io(err)))?;
    plan
  };
  progress.stage("redacting");
  let input = open(file, progress)?;
  redact::write(&plan, input, file, output)
}

/// Growth from `baseline` to `current` against `budgets`: two summaries, compared by class.
pub fn check(
  baseline: &Path,
  current: &Path,
  budgets: &report::Budgets,
  top: usize,
  progress: &mut dyn Progress,
) -> Result<report::Check, Failure> {
  let old = summary(baseline, 0, progress)?;
  let new = summary(current, 0, progress)?;
  Ok(report::check(&old, &new, budgets, top))
}
