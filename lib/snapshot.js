// @ts-check
'use strict'

// Taking a snapshot: the one path used by the API and by signals, and the file rules it shares
// with heap profiles (the directory, Node's permission model, pruning to `keep`).

const path = require('node:path')

const { binding: native } = require('./binding')
const { fileError, writerError } = require('./errors')
const { createForkSnapshots, forkMode } = require('./fork')
const { checkBudget, waitForTurn } = require('./guard')
const { v8 } = require('./memory')
const { checkFilename, currentDir } = require('./options')
const { announce, formatBytes, isStackOverflow, writeStderr } = require('./report')
const { current } = require('./shared')

const shared = current()

/**
 * @typedef {object} SnapshotInfo What snapshot() resolves to.
 * @property {string} path
 * @property {number} bytes
 * @property {number} durationMs
 * @property {string} trigger
 * @property {{ before: number, peak: number, after: number }} rss
 * @property {string} [via]
 * @property {string} [reason]
 */

/**
 * Writes a snapshot into `dir` (default-named) or at `filename`; the guard may refuse it
 * unless `force`.
 * @param {{ dir?: string, filename?: string, trigger: string, force?: boolean }} request
 * @returns {SnapshotInfo}
 */
function takeSnapshot({ dir, filename, trigger, force = false }) {
  const started = process.hrtime.bigint()
  if (filename !== undefined) checkFilename(filename)
  const targetDir = filename === undefined ? resolveDir(dir) : path.dirname(path.resolve(currentDir(), filename))
  const guarded = shared.config.guard && !force
  const turn = guarded ? waitForTurn(targetDir, trigger, shared.config.queueTimeout) : null
  try {
    return snapshotInTurn({ filename, trigger, started, targetDir, guarded })
  } finally {
    turn?.release() // never held past the snapshot: the next process is waiting
  }
}

/**
 * @param {{ filename?: string, trigger: string, started: bigint, targetDir: string, guarded: boolean }} request
 * @returns {SnapshotInfo}
 */
function snapshotInTurn({ filename, trigger, started, targetDir, guarded }) {
  // Measured after the wait: the process before us may have used, and returned, the memory.
  const before = native.processMemory()
  if (guarded) checkBudget(targetDir, before.rss, trigger, shared.config.memoryLimit)
  const byName = checkWritePermission(filename === undefined ? targetDir : path.resolve(currentDir(), filename))
  const file = native.createSnapshotFile(filename === undefined ? targetDir : null, filename ?? null, byName)
  if ('code' in file) throw fileError(file)
  try {
    v8().writeHeapSnapshot(file.writerPath)
  } catch (thrown) {
    file.abandon()
    throw writerError(thrown, file.displayPath)
  }
  const written = file.commit()
  if ('code' in written) throw fileError(written)
  native.releaseFreeMemory()
  if (filename === undefined && shared.config.keep !== null) prune(targetDir, written.path, shared.config.keep)
  const after = native.processMemory()
  return {
    path: written.path,
    bytes: written.bytes,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    trigger,
    rss: {
      before: before.rss,
      // VmHWM tells the peak of this snapshot when the snapshot raised it; otherwise the
      // snapshot stayed below an earlier peak, and the highest RSS seen is the best known.
      peak: after.peakRss !== undefined && before.peakRss !== undefined && after.peakRss > before.peakRss
        ? after.peakRss
        : Math.max(before.rss, after.rss),
      after: after.rss,
    },
  }
}

/**
 * A snapshot nobody awaits (signal, automatic): its outcome goes to stderr and to the events.
 * A `deferrable` one lets a stack overflow escape, for the caller to retry from the loop.
 * @param {{ trigger: string, via?: string, dir?: string, note?: string | null, deferrable?: boolean }} request
 */
function reportedSnapshot({ trigger, via, dir, note, deferrable = false }) {
  const mode = forkMode(shared.config.fork)
  if (mode) return forkSnapshots().reported({ trigger, via, dir, note, mode })
  try {
    const info = takeSnapshot({ dir, trigger })
    if (via) info.via = via
    if (note) info.reason = note
    if (!shared.config.quiet) {
      const why = note ? `, ${note}` : ''
      writeStderr(`rheapdump: wrote ${info.path} (${formatBytes(info.bytes)}) in ${(info.durationMs / 1000).toFixed(2)} s${why}`)
    }
    announce(shared, null, info)
  } catch (err) {
    if (deferrable && isStackOverflow(err)) throw err
    writeStderr(`rheapdump: heap snapshot failed: ${err.code} ${err.path} (${err.description})`)
    announce(shared, err, null)
  }
}

/**
 * Under Node's permission model (--permission), the addon writes only where Node would let this
 * process write, and hands Node's writer a real path there (a temporary file, renamed after):
 * Node checks the path the writer opens, and /proc/self/fd/N is not in --allow-fs-write=<dir>.
 * Returns whether the writer needs that real path.
 * @param {string} target
 */
function checkWritePermission(target) {
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
 * Keeps at most `keep` of rheapdump's default-named snapshots in `dir`; never others, never
 * `current`. A failure is told on stderr: the snapshot itself was written.
 * @param {string} dir
 * @param {string} current
 * @param {number} keep
 */
function prune(dir, current, keep) {
  try {
    for (const name of native.pruneSnapshots(dir, keep, path.basename(current))) {
      writeStderr(`rheapdump: removed ${path.join(dir, name)} (keep: ${keep})`)
    }
  } catch (err) {
    writeStderr(err.message)
  }
}

/**
 * The directory of a default-named file: `dir`, else configure({ dir }) or RHEAPDUMP_DIR,
 * else Node's --diagnostic-dir, else the working directory.
 * @param {string | undefined} dir
 */
function resolveDir(dir) {
  const chosen = dir ?? shared.config.dir ?? shared.diagnosticDir
  if (chosen != null) return path.resolve(currentDir(), chosen)
  return currentDir()
}

/**
 * A fork snapshot (experimental, lib/fork.js): a child writes it; resolves once it is named.
 * @param {{ dir?: string, filename?: string, trigger: string, force?: boolean }} request
 * @param {{ fallback: boolean }} mode
 * @returns {Promise<SnapshotInfo>}
 */
function takeForkSnapshot(request, mode) {
  return forkSnapshots().take({ ...request, mode })
}

/** @type {ReturnType<typeof createForkSnapshots> | null} */
let forks = null

/** Fork snapshots (lib/fork.js), made on first use with what they share with this module. */
function forkSnapshots() {
  forks ??= createForkSnapshots({
    native,
    v8,
    shared,
    resolveDir,
    currentDir,
    checkFilename,
    checkWritePermission,
    waitForTurn: (dir, trigger) => waitForTurn(dir, trigger, shared.config.queueTimeout),
    checkBudget: (dir, rss, trigger, heap) => checkBudget(dir, rss, trigger, shared.config.memoryLimit, heap),
    prune: (dir, current) => prune(dir, current, /** @type {number} */ (shared.config.keep)),
    writeStderr,
    formatBytes,
    announce: (err, info) => announce(shared, err, info ?? null),
    fileError,
    takeSnapshot,
  })
  return forks
}

module.exports = { takeSnapshot, takeForkSnapshot, reportedSnapshot, checkWritePermission, prune, resolveDir }
