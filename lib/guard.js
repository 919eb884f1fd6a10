// @ts-check
'use strict'

// The guard: refuses a snapshot that would likely get the process OOM-killed or fill the disk,
// and lets processes that share a memory budget take their snapshots one at a time.

const { binding: native } = require('./binding')
const { guardError } = require('./errors')
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

let uncoordinatedWarned = false

/**
 * Processes that share a memory budget (a cluster in one cgroup, all signalled at once) take
 * their snapshots one at a time, each checking the budget when its turn comes; a process that
 * waits longer than `timeoutMs` is refused (crates/platform/src/linux/turn.rs). Returns the turn to
 * release, or null where no lock can be had (the snapshot goes ahead uncoordinated).
 * @param {string} dir
 * @param {string} trigger
 * @param {number} timeoutMs
 * @returns {{ release(): void } | null}
 */
function waitForTurn(dir, trigger, timeoutMs) {
  const turn = native.waitForSnapshotTurn(timeoutMs)
  if (!('reason' in turn)) return turn
  if (turn.reason === 'unavailable') {
    if (!uncoordinatedWarned) process.emitWarning(`snapshots are not coordinated with other processes: ${turn.description}`, 'RheapdumpWarning')
    uncoordinatedWarned = true
    return null
  }
  const seconds = (turn.waitedMs / 1000).toFixed(1)
  const refusal = guardError('ERR_RHEAPDUMP_BUSY', dir, null, null,
    `another process sharing its memory budget (${turn.budget}) was taking a snapshot for all of ${seconds} s (queueTimeout)`)
  if (trigger === 'api') writeStderr(`rheapdump: heap snapshot refused: ${refusal.description}`)
  throw refusal
}

module.exports = { judge, checkBudget, diskNeeded, waitForTurn }
