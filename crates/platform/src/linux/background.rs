//! What each of rheapdump's own threads (the signal watcher, the uploader) needs from the OS:
//! to keep out of the app's signal handling, and to write a line to stderr at once.

use std::ptr;

/// Blocks every signal on the calling thread. It only affects this thread, so every signal is
/// delivered to the app's threads as if this thread did not exist (libuv's handler reaches a
/// loop through its pipe whichever thread runs it).
pub fn block_all_signals() {
  // SAFETY: sigfillset initialises the set; pthread_sigmask only changes this thread's mask.
  unsafe {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigfillset(&mut set);
    libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut());
  }
}

/// Writes `line` to fd 2 with one `write`: no lock (Rust's stderr lock may be held by a thread
/// that is stuck) and no buffer, so the line is out even if the process dies next.
pub fn write_stderr(line: &str) {
  // SAFETY: writes a byte buffer to fd 2; a closed stderr only makes it fail.
  unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}
