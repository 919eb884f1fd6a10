//! Returning freed heap memory to the OS.
//!
//! V8's snapshot generator mallocs ~650 bytes per heap object and frees it all at the end, but
//! glibc keeps the freed pages mapped: RSS stays several times higher than before the snapshot
//! (measured: 125 MB → 750 MB, back to 177 MB after `malloc_trim(0)` in 67 ms). Node never trims.

/// Asks the allocator to give free memory back to the OS. Returns false where that is not
/// possible (allocators other than glibc's).
pub fn release_free_memory() -> bool {
  #[cfg(all(target_os = "linux", target_env = "gnu"))]
  {
    // SAFETY: malloc_trim only walks the allocator's own arenas under their locks; it has no
    // preconditions and is safe to call from any thread.
    unsafe { libc::malloc_trim(0) };
    true
  }
  #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
  {
    false
  }
}
