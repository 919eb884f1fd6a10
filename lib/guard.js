// @ts-check
'use strict'

// The guard: refuses a snapshot that would likely get the process OOM-killed or fill the disk,
// and reserves its memory among the processes that share a memory budget, so that those that
// fit together snapshot together and the others wait (crates/platform/src/linux/ledger.rs).

const { binding: native } = require('./binding')
const { guardError, uncoordinatedError } = require('./errors')
const facts = require('./facts')
const { v8 } = require('./memory')
const { formatBytes, writeStderr } = require('./report')

const NODE_MAJOR = Number(process.versions.node.split('.')[0])

/**
 * The refusal for `budget` (the addon's estimate and measurements), or null to go ahead.
 * `memoryLimit` (configure) caps the memory available at that limit less `rss`.
 * @param {import('./addon').SnapshotBudget} budget
 * @param {{ dir: string, rss: number, memoryLimit: number | null }} context
 */
function judge(budget, { dir, rss, memoryLimit }) {
  let available = budget.memoryAvailable ?? null
  let source = budget.memorySource
  if (memoryLimit !== null && (available === null || memoryLimit - rss < available)) {
    available = Math.max(0, memoryLimit - rss)
    source = `memoryLimit ${formatBytes(memoryLimit)}, RSS ${formatBytes(rss)}`
  }
  if (available !== null && budget.extraMemory > available) {
    return guardError('ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', dir, budget.extraMemory, available,
      `it would need ~${formatBytes(budget.extraMemory)} more memory and ${formatBytes(available)} is available (${source})`)
  }
  const diskFree = budget.diskFree ?? null
  if (diskFree !== null && budget.fileSize > diskFree) {
    return guardError('ERR_RHEAPDUMP_INSUFFICIENT_DISK', dir, budget.fileSize, diskFree,
      `it would write ~${formatBytes(budget.fileSize)} and ${dir} has ${formatBytes(diskFree)} free`)
  }
  return null
}

/**
 * Throws the guard's refusal of a snapshot into `dir` now, if any. The estimate is the worst
 * case measured for this Node major (crates/core/src/estimate.rs).
 * @param {string} dir
 * @param {number} rss
 * @param {string} trigger
 * @param {number | null} memoryLimit
 * @param {{ used_heap_size: number, total_heap_size: number } | null} [forkHeap] for a fork snapshot
 * @param {string | null} [compress] the snapshot's compression, which shrinks the file it writes
 */
function checkBudget(dir, rss, trigger, memoryLimit, forkHeap = null, compress = null) {
  const budget = native.snapshotBudget(NODE_MAJOR, v8().getHeapStatistics().used_heap_size, dir)
  budget.fileSize = diskNeeded(budget.fileSize, compress)
  // A fork snapshot's child and the parent's copy-on-write pages (crates/platform/src/linux/fork.rs).
  // Only with the addon: without it a fork snapshot is refused before the guard (lib/fork.js).
  if (forkHeap) budget.extraMemory = /** @type {import('./binding').Addon} */ (native).forkExtraMemory(NODE_MAJOR, forkHeap.used_heap_size, forkHeap.total_heap_size, rss)
  const refusal = judge(budget, { dir, rss, memoryLimit })
  if (!refusal) return
  // Snapshots nobody awaits report failures on their own line (reportedSnapshot); API calls here.
  if (trigger === 'api') writeStderr(`rheapdump: heap snapshot refused: ${refusal.description}`)
  throw refusal
}

/**
 * The disk a snapshot estimated at `plainSize` bytes takes: the addon compresses as V8 writes,
 * so only the compressed file reaches the disk, estimated at `plainSize / estimateDivisor`
 * (measured, crates/core/src/compression.rs); the fallback writes the plain file first and
 * compresses it after, so it needs both at once.
 * @param {number} plainSize
 * @param {string | null} compress
 */
function diskNeeded(plainSize, compress) {
  const format = compress ? facts.compression[/** @type {keyof typeof facts.compression} */ (compress)] : undefined
  if (!format) return plainSize
  const compressed = plainSize / format.estimateDivisor
  return 'fallback' in native ? plainSize + compressed : compressed
}

// heapdump's writeSnapshot() is synchronous: it waits for memory on the main thread, at most
// this long (or queueTimeout, if shorter). Everything else waits off it.
const SYNC_WAIT_MS = 5000
// How often a wait on a timer looks at the ledger again.
const POLL_MS = 50

/**
 * The extra memory a snapshot reserves: ~20x the used heap in-process; for a fork snapshot, the
 * child's snapshot plus the pages the parent dirties while the child runs (lib/fork.js).
 * @param {string} dir
 * @param {number} rss
 * @param {{ used_heap_size: number, total_heap_size: number } | null} [forkHeap]
 */
function memoryNeeded(dir, rss, forkHeap = null) {
  if (forkHeap) return /** @type {import('./binding').Addon} */ (native).forkExtraMemory(NODE_MAJOR, forkHeap.used_heap_size, forkHeap.total_heap_size, rss)
  return native.snapshotBudget(NODE_MAJOR, v8().getHeapStatistics().used_heap_size, dir).extraMemory
}

/**
 * The error for a reservation that was not given: ERR_RHEAPDUMP_BUSY after a wait, naming the
 * process holding the most; ERR_RHEAPDUMP_UNCOORDINATED where no ledger can be written.
 * @param {import('./addon').ReservationRefusal} refusal
 * @param {string} dir
 */
function reservationError(refusal, dir) {
  const needed = refusal.needed
  if (refusal.reason === 'unavailable') return uncoordinatedError(refusal.ledger, refusal.budget, refusal.description)
  const err = guardError('ERR_RHEAPDUMP_BUSY', dir, needed, refusal.available,
    `${holding(refusal)} for all of ${(refusal.waitedMs / 1000).toFixed(1)} s (queueTimeout)`)
  return Object.assign(err, { holderPid: refusal.holderPid, holderBytes: refusal.holderBytes })
}

/**
 * Who holds the memory, for the stderr lines.
 * @param {import('./addon').ReservationRefusal} refusal
 */
function holding(refusal) {
  if (refusal.description) return `it needs ~${formatBytes(refusal.needed)} and the memory ledger of its budget (${refusal.budget}) cannot be read: ${refusal.description}`
  const holder = refusal.holderPid === null || refusal.holderPid === undefined
    ? 'other processes'
    : `pid ${refusal.holderPid} (reserved ~${formatBytes(refusal.holderBytes ?? 0)})`
  return `it needs ~${formatBytes(refusal.needed)} and ${holder} left too little of the ${formatBytes(refusal.available)} available in its memory budget (${refusal.budget}; ${formatBytes(refusal.reserved)} reserved in all)`
}

/**
 * Says on stderr that a snapshot waits for memory, and who holds it.
 * @param {import('./addon').ReservationRefusal} refusal
 * @param {number} timeoutMs
 */
function reportQueued(refusal, timeoutMs) {
  writeStderr(`rheapdump: heap snapshot queued: ${holding(refusal)}; waiting up to ${Number((timeoutMs / 1000).toFixed(1))} s (queueTimeout)`)
}

/**
 * Throws for an API call, after its stderr line; snapshots nobody awaits report failures on
 * their own line (lib/writer.js reported()).
 * @param {Error} refusal
 * @param {string} trigger
 * @returns {never}
 */
function refuse(refusal, trigger) {
  if (trigger === 'api') writeStderr(refusal.message)
  throw refusal
}

/**
 * One attempt at reserving `needed` bytes: the reservation, or why not ('busy': wait and try
 * again; 'unavailable': refuse). Takes under a millisecond.
 * @param {number} needed
 */
function tryReserve(needed) {
  return native.reserveMemory(needed, 0)
}

/**
 * Reserves `needed` bytes, waiting on the main thread at most SYNC_WAIT_MS (heapdump's
 * synchronous writeSnapshot()).
 * @param {string} dir
 * @param {string} trigger
 * @param {number} needed
 * @param {number} timeoutMs
 * @returns {{ release(): void }}
 */
function reserveSync(dir, trigger, needed, timeoutMs) {
  const first = tryReserve(needed)
  if (!('reason' in first)) return first
  if (first.reason === 'busy') {
    const waitMs = Math.min(timeoutMs, SYNC_WAIT_MS)
    reportQueued(first, waitMs)
    const again = native.reserveMemory(needed, waitMs)
    if (!('reason' in again)) return again
    refuse(reservationError(again, dir), trigger)
  }
  refuse(reservationError(first, dir), trigger)
}

/**
 * Reserves `needed` bytes, polling on a timer for at most `timeoutMs`: the event loop runs on
 * meanwhile. `ref` keeps the process alive while it waits (an awaited API call).
 * @param {string} dir
 * @param {string} trigger
 * @param {number} needed
 * @param {number} timeoutMs
 * @param {boolean} ref
 * @returns {Promise<{ release(): void }>}
 */
function reserveLater(dir, trigger, needed, timeoutMs, ref) {
  const started = Date.now()
  let told = false
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const outcome = tryReserve(needed)
      if (!('reason' in outcome)) return resolve(outcome)
      const waited = Date.now() - started
      if (outcome.reason === 'unavailable' || waited >= timeoutMs) {
        try {
          refuse(reservationError({ ...outcome, waitedMs: waited }, dir), trigger)
        } catch (err) {
          reject(err)
        }
        return
      }
      if (!told) reportQueued(outcome, timeoutMs)
      told = true
      const timer = setTimeout(attempt, Math.min(POLL_MS, timeoutMs - waited))
      if (!ref) timer.unref()
    }
    attempt()
  })
}

module.exports = { judge, checkBudget, diskNeeded, memoryNeeded, reservationError, reportQueued, tryReserve, reserveSync, reserveLater }
