use napi::bindgen_prelude::{AsyncTask, Either};
use napi::{Env, Task};
use napi_derive::napi;
use std::path::Path;

use rheapdump_analysis::parse::{read_file, ParseError};
use rheapdump_analysis::render;
use rheapdump_analysis::run::{self, Failure, Progress, Quiet};
use rheapdump_analysis::validate::validate;

/// A sound snapshot's counts.
#[napi(object)]
pub struct SnapshotCounts {
  pub nodes: f64,
  pub edges: f64,
  pub strings: f64,
  pub node_fields: u32,
}

/// Why a file is not a sound snapshot; `index.js`/the CLI turn it into an Error.
#[napi(object)]
pub struct AnalysisFailure {
  /// An errno name for I/O failures, ERR_SNAPSHOT_SYNTAX or ERR_SNAPSHOT_UNSOUND.
  pub code: String,
  pub path: String,
  pub description: String,
}

pub struct ValidateTask {
  path: String,
}

impl Task for ValidateTask {
  type Output = Either<SnapshotCounts, AnalysisFailure>;
  type JsValue = Either<SnapshotCounts, AnalysisFailure>;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    let path = Path::new(&self.path);
    let snapshot = match read_file(path) {
      Ok(snapshot) => snapshot,
      Err(error) => return Ok(Either::B(parse_failure(path, &error))),
    };
    Ok(match validate(&snapshot) {
      Ok(sound) => Either::A(SnapshotCounts {
        nodes: sound.nodes as f64,
        edges: sound.edges as f64,
        strings: sound.strings as f64,
        node_fields: sound.node_fields as u32,
      }),
      Err(unsound) => Either::B(AnalysisFailure {
        code: "ERR_SNAPSHOT_UNSOUND".to_string(),
        path: self.path.clone(),
        description: unsound.0,
      }),
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

/// Draws a progress bar on stderr (indicatif hides it when stderr is not a terminal): bytes read,
/// then the name of each later stage.
struct Bar {
  bar: Option<indicatif::ProgressBar>,
}

impl Bar {
  /// Files below this size are analysed before a bar would be worth drawing.
  const MIN_SIZE: u64 = 16 << 20;

  fn new() -> Bar {
    Bar { bar: None }
  }
}

impl Progress for Bar {
  fn file(&mut self, file: &Path, size: u64) {
    if let Some(bar) = self.bar.take() {
      bar.finish_and_clear();
    }
    if size < Bar::MIN_SIZE {
      return;
    }
    let bar =
      indicatif::ProgressBar::with_draw_target(Some(size), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
      indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
      )
      .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
      .progress_chars("=> "),
    );
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    bar.set_prefix(name.unwrap_or_default());
    bar.set_message("reading");
    self.bar = Some(bar);
  }

  fn read(&mut self, bytes: u64) {
    if let Some(bar) = &self.bar {
      bar.inc(bytes);
    }
  }

  fn stage(&mut self, stage: &str) {
    if let Some(bar) = &self.bar {
      bar.set_message(stage.to_string());
    }
  }
}

impl Drop for Bar {
  fn drop(&mut self) {
    if let Some(bar) = self.bar.take() {
      bar.finish_and_clear();
    }
  }
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

/// A report as JSON (the stable contract) and as the CLI's text.
#[napi(object)]
pub struct AnalysisReport {
  pub json: String,
  pub text: String,
}

pub struct AnalysisTask {
  analysis: Analysis,
  progress: bool,
}

fn report<T: serde::Serialize>(value: &T, text: String) -> AnalysisReport {
  AnalysisReport {
    json: serde_json::to_string(value).unwrap_or_default(),
    text,
  }
}

/// A file that could not be read (an errno code) or is not a snapshot (ERR_SNAPSHOT_SYNTAX).
fn parse_failure(path: &Path, error: &ParseError) -> AnalysisFailure {
  let (code, description) = match error {
    ParseError::Io(err) => (
      rheapdump_core::errno::code_of(err).to_string(),
      rheapdump_core::errno::describe(err),
    ),
    other => ("ERR_SNAPSHOT_SYNTAX".to_string(), other.to_string()),
  };
  AnalysisFailure {
    code,
    path: path.display().to_string(),
    description,
  }
}

fn failure_of(failure: Failure) -> AnalysisFailure {
  match failure {
    Failure::File { path, error } => parse_failure(&path, &error),
    Failure::NoSuchNode { path, id } => AnalysisFailure {
      code: "ERR_NODE_NOT_FOUND".to_string(),
      path: path.display().to_string(),
      description: format!("no node has id {id}"),
    },
  }
}

impl Task for AnalysisTask {
  type Output = Either<AnalysisReport, AnalysisFailure>;
  type JsValue = Either<AnalysisReport, AnalysisFailure>;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    let mut bar = Bar::new();
    let progress: &mut dyn Progress = if self.progress { &mut bar } else { &mut Quiet };
    let path = |p: &String| Path::new(p).to_path_buf();
    let result =
      match &self.analysis {
        Analysis::Summary { file, top } => run::summary(&path(file), *top as usize, progress)
          .map(|s| report(&s, render::summary(&s))),
        Analysis::Diff { before, after, top } => {
          run::diff(&path(before), &path(after), *top as usize, progress)
            .map(|d| report(&d, render::diff(&d)))
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
        .map(|l| report(&l, render::leaks(&l))),
        Analysis::Path { file, id, max } => run::paths(&path(file), *id, *max as usize, progress)
          .map(|p| report(&p, render::paths(&p))),
      };
    drop(bar);
    Ok(match result {
      Ok(done) => Either::A(done),
      Err(failure) => Either::B(failure_of(failure)),
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
