use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use rheapdump_core::naming::{is_default_file_name, FileKind};
use rheapdump_platform::snapshot_file::{PendingSnapshot, Target};

fn entries(dir: &Path) -> Vec<String> {
  let mut names: Vec<_> = fs::read_dir(dir)
    .unwrap()
    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
    .collect();
  names.sort();
  names
}

fn default_in(dir: &Path) -> Target {
  Target::DefaultName {
    dir: dir.to_path_buf(),
  }
}

/// Writes the way Node's writer does: open the given path with O_TRUNC and write.
fn write_like_node(pending: &PendingSnapshot, text: &str) {
  fs::write(pending.writer_path(), text).unwrap();
}

#[test]
fn nothing_is_visible_in_the_directory_until_commit() {
  let dir = tempfile::tempdir().unwrap();
  let pending = PendingSnapshot::create(default_in(dir.path())).unwrap();
  write_like_node(&pending, "{\"snapshot\":{}}");
  assert!(entries(dir.path()).is_empty());
  let written = pending.commit().unwrap();
  assert_eq!(entries(dir.path()).len(), 1);
  assert_eq!(
    fs::read_to_string(&written.path).unwrap(),
    "{\"snapshot\":{}}"
  );
  assert_eq!(written.bytes, 15);
}

#[test]
fn committed_file_has_a_default_name_and_mode_0600() {
  let dir = tempfile::tempdir().unwrap();
  let pending = PendingSnapshot::create(default_in(dir.path())).unwrap();
  write_like_node(&pending, "x");
  let written = pending.commit().unwrap();
  let name = written.path.file_name().unwrap().to_str().unwrap();
  assert!(is_default_file_name(name), "{name}");
  assert!(name.contains(&format!("-{}-", std::process::id())));
  let mode = fs::metadata(&written.path).unwrap().permissions().mode() & 0o777;
  assert_eq!(mode, 0o600);
}

#[test]
fn an_abandoned_snapshot_leaves_nothing_behind() {
  let dir = tempfile::tempdir().unwrap();
  let pending = PendingSnapshot::create(default_in(dir.path())).unwrap();
  write_like_node(&pending, "partial");
  drop(pending);
  assert!(entries(dir.path()).is_empty());
}

#[test]
fn an_empty_write_is_an_error_and_leaves_nothing() {
  let dir = tempfile::tempdir().unwrap();
  let pending = PendingSnapshot::create(default_in(dir.path())).unwrap();
  let err = pending.commit().unwrap_err();
  assert_eq!(err.code, "EIO");
  assert!(entries(dir.path()).is_empty());
}

#[test]
fn many_snapshots_started_together_get_distinct_names() {
  let dir = tempfile::tempdir().unwrap();
  let pendings: Vec<_> = (0..50)
    .map(|_| PendingSnapshot::create(default_in(dir.path())).unwrap())
    .collect();
  for pending in pendings {
    write_like_node(&pending, "x");
    pending.commit().unwrap();
  }
  assert_eq!(entries(dir.path()).len(), 50);
}

#[test]
fn an_explicit_path_replaces_a_regular_file_atomically() {
  let dir = tempfile::tempdir().unwrap();
  let path = dir.path().join("my.heapsnapshot");
  fs::write(&path, "old").unwrap();
  let pending = PendingSnapshot::create(Target::Explicit { path: path.clone() }).unwrap();
  write_like_node(&pending, "new");
  assert_eq!(fs::read_to_string(&path).unwrap(), "old");
  let written = pending.commit().unwrap();
  assert_eq!(written.path, path);
  assert_eq!(fs::read_to_string(&path).unwrap(), "new");
  assert_eq!(entries(dir.path()), vec!["my.heapsnapshot"]);
}

#[test]
fn a_symlink_at_the_explicit_path_is_replaced_and_its_target_untouched() {
  let dir = tempfile::tempdir().unwrap();
  let victim = dir.path().join("victim");
  fs::write(&victim, "precious").unwrap();
  let path = dir.path().join("snap.heapsnapshot");
  std::os::unix::fs::symlink(&victim, &path).unwrap();
  let pending = PendingSnapshot::create(Target::Explicit { path: path.clone() }).unwrap();
  write_like_node(&pending, "snapshot");
  pending.commit().unwrap();
  assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
  assert!(fs::symlink_metadata(&path).unwrap().file_type().is_file());
  assert_eq!(fs::read_to_string(&path).unwrap(), "snapshot");
}

fn make_fifo(path: &Path) {
  let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
  // SAFETY: a valid NUL-terminated path.
  assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// The read end of a FIFO, opened without waiting for a writer.
fn fifo_reader(path: &Path) -> fs::File {
  use std::os::unix::fs::OpenOptionsExt;
  fs::OpenOptions::new()
    .read(true)
    .custom_flags(libc::O_NONBLOCK)
    .open(path)
    .unwrap()
}

fn read_available(reader: &mut fs::File) -> String {
  use std::io::Read;
  let mut text = String::new();
  let _ = reader.read_to_string(&mut text); // WouldBlock once the pipe is empty
  text
}

#[test]
fn an_existing_fifo_with_a_reader_is_written_in_place() {
  let dir = tempfile::tempdir().unwrap();
  let fifo = dir.path().join("pipe");
  make_fifo(&fifo);
  let mut reader = fifo_reader(&fifo);
  let pending = PendingSnapshot::create(Target::Explicit { path: fifo.clone() }).unwrap();
  write_like_node(&pending, "snapshot");
  let written = pending.commit().unwrap();
  assert_eq!(written.path, fifo);
  assert_eq!(read_available(&mut reader), "snapshot");
  assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
  assert_eq!(entries(dir.path()), vec!["pipe"]);
}

#[test]
fn a_fifo_nobody_reads_fails_at_once_with_enxio_instead_of_blocking() {
  let dir = tempfile::tempdir().unwrap();
  let fifo = dir.path().join("pipe");
  make_fifo(&fifo);
  let started = std::time::Instant::now();
  let err = PendingSnapshot::create(Target::Explicit { path: fifo.clone() })
    .err()
    .expect("no reader: an error");
  assert!(started.elapsed() < std::time::Duration::from_secs(1));
  assert_eq!((err.code, err.syscall, err.path), ("ENXIO", "open", fifo));
  assert_eq!(err.description, "no process has the FIFO open for reading");
}

#[test]
fn a_symlink_to_a_fifo_is_replaced_and_the_fifo_receives_nothing() {
  let dir = tempfile::tempdir().unwrap();
  let fifo = dir.path().join("their-pipe");
  make_fifo(&fifo);
  let mut reader = fifo_reader(&fifo);
  let path = dir.path().join("snap.heapsnapshot");
  std::os::unix::fs::symlink(&fifo, &path).unwrap();
  let pending = PendingSnapshot::create(Target::Explicit { path: path.clone() }).unwrap();
  write_like_node(&pending, "snapshot");
  pending.commit().unwrap();
  assert!(fs::symlink_metadata(&path).unwrap().file_type().is_file());
  assert_eq!(fs::read_to_string(&path).unwrap(), "snapshot");
  assert_eq!(read_available(&mut reader), "");
}

#[test]
fn a_device_named_directly_is_written_in_place_but_a_symlink_to_it_is_replaced() {
  let dir = tempfile::tempdir().unwrap();
  let null = dir.path().join("null");
  let c = std::ffi::CString::new(null.to_str().unwrap()).unwrap();
  // SAFETY: a valid NUL-terminated path. A private clone of /dev/null (1, 3): never the real one.
  if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) } != 0 {
    eprintln!("skipped: mknod needs CAP_MKNOD");
    return;
  }
  let pending = PendingSnapshot::create(Target::Explicit { path: null.clone() }).unwrap();
  write_like_node(&pending, "snapshot");
  pending.commit().unwrap();
  assert!(fs::symlink_metadata(&null)
    .unwrap()
    .file_type()
    .is_char_device());

  let link = dir.path().join("snap.heapsnapshot");
  std::os::unix::fs::symlink(&null, &link).unwrap();
  let pending = PendingSnapshot::create(Target::Explicit { path: link.clone() }).unwrap();
  write_like_node(&pending, "snapshot");
  pending.commit().unwrap();
  assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
  assert_eq!(fs::read_to_string(&link).unwrap(), "snapshot");
  assert!(fs::symlink_metadata(&null)
    .unwrap()
    .file_type()
    .is_char_device());
}

#[test]
fn a_missing_directory_is_enoent_with_its_path() {
  let dir = tempfile::tempdir().unwrap();
  let missing = dir.path().join("nope");
  let err = PendingSnapshot::create(default_in(&missing)).err().unwrap();
  assert_eq!((err.code, err.syscall), ("ENOENT", "open"));
  assert_eq!(err.path, missing);
  assert!(err
    .to_string()
    .starts_with("ENOENT: no such file or directory, open '"));
}

#[test]
fn a_directory_as_explicit_path_is_eisdir() {
  let dir = tempfile::tempdir().unwrap();
  let err = PendingSnapshot::create(Target::Explicit {
    path: dir.path().to_path_buf(),
  })
  .err()
  .unwrap();
  assert_eq!(err.code, "EISDIR");
}

#[test]
fn a_file_as_directory_is_enotdir() {
  let dir = tempfile::tempdir().unwrap();
  let file = dir.path().join("file");
  fs::write(&file, "").unwrap();
  let err = PendingSnapshot::create(default_in(&file)).err().unwrap();
  assert_eq!(err.code, "ENOTDIR");
}

#[test]
fn a_read_only_directory_is_refused_before_any_write() {
  if unsafe { libc::geteuid() } == 0 {
    // root writes anywhere; a read-only mount is what stops it, and the JS suite covers that.
    return;
  }
  let dir = tempfile::tempdir().unwrap();
  fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
  let err = PendingSnapshot::create(default_in(dir.path()))
    .err()
    .unwrap();
  assert_eq!(err.code, "EACCES");
}

#[test]
fn a_name_too_long_is_refused_before_any_write() {
  let dir = tempfile::tempdir().unwrap();
  let path = dir.path().join("x".repeat(300));
  let err = PendingSnapshot::create(Target::Explicit { path: path.clone() })
    .err()
    .unwrap();
  assert_eq!((err.code, err.path), ("ENAMETOOLONG", path));
  assert!(entries(dir.path()).is_empty());
}

#[test]
fn files_are_owned_by_this_process_user() {
  let dir = tempfile::tempdir().unwrap();
  let pending = PendingSnapshot::create(default_in(dir.path())).unwrap();
  write_like_node(&pending, "x");
  let written = pending.commit().unwrap();
  // SAFETY: geteuid has no preconditions.
  assert_eq!(fs::metadata(written.path).unwrap().uid(), unsafe {
    libc::geteuid()
  });
}

#[test]
fn an_explicit_path_in_a_missing_directory_names_the_file() {
  let dir = tempfile::tempdir().unwrap();
  let path = dir.path().join("missing").join("x.heapsnapshot");
  let err = PendingSnapshot::create(Target::Explicit { path: path.clone() })
    .err()
    .unwrap();
  assert_eq!((err.code, err.path), ("ENOENT", path));
}

#[test]
fn the_named_fallback_never_follows_symlinks_planted_at_temporary_names() {
  let dir = tempfile::tempdir().unwrap();
  let victim = dir.path().join("victim");
  fs::write(&victim, "precious").unwrap();
  // Plant a symlink at every temporary name this process could pick next.
  let pid = std::process::id();
  let planted: Vec<_> = (0..2000)
    .map(|n| dir.path().join(format!(".rheapdump-{pid}-{n}.tmp")))
    .collect();
  for link in &planted {
    std::os::unix::fs::symlink(&victim, link).unwrap();
  }
  let result = PendingSnapshot::create_named(default_in(dir.path()));
  match result {
    Ok(pending) => {
      write_like_node(&pending, "snapshot");
      let written = pending.commit().unwrap();
      assert_eq!(fs::read_to_string(written.path).unwrap(), "snapshot");
    }
    // Every candidate taken: refusing is the right answer too.
    Err(err) => assert_eq!(err.code, "EEXIST"),
  }
  assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
  for link in &planted {
    assert!(fs::symlink_metadata(link).unwrap().file_type().is_symlink());
  }
}

#[test]
fn the_named_fallback_commits_and_cleans_up_like_the_anonymous_file() {
  let dir = tempfile::tempdir().unwrap();
  let pending = PendingSnapshot::create_named(default_in(dir.path())).unwrap();
  assert_eq!(entries(dir.path()).len(), 1, "the hidden temporary file");
  write_like_node(&pending, "x");
  let written = pending.commit().unwrap();
  assert_eq!(
    entries(dir.path()),
    vec![written
      .path
      .file_name()
      .unwrap()
      .to_string_lossy()
      .into_owned()]
  );
  assert_eq!(
    fs::metadata(&written.path).unwrap().permissions().mode() & 0o777,
    0o600
  );

  let explicit = dir.path().join("explicit.heapsnapshot");
  let pending = PendingSnapshot::create_named(Target::Explicit {
    path: explicit.clone(),
  })
  .unwrap();
  write_like_node(&pending, "y");
  pending.commit().unwrap();
  assert_eq!(fs::read_to_string(&explicit).unwrap(), "y");

  let abandoned = PendingSnapshot::create_named(default_in(dir.path())).unwrap();
  drop(abandoned);
  assert_eq!(entries(dir.path()).len(), 2);
}

#[test]
fn a_deleted_directory_is_enoent_not_the_kernels_eperm() {
  let dir = tempfile::tempdir().unwrap();
  let doomed = dir.path().join("doomed");
  fs::create_dir(&doomed).unwrap();
  let held = fs::File::open(&doomed).unwrap();
  fs::remove_dir(&doomed).unwrap();
  // The working directory case: the path still opens through a descriptor held on it.
  let through = std::path::PathBuf::from(format!(
    "/proc/self/fd/{}",
    std::os::fd::AsRawFd::as_raw_fd(&held)
  ));
  let err = PendingSnapshot::create(default_in(&through)).err().unwrap();
  assert_eq!(err.code, "ENOENT");
}

#[test]
fn by_name_the_writer_gets_a_real_path_in_the_directory_and_commit_renames_it() {
  let dir = tempfile::tempdir().unwrap();
  let pending = PendingSnapshot::create_by_name(default_in(dir.path())).unwrap();
  let writer = pending.writer_path();
  assert_eq!(writer.parent().unwrap(), dir.path());
  assert!(writer
    .file_name()
    .unwrap()
    .to_str()
    .unwrap()
    .starts_with(".rheapdump-"));
  write_like_node(&pending, "snapshot");
  let written = pending.commit().unwrap();
  assert_eq!(
    entries(dir.path()),
    vec![written.path.file_name().unwrap().to_str().unwrap()]
  );
  assert_eq!(fs::read_to_string(&written.path).unwrap(), "snapshot");
  assert_eq!(fs::metadata(&written.path).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn a_profile_gets_its_own_default_name_mode_0600_and_never_replaces_another() {
  let dir = tempfile::tempdir().unwrap();
  let pending: Vec<_> = (0..2)
    .map(|_| PendingSnapshot::create_kind(default_in(dir.path()), FileKind::Profile).unwrap())
    .collect();
  assert!(entries(dir.path()).is_empty());
  let mut paths = Vec::new();
  for (i, pending) in pending.into_iter().enumerate() {
    write_like_node(&pending, &format!("{{\"head\":{i}}}"));
    paths.push(pending.commit().unwrap().path);
  }
  let names = entries(dir.path());
  assert_eq!(names.len(), 2);
  for (i, path) in paths.iter().enumerate() {
    let name = path.file_name().unwrap().to_str().unwrap();
    let pid = format!("-{}-", std::process::id());
    assert!(
      name.starts_with("heapprofile-") && name.ends_with(".heapprofile") && name.contains(&pid),
      "{name}"
    );
    assert_eq!(
      fs::read_to_string(path).unwrap(),
      format!("{{\"head\":{i}}}")
    );
    assert_eq!(
      fs::metadata(path).unwrap().permissions().mode() & 0o777,
      0o600
    );
  }
}
