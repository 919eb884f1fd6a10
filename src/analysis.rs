use napi::bindgen_prelude::{AsyncTask, Either};
use napi::{Env, Task};
use napi_derive::napi;
use std::path::Path;

use rheapdump_analysis::progress::Bar;
use rheapdump_analysis::run::{self, Failure, Progress, Quiet};

/// A sound snapshot's counts.
#[napi(object)]
pub struct SnapshotCounts {
  pub nodes: f64,
  pub edges: f64,
  pub strings: f64,
  pub node_fields: u32,
}

/// Why an analysis failed; lib/analysis.js turns it into an Error.
#[napi(object)]
pub struct AnalysisFailure {
  /// An errno name for I/O failures, else ERR_SNAPSHOT_SYNTAX, ERR_SNAPSHOT_UNSOUND,
  /// ERR_NODE_NOT_FOUND or ERR_SNAPSHOT_NOT_A_FILE (a pipe, FIFO or device).
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

pub struct ValidateTask {
  path: String,
}

impl Task for ValidateTask {
  type Output = Either<SnapshotCounts, AnalysisFailure>;
  type JsValue = Either<SnapshotCounts, AnalysisFailure>;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    Ok(match run::validate(Path::new(&self.path), &mut Quiet) {
      Ok(sound) => Either::A(SnapshotCounts {
        nodes: sound.nodes as f64,
        edges: sound.edges as f64,
        strings: sound.strings as f64,
        node_fields: sound.node_fields as u32,
      }),
      Err(failure) => Either::B(failure.into()),
    })
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(output)
  }
}

/// Reads and checks a .heapsnapshot file on a worker thread.
#[napi]
pub fn validate_snapshot(path: String) -> AsyncTask<ValidateTask> {
  AsyncTask::new(ValidateTask { path })
}

pub enum Analysis {
  Summary {
    file: String,
    top: u32,
  },
  Diff {
    before: String,
    after: String,
    top: u32,
  },
  Leaks {
    baseline: String,
    target: String,
    last: String,
    top: u32,
  },
  Path {
    file: String,
    id: u32,
    max: u32,
  },
}

pub struct AnalysisTask {
  analysis: Analysis,
  progress: bool,
}

fn json<T: serde::Serialize>(value: &T) -> String {
  serde_json::to_string(value).unwrap_or_default()
}

impl Task for AnalysisTask {
  /// The report as JSON, the contract the CLI prints with --json.
  type Output = Either<String, AnalysisFailure>;
  type JsValue = Either<String, AnalysisFailure>;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    let mut bar = Bar::default();
    let progress: &mut dyn Progress = if self.progress { &mut bar } else { &mut Quiet };
    let path = |p: &String| Path::new(p).to_path_buf();
    let result = match &self.analysis {
      Analysis::Summary { file, top } => {
        run::summary(&path(file), *top as usize, progress).map(|s| json(&s))
      }
      Analysis::Diff { before, after, top } => {
        run::diff(&path(before), &path(after), *top as usize, progress).map(|d| json(&d))
      }
      Analysis::Leaks {
        baseline,
        target,
        last,
        top,
      } => run::leaks(
        &path(baseline),
        &path(target),
        &path(last),
        *top as usize,
        progress,
      )
      .map(|l| json(&l)),
      Analysis::Path { file, id, max } => {
        run::paths(&path(file), *id, *max as usize, progress).map(|p| json(&p))
      }
    };
    drop(bar);
    Ok(match result {
      Ok(done) => Either::A(done),
      Err(failure) => Either::B(failure.into()),
    })
  }

  fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(output)
  }
}

/// DevTools' Summary view of a snapshot, on a worker thread.
#[napi]
pub fn analyze_summary(file: String, top: u32, progress: bool) -> AsyncTask<AnalysisTask> {
  AsyncTask::new(AnalysisTask {
    analysis: Analysis::Summary { file, top },
    progress,
  })
}

/// DevTools' Comparison view of two snapshots.
#[napi]
pub fn analyze_diff(
  before: String,
  after: String,
  top: u32,
  progress: bool,
) -> AsyncTask<AnalysisTask> {
  AsyncTask::new(AnalysisTask {
    analysis: Analysis::Diff { before, after, top },
    progress,
  })
}

/// The three-snapshot technique: what was allocated after BASELINE, is in TARGET, and still lives in FINAL.
#[napi]
pub fn analyze_leaks(
  baseline: String,
  target: String,
  last: String,
  top: u32,
  progress: bool,
) -> AsyncTask<AnalysisTask> {
  AsyncTask::new(AnalysisTask {
    analysis: Analysis::Leaks {
      baseline,
      target,
      last,
      top,
    },
    progress,
  })
}

/// The shortest retaining paths to one node.
#[napi]
pub fn analyze_path(file: String, id: u32, max: u32, progress: bool) -> AsyncTask<AnalysisTask> {
  AsyncTask::new(AnalysisTask {
    analysis: Analysis::Path { file, id, max },
    progress,
  })
}
