//! Functions the host process (the `node` binary) exports but Node-API does not offer: libuv's
//! and a few of V8's, found by name at run time. A runtime that does not export one gets a
//! clear error from the feature that needs it instead of a failed load.
//!
//! V8's are C++ member functions, looked up by their Itanium C++ ABI names: a non-virtual
//! member function is a C function whose first argument is `this`. Node exports these on
//! 20, 22, 24 and 26 (`nm -D --defined-only $(which node)`).

use std::ffi::c_void;

use napi::{sys, Env};
use napi_derive::napi;

/// `v8::Isolate::GetCurrent()`.
pub type GetCurrentIsolate = unsafe extern "C" fn() -> *mut c_void;
pub const GET_CURRENT_ISOLATE: &str = "_ZN2v87Isolate10GetCurrentEv\0";

/// The isolate of the calling JS thread, or None when the runtime does not export
/// `v8::Isolate::GetCurrent`.
///
/// # Safety
/// Call on a JS thread (any `#[napi]` function runs on one): elsewhere the result is null or
/// another thread's isolate.
pub unsafe fn current_isolate() -> Option<*mut c_void> {
  // SAFETY: GetCurrentIsolate is the C signature of the static v8::Isolate::GetCurrent().
  let get_current: GetCurrentIsolate = unsafe { lookup(GET_CURRENT_ISOLATE) }?;
  // SAFETY: on a JS thread, GetCurrent returns the isolate entered there (caller's promise).
  let isolate = unsafe { get_current() };
  (!isolate.is_null()).then_some(isolate)
}

/// Looks a function up in the host process's global symbol table.
///
/// # Safety
/// `F` must be a function pointer type matching the C signature of the symbol `name` (which
/// ends with a NUL).
pub unsafe fn lookup<F: Copy>(name: &str) -> Option<F> {
  assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
  assert!(name.ends_with('\0'));
  // SAFETY: name is NUL-terminated; RTLD_DEFAULT searches the symbols the process has loaded.
  let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr().cast()) };
  if address.is_null() {
    None
  } else {
    // SAFETY: a non-null address of a function whose signature F declares (caller's promise).
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&address) })
  }
}

/// Whether the caller runs on the main thread (whose event loop is libuv's default loop), not
/// in a Worker. Cheaper at start-up than loading `node:worker_threads`.
#[napi]
pub fn is_main_thread(env: Env) -> bool {
  type DefaultLoop = unsafe extern "C" fn() -> *mut c_void;
  // SAFETY: uv_default_loop takes no argument and returns the default loop (creating it is a
  // no-op in Node, where it exists before any addon loads).
  let Some(default_loop) = (unsafe { lookup::<DefaultLoop>("uv_default_loop\0") }) else {
    return true;
  };
  let mut current = std::ptr::null_mut();
  // SAFETY: env is the calling thread's environment.
  let status = unsafe { sys::napi_get_uv_event_loop(env.raw(), &mut current) };
  status != sys::Status::napi_ok || current.cast::<c_void>() == unsafe { default_loop() }
}
