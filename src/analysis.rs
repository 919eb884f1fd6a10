use napi::bindgen_prelude::{AsyncTask, Either};
use napi::{Env, Task};
use napi_derive::napi;
use rheapdump_analysis::parse::{read_file, ParseError};
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
    let failure = |code: String, description: String| {
      Either::B(AnalysisFailure {
        code,
        path: self.path.clone(),
        description,
      })
    };
    let snapshot = match read_file(std::path::Path::new(&self.path)) {
      Ok(snapshot) => snapshot,
      Err(ParseError::Io(err)) => {
        return Ok(failure(
          rheapdump_core::errno::code_of(&err).to_string(),
          rheapdump_core::errno::describe(&err),
        ))
      }
      Err(err) => return Ok(failure("ERR_SNAPSHOT_SYNTAX".to_string(), err.to_string())),
    };
    Ok(match validate(&snapshot) {
      Ok(sound) => Either::A(SnapshotCounts {
        nodes: sound.nodes as f64,
        edges: sound.edges as f64,
        strings: sound.strings as f64,
        node_fields: sound.node_fields as u32,
      }),
      Err(unsound) => failure("ERR_SNAPSHOT_UNSOUND".to_string(), unsound.0),
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
