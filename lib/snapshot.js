// @ts-check
'use strict'

// An in-process snapshot: the turn and the guard (lib/guard.js), then V8's writer into the file
// lib/writer.js makes, then the memory the writer used given back to the OS. The API, signals
// and automatic snapshots all come here (lib/capture.js), and so does a fork snapshot that fell
// back in-process (lib/fork.js).

const { binding: native } = require('./binding')
const { checkBudget, waitForTurn } = require('./guard')
const { v8 } = require('./memory')
const { current } = require('./shared')
const writer = require('./writer')

const shared = current()

/**
 * @typedef {object} SnapshotInfo What snapshot() resolves to.
 * @property {string} path
 * @property {number} bytes the file's size (compressed, for a compressed snapshot)
 * @property {string} [compress] 'gzip' or 'zstd' for a compressed snapshot
 * @property {number} [plainBytes] what V8 wrote, before compression
 * @property {number} durationMs
 * @property {string} trigger
 * @property {{ before: number, peak: number, after: number }} rss
 * @property {string} [via]
 * @property {string} [reason]
 * @property {{ code: string, description: string }} [forkError]
 */

/**
 * Writes a snapshot into `dir` (default-named) or at `filename`; the guard may refuse it
 * unless `force`.
 * @param {{ dir?: string, filename?: string, trigger: string, force?: boolean, compress?: string }} request
 * @returns {SnapshotInfo}
 */
function takeSnapshot({ dir, filename, trigger, force = false, compress }) {
  const started = process.hrtime.bigint()
  const where = writer.place({ dir, filename, compress })
  const guarded = shared.config.guard && !force
  const turn = guarded ? waitForTurn(where.dir, trigger, shared.config.queueTimeout) : null
  try {
    // Measured after the wait: the process before us may have used, and returned, the memory.
    const before = native.processMemory()
    if (guarded) checkBudget(where.dir, before.rss, trigger, shared.config.memoryLimit, null, where.compress)
    const written = writer.write('snapshot', where, (writerPath) => v8().writeHeapSnapshot(writerPath))
    native.releaseFreeMemory()
    const after = native.processMemory()
    return {
      path: written.path,
      bytes: written.bytes,
      ...(where.compress ? { compress: where.compress, plainBytes: written.plainBytes } : {}),
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
  } finally {
    turn?.release() // never held past the snapshot: the next process is waiting
  }
}

module.exports = { takeSnapshot }
