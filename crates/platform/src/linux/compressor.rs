//! Compressing a snapshot while V8 writes it, on a thread of its own.
//!
//! V8's writer only knows how to write to a path, and it holds the heap's thread for the whole
//! snapshot: compressing there, or afterwards, would lengthen the service's pause by the time
//! the compression takes (and need the plain file on disk first). So the writer is handed the
//! write end of a pipe instead of the file (`/proc/self/fd/<n>`, or a FIFO's name in the target
//! directory where a real path is needed), and a `rheapdump-compress` thread reads the other end
//! and writes the compressed bytes into the snapshot file, on another core, as the data comes.
//! The pipe holds 1 MiB, so the writer only waits when the compressor falls behind (on a CPU
//! shared with other work), which bench/compress.js measures.
//!
//! A write that fails (full disk, EIO) does not stop the thread: it keeps reading and dropping
//! the rest, so that V8's writer never blocks on a pipe nobody drains, and `finish` reports the
//! error. The stream ends when every write end is closed: the writer's own (closed when
//! `v8.writeHeapSnapshot` returns, or when a fork child exits) and ours (`close_writer`).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use rheapdump_core::compression::Compression;

const PIPE_BYTES: libc::c_int = 1 << 20;
const CHUNK: usize = 1 << 20;
/// gzip's fastest level: at the default (6) the compressor falls behind V8's writer, and the
/// smaller file is not worth a longer pause.
const GZIP_LEVEL: u32 = 1;
/// zstd's fastest level: on a snapshot it compressed within 2 % of level 3 at twice the speed,
/// and it lengthened the pause less (bench/README.md "Compression").
const ZSTD_LEVEL: i32 = 1;

/// What the compressor thread did.
pub struct Compressed {
  /// Uncompressed bytes the writer produced.
  pub plain_bytes: u64,
}

/// The pipe and the thread of one compressed snapshot.
pub struct Compressor {
  write_end: Option<OwnedFd>,
  /// The FIFO's path when the writer is given a name, unlinked once the writer is done.
  fifo: Option<PathBuf>,
  thread: Option<JoinHandle<io::Result<Compressed>>>,
}

impl Compressor {
  /// Starts a thread that compresses what is written to the pipe into `out`. With `fifo_in`,
  /// the pipe is a FIFO created in that directory under a hidden name (for writers that must
  /// be given a real path); with `insert`, those bytes are put into the stream right after its
  /// first `insert.0` bytes when the stream begins with them (the fork marker).
  pub fn start(
    out: File,
    format: Compression,
    fifo_in: Option<(&Path, &str)>,
    insert: Option<(&'static [u8], &'static [u8])>,
  ) -> io::Result<Compressor> {
    let (read_end, write_end, fifo) = match fifo_in {
      None => {
        let (read_end, write_end) = pipe()?;
        (read_end, write_end, None)
      }
      Some((dir, name)) => {
        let path = dir.join(name);
        let (read_end, write_end) = fifo(&path)?;
        (read_end, write_end, Some(path))
      }
    };
    // SAFETY: F_SETPIPE_SZ on a pipe we own; failing (a lower limit for unprivileged users)
    // leaves the default 64 KiB, which only means more wake-ups.
    unsafe { libc::fcntl(read_end.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES) };
    let source = File::from(read_end);
    let spawned = std::thread::Builder::new()
      .name("rheapdump-compress".to_string())
      // The encoders may build their state on the stack before moving it to the heap (hundreds
      // of KiB); untouched stack pages cost nothing.
      .stack_size(2 << 20)
      .spawn(move || compress(source, out, format, insert));
    let thread = match spawned {
      Ok(thread) => thread,
      Err(err) => {
        if let Some(path) = &fifo {
          let _ = std::fs::remove_file(path);
        }
        return Err(err);
      }
    };
    Ok(Compressor {
      write_end: Some(write_end),
      fifo,
      thread: Some(thread),
    })
  }

  /// The path to hand the writer.
  pub fn writer_path(&self) -> PathBuf {
    match (&self.fifo, &self.write_end) {
      (Some(path), _) => path.clone(),
      (None, Some(fd)) => PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
      (None, None) => PathBuf::from("/dev/null"),
    }
  }

  /// The pipe's write end, for a fork child to keep.
  pub fn writer_fd(&self) -> Option<i32> {
    self.write_end.as_ref().map(|fd| fd.as_raw_fd())
  }

  /// Closes this process's write end (the writer has its own): the stream ends when the
  /// writer closes its end too.
  pub fn close_writer(&mut self) {
    self.write_end = None;
    if let Some(path) = self.fifo.take() {
      let _ = std::fs::remove_file(path);
    }
  }

  /// Waits for the compressed stream to be complete in the file.
  pub fn finish(mut self) -> io::Result<Compressed> {
    self.close_writer();
    let thread = self.thread.take().expect("joined once");
    thread
      .join()
      .unwrap_or_else(|_| Err(io::Error::other("the compressor thread panicked")))
  }
}

impl Drop for Compressor {
  fn drop(&mut self) {
    self.close_writer();
    if let Some(thread) = self.thread.take() {
      // The writer has returned (or its process has exited), so the thread sees the end of the
      // stream and ends; what it wrote goes with the abandoned file.
      let _ = thread.join();
    }
  }
}

fn compress(
  mut source: File,
  out: File,
  format: Compression,
  insert: Option<(&'static [u8], &'static [u8])>,
) -> io::Result<Compressed> {
  let out = BufWriter::with_capacity(CHUNK, out);
  let mut encoder: Box<dyn Encoder> = match format {
    Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
      out,
      flate2::Compression::new(GZIP_LEVEL),
    )),
    Compression::Zstd => {
      let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
      // Four bytes that let a reader tell a corrupt file from a good one.
      encoder.include_checksum(true)?;
      Box::new(encoder)
    }
  };
  let mut buf = vec![0u8; CHUNK];
  let mut plain_bytes = 0u64;
  let mut failed: Option<io::Error> = None;
  let mut pending_insert = insert;
  let mut head = Vec::new();
  loop {
    let n = match source.read(&mut buf) {
      Ok(0) => break,
      Ok(n) => n,
      Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
      Err(err) => {
        failed.get_or_insert(err);
        break;
      }
    };
    plain_bytes += n as u64;
    if failed.is_some() {
      continue; // drained, so that the writer never blocks
    }
    let mut data = &buf[..n];
    if let Some((prefix, extra)) = pending_insert {
      head.extend_from_slice(data);
      if head.len() < prefix.len() {
        continue;
      }
      pending_insert = None;
      let written = if head.starts_with(prefix) {
        encoder
          .write_all(prefix)
          .and_then(|()| encoder.write_all(extra))
          .and_then(|()| encoder.write_all(&head[prefix.len()..]))
      } else {
        encoder.write_all(&head)
      };
      if let Err(err) = written {
        failed = Some(err);
      }
      data = &[];
    }
    if let Err(err) = encoder.write_all(data) {
      failed = Some(err);
    }
  }
  if let Some(err) = failed {
    return Err(err);
  }
  if !head.is_empty() && pending_insert.is_some() {
    encoder.write_all(&head)?; // a stream shorter than the prefix
  }
  encoder.finish()?;
  Ok(Compressed { plain_bytes })
}

/// A compressing writer whose end is written by `finish`.
trait Encoder: Write + Send {
  fn finish(self: Box<Self>) -> io::Result<()>;
}

impl<W: Write + Send> Encoder for flate2::write::GzEncoder<BufWriter<W>> {
  fn finish(self: Box<Self>) -> io::Result<()> {
    let mut out = (*self).finish()?;
    out.flush()
  }
}

impl<W: Write + Send> Encoder for zstd::stream::write::Encoder<'static, BufWriter<W>> {
  fn finish(self: Box<Self>) -> io::Result<()> {
    let mut out = (*self).finish()?;
    out.flush()
  }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
  let mut fds = [0; 2];
  // SAFETY: pipe2 fills two descriptors on success; O_CLOEXEC keeps them out of spawned
  // programs, whose open write end would keep the stream from ever ending.
  if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: fresh descriptors that nothing else owns.
  Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A FIFO at `path` (mode 0600, failing if the name exists), opened at both ends.
fn fifo(path: &Path) -> io::Result<(OwnedFd, OwnedFd)> {
  let name = CString::new(path.as_os_str().as_bytes())
    .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
  // SAFETY: a NUL-terminated path.
  if unsafe { libc::mkfifo(name.as_ptr(), 0o600) } != 0 {
    return Err(io::Error::last_os_error());
  }
  let open = |flags| {
    // SAFETY: as above; the descriptor is checked before it is owned.
    let fd = unsafe { libc::open(name.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOFOLLOW) };
    if fd < 0 {
      Err(io::Error::last_os_error())
    } else {
      // SAFETY: a fresh descriptor that nothing else owns.
      Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
  };
  // The read end first, without waiting for a writer; then ours, which keeps the stream open
  // until the real writer has opened its own.
  let opened = open(libc::O_RDONLY | libc::O_NONBLOCK).and_then(|read_end| {
    let write_end = open(libc::O_WRONLY)?;
    // SAFETY: fcntl on a descriptor we own: reads block again from here on.
    unsafe {
      let flags = libc::fcntl(read_end.as_raw_fd(), libc::F_GETFL);
      libc::fcntl(
        read_end.as_raw_fd(),
        libc::F_SETFL,
        flags & !libc::O_NONBLOCK,
      );
    }
    Ok((read_end, write_end))
  });
  if opened.is_err() {
    // SAFETY: as above.
    unsafe { libc::unlink(name.as_ptr()) };
  }
  opened
}
