use napi::bindgen_prelude::{AsyncTask, Either};
use napi::{Env, Task};
use napi_derive::napi;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use rheapdump_analysis::progress::Bar;
use rheapdump_analysis::report::PackageFilter;
use rheapdump_analysis::run::{Failure, Matching, Progress, Quiet, Request};
use rheapdump_analysis::source_map::{self, SourceMaps};

/// Why an analysis failed; lib/analysis.js turns it into an Error.
#[napi(object)]
pub struct AnalysisFailure {
  /// An errno name for I/O failures, else ERR_SNAPSHOT_SYNTAX, ERR_SNAPSHOT_UNSOUND,
  /// ERR_NODE_NOT_FOUND, ERR_SNAPSHOT_NOT_A_FILE (a pipe, FIFO or device) or
  /// ERR_RHEAPDUMP_ANALYSIS_INTERNAL (a bug: the analysis panicked).
  pub code: String,
  pub path: String,
  pub description: String,
}

impl From<Failure> for AnalysisFailure {
  fn from(failure: Failure) -> AnalysisFailure {
    AnalysisFailure {
      code: failure.code().to_string(),
      path: failure.path().display().to_string(),
      description: failure.description(),
    }
  }
}

/// An analysis that failed for want of a bug fix, not because of its input: it panicked, or its
/// report could not be serialized. Its code, which lib/analysis.js passes on.
const INTERNAL: &str = "ERR_RHEAPDUMP_ANALYSIS_INTERNAL";

pub struct AnalysisTask {
  request: Request,
  progress: bool,
  /// The `package` option: only that package's rows, then the first `top` of them.
  package: Option<(PackageFilter, usize)>,
  /// The `sourceMaps` and `sourceRoot` options: positions where the code was written.
  maps: Option<Arc<SourceMaps>>,
}

impl AnalysisTask {
  fn new(request: Request, progress: bool) -> AsyncTask<AnalysisTask> {
    AnalysisTask::mapped(request, progress, None)
  }

  /// With `maps`, the report's positions are shown where the code was written.
  fn mapped(
    request: Request,
    progress: bool,
    maps: Option<Arc<SourceMaps>>,
  ) -> AsyncTask<AnalysisTask> {
    AsyncTask::new(AnalysisTask {
      request,
      progress,
      package: None,
      maps,
    })
  }

  /// With a `package`, every row is asked for, and the package's first `top` are kept.
  fn of_package(
    request: Request,
    top: usize,
    progress: bool,
    package: Option<String>,
    maps: Option<Arc<SourceMaps>>,
  ) -> AsyncTask<AnalysisTask> {
    let Some(package) = package else {
      return AnalysisTask::mapped(request, progress, maps);
    };
    AsyncTask::new(AnalysisTask {
      request: request.all_rows(),
      progress,
      package: Some((PackageFilter::new(&package), top)),
      maps,
    })
  }

  fn internal(&self, description: String) -> AnalysisFailure {
    let path = match &self.request {
      Request::Summary { file, .. }
      | Request::Instances { file, .. }
      | Request::Path { file, .. }
      | Request::Validate { file }
      | Request::Redact { file, .. } => file,
      Request::Diff { after, .. } | Request::Check { current: after, .. } => after,
      Request::Leaks { last, .. } | Request::Suspects { last, .. } => last,
    };
    AnalysisFailure {
      code: INTERNAL.to_string(),
      path: path.display().to_string(),
      description,
    }
  }
}

impl Task for AnalysisTask {
  /// The report as JSON, the contract the CLI prints with --json ([`Report::to_json`]).
  type Output = Either<String, AnalysisFailure>;
  type JsValue = Either<String, AnalysisFailure>;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    // A panic must not unwind out of this libuv worker thread: across napi-rs's `extern "C"`
    // callback it would abort the user's process. Caught, it rejects the one promise.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
      let mut bar = Bar::default();
      let progress: &mut dyn Progress = if self.progress { &mut bar } else { &mut Quiet };
      source_map::run(&self.request, self.maps.as_ref(), progress).map(|mut report| {
        if let Some((filter, top)) = &self.package {
          filter.apply(&mut report, *top);
        }
        report.to_json()
      })
    }));
    Ok(match outcome {
      Ok(Ok(Ok(json))) => Either::A(json),
      Ok(Ok(Err(err))) => {
        Either::B(self.internal(format!("the report cannot be written as JSON: {err}")))
      }
      Ok(Err(failure)) => Either::B(failure.into()),
      Err(payload) => {
        let what = payload
          .downcast_ref::<&str>()
          .map(|s| s.to_string())
          .or_else(|| payload.downcast_ref::<String>().cloned())
          .unwrap_or_default();
        Either::B(self.internal(format!(
          "the analysis failed (a bug in rheapdump, please report it): {what}"
        )))
      }
    })
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(output)
  }
}

/// The maps of the `sourceMaps` and `sourceRoot` options: None when mapping is off.
fn maps_of(source_maps: bool, source_root: Option<String>) -> Option<Arc<SourceMaps>> {
  source_maps.then(|| Arc::new(SourceMaps::new(source_root.map(Into::into))))
}

/// Reads and checks a .heapsnapshot file on a worker thread: the `validate` report as JSON.
#[napi]
pub fn validate_snapshot(path: String) -> AsyncTask<AnalysisTask> {
  AnalysisTask::new(Request::Validate { file: path.into() }, false)
}

/// DevTools' Summary view of a snapshot, on a worker thread; with `package`, only that npm
/// package's classes and objects; with `source_maps`, positions where the code was written
/// (scripts and maps under `source_root` when given).
#[napi]
pub fn analyze_summary(
  file: String,
  top: u32,
  progress: bool,
  package: Option<String>,
  source_maps: bool,
  source_root: Option<String>,
) -> AsyncTask<AnalysisTask> {
  let top = top as usize;
  let request = Request::Summary {
    file: file.into(),
    top,
  };
  let maps = maps_of(source_maps, source_root);
  AnalysisTask::of_package(request, top, progress, package, maps)
}

/// DevTools' Comparison view of two snapshots, and the owners of what grew; with `package`, only
/// that npm package's classes. `matching`: `auto`, `ids` or `structure` (anything else is taken
/// as `auto`; lib/analysis.js checks it). `source_maps`, `source_root`: as for the summary.
// One argument per option of the JS call, as the other analyses take them.
#[allow(clippy::too_many_arguments)]
#[napi]
pub fn analyze_diff(
  before: String,
  after: String,
  matching: String,
  top: u32,
  progress: bool,
  package: Option<String>,
  source_maps: bool,
  source_root: Option<String>,
) -> AsyncTask<AnalysisTask> {
  let top = top as usize;
  let request = Request::Diff {
    before: before.into(),
    after: after.into(),
    matching: Matching::parse(&matching).unwrap_or_default(),
    top,
  };
  let maps = maps_of(source_maps, source_root);
  AnalysisTask::of_package(request, top, progress, package, maps)
}

/// The three-snapshot technique: what was allocated after BASELINE, is in TARGET, and still
/// lives in FINAL; with `package`, only the owners and groups of that npm package.
/// `source_maps`, `source_root`: as for the summary.
// One argument per option of the JS call, as the other analyses take them.
#[allow(clippy::too_many_arguments)]
#[napi]
pub fn analyze_leaks(
  baseline: String,
  target: String,
  last: String,
  matching: String,
  top: u32,
  progress: bool,
  package: Option<String>,
  source_maps: bool,
  source_root: Option<String>,
) -> AsyncTask<AnalysisTask> {
  let top = top as usize;
  let request = Request::Leaks {
    baseline: baseline.into(),
    target: target.into(),
    last: last.into(),
    matching: Matching::parse(&matching).unwrap_or_default(),
    top,
  };
  let maps = maps_of(source_maps, source_root);
  AnalysisTask::of_package(request, top, progress, package, maps)
}

/// The shortest retaining paths to one node. `source_maps`, `source_root`: as for the summary.
#[napi]
pub fn analyze_path(
  file: String,
  id: u32,
  max: u32,
  progress: bool,
  source_maps: bool,
  source_root: Option<String>,
) -> AsyncTask<AnalysisTask> {
  let (file, max) = (file.into(), max as usize);
  let maps = maps_of(source_maps, source_root);
  AnalysisTask::mapped(Request::Path { file, id, max }, progress, maps)
}

/// Writes a copy of a snapshot with every value string replaced (`redact`), on a worker thread:
/// the redaction report as JSON.
#[napi]
pub fn redact_snapshot(file: String, output: String, progress: bool) -> AsyncTask<AnalysisTask> {
  let (file, output) = (file.into(), output.into());
  AnalysisTask::new(Request::Redact { file, output }, progress)
}
