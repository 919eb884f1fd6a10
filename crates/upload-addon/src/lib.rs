//! rheapdump's second Node-API module, `rheapdump-upload.<platform>-<arch>-<libc>.node`: every
//! finished snapshot and profile → object storage (`upload: 's3://BUCKET/PREFIX'`), on a thread
//! of its own, so the upload runs while the main thread is stuck: a SIGUSR2 snapshot
//! taken inside a V8 interrupt is committed there and handed here at once, and it reaches the
//! bucket before the loop frees, which may be never (an OOM kill, a liveness probe).
//!
//! # Why a module of its own
//! The uploader's HTTP and TLS stack (ureq, rustls, ring, the root certificates) is two thirds of
//! the native code, and every page of a mapped module that the loader relocates stays resident:
//! in the addon, it cost every process that loads rheapdump ~1 MB of RSS, uploads or not.
//! lib/binding.js loads this module only once `upload` is set — at `require` (RHEAPDUMP_UPLOAD)
//! or at `configure()`, on the main thread, before the loop can get stuck: a snapshot taken in
//! a V8 interrupt then finds it loaded, and its thread works while the loop is stuck.
//!
//! # What runs where
//! 1. Main thread (`uploadFile`, called by lib/writer.js right after a file is committed):
//!    opens the committed file (the descriptor keeps it readable even if `keep` prunes it
//!    meanwhile), builds the HTTP client (ureq reads the proxy variables from the live
//!    environment, which only the main thread may read: Node's `setenv` is not thread-safe)
//!    and queues the job with a copy of the AWS variables that lib/writer.js took.
//! 2. The `rheapdump-upload` thread takes jobs one at a time and uploads each
//!    (`rheapdump_upload`): a PUT, or a multipart upload for files over one part, each request
//!    retried with backoff. Only after a confirmed upload, and only with `uploadKeepLocal`
//!    off, it deletes the local file (when the path still names the file it uploaded).
//! 3. It reports the outcome once: a stderr line at once (the loop may be stuck and the pod
//!    about to die), and the outcome to lib/writer.js through a weak thread-safe function of
//!    the thread that asked, which emits the `upload` or `uploadError` event when its loop runs.
//!
//! # At exit
//! Nothing here keeps the process alive: an upload still running when the process exits is
//! abandoned. An exit handler says so on stderr and aborts a multipart upload in progress
//! (one request, at most 2 s), so no parts linger; an unfinished object never becomes visible
//! in the bucket, because S3 shows a PUT or a multipart upload only once it is complete. The
//! local file stays.
#![deny(clippy::all)]

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, Once};
use std::time::Instant;

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Result, Status};
use napi_derive::napi;
use rheapdump_platform::background::{block_all_signals, write_stderr};
use rheapdump_upload::{Agent, Destination, Failure, FailureKind, Pending};

/// The status of a `napi::Result<T, Code>`: the thrown Error's `code` (lib/errors.js lists them).
type Code = &'static str;

type Tell = ThreadsafeFunction<UploadOutcome, (), UploadOutcome, Status, false, true>;

static QUEUE: Mutex<Option<Sender<(Job, Tell)>>> = Mutex::new(None);
static IN_FLIGHT: Mutex<Option<InFlight>> = Mutex::new(None);
static EXIT_HOOK: Once = Once::new();

/// Why an upload failed: the error's code, and what the server said.
#[napi(object)]
pub struct UploadFailure {
  /// ERR_RHEAPDUMP_UPLOAD_CREDENTIALS, ERR_RHEAPDUMP_UPLOAD_REFUSED,
  /// ERR_RHEAPDUMP_UPLOAD_UNREACHABLE or ERR_RHEAPDUMP_UPLOAD.
  pub code: String,
  /// What failed, with no key, token or URL in it.
  pub description: String,
  /// The HTTP status of the server's last answer.
  pub status: Option<u32>,
  /// S3's (or STS's) error code, e.g. 'NoSuchBucket', 'SignatureDoesNotMatch'.
  pub s3_code: Option<String>,
}

/// The outcome of one upload, told once.
#[napi(object)]
pub struct UploadOutcome {
  /// 'snapshot' or 'profile'.
  pub kind: String,
  /// The local file.
  pub path: String,
  /// s3://BUCKET/KEY
  pub url: String,
  pub bucket: String,
  pub key: String,
  pub bytes: f64,
  /// 1 for a single PUT, else the number of parts.
  pub parts: u32,
  pub duration_ms: f64,
  /// Whether the local file is still there (always after a failure).
  pub local_kept: bool,
  pub error: Option<UploadFailure>,
}

struct Job {
  kind: String,
  path: String,
  destination: Destination,
  env: HashMap<String, String>,
  keep_local: bool,
  quiet: bool,
  /// The open file and the client, or why there are none.
  ready: std::result::Result<(File, Agent), Failure>,
}

struct InFlight {
  path: String,
  url: String,
  agent: Agent,
  multipart: Option<Pending>,
}

/// Queues the committed file at `path` for upload to `url` (s3://BUCKET/PREFIX) under its
/// file name. `env` holds the AWS variables (and HOME) to use. Returns at once; the outcome
/// goes to stderr and, once the event loop of the caller's thread runs, to `tell(outcome)`.
/// Any JS thread (a Worker's outcome goes back to that Worker).
#[napi]
pub fn upload_file(
  kind: String,
  path: String,
  url: String,
  env: HashMap<String, String>,
  keep_local: bool,
  quiet: bool,
  tell: Function<UploadOutcome, ()>,
) -> Result<(), Code> {
  // Weak: an outcome still to tell never keeps the process alive (see At exit).
  let tell = tell
    .build_threadsafe_function::<UploadOutcome>()
    .weak::<true>()
    .callee_handled::<false>()
    .build()
    .map_err(|err| {
      coded(
        "ERR_RHEAPDUMP_NODE_API",
        format!("Node-API call failed: {:?} {}", err.status, err.reason),
      )
    })?;
  let destination =
    Destination::parse(&url).map_err(|reason| coded("ERR_INVALID_ARG_VALUE", reason))?;
  let ready = File::open(&path)
    .map_err(|err| Failure::new(FailureKind::File, format!("cannot open the file: {err}")))
    .and_then(|file| Ok((file, rheapdump_upload::agent(&env)?)));
  let job = Job {
    kind,
    path,
    destination,
    env,
    keep_local,
    quiet,
    ready,
  };
  let mut queue = lock(&QUEUE);
  if queue.is_none() {
    *queue = Some(start_thread()?);
  }
  let sender = queue.as_ref().expect("the queue was just made");
  sender.send((job, tell)).map_err(|_| {
    *queue = None;
    coded("ERR_RHEAPDUMP_UPLOAD", "the upload thread has stopped")
  })
}

fn start_thread() -> Result<Sender<(Job, Tell)>, Code> {
  let (sender, jobs) = mpsc::channel();
  std::thread::Builder::new()
    .name("rheapdump-upload".to_string())
    .spawn(move || run(jobs))
    .map_err(|err| {
      coded(
        "ERR_RHEAPDUMP_UPLOAD",
        format!("cannot start the upload thread: {err}"),
      )
    })?;
  EXIT_HOOK.call_once(|| {
    // SAFETY: registers a plain function with no arguments, run once by exit().
    unsafe { libc::atexit(at_exit) };
  });
  Ok(sender)
}

/// The upload thread: one job at a time, until the queue's sender is gone.
fn run(jobs: Receiver<(Job, Tell)>) {
  block_all_signals();
  while let Ok((job, tell)) = jobs.recv() {
    tell.call(carry_out(job), ThreadsafeFunctionCallMode::NonBlocking);
  }
}

fn carry_out(job: Job) -> UploadOutcome {
  let started = Instant::now();
  let name = Path::new(&job.path)
    .file_name()
    .map(|name| name.to_string_lossy().into_owned())
    .unwrap_or_default();
  let key = job.destination.key_for(&name);
  let url = job.destination.url_for(&key);
  let result = job.ready.and_then(|(file, agent)| {
    *lock(&IN_FLIGHT) = Some(InFlight {
      path: job.path.clone(),
      url: url.clone(),
      agent: agent.clone(),
      multipart: None,
    });
    let mut on_multipart = |pending| {
      if let Some(in_flight) = lock(&IN_FLIGHT).as_mut() {
        in_flight.multipart = pending;
      }
    };
    let uploaded = rheapdump_upload::upload(
      &file,
      &name,
      &job.destination,
      &job.env,
      &agent,
      &mut on_multipart,
    );
    *lock(&IN_FLIGHT) = None;
    uploaded.map(|done| (done, file))
  });
  let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
  let mut outcome = UploadOutcome {
    kind: job.kind,
    path: job.path,
    url,
    bucket: job.destination.bucket.clone(),
    key,
    bytes: 0.0,
    parts: 0,
    duration_ms,
    local_kept: true,
    error: None,
  };
  match result {
    Ok((done, file)) => {
      outcome.bytes = done.bytes as f64;
      outcome.parts = done.parts;
      let mut removed = String::new();
      if !job.keep_local {
        match remove_if_same(&outcome.path, &file) {
          Ok(()) => {
            outcome.local_kept = false;
            removed = "; the local file is removed".to_string();
          }
          Err(why) => removed = format!("; the local file stays ({why})"),
        }
      }
      if !job.quiet {
        let parts = if done.parts > 1 {
          format!(", {} parts", done.parts)
        } else {
          String::new()
        };
        write_stderr(&format!(
          "rheapdump: uploaded {} to {} ({}{parts}) in {:.2} s{removed}\n",
          outcome.path,
          outcome.url,
          format_bytes(done.bytes),
          duration_ms / 1000.0
        ));
      }
    }
    Err(failure) => {
      let code = code_of(failure.kind);
      write_stderr(&format!(
        "rheapdump: upload of {} to {} failed: {code} ({}); the local file stays\n",
        outcome.path, outcome.url, failure.message
      ));
      outcome.error = Some(UploadFailure {
        code: code.to_string(),
        description: failure.message,
        status: failure.status.map(u32::from),
        s3_code: failure.s3_code,
      });
    }
  }
  outcome
}

/// The error code of each kind of failure (lib/errors.js lists them).
fn code_of(kind: FailureKind) -> &'static str {
  match kind {
    FailureKind::Credentials => "ERR_RHEAPDUMP_UPLOAD_CREDENTIALS",
    FailureKind::Refused => "ERR_RHEAPDUMP_UPLOAD_REFUSED",
    FailureKind::Unreachable => "ERR_RHEAPDUMP_UPLOAD_UNREACHABLE",
    FailureKind::File | FailureKind::Settings => "ERR_RHEAPDUMP_UPLOAD",
  }
}

/// Deletes `path` only if it still names the file that was uploaded (not a newer file that
/// took its name since).
fn remove_if_same(path: &str, uploaded: &File) -> std::result::Result<(), String> {
  let named = std::fs::metadata(path).map_err(|err| err.to_string())?;
  let open = uploaded.metadata().map_err(|err| err.to_string())?;
  if (named.dev(), named.ino()) != (open.dev(), open.ino()) {
    return Err("another file has taken its name".to_string());
  }
  std::fs::remove_file(path).map_err(|err| err.to_string())
}

extern "C" fn at_exit() {
  // try_lock: the upload thread may hold the lock for an instant; an exit never waits for it.
  let Ok(mut in_flight) = IN_FLIGHT.try_lock() else {
    return;
  };
  if let Some(abandoned) = in_flight.take() {
    write_stderr(&format!(
      "rheapdump: upload of {} to {} abandoned: the process is exiting; the local file stays\n",
      abandoned.path, abandoned.url
    ));
    if let Some(multipart) = abandoned.multipart {
      multipart.abort(&abandoned.agent);
    }
  }
}

/// As lib/report.js's formatBytes: 1024-based units, one decimal.
fn format_bytes(bytes: u64) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let mut value = bytes as f64;
  let mut unit = 0;
  while value >= 1024.0 && unit < units.len() - 1 {
    value /= 1024.0;
    unit += 1;
  }
  if unit == 0 {
    format!("{bytes} B")
  } else {
    format!("{value:.1} {}", units[unit])
  }
}

fn coded(code: Code, reason: impl ToString) -> napi::Error<Code> {
  napi::Error::new(code, reason)
}

fn lock<T>(mutex: &'static Mutex<T>) -> std::sync::MutexGuard<'static, T> {
  mutex.lock().unwrap_or_else(|e| e.into_inner())
}
