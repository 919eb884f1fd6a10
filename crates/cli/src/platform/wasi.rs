//! The portable program (wasm32-wasip1), which lib/wasi.js runs with node:wasi where no native
//! program fits (macOS, Windows, musl, a machine without the prebuilt binary). Two things differ
//! from the native program:
//! - node:wasi gives a program no working directory (every relative path would mean one under
//!   `/`), so lib/wasi.js passes the host's in `RHEAPDUMP_CWD` and the program enters it first;
//! - wasm32 addresses 4 GiB in all. A file whose analysis would not fit is refused before it is
//!   read, and should an allocation fail anyway the program says so and exits 1 instead of
//!   trapping, with a code that names the way out: the native program.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use rheapdump_analysis::run::{Analysis, Request};

/// The largest snapshot file the portable program reads. Its linear memory peaks at 1.0–1.22
/// bytes per byte of the largest file (summary the least, leaks the most; measured on 43 and
/// 167 MB files, docs/platforms.md): 3 GiB needs at most 3.7 GiB of the 4 GiB.
pub const MAX_FILE: u64 = 3 << 30;

pub fn enter_working_directory() {
  if let Some(dir) = std::env::var_os("RHEAPDUMP_CWD") {
    // A directory that is gone leaves `/`: absolute paths still work, relative ones fail with
    // ENOENT as they would natively.
    let _ = std::env::set_current_dir(dir);
  }
}

/// The codes of the two refusals (lib/errors.js lists them with the others).
const TOO_LARGE: &str = "ERR_RHEAPDUMP_WASM_TOO_LARGE";
const OUT_OF_MEMORY: &str = "ERR_RHEAPDUMP_WASM_MEMORY";
/// Where the file can be read instead.
const NATIVE: &str = "analyse it with the native program, on linux-x64 or linux-arm64 with glibc";

/// The file named when memory runs out; set before the analysis starts, read by the allocator.
static ANALYSED: OnceLock<String> = OnceLock::new();

/// Refuses (exit 1, with ERR_RHEAPDUMP_WASM_TOO_LARGE) a request whose largest file is over
/// [`MAX_FILE`]. Files that cannot be read are left to the analysis, which reports them as the
/// native program does.
pub fn check_fits(request: &Request) -> Result<(), ExitCode> {
  let files: Vec<&Path> = match request.analysis {
    // Streams in memory bounded by the strings' count, whatever the file's size.
    Analysis::Redact { .. } => Vec::new(),
    _ => request.inputs(),
  };
  let sized = files
    .iter()
    .map(|file| (file, std::fs::metadata(file).map_or(0, |m| m.len())));
  let Some((largest, size)) = sized.max_by_key(|(_, size)| *size) else {
    return Ok(());
  };
  let _ = ANALYSED.set(largest.display().to_string());
  if size <= MAX_FILE {
    return Ok(());
  }
  eprintln!(
    "rheapdump: {}: {TOO_LARGE}: {size} bytes; the portable analysis (WebAssembly, 4 GiB of \
     memory) reads files up to {MAX_FILE} bytes; {NATIVE}",
    largest.display()
  );
  Err(ExitCode::FAILURE)
}

/// The system allocator, but an allocation that fails (the 4 GiB are used up) ends the program
/// with ERR_RHEAPDUMP_WASM_MEMORY instead of Rust's abort, which in WebAssembly is a trap.
struct Bounded;

// SAFETY: every call is passed on to the system allocator unchanged; only a null result is
// acted on, and that never returns.
unsafe impl GlobalAlloc for Bounded {
  unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
    // SAFETY: the caller's contract for `alloc` is passed on.
    checked(unsafe { System.alloc(layout) })
  }

  unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
    // SAFETY: as above.
    checked(unsafe { System.alloc_zeroed(layout) })
  }

  unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: as above.
    checked(unsafe { System.realloc(ptr, layout, new_size) })
  }

  unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
    // SAFETY: as above.
    unsafe { System.dealloc(ptr, layout) }
  }
}

#[global_allocator]
static ALLOCATOR: Bounded = Bounded;

fn checked(ptr: *mut u8) -> *mut u8 {
  if ptr.is_null() {
    out_of_memory()
  }
  ptr
}

/// Says why and exits, allocating nothing (stderr is unbuffered; the file name was formatted
/// before the analysis began).
fn out_of_memory() -> ! {
  let mut stderr = std::io::stderr();
  let file = ANALYSED.get().map_or("", String::as_str);
  let message: [&str; 7] = [
    "rheapdump: ",
    file,
    ": ",
    OUT_OF_MEMORY,
    ": the portable analysis (WebAssembly) ran out of its 4 GiB of memory; ",
    NATIVE,
    "\n",
  ];
  for part in message {
    let _ = stderr.write_all(part.as_bytes());
  }
  std::process::exit(1)
}
