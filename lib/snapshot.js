// @ts-check
'use strict'

// An in-process snapshot: the memory reservation and the guard (lib/guard.js), then V8's writer into the file
// lib/writer.js makes, then the memory the writer used given back to the OS. The API, signals
// and automatic snapshots all come here (lib/capture.js), and so does a fork snapshot that fell
// back in-process (lib/fork.js).

const { binding: native } = require('./binding')
const { checkBudget, memoryNeeded, reserveSync } = require('./guard')
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
 * unless `force`. A guarded snapshot without a `reservation` of its memory (lib/guard.js)
 * waits for one here, on the main thread, briefly (heapdump's synchronous writeSnapshot());
 * the reservation is released when the snapshot ends, whatever the outcome.
 * @param {{ dir?: string, filename?: string, trigger: string, force?: boolean, compress?: string, reservation?: { release(): void } | null }} request
 * @returns {SnapshotInfo}
 */
function takeSnapshot({ dir, filename, trigger, force = false, compress, reservation = null }) {
  const started = process.hrtime.bigint()
  let held = reservation
  try {
    const where = writer.place({ dir, filename, compress })
    const guarded = shared.config.guard && !force
    if (guarded && !held) held = reserveSync(where.dir, trigger, memoryNeeded(where.dir, 0), shared.config.queueTimeout)
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
    held?.release() // never held past the snapshot: other processes may be waiting for it
  }
}

module.exports = { takeSnapshot }
