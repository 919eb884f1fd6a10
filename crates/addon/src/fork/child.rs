//! The child's side of a fork snapshot: the lock entry points it patches and how, and what
//! makes it harmless before it writes. Why each step, and why it is safe in a child that only
//! writes a file and `_exit`s: the module docs of `fork`.

use std::ffi::c_void;
use std::fs::OpenOptions;
use std::sync::OnceLock;

use rheapdump_core::fork::exit;
use rheapdump_platform::fork::{child_wall_secs, insert_fork_marker};

/// `xor eax, eax; ret`: returns 0, success for pthread_* and void for Abseil's.
const RETURN_ZERO: &[u8] = &[0x31, 0xc0, 0xc3];
/// `mov eax, 1; ret`: returns true, "acquired" for Abseil's try-locks.
const RETURN_TRUE: &[u8] = &[0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3];

/// The entry points patched in the child, by the names the host exports (see module docs).
const PATCHED: &[(&str, &[u8])] = &[
  ("pthread_mutex_lock\0", RETURN_ZERO),
  ("pthread_mutex_trylock\0", RETURN_ZERO),
  ("pthread_mutex_timedlock\0", RETURN_ZERO),
  ("pthread_mutex_unlock\0", RETURN_ZERO),
  ("pthread_rwlock_rdlock\0", RETURN_ZERO),
  ("pthread_rwlock_wrlock\0", RETURN_ZERO),
  ("pthread_rwlock_tryrdlock\0", RETURN_ZERO),
  ("pthread_rwlock_trywrlock\0", RETURN_ZERO),
  ("pthread_rwlock_unlock\0", RETURN_ZERO),
  ("pthread_cond_signal\0", RETURN_ZERO),
  ("pthread_cond_broadcast\0", RETURN_ZERO),
  // Abseil (Node 22, 24: Lock/Unlock/ReaderLock…; Node 26: lock/unlock/lock_shared…).
  ("_ZN4absl5Mutex4LockEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex6UnlockEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex7TryLockEv\0", RETURN_TRUE),
  ("_ZN4absl5Mutex10ReaderLockEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex12ReaderUnlockEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex13ReaderTryLockEv\0", RETURN_TRUE),
  ("_ZN4absl5Mutex4lockEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex6unlockEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex8try_lockEv\0", RETURN_TRUE),
  ("_ZN4absl5Mutex11lock_sharedEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex13unlock_sharedEv\0", RETURN_ZERO),
  ("_ZN4absl5Mutex15try_lock_sharedEv\0", RETURN_TRUE),
  ("_ZN4absl7CondVar6SignalEv\0", RETURN_ZERO),
  ("_ZN4absl7CondVar9SignalAllEv\0", RETURN_ZERO),
];
/// Without these the recipe does not hold anywhere: fork snapshots are unavailable.
const REQUIRED: usize = 11;

pub(super) struct Patch {
  address: usize,
  code: &'static [u8],
}

pub(super) fn patches() -> &'static Result<Vec<Patch>, String> {
  static PATCHES: OnceLock<Result<Vec<Patch>, String>> = OnceLock::new();
  PATCHES.get_or_init(|| {
    let mut found = Vec::new();
    for (index, (name, code)) in PATCHED.iter().enumerate() {
      // SAFETY: dlsym with a NUL-terminated name; the address is only written to in a child.
      let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr().cast()) };
      if address.is_null() {
        if index < REQUIRED {
          return Err(format!(
            "{} is not found in this process",
            name.trim_end_matches('\0')
          ));
        }
        continue;
      }
      found.push(Patch {
        address: address as usize,
        code,
      });
    }
    Ok(found)
  })
}

/// Makes the child harmless (see the module docs); `_exit`s when it cannot.
pub(super) fn child_setup(parent: i32, keep_fd: Option<i32>, alarm_secs: u32, patches: &[Patch]) {
  // SAFETY: each call below acts on this (single-threaded) child process only.
  unsafe {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    if libc::getppid() != parent {
      libc::_exit(exit::ORPHANED);
    }
    if let Err(err) = patch_locks(patches) {
      child_say(&format!("cannot patch the child's locks: {err}"));
      libc::_exit(exit::SETUP_FAILED);
    }
    for signal in 1..libc::SIGRTMAX() {
      if signal != libc::SIGKILL && signal != libc::SIGSTOP {
        libc::signal(signal, libc::SIG_DFL);
      }
    }
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    // CPU time first (a spinning child), wall time as the outer bound (a starved or blocked
    // one): crates/platform's child_alarm_secs says why.
    let budget = libc::itimerval {
      it_interval: libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
      },
      it_value: libc::timeval {
        tv_sec: alarm_secs as libc::time_t,
        tv_usec: 0,
      },
    };
    libc::setitimer(libc::ITIMER_PROF, &budget, std::ptr::null_mut());
    libc::alarm(child_wall_secs(alarm_secs));
    libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    libc::prctl(libc::PR_SET_NAME, c"rheapdump-fork".as_ptr());
  }
  let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
  if let Err(err) = silence_fds(keep_fd) {
    child_say(&format!(
      "cannot point the child's descriptors at /dev/null: {err}"
    ));
    // SAFETY: ends the child without running the parent's destructors.
    unsafe { libc::_exit(exit::SETUP_FAILED) };
  }
}

/// Overwrites each entry point with its return sequence (module docs: why and why safe).
fn patch_locks(patches: &[Patch]) -> std::io::Result<()> {
  // SAFETY: sysconf has no preconditions.
  let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
  for patch in patches {
    let first = patch.address & !(page - 1);
    let length = patch.address + patch.code.len() - first;
    // SAFETY: the pages hold the function's code, mapped for as long as the process lives;
    // only this thread exists in the child, so nothing executes them while they change, and
    // the write is a private copy (the parent's code is untouched). Protection is restored.
    unsafe {
      let start = first as *mut c_void;
      let rwx = libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC;
      if libc::mprotect(start, length, rwx) != 0 {
        return Err(std::io::Error::last_os_error());
      }
      std::ptr::copy_nonoverlapping(
        patch.code.as_ptr(),
        patch.address as *mut u8,
        patch.code.len(),
      );
      libc::mprotect(start, length, libc::PROT_READ | libc::PROT_EXEC);
    }
  }
  Ok(())
}

fn silence_fds(keep: Option<i32>) -> std::io::Result<()> {
  let null = OpenOptions::new()
    .read(true)
    .write(true)
    .open("/dev/null")?;
  let null_fd = std::os::fd::AsRawFd::as_raw_fd(&null);
  let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
    .flatten()
    .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
    .collect();
  for fd in fds {
    if fd >= 3 && fd != null_fd && Some(fd) != keep {
      // SAFETY: replaces the descriptor with /dev/null; one that closed meanwhile (the
      // directory listing's own) just fails with EBADF.
      unsafe { libc::dup2(null_fd, fd) };
    }
  }
  Ok(())
}

fn child_say(line: &str) {
  let line = format!("rheapdump (fork child): {line}\n");
  // SAFETY: a byte buffer to fd 2.
  unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}

pub(super) fn child_finish(writer_path: &str) {
  // A device or FIFO given as the filename (written in place) cannot be rewritten: unmarked.
  let marked = OpenOptions::new()
    .read(true)
    .write(true)
    .open(writer_path)
    .and_then(|file| match file.metadata()?.is_file() {
      true => insert_fork_marker(&file),
      false => Ok(()),
    });
  let code = match marked {
    Ok(()) => 0,
    Err(err) => {
      child_say(&format!("cannot mark {writer_path}: {err}"));
      exit::MARKER_FAILED
    }
  };
  // SAFETY: ends the child without running the parent's destructors.
  unsafe { libc::_exit(code) }
}
