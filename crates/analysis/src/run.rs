//! Whole analyses from file names to reports, with progress: the one request type every caller
//! fills in ([`Request`]: the CLI from its arguments, the JS API as JSON) and [`run`], which
//! answers it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::compressed::Input;
pub use crate::failure::Failure;
use crate::fork::{first_fork_snapshot, refuse_fork_snapshots};
use crate::graph::{self, Graph};
use crate::heap::{infer_interfaces, prepare_classes, Heap, Interfaces, Keep, Rules, Stage};
use crate::input;
use crate::origin::{self, common_share, Origin};
use crate::parse::ParseError;
use crate::profile;
use crate::redact::{self, Plan, Redaction};
use crate::report::{self, Diff, Leaks, PackageFilter, Paths, SourceFilter, Summary};
use crate::source_map::{self, SourceMaps};
use crate::validate::{self, Soundness, Validity};

/// Rows per table when the caller names no number: the CLI's `--top` and the JS API's `top`.
pub const DEFAULT_TOP: usize = 20;
/// Classes `check` lists when the caller names no number.
pub const DEFAULT_CHECK_TOP: usize = 10;
/// Retaining paths `path` shows when the caller names no number: the CLI's `--max` and the JS
/// API's `max`.
pub const DEFAULT_PATHS: usize = 5;

/// One analysis and its options: what the CLI's command line, the JS API's object (through the
/// analysis module's one function, `analyze`) and the portable program's hidden `request`
/// command all become, checked once ([`Request::from_json`], [`Request::check`]) and answered
/// by [`run`].
///
/// As JSON, the JS API's form, it is one flat object: `kind` names the analysis, its fields
/// follow, and the [`Options`] every analysis takes sit beside them:
/// `{"kind":"diff","before":"a.heapsnapshot","after":"b.heapsnapshot","match":"ids","top":5}`.
/// Paths are as given (relative to the working directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
  pub analysis: Analysis,
  pub options: Options,
}

/// The options every analysis takes, in one place: the CLI's `--top`, `--package`, `--source`
/// and its progress bar; the JS API's `top`, `package`, `source` and `progress`. Another such
/// option is one field here (the JS API reads it by its camel-cased name at once) and its flag
/// in the CLI's `request()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Options {
  /// Rows per table, largest first; 0 for all. Each analysis has its default
  /// ([`Analysis::default_top`]); `path` counts its paths with `max` instead.
  #[serde(default)]
  pub top: Option<u32>,
  /// Only the rows of this npm package (`lru-cache`, `@scope/pkg`), or of `(app)`, `(node)` or
  /// `(unknown)`: summary, instances, diff and leaks.
  #[serde(default)]
  pub package: Option<String>,
  /// Only the rows written in these files: a directory (an absolute path) or part of a path
  /// (`node_modules/pino/`): summary, instances, diff and leaks.
  #[serde(default)]
  pub source: Option<String>,
  /// A progress bar on stderr, when it is a terminal.
  #[serde(default)]
  pub progress: bool,
  /// False: the positions that ran, not where source maps say the code was written (the CLI's
  /// `--no-source-maps`). Mapping is on when left out.
  #[serde(default)]
  pub source_maps: Option<bool>,
  /// Where the scripts and their maps are when the snapshot comes from another machine
  /// (`--source-root`): `/app/dist/server.js` is looked for as `DIR/app/dist/server.js`,
  /// `DIR/dist/server.js`, `DIR/server.js`.
  #[serde(default)]
  pub source_root: Option<PathBuf>,
}

impl Options {
  /// The source maps this request reads, lazily: None when mapping is off.
  pub fn maps(&self) -> Option<Arc<SourceMaps>> {
    (self.source_maps != Some(false)).then(|| Arc::new(SourceMaps::new(self.source_root.clone())))
  }
}

/// Which analysis, on which files: one variant per report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
  rename_all = "camelCase",
  rename_all_fields = "camelCase",
  deny_unknown_fields
)]
pub enum Analysis {
  /// DevTools' Summary view (`summary`).
  Summary { file: PathBuf },
  /// The objects of one class (`summary --class`), or with `before` those that snapshot
  /// lacks (`diff --class`).
  Instances {
    file: PathBuf,
    class: String,
    #[serde(default)]
    before: Option<PathBuf>,
  },
  /// DevTools' Comparison view, and the owners of what grew (`diff`).
  Diff {
    before: PathBuf,
    after: PathBuf,
    #[serde(default, rename = "match")]
    matching: Matching,
  },
  /// The three-snapshot technique (`leaks`); `by_path` shows its groups (by retaining path
  /// and class) rather than its owners as text. The JSON has both.
  Leaks {
    baseline: PathBuf,
    target: PathBuf,
    #[serde(rename = "final")]
    last: PathBuf,
    #[serde(default, rename = "match")]
    matching: Matching,
    #[serde(default)]
    by_path: bool,
  },
  /// The leak-suspects page of a three-snapshot hunt, written to `out` (`report`).
  Report {
    baseline: PathBuf,
    target: PathBuf,
    #[serde(rename = "final")]
    last: PathBuf,
    out: PathBuf,
  },
  /// Retaining paths to node `id`, `max` of them (`path`).
  Path {
    file: PathBuf,
    id: u32,
    #[serde(default)]
    max: Option<u32>,
  },
  /// The structural checks (`validate`).
  Validate { file: PathBuf },
  /// A copy of `file` with its values replaced, in `output` (`redact`).
  Redact { file: PathBuf, output: PathBuf },
  /// Growth from `baseline` to `current` against budgets (`check`): sizes are bytes, or
  /// strings with a unit (`1MB`, `512KiB`); the named budgets map a class or package to one.
  Check {
    baseline: PathBuf,
    current: PathBuf,
    #[serde(default, deserialize_with = "optional_size")]
    max_growth: Option<u64>,
    #[serde(default, deserialize_with = "named_sizes")]
    max_class_growth: Vec<(String, u64)>,
    #[serde(default, deserialize_with = "named_sizes")]
    max_package_growth: Vec<(String, u64)>,
    #[serde(default, deserialize_with = "named_sizes")]
    max_owner_growth: Vec<(String, u64)>,
  },
  /// Live bytes by function in a sampling heap profile (`profile top`).
  ProfileTop { file: PathBuf },
  /// What was allocated after `before` and lives in `after`, by function (`profile diff`).
  ProfileDiff { before: PathBuf, after: PathBuf },
}

/// Why a request cannot be run: a field that is missing, unknown, of the wrong type or out of
/// range, or options that do not go together. The CLI shows it as a usage error; the JS API
/// rejects with [`Invalid::CODE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
  /// The `code` the JS API rejects with.
  pub const CODE: &'static str = "ERR_INVALID_ARG_VALUE";
}

impl std::fmt::Display for Invalid {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.0)
  }
}

impl Request {
  /// The request one JSON object names (the JS API's form), checked ([`Request::check`]). An
  /// error names the field it is about.
  pub fn from_json(text: &str) -> Result<Request, Invalid> {
    let value: Value = serde_json::from_str(text)
      .map_err(|err| Invalid(format!("the request is not JSON: {err}")))?;
    let Value::Object(mut fields) = value else {
      return Err(Invalid(format!(
        "the request must be an object such as {{\"kind\":\"summary\",\"file\":\"app.heapsnapshot\"}}, got {value}"
      )));
    };
    let kind = match fields.remove("kind") {
      Some(Value::String(kind)) => kind,
      Some(other) => return Err(Invalid(format!("kind must be a string, got {other}"))),
      None => {
        return Err(Invalid(format!(
          "kind is missing: one of {}",
          names::<Analysis>().join(", ")
        )))
      }
    };
    // The common options are taken out first; any field left must be the analysis's own.
    let mut common = Map::new();
    for name in names::<Options>() {
      if let Some(value) = fields.remove(*name) {
        common.insert(name.to_string(), value);
      }
    }
    let options = read(Value::Object(common), false)?;
    let analysis = read(
      Value::Object(Map::from_iter([(kind, Value::Object(fields))])),
      true,
    )?;
    let request = Request { analysis, options };
    request.check()?;
    Ok(request)
  }

  /// Checks what types alone cannot: no empty file name, the filters and `top` only where the
  /// analysis has rows to keep, a budget for `check`. The CLI's requests pass here too.
  pub fn check(&self) -> Result<(), Invalid> {
    let kind = self.analysis.kind();
    for (name, path) in self.analysis.paths() {
      if path.as_os_str().is_empty() {
        return Err(Invalid(format!("{name} must be a file name, got ''")));
      }
    }
    let filters = [
      ("package", &self.options.package),
      ("source", &self.options.source),
    ];
    for (name, value) in filters {
      match value.as_deref() {
        Some("") => return Err(Invalid(format!("{name} must not be empty"))),
        Some(_) if !self.analysis.has_filters() => {
          return Err(Invalid(format!(
            "{name} applies to summary, instances, diff and leaks, not {kind}"
          )))
        }
        _ => {}
      }
    }
    if self.options.source_maps == Some(false) && self.options.source_root.is_some() {
      return Err(Invalid(
        "sourceRoot needs source maps: leave sourceMaps out or true".to_string(),
      ));
    }
    if self.options.top.is_some() && self.analysis.default_top().is_none() {
      let instead = match self.analysis {
        Analysis::Path { .. } => " (it shows max paths)",
        _ => "",
      };
      return Err(Invalid(format!("top does not apply to {kind}{instead}")));
    }
    if let Analysis::Check {
      max_growth: None,
      max_class_growth,
      max_package_growth,
      max_owner_growth,
      ..
    } = &self.analysis
    {
      if max_class_growth.is_empty() && max_package_growth.is_empty() && max_owner_growth.is_empty()
      {
        return Err(Invalid(
          "check needs a budget: --max-growth, --max-class-growth, --max-package-growth or \
           --max-owner-growth (maxGrowth, maxClassGrowth, maxPackageGrowth or maxOwnerGrowth \
           in the JS API)"
            .to_string(),
        ));
      }
    }
    Ok(())
  }

  /// The files the analysis reads, in the order it names them.
  pub fn inputs(&self) -> Vec<&Path> {
    self
      .analysis
      .paths()
      .into_iter()
      .filter(|(name, _)| !matches!(*name, "out" | "output"))
      .map(|(_, path)| path)
      .collect()
  }

  /// How many rows the report keeps: `top`, or the analysis's default; 0 for all.
  pub fn top(&self) -> usize {
    self.options.top.map_or_else(
      || self.analysis.default_top().unwrap_or(0),
      |top| top as usize,
    )
  }
}

impl Analysis {
  /// The analysis's name, as `kind` gives it.
  pub fn kind(&self) -> &'static str {
    match self {
      Analysis::Summary { .. } => "summary",
      Analysis::Instances { .. } => "instances",
      Analysis::Diff { .. } => "diff",
      Analysis::Leaks { .. } => "leaks",
      Analysis::Report { .. } => "report",
      Analysis::Path { .. } => "path",
      Analysis::Validate { .. } => "validate",
      Analysis::Redact { .. } => "redact",
      Analysis::Check { .. } => "check",
      Analysis::ProfileTop { .. } => "profileTop",
      Analysis::ProfileDiff { .. } => "profileDiff",
    }
  }

  /// The files it names, each with the name of its field: what it reads, then what it writes.
  fn paths(&self) -> Vec<(&'static str, &Path)> {
    match self {
      Analysis::Summary { file }
      | Analysis::Validate { file }
      | Analysis::Path { file, .. }
      | Analysis::ProfileTop { file } => vec![("file", file)],
      Analysis::Instances { file, before, .. } => {
        let before = before.iter().map(|before| ("before", before.as_path()));
        before.chain([("file", file.as_path())]).collect()
      }
      Analysis::Diff { before, after, .. } | Analysis::ProfileDiff { before, after } => {
        vec![("before", before), ("after", after)]
      }
      Analysis::Leaks {
        baseline,
        target,
        last,
        ..
      } => vec![("baseline", baseline), ("target", target), ("final", last)],
      Analysis::Report {
        baseline,
        target,
        last,
        out,
      } => vec![
        ("baseline", baseline),
        ("target", target),
        ("final", last),
        ("out", out),
      ],
      Analysis::Redact { file, output } => vec![("file", file), ("output", output)],
      Analysis::Check {
        baseline, current, ..
      } => vec![("baseline", baseline), ("current", current)],
    }
  }

  /// Rows it keeps when `top` is not given; None for a report without rows to count.
  pub fn default_top(&self) -> Option<usize> {
    match self {
      Analysis::Check { .. } => Some(DEFAULT_CHECK_TOP),
      Analysis::Path { .. } | Analysis::Validate { .. } | Analysis::Redact { .. } => None,
      _ => Some(DEFAULT_TOP),
    }
  }

  /// Whether `package` and `source` choose among its rows.
  fn has_filters(&self) -> bool {
    matches!(
      self,
      Analysis::Summary { .. }
        | Analysis::Instances { .. }
        | Analysis::Diff { .. }
        | Analysis::Leaks { .. }
    )
  }
}

/// `T` from `value`; an error names the field it is about (`top: invalid type: …`). `tagged`:
/// `value` is `{kind: fields}`, whose first step (the kind) is left out of the name.
fn read<T: DeserializeOwned>(value: Value, tagged: bool) -> Result<T, Invalid> {
  serde_path_to_error::deserialize(value).map_err(|err| {
    let inner = err.inner().to_string();
    let field: Vec<String> = err
      .path()
      .iter()
      .skip(usize::from(tagged))
      .map(ToString::to_string)
      .collect();
    if field.is_empty() && tagged && inner.starts_with("unknown variant") {
      return Invalid(format!("kind: {inner}"));
    }
    let hint = if inner.starts_with("unknown field") {
      format!(
        "; or one of the common options: {}",
        names::<Options>().join(", ")
      )
    } else {
      String::new()
    };
    match field.as_slice() {
      [] => Invalid(format!("{inner}{hint}")),
      _ => Invalid(format!("{}: {inner}{hint}", field.join("."))),
    }
  })
}

/// The names serde gives `T`'s fields (a struct) or variants (an enum), as its derived
/// `Deserialize` declares them: the one list of the request's options and kinds.
fn names<T: DeserializeOwned>() -> &'static [&'static str] {
  struct Names(&'static [&'static str]);
  impl<'de> Deserializer<'de> for &mut Names {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
      Err(de::Error::custom("neither a struct nor an enum"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
      self,
      _: &'static str,
      fields: &'static [&'static str],
      _: V,
    ) -> Result<V::Value, Self::Error> {
      self.0 = fields;
      Err(de::Error::custom("names read"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
      self,
      _: &'static str,
      variants: &'static [&'static str],
      _: V,
    ) -> Result<V::Value, Self::Error> {
      self.0 = variants;
      Err(de::Error::custom("names read"))
    }

    serde::forward_to_deserialize_any! {
      bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
      option unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
  }
  let mut names = Names(&[]);
  let _ = T::deserialize(&mut names);
  names.0
}

/// A size: bytes, or a string with a unit (`1MB`, `512KiB`).
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Size, D::Error> {
    struct Bytes;
    impl Visitor<'_> for Bytes {
      type Value = Size;

      fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(
          "a size: bytes (a whole number) or a number with a unit such as '1MB' or '512KiB'",
        )
      }

      fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<Size, E> {
        Ok(Size(bytes))
      }

      fn visit_str<E: de::Error>(self, text: &str) -> Result<Size, E> {
        report::parse_size(text).map(Size).map_err(E::custom)
      }
    }
    deserializer.deserialize_any(Bytes)
  }
}

fn optional_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
  Ok(Option::<Size>::deserialize(deserializer)?.map(|size| size.0))
}

/// Budgets by name, `{"Quote": "256KiB"}` (in name order: a JSON object's order is not kept).
fn named_sizes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, u64)>, D::Error> {
  struct Named;
  impl<'de> Visitor<'de> for Named {
    type Value = Vec<(String, u64)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
      f.write_str("an object of names and sizes such as {\"Quote\": \"256KiB\"}")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
      let mut named = Vec::new();
      while let Some((name, size)) = map.next_entry::<String, Size>()? {
        named.push((name, size.0));
      }
      Ok(named)
    }
  }
  deserializer.deserialize_map(Named)
}

/// How `diff` and `leaks` match the objects of their snapshots (the CLI's `--match`, the JS
/// API's `match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
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
  Page(report::Page),
  Paths(Paths),
  Validate(Validity),
  Redaction(Redaction),
  Check(report::Check),
  ProfileTop(profile::Top),
  ProfileDiff(profile::ProfileDiff),
}

impl Report {
  /// Why some of its positions are the generated ones (source maps that could not be used);
  /// empty when all were mapped, or mapping was off.
  pub fn source_map_notes(&self) -> &[String] {
    let notes = match self {
      Report::Summary(r) => &r.source_map_notes,
      Report::Instances(r) => &r.source_map_notes,
      Report::Diff(r) => &r.source_map_notes,
      Report::Leaks(r) => &r.source_map_notes,
      Report::Page(r) => &r.source_map_notes,
      Report::Paths(r) => &r.source_map_notes,
      Report::ProfileTop(r) => &r.source_map_notes,
      Report::ProfileDiff(r) => &r.source_map_notes,
      Report::Validate(_) | Report::Redaction(_) | Report::Check(_) => return &[],
    };
    notes.as_deref().unwrap_or_default()
  }

  /// The report as one line of JSON.
  pub fn to_json(&self) -> serde_json::Result<String> {
    match self {
      Report::Summary(r) => serde_json::to_string(r),
      Report::Instances(r) => serde_json::to_string(r),
      Report::Diff(r) => serde_json::to_string(r),
      Report::Leaks(r) => serde_json::to_string(r),
      Report::Page(r) => serde_json::to_string(r),
      Report::Paths(r) => serde_json::to_string(r),
      Report::Validate(r) => serde_json::to_string(r),
      Report::Redaction(r) => serde_json::to_string(r),
      Report::Check(r) => serde_json::to_string(r),
      Report::ProfileTop(r) => serde_json::to_string(r),
      Report::ProfileDiff(r) => serde_json::to_string(r),
    }
  }

  /// Why a comparison may mean little (two processes, out of order, …); empty when sound and
  /// for reports of one snapshot.
  pub fn warnings(&self) -> &[String] {
    match self {
      Report::Instances(r) => &r.warnings,
      Report::Diff(r) => &r.warnings,
      Report::Leaks(r) => &r.warnings,
      Report::Page(r) => &r.warnings,
      Report::Summary(_)
      | Report::Paths(_)
      | Report::Validate(_)
      | Report::Redaction(_)
      | Report::Check(_)
      | Report::ProfileTop(_)
      | Report::ProfileDiff(_) => &[],
    }
  }
}

/// Runs one analysis, reporting progress. With `package` or `source` every row is asked for,
/// then the filters keep theirs, and the last one cuts them to `top`.
///
/// Positions are shown where the code was written (source maps), before the filters choose, so
/// that `source` may name either the original file or the one that ran.
pub fn run(request: &Request, progress: &mut dyn Progress) -> Result<Report, Failure> {
  let maps = request.options.maps();
  source_map::with(maps.as_ref(), || {
    run_mapped(request, maps.as_deref(), progress)
  })
}

fn run_mapped(
  request: &Request,
  maps: Option<&SourceMaps>,
  progress: &mut dyn Progress,
) -> Result<Report, Failure> {
  let (package, source) = (&request.options.package, &request.options.source);
  let top = request.top();
  let filtered = package.is_some() || source.is_some();
  let mut report = report_of(
    &request.analysis,
    if filtered { 0 } else { top },
    maps,
    progress,
  )?;
  if let Some(maps) = maps {
    maps.apply(&mut report);
  }
  if let Some(source) = source {
    let rows = if package.is_some() { 0 } else { top };
    SourceFilter::new(source).apply(&mut report, rows);
  }
  if let Some(package) = package {
    PackageFilter::new(package).apply(&mut report, top);
  }
  Ok(report)
}

/// The report of `analysis`, its tables cut to `top` rows (all if 0).
fn report_of(
  analysis: &Analysis,
  top: usize,
  maps: Option<&SourceMaps>,
  progress: &mut dyn Progress,
) -> Result<Report, Failure> {
  Ok(match analysis {
    Analysis::Summary { file } => Report::Summary(summary(file, top, progress)?),
    Analysis::Instances {
      file,
      class,
      before,
    } => Report::Instances(instances(file, class, before.as_deref(), top, progress)?),
    Analysis::Diff {
      before,
      after,
      matching,
    } => Report::Diff(diff(before, after, *matching, top, progress)?),
    Analysis::Leaks {
      baseline,
      target,
      last,
      matching,
      ..
    } => Report::Leaks(leaks(baseline, target, last, *matching, top, progress)?),
    Analysis::Report {
      baseline,
      target,
      last,
      out,
    } => {
      let mut suspects = suspects(baseline, target, last, top, progress)?;
      // The page is written here, so its positions are mapped first.
      if let Some(maps) = maps {
        maps.apply_suspects(&mut suspects);
      }
      Report::Page(report::page::write(&suspects, out)?)
    }
    Analysis::Path { file, id, max } => {
      let max = max.map_or(DEFAULT_PATHS, |max| max as usize);
      Report::Paths(paths(file, *id, max, progress)?)
    }
    Analysis::Validate { file } => {
      let sound = validate(file, progress)?;
      Report::Validate(Validity {
        edges: sound.edges,
        file: name(file),
        nodes: sound.nodes,
        strings: sound.strings,
        valid: true,
      })
    }
    Analysis::Redact { file, output } => Report::Redaction(redact(file, output, progress)?),
    Analysis::Check {
      baseline,
      current,
      max_growth,
      max_class_growth,
      max_package_growth,
      max_owner_growth,
    } => {
      let budgets = report::Budgets {
        total: *max_growth,
        classes: max_class_growth.clone(),
        packages: max_package_growth.clone(),
        owners: max_owner_growth.clone(),
      };
      Report::Check(check(baseline, current, &budgets, top, progress)?)
    }
    Analysis::ProfileTop { file } => {
      Report::ProfileTop(profile::top(file, top).map_err(Failure::Profile)?)
    }
    Analysis::ProfileDiff { before, after } => {
      Report::ProfileDiff(profile::diff(before, after, top).map_err(Failure::Profile)?)
    }
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

#[cfg(test)]
mod tests {
  use super::*;

  fn invalid(json: &str) -> String {
    Request::from_json(json).expect_err(json).0
  }

  #[test]
  fn a_flat_object_is_one_analysis_and_the_options_every_analysis_takes() {
    let request = Request::from_json(
      r#"{"kind":"leaks","baseline":"a","target":"b","final":"c","match":"structure","byPath":true,"top":3,"package":"(app)","progress":true,"sourceRoot":"/srv"}"#,
    )
    .unwrap();
    assert_eq!(
      request.analysis,
      Analysis::Leaks {
        baseline: "a".into(),
        target: "b".into(),
        last: "c".into(),
        matching: Matching::Structure,
        by_path: true,
      }
    );
    assert_eq!(
      request.options,
      Options {
        top: Some(3),
        package: Some("(app)".into()),
        source: None,
        progress: true,
        source_maps: None,
        source_root: Some("/srv".into()),
      }
    );
    assert_eq!(request.top(), 3);
    assert_eq!(
      request.inputs(),
      [Path::new("a"), Path::new("b"), Path::new("c")]
    );
  }

  #[test]
  fn each_analysis_has_its_default_rows() {
    let top = |json: &str| Request::from_json(json).unwrap().top();
    assert_eq!(top(r#"{"kind":"summary","file":"f"}"#), DEFAULT_TOP);
    assert_eq!(
      top(r#"{"kind":"check","baseline":"a","current":"b","maxGrowth":1}"#),
      DEFAULT_CHECK_TOP
    );
    assert_eq!(top(r#"{"kind":"validate","file":"f"}"#), 0);
  }

  #[test]
  fn every_kind_reads_back_under_its_own_name() {
    let fields = [
      ("summary", r#""file":"f""#),
      ("instances", r#""file":"f","class":"C""#),
      ("diff", r#""before":"a","after":"b""#),
      ("leaks", r#""baseline":"a","target":"b","final":"c""#),
      (
        "report",
        r#""baseline":"a","target":"b","final":"c","out":"o""#,
      ),
      ("path", r#""file":"f","id":1"#),
      ("validate", r#""file":"f""#),
      ("redact", r#""file":"f","output":"o""#),
      ("check", r#""baseline":"a","current":"b","maxGrowth":"1MB""#),
      ("profileTop", r#""file":"f""#),
      ("profileDiff", r#""before":"a","after":"b""#),
    ];
    assert_eq!(
      names::<Analysis>(),
      fields.map(|(kind, _)| kind),
      "one case per kind"
    );
    for (kind, fields) in fields {
      let request = Request::from_json(&format!(r#"{{"kind":"{kind}",{fields}}}"#)).unwrap();
      assert_eq!(request.analysis.kind(), kind);
    }
    assert_eq!(
      names::<Options>(),
      [
        "top",
        "package",
        "source",
        "progress",
        "sourceMaps",
        "sourceRoot"
      ]
    );
  }

  #[test]
  fn budgets_take_bytes_or_sizes_with_units_by_name() {
    let request = Request::from_json(
      r#"{"kind":"check","baseline":"a","current":"b","maxGrowth":"1MB","maxClassGrowth":{"Quote":"256KiB","Leak":1024}}"#,
    )
    .unwrap();
    let Analysis::Check {
      max_growth,
      max_class_growth,
      ..
    } = request.analysis
    else {
      panic!("a check")
    };
    assert_eq!(max_growth, Some(1_000_000));
    assert_eq!(
      max_class_growth,
      [("Leak".to_string(), 1024), ("Quote".to_string(), 262_144)]
    );
  }

  #[test]
  fn a_bad_request_is_refused_naming_its_field() {
    let cases = [
      (
        r#"{"kind":"summary","file":"f","top":1.5}"#,
        "top: invalid type: floating point `1.5`",
      ),
      (
        r#"{"kind":"summary","file":"f","top":"NaN"}"#,
        "top: invalid type: string \"NaN\"",
      ),
      (
        r#"{"kind":"path","file":"f","id":-1}"#,
        "id: invalid value: integer `-1`",
      ),
      (
        r#"{"kind":"summary","file":"f","tpo":5}"#,
        "tpo: unknown field `tpo`",
      ),
      (
        r#"{"kind":"leaks","baseline":"a"}"#,
        "missing field `target`",
      ),
      (
        r#"{"kind":"diff","before":"a","after":"b","match":"names"}"#,
        "match: unknown variant `names`",
      ),
      (
        r#"{"kind":"heapsort","file":"f"}"#,
        "kind: unknown variant `heapsort`",
      ),
      (r#"{"file":"f"}"#, "kind is missing"),
      (r#"[1]"#, "the request must be an object"),
      (
        r#"{"kind":"summary","file":""}"#,
        "file must be a file name",
      ),
      (
        r#"{"kind":"summary","file":"f","package":""}"#,
        "package must not be empty",
      ),
      (
        r#"{"kind":"path","file":"f","id":1,"top":3}"#,
        "top does not apply to path",
      ),
      (
        r#"{"kind":"validate","file":"f","source":"x"}"#,
        "source applies to summary, instances, diff and leaks, not validate",
      ),
      (
        r#"{"kind":"check","baseline":"a","current":"b"}"#,
        "check needs a budget",
      ),
      (
        r#"{"kind":"check","baseline":"a","current":"b","maxGrowth":"1XB"}"#,
        "maxGrowth: a size is bytes",
      ),
      (
        r#"{"kind":"check","baseline":"a","current":"b","maxClassGrowth":{"Quote":-1}}"#,
        "maxClassGrowth.Quote: invalid type: integer `-1`",
      ),
    ];
    for (json, message) in cases {
      let got = invalid(json);
      assert!(got.starts_with(message), "{json}: {got}");
    }
    assert!(
      invalid(r#"{"kind":"summary","file":"f","tpo":5}"#).ends_with(
        "or one of the common options: top, package, source, progress, sourceMaps, sourceRoot"
      )
    );
    assert_eq!(
      invalid(r#"{"kind":"summary","file":"f","sourceMaps":false,"sourceRoot":"/srv"}"#),
      "sourceRoot needs source maps: leave sourceMaps out or true"
    );
  }
}
