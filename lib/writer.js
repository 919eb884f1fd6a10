// @ts-check
'use strict'

// The one writer of every file rheapdump makes — in-process snapshots, fork snapshots and heap
// profiles. It owns where a file goes, whether Node's permission model lets this process write
// there, the file itself (an anonymous or hidden 0600 file, written, made durable and only then
// named: crates/platform/src/linux/snapshot_file.rs, or lib/fallback.js without the addon), pruning to
// `keep`, and how the outcome of a file nobody awaits is told (one stderr line, one event).
// A snapshot may be compressed (`compress`): the addon hands V8 a pipe and compresses on a
// thread of its own; the file committed is still one path, the compressed one.
// Callers only say what to write. A fork snapshot's file is opened and named by the addon
// around the fork (crates/addon/src/fork/), so lib/fork.js takes the place, permission, pruning and
// reporting from here and nothing else. With `upload` set, every committed file is handed to
// the uploader thread (crates/upload-addon, a native module of its own loaded only once `upload`
// is set), whose outcome is told here too.

const path = require('node:path')

const { binding: native, uploader } = require('./binding')
const { fileError, uploadError, writerError } = require('./errors')
const { checkFilename, currentDir } = require('./options')
const { formatBytes, isStackOverflow, writeStderr } = require('./report')
const { current } = require('./shared')

const shared = current()

/**
 * What each kind of file is called in messages and events, and how an explicit name is
 * reported: snapshots as given (heapdump's callback does so), profiles resolved.
 * @typedef {'snapshot' | 'profile'} Kind
 */
const KINDS = {
  snapshot: { what: 'heap snapshot', event: 'snapshot', nameAsGiven: true },
  profile: { what: 'heap profile', event: 'profile', nameAsGiven: false },
}

/**
 * @typedef {object} Place Where a file goes.
 * @property {string} dir its directory
 * @property {string | null} given the explicit name as given, or null for a default name
 * @property {string | null} finalPath the explicit name resolved, or null
 * @property {string | null} compress how a snapshot there is compressed ('gzip', 'zstd'), or null
 */

/**
 * Where a file asked for with `dir` or `filename` goes. A default name goes into `dir`, else
 * configure({ dir }) or RHEAPDUMP_DIR, else Node's --diagnostic-dir, else the working directory.
 * A snapshot is compressed as the request says, else a default-named one as configure({
 * compress }) or RHEAPDUMP_COMPRESS says; a name given is kept exactly, and compressed only when
 * the request asks.
 * @param {{ dir?: string, filename?: string, compress?: string }} request
 * @returns {Place}
 */
function place({ dir, filename, compress }) {
  const chosen = compress ?? (filename === undefined ? shared.config.compress : 'off')
  const compression = chosen === 'off' || chosen === undefined ? null : writable(chosen)
  if (filename === undefined) return { dir: resolveDir(dir), given: null, finalPath: null, compress: compression }
  checkFilename(filename)
  const finalPath = path.resolve(currentDir(), filename)
  return { dir: path.dirname(finalPath), given: filename, finalPath, compress: compression }
}

let gzipInsteadWarned = false

/**
 * The format a snapshot is compressed in: as asked, except that the pure-JS fallback on a Node
 * whose zlib has no zstd (before 22.15) writes gzip, and says so once: a snapshot is worth more
 * than its format, and the name (`.gz`) tells which it is.
 * @param {string} format
 */
function writable(format) {
  if (!('fallback' in native) || native.canCompress(format)) return format
  if (!gzipInsteadWarned) process.emitWarning(`this Node's zlib cannot write ${format} (Node 22.15 and later can): the fallback writes gzip instead`, 'RheapdumpWarning')
  gzipInsteadWarned = true
  return 'gzip'
}

/** @param {string | undefined} dir */
function resolveDir(dir) {
  const chosen = dir ?? shared.config.dir ?? shared.diagnosticDir
  return chosen == null ? currentDir() : path.resolve(currentDir(), chosen)
}

/**
 * Under Node's permission model (--permission), rheapdump writes only where Node would let this
 * process write, and hands Node's writer a real path there (a hidden temporary file, named
 * after): Node checks the path the writer opens, and /proc/self/fd/N is not in
 * --allow-fs-write=<dir>. Returns whether the writer needs that real path.
 * @param {Place} where
 */
function checkWritePermission(where) {
  const target = where.finalPath ?? where.dir
  const permission = /** @type {{ has?: (scope: string, reference?: string) => boolean } | undefined} */ (process.permission)
  if (typeof permission?.has !== 'function') return false
  if (!permission.has('fs.write', target)) {
    throw fileError({
      code: 'ERR_ACCESS_DENIED',
      syscall: 'open',
      path: target,
      description: "Node's permission model does not allow writing here (see --allow-fs-write)",
    })
  }
  return true
}

/**
 * Writes a file: `produce(writerPath)` fills it; it gets its final name only once complete.
 * A default-named snapshot then prunes the directory to `keep`.
 * @param {Kind} kind
 * @param {Place} where
 * @param {(writerPath: string) => void} produce
 * @returns {{ path: string, bytes: number, plainBytes?: number }}
 */
function write(kind, where, produce) {
  const { what, nameAsGiven } = KINDS[kind]
  const byName = checkWritePermission(where)
  const named = nameAsGiven ? where.given : where.finalPath
  const compress = kind === 'snapshot' ? where.compress : null
  const file = native.createSnapshotFile(where.finalPath === null ? where.dir : null, named, byName, kind === 'profile', compress)
  if ('code' in file) throw fileError(file, what)
  try {
    produce(file.writerPath)
  } catch (thrown) {
    file.abandon()
    throw writerError(thrown, file.displayPath, what)
  }
  const written = file.commit()
  if ('code' in written) throw fileError(written, what)
  if (kind === 'snapshot') afterSnapshot(where, written.path)
  else upload('profile', written.path)
  return written
}

/**
 * After a snapshot is named, by this process or by a fork child: keeps at most `keep` of
 * this process's default-named snapshots in its directory; never others, never this one. A
 * failure is told on stderr: the snapshot itself was written.
 * @param {Place} where
 * @param {string} written
 */
function afterSnapshot(where, written) {
  const keep = shared.config.keep
  if (where.finalPath === null && keep !== null) prune(where.dir, written, keep)
  upload('snapshot', written)
}

/**
 * Loads the uploader module when `upload` is set: called at `require` and by configure(), on
 * a thread whose loop is free, so that the first upload, which may start inside a V8 interrupt
 * while the loop is stuck, finds it loaded. Failing to load is told by each upload (below).
 */
function prepareUpload() {
  if (shared.config.upload === null) return
  try {
    uploader()
  } catch {
    // Kept by lib/binding.js and thrown again, with its code, by the first upload.
  }
}

/**
 * Hands a committed file to the uploader thread when `upload` is set. It returns at once: the
 * upload runs even while the event loop is stuck, and its outcome is told once (the addon
 * writes the stderr line as soon as it is known; `upload` or `uploadError` follows here).
 * Without the addon there is no such thread: the file stays local, and that is told.
 * @param {Kind} kind
 * @param {string} written
 */
function upload(kind, written) {
  const url = shared.config.upload
  if (url === null) return
  // Resolved now: the thread may finish after process.chdir().
  const file = path.resolve(currentDir(), written)
  try {
    uploader().uploadFile(kind, file, url, awsEnvironment(), shared.config.uploadKeepLocal, shared.config.quiet, uploaded)
  } catch (err) {
    const failure = uploadError({ code: err.code ?? 'ERR_RHEAPDUMP_UPLOAD', description: err.message }, file, url)
    writeStderr(`rheapdump: upload of ${file} to ${url} failed: ${failure.code} (${err.message}); the local file stays`)
    announce(failure, null, 'upload')
  }
}

/** The uploader's outcome (crates/upload-addon UploadOutcome) as the event. */
function uploaded(/** @type {import('./upload-addon').UploadOutcome} */ outcome) {
  const { error, ...info } = outcome
  if (error) announce(uploadError(error, info.path, info.url), null, 'upload')
  else announce(null, info, 'upload')
}

/**
 * The variables the upload reads, copied here on the main thread: the uploader thread must not
 * read the live environment, which Node changes without a lock (`process.env.X = …`).
 */
function awsEnvironment() {
  /** @type {Record<string, string>} */
  const copy = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (name.startsWith('AWS_') || name === 'HOME')) copy[name] = value
  }
  return copy
}

/**
 * @param {string} dir
 * @param {string} written
 * @param {number} keep
 */
function prune(dir, written, keep) {
  try {
    for (const name of native.pruneSnapshots(dir, keep, path.basename(written))) {
      // Pruning is part of a snapshot's success: `quiet` silences it with the "wrote" line.
      if (!shared.config.quiet) writeStderr(`rheapdump: removed ${path.join(dir, name)} (keep: ${keep})`)
    }
  } catch (err) {
    writeStderr(err.message)
  }
}

/** The guard's refusals: what `refusalHint` is added to. */
const REFUSALS = new Set(['ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', 'ERR_RHEAPDUMP_INSUFFICIENT_DISK', 'ERR_RHEAPDUMP_BUSY'])

/**
 * A file nobody awaits (signal, near the heap limit, monitor): `take` writes it, synchronously
 * or as a Promise; its outcome goes to stderr (success unless `quiet`, failure always) and to
 * the event. A `deferrable` one (served inside a V8 interrupt) lets a stack overflow escape,
 * for the caller to hand the request back to the event loop. `refusalHint` ends the line of a
 * snapshot the guard refused: what to do instead. Returns the info of a file written
 * synchronously, else undefined.
 * @param {Kind} kind
 * @param {{ via?: string, note?: string | null, deferrable?: boolean, refusalHint?: string | null }} request
 * @param {() => any} take
 */
function reported(kind, { via, note, deferrable = false, refusalHint = null }, take) {
  const { what, event } = KINDS[kind]
  const succeeded = (/** @type {any} */ info) => {
    // A fork snapshot's `via` says how it was written; how the request arrived is `delivery`.
    if (via) info[info.via ? 'delivery' : 'via'] = via
    if (note) info.reason = note
    if (!shared.config.quiet) writeStderr(`rheapdump: wrote ${info.path} ${describe(info)}${note ? `, ${note}` : ''}`)
    announce(null, info, event)
  }
  const failed = (/** @type {any} */ err) => {
    const hint = refusalHint && REFUSALS.has(err.code) ? `; ${refusalHint}` : ''
    writeStderr(`rheapdump: ${what} failed: ${err.code} ${err.path ?? ''} (${err.description ?? err.message})${hint}`)
    announce(err, null, event)
  }
  let outcome
  try {
    outcome = take()
  } catch (err) {
    if (deferrable && isStackOverflow(err)) throw err
    failed(err)
    return
  }
  if (outcome instanceof Promise) {
    outcome.then(succeeded, failed)
    return undefined
  }
  succeeded(outcome)
  return outcome
}

/**
 * Emits `event` (or `${event}Error`) on the shared emitter once the loop is free: this may be
 * inside a V8 interrupt in the middle of the app's code, which is no place to run arbitrary
 * callbacks. The pending callback holds the shared state, not its emitter: the analysis
 * recognizes rheapdump's state (the object under its Symbol key) and keeps it off the paths it
 * reports, and a listener reached through the bare emitter would look held by the app's timers.
 * @param {Error | null | undefined} err
 * @param {object | null | undefined} info
 * @param {string} event
 */
function announce(err, info, event = 'snapshot') {
  setImmediate(() => {
    if (err) shared.emitter.emit(`${event}Error`, err)
    else shared.emitter.emit(event, info)
  })
}

/** The rest of a "wrote" line: size, and how the file was written and in how long. */
function describe(/** @type {any} */ info) {
  const seconds = (/** @type {number} */ ms) => `${(ms / 1000).toFixed(2)} s`
  if (info.samples !== undefined) return `(${formatBytes(info.bytes)}, ${info.samples} samples) in ${seconds(info.durationMs)}`
  if (info.via === 'fork') return `(${formatBytes(info.bytes)}) by a fork child in ${seconds(info.childMs)}, the service paused ${info.pauseMs.toFixed(1)} ms`
  if (info.forkError) return `(${formatBytes(info.bytes)}) in-process after the fork failed (${info.forkError.code})`
  if (info.plainBytes !== undefined) return `(${formatBytes(info.bytes)}, ${info.compress} of ${formatBytes(info.plainBytes)}) in ${seconds(info.durationMs)}`
  return `(${formatBytes(info.bytes)}) in ${seconds(info.durationMs)}`
}

module.exports = { place, resolveDir, checkWritePermission, write, afterSnapshot, prune, reported, announce, prepareUpload, upload }
