// @ts-check
'use strict'

// How a snapshot is taken: in-process (lib/snapshot.js) or, with `fork` set, by a fork()ed
// child (lib/fork.js, loaded only then) — and in-process after all when the fork fails and
// `{ fallback: true }` asks for it — for the API and for the snapshots nobody awaits (signal,
// near the heap limit, monitor), whose outcome lib/writer.js tells. A guarded snapshot reserves
// its memory first (lib/guard.js) and waits for it off the main thread. With `fork: 'auto'`, by a
// child only when the in-process snapshot would pause the service longer than `forkAbove`.

const path = require('node:path')

const { binding: native } = require('./binding')
const facts = require('./facts')
const { memoryNeeded, reportQueued, reservationError, reserveLater, tryReserve } = require('./guard')
const { v8 } = require('./memory')
const { current } = require('./shared')
const { takeSnapshot } = require('./snapshot')
const writer = require('./writer')

const shared = current()

/**
 * The `fork` setting (false, true, 'auto' or { fallback }) as a mode for this snapshot, or
 * false for in-process. 'auto' forks, with the fallback, when the estimated in-process pause
 * exceeds `forkAbove`, and says the estimate (`estimatedPauseMs`).
 * @param {boolean | 'auto' | { fallback: boolean }} fork
 * @returns {false | { fallback: boolean, estimatedPauseMs?: number }}
 */
function forkMode(fork) {
  if (!fork) return false
  if (fork !== 'auto') return { fallback: typeof fork === 'object' && fork.fallback === true }
  const heapMb = v8().getHeapStatistics().used_heap_size / 2 ** 20
  const estimatedPauseMs = Math.round(heapMb * facts.forkAuto.inProcessMsPerHeapMb)
  return estimatedPauseMs > shared.config.forkAbove ? { fallback: true, estimatedPauseMs } : false
}

/**
 * The memory a guarded snapshot reserves (lib/guard.js), for a fork snapshot or in-process.
 * @param {string} dir
 * @param {false | { fallback: boolean }} mode
 */
function needed(dir, mode) {
  // Without the addon a fork snapshot is refused after the reservation (lib/fork.js).
  const forking = mode && !('fallback' in native)
  return memoryNeeded(dir, native.processMemory().rss, forking ? v8().getHeapStatistics() : null)
}

/**
 * The directory a request writes into, for the estimate and the errors.
 * @param {{ dir?: string, filename?: string }} request
 */
function targetDir({ dir, filename }) {
  return filename === undefined ? writer.resolveDir(dir) : path.dirname(filename)
}

/**
 * A snapshot for the API: a Promise of the info. A guarded one first waits for its memory on a
 * timer (the event loop runs on meanwhile).
 * @param {{ dir?: string, filename?: string, force?: boolean, compress?: string, trigger: string }} request
 * @param {boolean | 'auto' | { fallback: boolean }} [fork]
 */
function snapshotFor(request, fork = shared.config.fork) {
  const mode = forkMode(fork)
  const take = (/** @type {{ release(): void } | null} */ reservation) => mode
    ? forkSnapshot({ ...request, reservation }, mode)
    : takeSnapshot({ ...request, reservation })
  if (!shared.config.guard || request.force) return Promise.resolve(null).then(take)
  const dir = targetDir(request)
  return reserveLater(dir, request.trigger, needed(dir, mode), shared.config.queueTimeout, true).then(take)
}

/**
 * A fork snapshot, and — only if asked, `{ fallback: true }` — an in-process one when the fork
 * itself fails (not the file or the guard), said in the info (`via`, `forkError`).
 * @param {{ dir?: string, filename?: string, force?: boolean, compress?: string, trigger: string, blocking?: boolean, reservation?: { release(): void } | null }} request
 * @param {{ fallback: boolean, estimatedPauseMs?: number }} mode
 */
function forkSnapshot(request, mode) {
  const estimate = mode.estimatedPauseMs === undefined ? {} : { estimatedPauseMs: mode.estimatedPauseMs }
  const taken = require('./fork').takeForkSnapshot(request).then((info) => Object.assign(info, estimate))
  if (!mode.fallback) return taken
  return taken.catch((forkError) => {
    if (!/^ERR_RHEAPDUMP_FORK_/.test(forkError?.code ?? '')) throw forkError
    // The fork's reservation is gone with its child: an in-process snapshot reserves its own.
    const { dir, filename, force, compress, trigger } = request
    return snapshotFor({ dir, filename, force, compress, trigger }, false).then((info) => Object.assign(info, { via: 'in-process', forkError: { code: forkError.code, description: forkError.description } }, estimate))
  })
}

/**
 * A snapshot nobody awaits. A `deferrable` one (served inside a V8 interrupt) lets a stack
 * overflow escape, for the caller to retry from the loop. A guarded one reserves its memory
 * first; where others' reservations leave too little, a signal's request (`queue`) waits on a
 * native thread and comes back when it may write (or has waited queueTimeout), with the
 * outcome (`queued`); other triggers wait on a timer. Returns true when the request waits: it
 * stays claimed until then. `refusalHint` ends the stderr line when the guard refuses it.
 * @param {{ trigger: string, via?: string, dir?: string, note?: string | null, deferrable?: boolean, queue?: boolean, queued?: import('./addon').MemoryReservation | import('./addon').ReservationRefusal | null, refusalHint?: string | null }} request
 */
function reportedSnapshot({ trigger, via, dir, note, deferrable = false, queue = false, queued = null, refusalHint = null }) {
  const mode = forkMode(shared.config.fork)
  if (mode) {
    const fork = require('./fork')
    if (fork.busy()) {
      if (queued && !('reason' in queued)) queued.release()
      fork.mergeRequest()
      return false
    }
  }
  // Served inside a V8 interrupt, the fork happens there and then, retries included.
  const options = mode ? { via, note, refusalHint } : { via, note, deferrable, refusalHint }
  const take = (/** @type {{ release(): void } | null} */ reservation) => mode
    ? forkSnapshot({ dir, trigger, blocking: via === 'interrupt', reservation }, mode)
    : takeSnapshot({ dir, trigger, reservation })
  const report = (/** @type {() => any} */ outcome) => writer.reported('snapshot', options, outcome)
  const target = targetDir({ dir })
  if (queued) {
    report(() => {
      if ('reason' in queued) throw reservationError(queued, target)
      return take(queued)
    })
    return false
  }
  if (!shared.config.guard) {
    report(() => take(null))
    return false
  }
  const timeout = shared.config.queueTimeout
  if (!queue) {
    report(() => reserveLater(target, trigger, needed(target, mode), timeout, false).then(take))
    return false
  }
  const first = tryReserve(needed(target, mode))
  if (!('reason' in first)) {
    report(() => take(first))
    return false
  }
  if (first.reason === 'unavailable') {
    report(() => { throw reservationError(first, target) })
    return false
  }
  try {
    native.queueRequest(first.needed, timeout)
  } catch (err) {
    report(() => { throw err })
    return false
  }
  reportQueued(first, timeout)
  return true
}

module.exports = { snapshotFor, reportedSnapshot }
