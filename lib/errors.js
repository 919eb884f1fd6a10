// @ts-check
'use strict'

// The one place where failures become JS errors: a stable `code`, the `path`, and a message a
// person can act on. heapdump-compatible entry points keep heapdump's message text.
//
// CODES is the table of every `code` rheapdump gives an error: where it is made and what it
// means. index.d.ts mirrors it (RheapdumpErrorCode) and __test__/errors.test.js checks that
// the table, that union and the codes written in the sources (JS and Rust) agree: a new code
// goes into all three.

/** Errno names (crates/core/src/errno.rs, crates/platform/src/linux/errno.rs), as Node reports them for file operations. */
const ERRNO_CODES = [
  'ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOSPC', 'EDQUOT', 'EROFS',
  'ENAMETOOLONG', 'ELOOP', 'EMFILE', 'ENFILE', 'EFBIG', 'EXDEV', 'EINVAL', 'EBUSY', 'ENXIO',
  'EOPNOTSUPP', 'EIO',
]

const CODES = {
  // Arguments (lib/options.js, lib/analysis.js, lib/settings.js, lib/api.js)
  ERR_INVALID_ARG_TYPE: { at: 'lib/errors.js', meaning: 'an option or argument has the wrong type' },
  ERR_INVALID_ARG_VALUE: { at: 'lib/options.js, crates/analysis/src/run.rs', meaning: 'an option is unknown, or a value is of the right type but not allowed (a NUL byte, dir and filename both); for an analysis, a request Rust cannot run (a missing, unknown or ill-typed field), naming the field' },
  ERR_OUT_OF_RANGE: { at: 'lib/options.js', meaning: 'a number is outside its range or not a whole number' },
  ERR_INVALID_STATE: { at: 'lib/settings.js, crates/addon/src/snapshot_file.rs', meaning: 'near-heap-limit snapshots armed off the main thread, or a snapshot file committed twice' },
  // Files (crates/platform/src/linux/snapshot_file.rs, lib/options.js, lib/writer.js)
  ERRNO: { at: 'crates/core/src/errno.rs, crates/platform/src/linux/errno.rs, lib/options.js', meaning: `the OS refused a file operation: ${ERRNO_CODES.join(', ')} (EIO when the errno has no name here)` },
  ERR_ACCESS_DENIED: { at: 'lib/writer.js', meaning: "Node's permission model (--permission) does not allow writing to the target" },
  // The guard (lib/guard.js)
  ERR_RHEAPDUMP_INSUFFICIENT_MEMORY: { at: 'lib/guard.js', meaning: 'the snapshot would likely need more memory than is available; { force: true } takes it anyway' },
  ERR_RHEAPDUMP_INSUFFICIENT_DISK: { at: 'lib/guard.js', meaning: 'the snapshot would likely not fit on the disk; { force: true } takes it anyway' },
  ERR_RHEAPDUMP_BUSY: { at: 'lib/guard.js', meaning: "other processes' memory reservations in this memory budget left too little room for longer than queueTimeout; holderPid names the largest holder" },
  ERR_RHEAPDUMP_UNCOORDINATED: { at: 'lib/errors.js', meaning: 'no memory ledger can be written (RHEAPDUMP_LOCK_DIR, else /dev/shm and /tmp), so a guarded snapshot cannot be coordinated with other processes; { force: true } takes it anyway' },
  // Sampling heap profiles (lib/sampling.js)
  ERR_RHEAPDUMP_SAMPLING: { at: 'lib/sampling.js', meaning: 'the inspector session did not answer synchronously' },
  ERR_RHEAPDUMP_SAMPLING_OFF: { at: 'lib/sampling.js', meaning: 'a heap profile was asked for while sampling is off' },
  ERR_RHEAPDUMP_SAMPLING_STOPPED: { at: 'lib/sampling.js', meaning: 'another inspector session stopped the sampling heap profiler' },
  // Loading the addon (lib/binding.js, lib/fallback.js)
  ERR_RHEAPDUMP_BINARY: { at: 'lib/errors.js', meaning: 'no native binary for this platform could be loaded (the pure-JS fallback stands in); for the uploader module, each upload fails with it' },
  ERR_DLOPEN_DISABLED: { at: 'lib/binding.js', meaning: "Node's permission model forbids native addons (--allow-addons)" },
  ERR_RHEAPDUMP_NO_ADDON: { at: 'lib/fallback.js', meaning: 'the feature needs the native addon, which did not load' },
  // The addon's own failures (crates/addon/src/)
  ERR_RHEAPDUMP_PROC: { at: 'crates/addon/src/memory.rs', meaning: "the process's memory could not be read from /proc/self" },
  ERR_RHEAPDUMP_PRUNE: { at: 'crates/addon/src/snapshot_file.rs', meaning: 'old snapshots could not be listed or removed (keep)' },
  ERR_RHEAPDUMP_RUNTIME: { at: 'crates/addon/src/signal.rs, crates/addon/src/heap_limit.rs', meaning: 'the host does not export a libuv or V8 symbol the feature needs (not Node.js)' },
  ERR_RHEAPDUMP_SIGNAL_THREAD: { at: 'crates/addon/src/signal.rs', meaning: 'the thread that watches SIGUSR2 could not be started' },
  ERR_RHEAPDUMP_NODE_API: { at: 'crates/addon/src/error.rs', meaning: 'a Node-API call failed' },
  // Fork snapshots (experimental; docs/fork.md)
  ERR_RHEAPDUMP_FORK_UNAVAILABLE: { at: 'crates/addon/src/fork/, lib/fork.js', meaning: 'fork snapshots need x86-64 glibc Linux, the addon and the main thread' },
  ERR_RHEAPDUMP_FORK_CRASHED: { at: 'crates/platform/src/linux/fork.rs', meaning: 'the child died of a signal such as SIGSEGV (retried up to 3 times when the target is a file)' },
  ERR_RHEAPDUMP_FORK_STALLED: { at: 'crates/platform/src/linux/fork.rs', meaning: 'the child used no CPU and wrote nothing for 5 s while waiting for a lock, and was killed (retried up to 3 times when the target is a file)' },
  ERR_RHEAPDUMP_FORK_TIMEOUT: { at: 'crates/platform/src/linux/fork.rs', meaning: 'the child spent its CPU budget (spinning) or hit its wall-clock bound (starved or blocked; the description says how much CPU it had); retried up to 3 times when the target is a file' },
  ERR_RHEAPDUMP_FORK_KILLED: { at: 'crates/platform/src/linux/fork.rs', meaning: 'the child was killed from outside (SIGKILL: the OOM killer)' },
  ERR_RHEAPDUMP_FORK_WRITE: { at: 'crates/platform/src/linux/fork.rs', meaning: "V8's writer failed in the child, or the child could not mark the file" },
  ERR_RHEAPDUMP_FORK_SETUP: { at: 'crates/addon/src/fork/, crates/platform/src/linux/fork.rs', meaning: 'the child could not patch its locks or silence its descriptors' },
  ERR_RHEAPDUMP_FORK_LOST: { at: 'crates/addon/src/fork/', meaning: 'something else in the process reaped the child (a waitpid(-1))' },
  ERR_RHEAPDUMP_FORK_FAILED: { at: 'crates/addon/src/fork/, crates/platform/src/linux/fork.rs', meaning: 'the child exited with an unexpected code, or its waiting thread could not start' },
  // Uploads to object storage (crates/upload-addon/src/lib.rs; docs/upload.md)
  ERR_RHEAPDUMP_UPLOAD_CREDENTIALS: { at: 'crates/upload-addon/src/lib.rs', meaning: 'no AWS credentials were found, or STS refused the web identity token' },
  ERR_RHEAPDUMP_UPLOAD_REFUSED: { at: 'crates/upload-addon/src/lib.rs', meaning: 'the S3 server refused the upload (a missing bucket, wrong keys, no permission); `status` and `s3Code` say how' },
  ERR_RHEAPDUMP_UPLOAD_UNREACHABLE: { at: 'crates/upload-addon/src/lib.rs', meaning: 'the S3 server could not be reached, or kept failing, through 5 tries over 7.5 s' },
  ERR_RHEAPDUMP_UPLOAD: { at: 'crates/upload-addon/src/lib.rs', meaning: 'the file could not be read, the AWS settings are unusable (AWS_ENDPOINT_URL, AWS_CA_BUNDLE), or the upload thread could not start' },
  // Snapshot analysis (crates/analysis/src/failure.rs, through crates/analysis-addon/src/analysis.rs)
  ERR_SNAPSHOT_SYNTAX: { at: 'crates/analysis/src/failure.rs', meaning: 'the file is not a heap snapshot' },
  ERR_SNAPSHOT_UNSOUND: { at: 'crates/analysis/src/failure.rs', meaning: 'the snapshot parses but its graph is inconsistent' },
  ERR_NODE_NOT_FOUND: { at: 'crates/analysis/src/failure.rs', meaning: 'no node with that id in the snapshot' },
  ERR_SNAPSHOT_NOT_A_FILE: { at: 'crates/analysis/src/failure.rs', meaning: 'the path is a pipe, FIFO or device, not a regular file' },
  ERR_SNAPSHOT_NOT_COMPARABLE: { at: 'crates/analysis/src/fork.rs, crates/analysis/src/failure.rs', meaning: 'diff or leaks was given a fork snapshot, whose ids match no other snapshot' },
  ERR_SNAPSHOT_COMPRESSED_CORRUPT: { at: 'crates/analysis/src/failure.rs, crates/analysis/src/profile.rs', meaning: 'a gzip or zstd snapshot (or profile) whose compressed stream is truncated or corrupt' },
  ERR_PROFILE_SYNTAX: { at: 'crates/analysis/src/profile.rs', meaning: 'the file is not a sampling heap profile (.heapprofile)' },
  ERR_PROFILE_MISMATCH: { at: 'crates/analysis/src/profile.rs', meaning: 'profile diff was given profiles of two sampler runs, or the later one first' },
  ERR_RHEAPDUMP_ANALYSIS_INTERNAL: { at: 'crates/analysis-addon/src/analysis.rs, crates/cli/src/main.rs, lib/wasi.js', meaning: 'a bug in rheapdump: the analysis panicked or its report could not be serialized' },
  ERR_RHEAPDUMP_WASM_TOO_LARGE: { at: 'crates/cli/src/platform/wasi.rs', meaning: 'the portable (WebAssembly) analysis refuses a file larger than it can read in 4 GiB; the native program reads it' },
  ERR_RHEAPDUMP_WASM_MEMORY: { at: 'crates/cli/src/platform/wasi.rs', meaning: 'the portable (WebAssembly) analysis ran out of its 4 GiB; the native program reads the file' },
}

/**
 * An Error with `code` and the other fields given.
 * @param {ErrorConstructor | TypeErrorConstructor} ErrorType
 * @param {string} message
 * @param {string} code
 * @param {object} [fields]
 * @returns {Error & { code: string, [field: string]: any }}
 */
function coded(ErrorType, message, code, fields) {
  const err = /** @type {Error & { code: string }} */ (new ErrorType(message))
  err.code = code
  return Object.assign(err, fields)
}

/** A failed file operation ({ code, syscall, path, description }) as an Error. */
function fileError(failure, what = 'heap snapshot') {
  return coded(Error,
    `rheapdump: cannot write ${what}: ${failure.code}: ${failure.description}, ${failure.syscall} '${failure.path}'`,
    failure.code, { syscall: failure.syscall, path: failure.path, description: failure.description })
}

/** The same failure as heapdump reports it: `heapdump write error ENOSPC`. */
function heapdumpError(err) {
  return coded(Error, `heapdump write error ${err.code}`, err.code,
    { path: err.path, ...(err.syscall ? { syscall: err.syscall } : {}), cause: err })
}

/** A thrown error from Node's writer, reattributed to the file's real path. */
function writerError(thrown, path, what) {
  return fileError({
    code: typeof thrown.code === 'string' ? thrown.code : 'EIO',
    syscall: thrown.syscall || 'write',
    path,
    description: describe(thrown),
  }, what)
}

/** The OS's words from an fs-style error message. */
function describe(thrown) {
  // Node's fs-style message: "ENOSPC: no space left on device, write" → "no space left on device"
  const match = /^[A-Z0-9_]+: ([^,]+)/.exec(String(thrown.message))
  return match ? match[1] : String(thrown.message)
}

function argumentError(message, code = 'ERR_INVALID_ARG_TYPE') {
  return coded(TypeError, `rheapdump: ${message}`, code)
}

/** An analysis failure from the addon ({ code, path, description }) as an Error. */
function analysisError(failure) {
  return coded(Error, `rheapdump: ${failure.path}: ${failure.code}: ${failure.description}`,
    failure.code, { path: failure.path, description: failure.description })
}

/** The sampling heap profiler cannot give a profile: it is off here, or someone stopped it. */
function samplingError(code, message) {
  return coded(Error, `rheapdump: ${message}`, code, { description: message })
}

/** The guard refuses a snapshot: `needed` and `available` bytes where it measured them. */
function guardError(code, dir, needed, available, description) {
  return coded(Error,
    `rheapdump: heap snapshot refused: ${description}; pass { force: true } to take it anyway`,
    code, { path: dir, needed, available, description })
}

/**
 * A guarded snapshot that cannot be coordinated with the other processes of its memory budget:
 * `ledger` names the directories tried.
 * @param {string} ledger
 * @param {string} budget
 * @param {string} description
 */
function uncoordinatedError(ledger, budget, description) {
  return coded(Error,
    `rheapdump: heap snapshot refused: it cannot be coordinated with other processes sharing its memory budget (${budget}): ${description}; ` +
      'make RHEAPDUMP_LOCK_DIR a writable directory they all use, or pass { force: true } to take it uncoordinated',
    'ERR_RHEAPDUMP_UNCOORDINATED', { path: ledger, description })
}

/** Node's permission model forbids loading native addons in this process. */
function addonsForbiddenError() {
  return coded(Error,
    "rheapdump: Node's permission model forbids native addons in this process, and rheapdump is " +
      'one. Start node with --allow-addons as well as --permission to load it.',
    'ERR_DLOPEN_DISABLED')
}

/** No native binary loaded: `tried` names the files looked for, `errors` why each failed. */
function binaryError(tried, root, errors) {
  return coded(Error,
    `rheapdump: no native binary for ${process.platform}-${process.arch} could be loaded ` +
      `(looked for ${tried} in ${root}${errors.length ? `; ${errors.map((error) => error.message).join('; ')}` : ''}). ` +
      'Reinstall the package with a Rust toolchain on PATH to build it from source (npm rebuild rheapdump).',
    'ERR_RHEAPDUMP_BINARY')
}

/** A feature that only the native addon has, asked of the pure-JS fallback. */
function noAddonError(what) {
  return coded(Error, `rheapdump: ${what} needs the native addon, which did not load on ${process.platform}-${process.arch}`,
    'ERR_RHEAPDUMP_NO_ADDON')
}

/**
 * A failed upload ({ code, description, status, s3Code } from the addon) of the file `path`
 * to `url`: the local file stays.
 */
function uploadError(failure, path, url) {
  return coded(Error, `rheapdump: upload of ${path} to ${url} failed: ${failure.code}: ${failure.description}`,
    failure.code, { path, url, description: failure.description, status: failure.status ?? null, s3Code: failure.s3Code ?? null })
}

module.exports = {
  CODES,
  uploadError,
  ERRNO_CODES,
  samplingError,
  fileError,
  heapdumpError,
  writerError,
  argumentError,
  analysisError,
  guardError,
  uncoordinatedError,
  addonsForbiddenError,
  binaryError,
  noAddonError,
  describe,
}
