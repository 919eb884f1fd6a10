use napi::bindgen_prelude::{AsyncTask, Either};
use napi::{Env, Task};
use napi_derive::napi;
use std::panic::{self, AssertUnwindSafe};

use rheapdump_analysis::progress::Bar;
use rheapdump_analysis::run::{self, Failure, Invalid, Progress, Quiet, Request};

/// Why an analysis failed; lib/analysis.js turns it into an Error.
#[napi(object)]
pub struct AnalysisFailure {
  /// An errno name for I/O failures, else ERR_SNAPSHOT_SYNTAX, ERR_SNAPSHOT_UNSOUND,
  /// ERR_NODE_NOT_FOUND, ERR_SNAPSHOT_NOT_A_FILE (a pipe, FIFO or device), ERR_PROFILE_SYNTAX,
  /// ERR_PROFILE_MISMATCH, ERR_INVALID_ARG_VALUE (the request itself: then no `path`) or
  /// ERR_RHEAPDUMP_ANALYSIS_INTERNAL (a bug: the analysis panicked).
  pub code: String,
  /// The file it is about; none for a request that cannot be run.
  pub path: Option<String>,
  pub description: String,
}

impl From<Failure> for AnalysisFailure {
  fn from(failure: Failure) -> AnalysisFailure {
    AnalysisFailure {
      code: failure.code().to_string(),
      path: Some(failure.path().display().to_string()),
      description: failure.description(),
    }
  }
}

impl From<Invalid> for AnalysisFailure {
  fn from(invalid: Invalid) -> AnalysisFailure {
    AnalysisFailure {
      code: Invalid::CODE.to_string(),
      path: None,
      description: invalid.0,
    }
  }
}

/// An analysis that failed for want of a bug fix, not because of its input: it panicked, or its
/// report could not be serialized. Its code, which lib/analysis.js passes on.
const INTERNAL: &str = "ERR_RHEAPDUMP_ANALYSIS_INTERNAL";

pub struct AnalysisTask {
  /// The request as JSON, read on the worker thread.
  request: String,
}

impl AnalysisTask {
  /// Reads and runs the request: the report as JSON, or why not.
  fn answer(&self) -> Result<String, AnalysisFailure> {
    let request = Request::from_json(&self.request)?;
    let internal = |description: String| AnalysisFailure {
      code: INTERNAL.to_string(),
      path: request
        .inputs()
        .last()
        .map(|path| path.display().to_string()),
      description,
    };
    // A panic must not unwind out of this libuv worker thread: across napi-rs's `extern "C"`
    // callback it would abort the user's process. Caught, it rejects the one promise.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
      let mut bar = Bar::default();
      let progress: &mut dyn Progress = if request.options.progress {
        &mut bar
      } else {
        &mut Quiet
      };
      run::run(&request, progress).map(|report| report.to_json())
    }));
    match outcome {
      Ok(Ok(Ok(json))) => Ok(json),
      Ok(Ok(Err(err))) => Err(internal(format!(
        "the report cannot be written as JSON: {err}"
      ))),
      Ok(Err(failure)) => Err(failure.into()),
      Err(payload) => {
        let what = payload
          .downcast_ref::<&str>()
          .map(|s| s.to_string())
          .or_else(|| payload.downcast_ref::<String>().cloned())
          .unwrap_or_default();
        Err(internal(format!(
          "the analysis failed (a bug in rheapdump, please report it): {what}"
        )))
      }
    }
  }
}

impl Task for AnalysisTask {
  /// The report as JSON, the contract the CLI prints with --json ([`Report::to_json`]).
  type Output = Either<String, AnalysisFailure>;
  type JsValue = Either<String, AnalysisFailure>;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    Ok(match self.answer() {
      Ok(json) => Either::A(json),
      Err(failure) => Either::B(failure),
    })
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(output)
  }
}

/// Runs one analysis on a worker thread: `request` is its JSON, one flat object such as
/// `{"kind":"summary","file":"app.heapsnapshot","top":5}` (crates/analysis, `run::Request`).
/// Resolves to the report as JSON, the CLI's `--json`, or to why it failed: a request that
/// cannot be run fails with ERR_INVALID_ARG_VALUE, checked here, not in JS.
#[napi]
pub fn analyze(request: String) -> AsyncTask<AnalysisTask> {
  AsyncTask::new(AnalysisTask { request })
}
