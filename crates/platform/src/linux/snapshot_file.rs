//! Snapshot files that appear complete or not at all.
//!
//! Node's writer (`v8.writeHeapSnapshot`) opens its path with `O_TRUNC` and writes for seconds;
//! a reader, or a crash, in that window sees a partial file under the final name. So rheapdump
//! hands the writer a file that has no name yet:
//!
//! 1. `create` opens the target directory and, in it, an anonymous `O_TMPFILE` (mode 0600).
//!    Where the filesystem has no `O_TMPFILE`, it creates `.rheapdump-<pid>-<n>.tmp` with
//!    `O_CREAT | O_EXCL | O_NOFOLLOW`, so nothing planted there in advance is ever followed.
//! 2. The writer is given `/proc/self/fd/<fd>`: opening it reaches the inode rheapdump created,
//!    whatever has happened to names in the directory since.
//! 3. `commit` fsyncs the data, then links the inode under its final name (a default name is
//!    never overwritten: on `EEXIST` the next sequence number is tried) or renames it over an
//!    explicit name, then fsyncs the directory.
//!
//! If anything fails, or the process dies, the anonymous file simply vanishes; a named temporary
//! file is unlinked when the `PendingSnapshot` is dropped.
//!
//! A compressed snapshot (`Compress`) is the same file with a pipe in front: V8's writer gets the
//! pipe, a thread compresses into the file (`compressor`), and `commit` first waits for the
//! compressed stream to be complete; the rules above hold unchanged. A default name then ends in
//! the format's extension (`.heapsnapshot.gz`); an explicit name is kept exactly as given.
//!
//! An explicit path that already names a device or a FIFO is written in place: replacing
//! `/dev/null` with a regular file would be a disaster. That is decided on the name itself
//! (`lstat`, then `O_NOFOLLOW`): a symlink at the final name is replaced like a regular file,
//! whatever it points to. A FIFO is opened without waiting: with no reader it fails at once with
//! `ENXIO` instead of blocking the heap's thread for ever.

use std::ffi::{CString, OsStr};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use super::compressor::Compressor;
use super::errno;
use rheapdump_core::compression::Compression;
use rheapdump_core::fork::{FORK_MARKER, SNAPSHOT_PREFIX};
use rheapdump_core::naming::{default_compressed_name, FileKind};

/// Where a snapshot goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
  /// A new default name (see `naming`) in this directory.
  DefaultName { dir: PathBuf },
  /// Exactly this path, replacing a regular file that is there.
  Explicit { path: PathBuf },
}

/// A failed file operation, with what Node puts on its errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
  /// Errno name, as in Node's `error.code`.
  pub code: &'static str,
  pub syscall: &'static str,
  pub path: PathBuf,
  /// The OS's description, lower case (`no space left on device`).
  pub description: String,
}

impl FileError {
  fn new(err: &io::Error, syscall: &'static str, path: &Path) -> Self {
    FileError {
      code: errno::code_of(err),
      syscall,
      path: path.to_path_buf(),
      description: errno::describe(err),
    }
  }
}

impl std::fmt::Display for FileError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(
      f,
      "{}: {}, {} '{}'",
      self.code,
      self.description,
      self.syscall,
      self.path.display()
    )
  }
}

/// A complete snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
  pub path: PathBuf,
  /// The file's size (compressed, for a compressed snapshot).
  pub bytes: u64,
  /// What the writer produced, before compression; `bytes` for a plain file.
  pub plain_bytes: u64,
}

/// How to compress a snapshot as it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compress {
  pub format: Compression,
  /// Put the fork marker (`rheapdump_core::fork`) into the stream: a fork child cannot mark a
  /// file it writes through a pipe afterwards.
  pub mark_fork: bool,
}

enum Storage {
  /// An `O_TMPFILE`: no name until commit.
  Anonymous,
  /// A temporary file with this name in the directory.
  Named(CString),
  /// An existing non-regular file written through its own path.
  InPlace,
}

/// A snapshot file being written; see the module docs.
pub struct PendingSnapshot {
  target: Target,
  kind: FileKind,
  started_at: DateTime<Utc>,
  dir_path: PathBuf,
  dir: Option<OwnedFd>,
  file: Option<File>,
  storage: Storage,
  /// Hand the writer a real path in the directory instead of `/proc/self/fd/N`.
  by_name: bool,
  compression: Option<Compression>,
  compressor: Option<Compressor>,
  committed: bool,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);
const NAME_ATTEMPTS: usize = 64;

impl PendingSnapshot {
  pub fn create(target: Target) -> Result<Self, FileError> {
    Self::create_with(target, FileKind::Snapshot, true, false)
  }

  /// As `create`, for a file of another kind: only its default name differs.
  pub fn create_kind(target: Target, kind: FileKind) -> Result<Self, FileError> {
    Self::create_for(target, kind, false)
  }

  /// As `create_kind`, or as `create_by_name` for that kind when `by_name` is set.
  pub fn create_for(target: Target, kind: FileKind, by_name: bool) -> Result<Self, FileError> {
    Self::create_with(target, kind, !by_name, by_name)
  }

  /// As `create_for`, compressing what the writer writes when `compress` says so.
  pub fn create_compressed(
    target: Target,
    kind: FileKind,
    by_name: bool,
    compress: Option<Compress>,
  ) -> Result<Self, FileError> {
    let mut pending = Self::create_with(target, kind, !by_name, by_name)?;
    if let Some(compress) = compress {
      pending.start_compressor(compress)?;
    }
    Ok(pending)
  }

  fn start_compressor(&mut self, compress: Compress) -> Result<(), FileError> {
    let shown = self.display_path().to_path_buf();
    let file = self.file.as_ref().expect("a pending file is open");
    let out = file
      .try_clone()
      .map_err(|err| FileError::new(&err, "dup", &shown))?;
    let fifo_name = format!(
      ".rheapdump-{}-{}.fifo",
      std::process::id(),
      SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let fifo = (self.by_name || !proc_fd_available())
      .then_some((self.dir_path.as_path(), fifo_name.as_str()));
    let insert = compress.mark_fork.then_some((SNAPSHOT_PREFIX, FORK_MARKER));
    let compressor = Compressor::start(out, compress.format, fifo, insert)
      .map_err(|err| FileError::new(&err, "open", &shown))?;
    self.compressor = Some(compressor);
    self.compression = Some(compress.format);
    Ok(())
  }

  /// After a fork: the child writes through its copy of the pipe, so this process's copy is
  /// closed for the stream to end when the child is done.
  pub fn writer_forked(&mut self) {
    if let Some(compressor) = &mut self.compressor {
      compressor.close_writer();
    }
  }

  /// As `create`, but always with a named temporary file, as on filesystems without O_TMPFILE.
  pub fn create_named(target: Target) -> Result<Self, FileError> {
    Self::create_with(target, FileKind::Snapshot, false, false)
  }

  /// As `create_named`, and the writer is handed the temporary file's real path (or the device's
  /// or FIFO's own), never `/proc/self/fd/N`: Node's permission model checks the path a writer
  /// opens, and `--allow-fs-write=<dir>` does not cover `/proc/self/fd/`.
  pub fn create_by_name(target: Target) -> Result<Self, FileError> {
    Self::create_with(target, FileKind::Snapshot, false, true)
  }

  fn create_with(
    target: Target,
    kind: FileKind,
    try_anonymous: bool,
    by_name: bool,
  ) -> Result<Self, FileError> {
    let started_at = Utc::now();
    let (dir_path, explicit) = match &target {
      Target::DefaultName { dir } => (dir.clone(), None),
      Target::Explicit { path } => (parent_dir(path), Some(path.clone())),
    };
    if let Some(path) = &explicit {
      // The name itself decides, never what a symlink there points to: a link planted by someone
      // else must not steer the heap into their FIFO or device.
      match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
          return Err(FileError::new(
            &io::Error::from_raw_os_error(libc::EISDIR),
            "open",
            path,
          ))
        }
        Ok(meta) if !meta.is_file() && !meta.file_type().is_symlink() => {
          if let Some(file) = open_in_place(path)? {
            return Ok(PendingSnapshot {
              target,
              kind,
              started_at,
              dir_path,
              dir: None,
              file: Some(file),
              storage: Storage::InPlace,
              by_name,
              compression: None,
              compressor: None,
              committed: false,
            });
          }
        }
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(FileError::new(&err, "stat", path)),
      }
    }
    // Errors name the file asked for, as Node's writer does, or the directory for default names.
    let shown = explicit.as_deref().unwrap_or(&dir_path).to_path_buf();
    let dir = open_dir(&dir_path).map_err(|err| FileError::new(&err, "open", &shown))?;
    let anonymous = if try_anonymous {
      open_anonymous(&dir)
    } else {
      Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP))
    };
    let (file, storage) = match anonymous {
      Ok(file) => (file, Storage::Anonymous),
      Err(err) if anonymous_unsupported(&err) => {
        let (file, name) =
          create_temporary(&dir).map_err(|err| FileError::new(&err, "open", &shown))?;
        (file, Storage::Named(name))
      }
      // The kernel answers EPERM for an O_TMPFILE in a directory that has been deleted.
      Err(_) if is_deleted(&dir) => {
        return Err(FileError::new(
          &io::Error::from_raw_os_error(libc::ENOENT),
          "open",
          &shown,
        ))
      }
      Err(err) => return Err(FileError::new(&err, "open", &shown)),
    };
    Ok(PendingSnapshot {
      target,
      kind,
      started_at,
      dir_path,
      dir: Some(dir),
      file: Some(file),
      storage,
      by_name,
      compression: None,
      compressor: None,
      committed: false,
    })
  }

  /// The path to give the writer.
  pub fn writer_path(&self) -> PathBuf {
    if let Some(compressor) = &self.compressor {
      return compressor.writer_path();
    }
    let by_name = self.by_name || !proc_fd_available();
    match (&self.storage, &self.file) {
      (_, None) => self.explicit_path().to_path_buf(),
      (Storage::InPlace, Some(_)) if by_name => self.explicit_path().to_path_buf(),
      (Storage::Named(name), Some(_)) if by_name => {
        self.dir_path.join(OsStr::from_bytes(name.as_bytes()))
      }
      (_, Some(file)) => PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd())),
    }
  }

  /// Whether what the writer wrote can be thrown away for another try: true for a temporary
  /// file (a new one each time), false for a FIFO, device or socket written in place, whose
  /// reader already has it.
  pub fn rewindable(&self) -> bool {
    !matches!(self.storage, Storage::InPlace)
  }

  /// The final path, as far as it is known before `commit` (the directory for default names).
  pub fn display_path(&self) -> &Path {
    match &self.target {
      Target::DefaultName { dir } => dir,
      Target::Explicit { path } => path,
    }
  }

  /// Makes the written snapshot durable and gives it its final name.
  pub fn commit(mut self) -> Result<Written, FileError> {
    let compressed = match self.compressor.take() {
      Some(compressor) => {
        let shown = self.display_path().to_path_buf();
        let done = compressor
          .finish()
          .map_err(|err| FileError::new(&err, "write", &shown))?;
        if done.plain_bytes == 0 {
          // As below: the writer wrote nothing at all.
          return Err(FileError::new(
            &io::Error::from_raw_os_error(libc::EIO),
            "write",
            &shown,
          ));
        }
        Some(done.plain_bytes)
      }
      None => None,
    };
    let (Some(dir), Some(file), false) = (
      &self.dir,
      &self.file,
      matches!(self.storage, Storage::InPlace),
    ) else {
      let path = self.explicit_path().to_path_buf();
      let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
      self.committed = true;
      return Ok(Written {
        path,
        bytes,
        plain_bytes: compressed.unwrap_or(bytes),
      });
    };
    let shown = self.display_path().to_path_buf();
    file
      .sync_all()
      .map_err(|err| FileError::new(&err, "fsync", &shown))?;
    let bytes = file
      .metadata()
      .map_err(|err| FileError::new(&err, "fstat", &shown))?
      .len();
    if bytes == 0 {
      // Node's writer always writes the header; an empty file means it failed without saying so.
      return Err(FileError::new(
        &io::Error::from_raw_os_error(libc::EIO),
        "write",
        &shown,
      ));
    }
    let path = match &self.target {
      Target::DefaultName { dir: dir_path } => {
        let name = self.link_new_name(dir, file)?;
        dir_path.join(name)
      }
      Target::Explicit { path } => {
        self.replace(dir, file, path)?;
        path.clone()
      }
    };
    self.committed = true;
    if let Storage::Named(temporary) = &self.storage {
      // After a link (default names) the temporary name is still there; after a rename this fails
      // harmlessly with ENOENT.
      // SAFETY: dir is an open directory fd and temporary a NUL-terminated name.
      unsafe { libc::unlinkat(dir.as_raw_fd(), temporary.as_ptr(), 0) };
    }
    // Best effort: the file is complete under its name either way; a directory fsync error here
    // would only make a caller believe a good snapshot is missing.
    let _ = File::from(
      dir
        .try_clone()
        .map_err(|err| FileError::new(&err, "dup", &shown))?,
    )
    .sync_all();
    Ok(Written {
      path,
      bytes,
      plain_bytes: compressed.unwrap_or(bytes),
    })
  }

  fn explicit_path(&self) -> &Path {
    self.display_path()
  }

  /// Links the file under a fresh default name, never replacing anything; returns the name.
  fn link_new_name(&self, dir: &OwnedFd, file: &File) -> Result<String, FileError> {
    let pid = std::process::id();
    let mut last_err = io::Error::from_raw_os_error(libc::EEXIST);
    for _ in 0..NAME_ATTEMPTS {
      let name = default_compressed_name(
        self.kind,
        self.compression,
        self.started_at,
        pid,
        super::procfs::run(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed),
      );
      match self.link_as(dir, file, &name) {
        Ok(()) => return Ok(name),
        Err(err) if err.raw_os_error() == Some(libc::EEXIST) => last_err = err,
        Err(err) => return Err(FileError::new(&err, "link", &self.dir_path.join(&name))),
      }
    }
    Err(FileError::new(&last_err, "link", &self.dir_path))
  }

  /// Puts the file at `path`, atomically replacing a regular file there.
  fn replace(&self, dir: &OwnedFd, file: &File, path: &Path) -> Result<(), FileError> {
    let final_name = c_name(path.file_name().unwrap_or(path.as_os_str()));
    let temporary = match &self.storage {
      Storage::Named(name) => name.clone(),
      _ => loop_for_temporary_link(|name| self.link_as(dir, file, name))
        .map_err(|err| FileError::new(&err, "link", path))?,
    };
    // SAFETY: both names are NUL-terminated and relative to the open directory fd.
    let renamed = unsafe {
      libc::renameat(
        dir.as_raw_fd(),
        temporary.as_ptr(),
        dir.as_raw_fd(),
        final_name.as_ptr(),
      )
    };
    if renamed != 0 {
      let err = io::Error::last_os_error();
      // SAFETY: as above.
      unsafe { libc::unlinkat(dir.as_raw_fd(), temporary.as_ptr(), 0) };
      return Err(FileError::new(&err, "rename", path));
    }
    Ok(())
  }

  /// Gives the file a (further) name in the directory, failing with EEXIST if it is taken.
  fn link_as(&self, dir: &OwnedFd, file: &File, name: &str) -> io::Result<()> {
    let new_name = c_name(OsStr::new(name));
    let linked = match &self.storage {
      Storage::Named(temporary) => {
        // SAFETY: NUL-terminated names relative to an open directory fd.
        unsafe {
          libc::linkat(
            dir.as_raw_fd(),
            temporary.as_ptr(),
            dir.as_raw_fd(),
            new_name.as_ptr(),
            0,
          )
        }
      }
      _ => {
        let source = c_name(OsStr::new(&format!("/proc/self/fd/{}", file.as_raw_fd())));
        // SAFETY: as above; AT_SYMLINK_FOLLOW makes linkat resolve the /proc magic link to the
        // anonymous inode instead of linking the link.
        unsafe {
          libc::linkat(
            libc::AT_FDCWD,
            source.as_ptr(),
            dir.as_raw_fd(),
            new_name.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
          )
        }
      }
    };
    if linked == 0 {
      Ok(())
    } else {
      Err(io::Error::last_os_error())
    }
  }
}

impl Drop for PendingSnapshot {
  fn drop(&mut self) {
    // The compressor's thread ends before the file it writes into is unlinked.
    drop(self.compressor.take());
    if let (false, Storage::Named(name), Some(dir)) = (self.committed, &self.storage, &self.dir) {
      // SAFETY: NUL-terminated name relative to an open directory fd.
      unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) };
    }
  }
}

fn parent_dir(path: &Path) -> PathBuf {
  match path.parent() {
    Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
    _ => PathBuf::from("."),
  }
}

fn c_name(name: &OsStr) -> CString {
  // Paths from JS strings cannot contain NUL (Node rejects them before they reach us); a name
  // that did would be cut there and fail to match anything.
  CString::new(
    name
      .as_bytes()
      .split(|b| *b == 0)
      .next()
      .unwrap_or_default(),
  )
  .unwrap_or_default()
}

/// Opens an existing device or FIFO named directly at `path` for writing, without following a
/// symlink and without waiting for a FIFO's reader. `None` when the name turned out to be a
/// symlink or a regular file after all (it changed since it was looked at): it is then replaced.
fn open_in_place(path: &Path) -> Result<Option<File>, FileError> {
  // O_NONBLOCK: opening a FIFO for writing otherwise blocks until some process opens it for
  // reading, which may be never, and this runs on the thread that owns the heap.
  let opened = OpenOptions::new()
    .write(true)
    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
    .open(path);
  let file = match opened {
    Ok(file) => file,
    Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
    Err(err) if err.raw_os_error() == Some(libc::ENXIO) => {
      let description = if is_fifo(path) {
        "no process has the FIFO open for reading".to_string()
      } else {
        errno::describe(&err)
      };
      return Err(FileError {
        code: errno::code_of(&err),
        syscall: "open",
        path: path.to_path_buf(),
        description,
      });
    }
    Err(err) => return Err(FileError::new(&err, "open", path)),
  };
  let meta = file
    .metadata()
    .map_err(|err| FileError::new(&err, "fstat", path))?;
  if meta.is_file() {
    return Ok(None);
  }
  // The writer gets a descriptor of its own (see writer_path); it blocks like any writer.
  // SAFETY: fcntl on a descriptor this function owns.
  unsafe {
    let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
    if flags >= 0 {
      libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
  }
  Ok(Some(file))
}

fn is_fifo(path: &Path) -> bool {
  use std::os::unix::fs::FileTypeExt;
  std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_fifo())
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
  let dir = OpenOptions::new()
    .read(true)
    .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
    .open(path)?;
  Ok(OwnedFd::from(dir))
}

fn open_anonymous(dir: &OwnedFd) -> io::Result<File> {
  if !proc_fd_available() {
    return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
  }
  // SAFETY: "." is NUL-terminated; the returned fd is checked before it is owned.
  let fd = unsafe {
    libc::openat(
      dir.as_raw_fd(),
      c".".as_ptr(),
      libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
      0o600 as libc::c_uint,
    )
  };
  if fd < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: fd is a freshly opened descriptor that nothing else owns.
  Ok(unsafe { File::from_raw_fd(fd) })
}

/// True when the open directory has been removed (no names link to it any more).
fn is_deleted(dir: &OwnedFd) -> bool {
  // SAFETY: fstat fills the zeroed struct for an open descriptor.
  unsafe {
    let mut stat: libc::stat = std::mem::zeroed();
    libc::fstat(dir.as_raw_fd(), &mut stat) == 0 && stat.st_nlink == 0
  }
}

fn anonymous_unsupported(err: &io::Error) -> bool {
  matches!(
    err.raw_os_error(),
    Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL)
  )
}

fn create_temporary(dir: &OwnedFd) -> io::Result<(File, CString)> {
  let mut file = None;
  let name = loop_for_temporary_link(|name| {
    let c = c_name(OsStr::new(name));
    // SAFETY: NUL-terminated name relative to an open directory fd.
    let fd = unsafe {
      libc::openat(
        dir.as_raw_fd(),
        c.as_ptr(),
        libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0o600 as libc::c_uint,
      )
    };
    if fd < 0 {
      return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    file = Some(unsafe { File::from_raw_fd(fd) });
    Ok(())
  })?;
  Ok((file.expect("set on success"), name))
}

/// Calls `attempt` with fresh temporary names until one does not fail with EEXIST.
fn loop_for_temporary_link(mut attempt: impl FnMut(&str) -> io::Result<()>) -> io::Result<CString> {
  let pid = std::process::id();
  let mut last_err = io::Error::from_raw_os_error(libc::EEXIST);
  for _ in 0..NAME_ATTEMPTS {
    let name = format!(
      ".rheapdump-{pid}-{}.tmp",
      SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    match attempt(&name) {
      Ok(()) => return Ok(c_name(OsStr::new(&name))),
      Err(err) if err.raw_os_error() == Some(libc::EEXIST) => last_err = err,
      Err(err) => return Err(err),
    }
  }
  Err(last_err)
}

fn proc_fd_available() -> bool {
  static AVAILABLE: OnceLock<bool> = OnceLock::new();
  *AVAILABLE.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}
