//! `rheapdump`: the snapshot and sampling-profile analyses of crates/analysis from a terminal. A native program, not
//! a Node script, so that the analysis is all it holds in memory: Node alone takes ~40 MB, a
//! quarter of what a 160 MB snapshot's summary needs. npm runs it through bin/rheapdump.
//!
//! Exit status: 0 on success, 1 when a file cannot be analysed, 2 on a usage error; `check`
//! exits 0 within its budgets, 1 beyond them and 2 on any error.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// The portable build (wasm32-wasip1, run by node:wasi) and the native one differ here only.
#[cfg_attr(target_os = "wasi", path = "platform/wasi.rs")]
#[cfg_attr(not(target_os = "wasi"), path = "platform/native.rs")]
mod platform;
mod render;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use rheapdump_analysis::profile::{self, Profile, ProfileError};
use rheapdump_analysis::progress::Bar;
use rheapdump_analysis::report::parse_size;
use rheapdump_analysis::run::{
  self, Analysis, Failure, Invalid, Matching, Options, Progress, Quiet, Report, Request,
  DEFAULT_CHECK_TOP, DEFAULT_PATHS, DEFAULT_TOP,
};
use rheapdump_core::naming;

/// The three-snapshot hunt, shown under `rheapdump --help` and `rheapdump leaks --help`.
const HUNT: &str = "\
Hunting a leak: three snapshots of one process, oldest first. With rheapdump loaded, SIGUSR2
writes one into $RHEAPDUMP_DIR (else --diagnostic-dir, else the working directory):
  kill -USR2 <pid>     # baseline, after warm-up
  ...the suspect load...
  kill -USR2 <pid>     # target
  ...more of the same load...
  kill -USR2 <pid>     # final
  rheapdump leaks DIR  # the newest three of one run in DIR: owners first, with file:line
  rheapdump path DIR/heapdump-<time>-<pid>-<run>-2.heapsnapshot @1234   # an id leaks printed
  rheapdump summary DIR/heapdump-<time>-<pid>-<run>-2.heapsnapshot --class QuoteRequest";

#[derive(Parser)]
#[command(
  name = "rheapdump",
  bin_name = "rheapdump",
  version,
  about = "Heap snapshot analysis: DevTools' Summary, Comparison and retainers from a terminal; and sampling heap profiles",
  override_usage = "rheapdump <command> [options]",
  arg_required_else_help = true,
  after_help = HUNT
)]
struct Cli {
  #[command(subcommand)]
  command: Command,
  /// Print the report as JSON
  #[arg(long, global = true)]
  json: bool,
  /// Show the positions that ran, not where source maps say the code was written
  #[arg(long, global = true)]
  no_source_maps: bool,
  /// Where the scripts and their source maps are when the snapshot comes from another machine:
  /// /app/dist/server.js is looked for as DIR/app/dist/server.js, DIR/dist/server.js, DIR/server.js
  #[arg(
    long,
    global = true,
    value_name = "DIR",
    conflicts_with = "no_source_maps"
  )]
  source_root: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
  /// Objects by class: count, shallow and retained size, distance, source; and the largest
  /// objects (DevTools' Summary view)
  #[command(after_help = "\
Examples:
  rheapdump summary app.heapsnapshot --top 10
  rheapdump summary app.heapsnapshot --class Session      # each Session with its id")]
  Summary {
    /// A .heapsnapshot file
    file: PathBuf,
    /// Classes (or objects, with --class) to show (0 for all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP as u32)]
    top: u32,
    /// List this class's objects with their ids instead (a function also by its name)
    #[arg(long, value_name = "NAME")]
    class: Option<String>,
    #[command(flatten)]
    filters: Filters,
  },
  /// What was allocated and freed, by class (DevTools' Comparison view)
  #[command(after_help = "\
Warns (stderr, and `warnings` in JSON) when the files come from two processes, are out of
order, have renumbered ids or come from two Node versions.

Examples:
  rheapdump diff before.heapsnapshot after.heapsnapshot
  rheapdump diff ./snapshots                               # its newest two of one run
  rheapdump diff before.heapsnapshot after.heapsnapshot --class Session   # the new ones")]
  Diff {
    /// The earlier snapshot, or a directory: its newest two snapshots of one run of one process
    before: PathBuf,
    /// The later snapshot, from the same process
    after: Option<PathBuf>,
    /// Classes (or objects, with --class) to show (0 for all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP as u32)]
    top: u32,
    /// List the objects of this class that AFTER has and BEFORE lacks, with their ids
    #[arg(long, value_name = "NAME")]
    class: Option<String>,
    /// How objects are matched between the snapshots: by their ids, by structure (retaining path
    /// and class: for fork snapshots, two processes, renumbered ids) or auto (ids where they can
    /// be trusted, else structure)
    #[arg(long = "match", value_name = "HOW", default_value = "auto", value_parser = ["auto", "ids", "structure"])]
    matching: String,
    #[command(flatten)]
    filters: Filters,
  },
  /// Objects allocated after BASELINE, present in TARGET and still alive in FINAL, under the
  /// object that holds them (their owner, which was in BASELINE already)
  #[command(after_help = HUNT)]
  Leaks {
    /// The first snapshot (after warm-up), or a directory: its newest three snapshots of one run of one
    /// process
    baseline: PathBuf,
    /// The second snapshot (after the suspect work)
    target: Option<PathBuf>,
    /// The last snapshot (after more of the same)
    #[arg(value_name = "FINAL")]
    last: Option<PathBuf>,
    /// Owners (or groups) to show (0 for all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP as u32)]
    top: u32,
    /// Group by class and retaining path, as memlab's find-leaks clusters, instead of by owner
    #[arg(long)]
    by_path: bool,
    /// How objects are matched between the snapshots: by their ids, by structure (retaining path
    /// and class: for fork snapshots, two processes, renumbered ids) or auto (ids where they can
    /// be trusted, else structure)
    #[arg(long = "match", value_name = "HOW", default_value = "auto", value_parser = ["auto", "ids", "structure"])]
    matching: String,
    #[command(flatten)]
    filters: Filters,
  },
  /// Write the leak-suspects report of a three-snapshot hunt: one self-contained HTML page
  /// (overview and charts, each owner with its path and growth, the class comparison)
  #[command(after_help = "\
The page needs no network: its data, script and style are inside it. It is written to a
temporary file beside OUT, then renamed into place, mode 0600 (snapshot strings are in it).

Examples:
  rheapdump report ./snapshots --out leaks.html        # the newest three of one run
  rheapdump report base.heapsnapshot target.heapsnapshot final.heapsnapshot --out leaks.html")]
  Report {
    /// The first snapshot (after warm-up), or a directory: its newest three snapshots of one run
    /// of one process
    baseline: PathBuf,
    /// The second snapshot (after the suspect work)
    target: Option<PathBuf>,
    /// The last snapshot (after more of the same)
    #[arg(value_name = "FINAL")]
    last: Option<PathBuf>,
    /// The HTML file to write
    #[arg(long, value_name = "FILE.html")]
    out: PathBuf,
    /// Owners to show (0 for all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP as u32)]
    top: u32,
  },
  /// Distinct retaining paths from the GC roots to node @ID, shortest first
  #[command(after_help = "\
Each path goes through another retainer of the object; paths through rheapdump's own objects
come last. Ids come from leaks (owners, examples), summary --class and diff --class.

Example:
  rheapdump path final.heapsnapshot @81867 --max 3")]
  Path {
    /// A .heapsnapshot file
    file: PathBuf,
    /// A node id: 1234 or @1234
    #[arg(value_parser = node_id)]
    id: u32,
    /// Paths to show
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PATHS as u32)]
    max: u32,
  },
  /// Check that FILE is a sound .heapsnapshot (exit 0 only if so)
  Validate {
    /// A .heapsnapshot file
    file: PathBuf,
  },
  /// Write a copy of FILE that can be shared: every string value, number and regexp source
  /// replaced by as many `*` (class, function, property and script names kept)
  #[command(after_help = "\
The copy has the same nodes, edges and class summary and loads in DevTools. A string that is
also a class, function, property or script name is kept: that text is in the copy anyway.
Streams the file twice in bounded memory; OUT appears (mode 0600) only once complete.

Example:
  rheapdump redact prod.heapsnapshot shareable.heapsnapshot")]
  Redact {
    /// A .heapsnapshot file
    file: PathBuf,
    /// The redacted copy to write
    #[arg(value_name = "OUT")]
    output: PathBuf,
  },
  /// Compare CURRENT with BASELINE against memory budgets: exit 0 within them, 1 with what grew
  /// beyond them, 2 on an error
  #[command(after_help = "\
SIZE is bytes or a number with a unit: 1MB, 512KiB, 2.5MiB. Snapshots may come from two
processes (two CI runs): classes are matched by name, not by object id. Class and package
budgets count shallow size (the objects themselves); an owner budget counts what the class's
objects retain; --max-growth counts everything reachable.

Examples:
  rheapdump check main.heapsnapshot pr.heapsnapshot --max-growth 1MB
  rheapdump check a.heapsnapshot b.heapsnapshot --max-class-growth Quote=256KiB \\
    --max-package-growth lru-cache=1MiB --max-owner-growth SessionStore=2MB --json")]
  Check {
    /// The snapshot to compare with (e.g. of the main branch)
    baseline: PathBuf,
    /// The snapshot to check
    current: PathBuf,
    /// How much everything reachable may grow
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_growth: Option<u64>,
    /// How much the objects of class NAME may grow (repeatable)
    #[arg(long, value_name = "NAME=SIZE", value_parser = named_size)]
    max_class_growth: Vec<(String, u64)>,
    /// How much the objects made by npm package PKG's constructors may grow (repeatable)
    #[arg(long, value_name = "PKG=SIZE", value_parser = named_size)]
    max_package_growth: Vec<(String, u64)>,
    /// How much what the objects of class NAME retain may grow (repeatable)
    #[arg(long, value_name = "NAME=SIZE", value_parser = named_size)]
    max_owner_growth: Vec<(String, u64)>,
    /// Classes that grew most to list (0 for all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHECK_TOP as u32)]
    top: u32,
  },
  /// Sampling heap profiles (.heapprofile): live bytes by function, growth, conversion
  #[command(subcommand)]
  Profile(ProfileCommand),
  /// Run one request given as JSON, the JS API's form (`{"kind":"summary","file":"a.heapsnapshot"}`),
  /// and print its report as JSON, or its failure as `{"code","path","description"}` with exit
  /// status 1: how lib/wasi.js hands the JS API's requests to the portable program
  #[command(hide = true)]
  Request {
    /// The request, as JSON
    request: String,
  },
}

/// The filters of summary, diff and leaks (the request's common options).
#[derive(Args)]
struct Filters {
  /// Only rows written in these files: a directory (an absolute path) or part of a path
  /// (`node_modules/pino/`, `client/node_modules/pino/`); leaks keeps the owners and groups
  /// whose leaked objects (or the owner) are
  #[arg(long, value_name = "PATH")]
  source: Option<String>,
  /// Only rows of this npm package (`lru-cache`, `@scope/pkg`), or of `(app)`, `(node)` or
  /// `(unknown)`; leaks keeps the owners and groups whose leaked objects (or the owner) are
  #[arg(long, value_name = "NAME")]
  package: Option<String>,
}

#[derive(Subcommand)]
enum ProfileCommand {
  /// Live bytes by function: allocated in it (self) and in it or its callees (total)
  Top {
    /// A .heapprofile file, or a directory: its newest one
    file: PathBuf,
    /// Functions to show (0 for all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP as u32)]
    top: u32,
  },
  /// What was allocated after BEFORE and is still alive in AFTER, by function (exact: both
  /// must come from one sampler run of one process)
  Diff {
    /// The earlier .heapprofile, or a directory: its newest two
    before: PathBuf,
    /// The later .heapprofile, from the same sampler run
    after: Option<PathBuf>,
    /// Functions to show (0 for all)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP as u32)]
    top: u32,
  },
  /// Write FILE as gzipped pprof (go tool pprof) or folded stacks (flame graphs) to stdout or -o
  Convert {
    file: PathBuf,
    #[arg(long, value_enum)]
    to: Format,
    /// Output file (default: stdout)
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
  },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
  Pprof,
  Folded,
}

/// `rheapdump profile convert`: the converted bytes, or none when they went to `output`.
fn convert(file: &Path, to: Format, output: Option<PathBuf>) -> Result<Vec<u8>, ProfileError> {
  let read = Profile::read(file)?;
  let bytes = match to {
    Format::Pprof => profile::pprof::encode(&read),
    Format::Folded => profile::to_folded(&read).into_bytes(),
  };
  match output {
    None => Ok(bytes),
    Some(path) => match std::fs::write(&path, bytes) {
      Ok(()) => Ok(Vec::new()),
      Err(err) => Err(ProfileError {
        code: rheapdump_core::errno::code_of(&err),
        description: rheapdump_core::errno::describe(&err),
        path,
      }),
    },
  }
}

/// `NAME=SIZE`; the name may itself hold `=`, the size is after the last one.
fn named_size(text: &str) -> Result<(String, u64), String> {
  match text.rsplit_once('=') {
    Some((name, bytes)) if !name.is_empty() => Ok((name.to_string(), parse_size(bytes)?)),
    _ => Err(format!(
      "expected NAME=SIZE such as Quote=1MB, got '{text}'"
    )),
  }
}

/// The profiles to read: those given, or for one directory its newest `N` `.heapprofile`
/// files by modification time, oldest first (saying which on stderr). A usage error otherwise.
fn newest_profiles<const N: usize>(given: Vec<PathBuf>) -> Result<[PathBuf; N], String> {
  let dir = match given.as_slice() {
    [dir] if dir.is_dir() => dir.clone(),
    _ => {
      return given
        .try_into()
        .map_err(|_| format!("give {N} .heapprofile files, oldest first, or one directory"))
    }
  };
  let entries = std::fs::read_dir(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
  let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
    .filter_map(Result::ok)
    .filter(|entry| {
      entry
        .file_name()
        .to_string_lossy()
        .ends_with(".heapprofile")
    })
    .filter_map(|entry| {
      let meta = entry.metadata().ok().filter(|meta| meta.is_file())?;
      Some((meta.modified().ok()?, entry.path()))
    })
    .collect();
  found.sort();
  if found.len() < N {
    return Err(format!(
      "{}: {} .heapprofile files here; {N} are needed",
      dir.display(),
      found.len()
    ));
  }
  let newest: Vec<PathBuf> = found
    .split_off(found.len() - N)
    .into_iter()
    .map(|f| f.1)
    .collect();
  let names: Vec<String> = newest.iter().map(|f| f.display().to_string()).collect();
  let what = if N == 1 { "profile" } else { "profiles" };
  eprintln!(
    "rheapdump: {}: the newest {what}: {}",
    dir.display(),
    names.join(", ")
  );
  Ok(newest.try_into().expect("N files were taken"))
}

fn node_id(text: &str) -> Result<u32, String> {
  text
    .strip_prefix('@')
    .unwrap_or(text)
    .parse()
    .map_err(|_| format!("a node id is a whole number such as 1234 or @1234, got '{text}'"))
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> ExitCode {
  print_bytes(text.as_bytes())
}

fn print_bytes(bytes: &[u8]) -> ExitCode {
  match io::stdout().lock().write_all(bytes) {
    Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
      eprintln!("rheapdump: stdout: {err}");
      ExitCode::FAILURE
    }
    _ => ExitCode::SUCCESS,
  }
}

/// The snapshots to compare: those given, or when one directory is given the newest `count`
/// snapshots of one run of one process in it (saying which on stderr). A usage error otherwise.
fn snapshots(given: Vec<Option<PathBuf>>, count: usize) -> Result<Vec<PathBuf>, String> {
  let files: Vec<PathBuf> = given.iter().flatten().cloned().collect();
  if files.len() == count {
    return Ok(files);
  }
  match files.as_slice() {
    [dir] if dir.is_dir() => match naming::newest_of_one_run(dir, count) {
      Ok(Some(run)) if run.files.len() < count => Err(format!(
        "{}: the newest snapshot there is from {}, which wrote {} with rheapdump's default names; {count} are needed{}",
        dir.display(),
        describe(&run),
        run.files.len(),
        earlier_runs(&run),
      )),
      Ok(Some(run)) => {
        let names: Vec<String> = run.files.iter().map(|f| f.display().to_string()).collect();
        eprintln!(
          "rheapdump: {}: the newest {count} snapshots of {}: {}{}",
          dir.display(),
          describe(&run),
          names.join(", "),
          earlier_runs(&run),
        );
        Ok(run.files)
      }
      Ok(None) => Err(format!(
        "{}: no process wrote {count} snapshots with rheapdump's default names (heapdump-<time>-<pid>-<run>-<n>.heapsnapshot) here",
        dir.display()
      )),
      Err(err) => Err(format!("{}: {err}", dir.display())),
    },
    _ => Err(format!(
      "give {count} snapshots, oldest first, or one directory"
    )),
  }
}

/// `pid 1, run k3f9a2`.
fn describe(run: &naming::Run) -> String {
  match &run.run {
    Some(id) => format!("pid {}, run {id}", run.pid),
    None => format!("pid {}", run.pid),
  }
}

/// Says that earlier runs of the pid were left out: they are other processes (pid 1 in a
/// restarted container), whose ids match nothing.
fn earlier_runs(run: &naming::Run) -> String {
  match run.other_runs_of_pid {
    0 => String::new(),
    n => format!(
      " (left out: {n} other run{} of pid {}, another process each; give files to compare across runs)",
      if n == 1 { "" } else { "s" },
      run.pid
    ),
  }
}

/// Prints a report's warnings on stderr, where they are seen even with --json.
fn warn(warnings: &[String]) {
  for warning in warnings {
    eprintln!("rheapdump: warning: {warning}");
  }
}

fn usage_error(message: &str) -> ExitCode {
  eprintln!("rheapdump: {message}");
  ExitCode::from(2)
}

fn fail(failure: &Failure) -> ExitCode {
  eprintln!("rheapdump: {failure}");
  ExitCode::FAILURE
}

/// glibc serves blocks below its mmap threshold from the heap and raises that threshold (up to
/// 32 MiB) each time a larger block is freed; a freed per-node array of a few MB then stays in
/// RSS. A fixed threshold returns every large array to the system when it is freed.
fn return_freed_arrays() {
  #[cfg(all(target_os = "linux", target_env = "gnu"))]
  // SAFETY: called first thing in main, before any other thread exists.
  unsafe {
    libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
  }
}

fn main() -> ExitCode {
  return_freed_arrays();
  platform::enter_working_directory();
  let cli = match Cli::try_parse() {
    Ok(cli) => cli,
    Err(err) if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
      eprint!("{err}");
      return ExitCode::from(2);
    }
    Err(err) if err.use_stderr() => {
      eprint!("rheapdump: {err}");
      return ExitCode::from(2);
    }
    Err(help) => {
      let _ = help.print();
      return ExitCode::SUCCESS;
    }
  };
  let json = cli.json;
  let command = match cli.command {
    Command::Request { request } => return answer(&request),
    Command::Profile(ProfileCommand::Convert { file, to, output }) => {
      return match convert(&file, to, output) {
        Ok(bytes) => print_bytes(&bytes),
        Err(err) => {
          eprintln!("rheapdump: {err}");
          ExitCode::FAILURE
        }
      };
    }
    command => command,
  };
  let mut request = match request(command, io::stderr().is_terminal()) {
    Ok(request) => request,
    Err(usage) => return usage_error(&usage),
  };
  // Positions where the code was written, unless asked for those that ran.
  request.options.source_maps = cli.no_source_maps.then_some(false);
  request.options.source_root = cli.source_root;
  if let Err(invalid) = request.check() {
    return usage_error(&invalid.0);
  }
  if let Err(refused) = platform::check_fits(&request) {
    return refused;
  }
  let outcome = analyse(&request);
  // check answers 0 within its budgets, 1 beyond them, 2 on an error: CI tells them apart.
  let checking = matches!(request.analysis, Analysis::Check { .. });
  let report = match outcome {
    Ok(report) => report,
    Err(failure) => {
      // validate --json answers on stdout either way.
      if json && matches!(request.analysis, Analysis::Validate { .. }) {
        let path = failure.path().display().to_string();
        let report = serde_json::json!({ "file": path, "valid": false, "code": failure.code(), "error": failure.description() });
        print(&format!("{report}\n"));
      }
      fail(&failure);
      return if checking {
        ExitCode::from(2)
      } else {
        ExitCode::FAILURE
      };
    }
  };
  // On stderr, where they are seen even with --json.
  warn(report.warnings());
  for line in report.source_map_notes() {
    eprintln!("rheapdump: note: {line}");
  }
  let text = if json {
    match report.to_json() {
      Ok(text) => format!("{text}\n"),
      Err(err) => {
        eprintln!("rheapdump: the report cannot be written as JSON: {err}");
        return ExitCode::FAILURE;
      }
    }
  } else {
    let by_path = matches!(request.analysis, Analysis::Leaks { by_path: true, .. });
    render::report(&report, by_path)
  };
  let printed = print(&text);
  match report {
    Report::Check(check) if !check.passed => ExitCode::FAILURE,
    _ => printed,
  }
}

/// The request a command names, a directory replaced by the newest snapshots or profiles in
/// it; a usage error when it holds too few.
fn request(command: Command, progress: bool) -> Result<Request, String> {
  let mut options = Options {
    progress,
    ..Options::default()
  };
  let mut rows = |top: u32, filters: Option<Filters>| {
    options.top = Some(top);
    if let Some(Filters { source, package }) = filters {
      (options.source, options.package) = (source, package);
    }
  };
  let analysis = match command {
    Command::Summary {
      file,
      top,
      class,
      filters,
    } => {
      rows(top, Some(filters));
      match class {
        Some(class) => Analysis::Instances {
          file,
          class,
          before: None,
        },
        None => Analysis::Summary { file },
      }
    }
    Command::Diff {
      before,
      after,
      top,
      class,
      matching,
      filters,
    } => {
      rows(top, Some(filters));
      let [before, after]: [PathBuf; 2] = snapshots(vec![Some(before), after], 2)?
        .try_into()
        .expect("snapshots gives 2 files");
      match class {
        Some(class) => Analysis::Instances {
          file: after,
          class,
          before: Some(before),
        },
        None => Analysis::Diff {
          before,
          after,
          matching: Matching::parse(&matching).unwrap_or_default(),
        },
      }
    }
    Command::Leaks {
      baseline,
      target,
      last,
      top,
      by_path,
      matching,
      filters,
    } => {
      rows(top, Some(filters));
      let [baseline, target, last]: [PathBuf; 3] =
        snapshots(vec![Some(baseline), target, last], 3)?
          .try_into()
          .expect("snapshots gives 3 files");
      Analysis::Leaks {
        baseline,
        target,
        last,
        matching: Matching::parse(&matching).unwrap_or_default(),
        by_path,
      }
    }
    Command::Report {
      baseline,
      target,
      last,
      out,
      top,
    } => {
      rows(top, None);
      let [baseline, target, last]: [PathBuf; 3] =
        snapshots(vec![Some(baseline), target, last], 3)?
          .try_into()
          .expect("snapshots gives 3 files");
      Analysis::Report {
        baseline,
        target,
        last,
        out,
      }
    }
    Command::Path { file, id, max } => Analysis::Path {
      file,
      id,
      max: Some(max),
    },
    Command::Validate { file } => Analysis::Validate { file },
    Command::Redact { file, output } => Analysis::Redact { file, output },
    Command::Check {
      baseline,
      current,
      max_growth,
      max_class_growth,
      max_package_growth,
      max_owner_growth,
      top,
    } => {
      rows(top, None);
      Analysis::Check {
        baseline,
        current,
        max_growth,
        max_class_growth,
        max_package_growth,
        max_owner_growth,
      }
    }
    Command::Profile(ProfileCommand::Top { file, top }) => {
      rows(top, None);
      let [file] = newest_profiles(vec![file])?;
      Analysis::ProfileTop { file }
    }
    Command::Profile(ProfileCommand::Diff { before, after, top }) => {
      rows(top, None);
      let [before, after] = newest_profiles([Some(before), after].into_iter().flatten().collect())?;
      Analysis::ProfileDiff { before, after }
    }
    Command::Profile(ProfileCommand::Convert { .. }) | Command::Request { .. } => {
      unreachable!("main answers these without a request")
    }
  };
  Ok(Request { analysis, options })
}

/// Runs `request`, drawing a progress bar when it asks for one.
fn analyse(request: &Request) -> Result<Report, Failure> {
  let mut bar = Bar::default();
  let progress: &mut dyn Progress = if request.options.progress {
    &mut bar
  } else {
    &mut Quiet
  };
  let outcome = run::run(request, progress);
  // The bar is cleared before the report is printed, or clearing it would erase report lines.
  drop(bar);
  outcome
}

/// An analysis that failed for want of a bug fix: it panicked, or its report could not be
/// serialized (lib/errors.js lists the code with the others).
const INTERNAL: &str = "ERR_RHEAPDUMP_ANALYSIS_INTERNAL";

/// `rheapdump request JSON`: the report as JSON on stdout, or the failure as
/// `{"code","path","description"}` (`path` null for a request that cannot be run) with exit
/// status 1 — the two answers of the analysis module's `analyze`, which lib/wasi.js gives in its
/// stead.
fn answer(json: &str) -> ExitCode {
  let request = match Request::from_json(json) {
    Ok(request) => request,
    Err(invalid) => return failed(Invalid::CODE, None, &invalid.0),
  };
  if let Err(refused) = platform::check_fits(&request) {
    return refused;
  }
  let path = request
    .inputs()
    .last()
    .map(|path| path.display().to_string());
  // A panic (a bug) answers in the same form; the portable program then stops with a trap.
  let named = path.clone();
  std::panic::set_hook(Box::new(move |info| {
    let description = format!("the analysis failed (a bug in rheapdump, please report it): {info}");
    failed(INTERNAL, named.as_deref(), &description);
  }));
  match analyse(&request) {
    Ok(report) => match report.to_json() {
      Ok(text) => print(&format!("{text}\n")),
      Err(err) => failed(
        INTERNAL,
        path.as_deref(),
        &format!("the report cannot be written as JSON: {err}"),
      ),
    },
    Err(failure) => failed(
      failure.code(),
      Some(&failure.path().display().to_string()),
      &failure.description(),
    ),
  }
}

/// A failure as `request` answers it: one line of JSON on stdout, exit status 1.
fn failed(code: &str, path: Option<&str>, description: &str) -> ExitCode {
  let failure = serde_json::json!({ "code": code, "path": path, "description": description });
  print(&format!("{failure}\n"));
  ExitCode::FAILURE
}
