// @ts-check
'use strict'

// How a snapshot is taken: in-process (lib/snapshot.js) or, with `fork` set, by a fork()ed
// child (lib/fork.js, loaded only then) — and in-process after all when the fork fails and
// `{ fallback: true }` asks for it — for the API and for the snapshots nobody awaits (signal,
// near the heap limit, monitor), whose outcome lib/writer.js tells. With `fork: 'auto'`, by a
// child only when the in-process snapshot would pause the service longer than `forkAbove`.

const facts = require('./facts')
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
 * A snapshot for the API: the info, or a Promise of it for a fork snapshot.
 * @param {{ dir?: string, filename?: string, force?: boolean, compress?: string, trigger: string }} request
 * @param {boolean | 'auto' | { fallback: boolean }} [fork]
 */
function snapshotFor(request, fork = shared.config.fork) {
  const mode = forkMode(fork)
  return mode ? forkSnapshot(request, mode) : takeSnapshot(request)
}

/**
 * A fork snapshot, and — only if asked, `{ fallback: true }` — an in-process one when the fork
 * itself fails (not the file or the guard), said in the info (`via`, `forkError`).
 * @param {{ dir?: string, filename?: string, force?: boolean, compress?: string, trigger: string, blocking?: boolean }} request
 * @param {{ fallback: boolean, estimatedPauseMs?: number }} mode
 */
function forkSnapshot(request, mode) {
  const estimate = mode.estimatedPauseMs === undefined ? {} : { estimatedPauseMs: mode.estimatedPauseMs }
  const taken = require('./fork').takeForkSnapshot(request).then((info) => Object.assign(info, estimate))
  if (!mode.fallback) return taken
  return taken.catch((forkError) => {
    if (!/^ERR_RHEAPDUMP_FORK_/.test(forkError?.code ?? '')) throw forkError
    return new Promise((resolve) => setImmediate(resolve)).then(() => {
      const info = takeSnapshot(request)
      return Object.assign(info, { via: 'in-process', forkError: { code: forkError.code, description: forkError.description } }, estimate)
    })
  })
}

/**
 * A snapshot nobody awaits. A `deferrable` one (served inside a V8 interrupt) lets a stack
 * overflow escape, for the caller to retry from the loop.
 * @param {{ trigger: string, via?: string, dir?: string, note?: string | null, deferrable?: boolean }} request
 */
function reportedSnapshot({ trigger, via, dir, note, deferrable = false }) {
  const mode = forkMode(shared.config.fork)
  if (!mode) {
    writer.reported('snapshot', { via, note, deferrable }, () => takeSnapshot({ dir, trigger }))
    return
  }
  const fork = require('./fork')
  if (fork.busy()) {
    fork.mergeRequest()
    return
  }
  // Served inside a V8 interrupt, the fork happens there and then, retries included.
  writer.reported('snapshot', { via, note }, () => forkSnapshot({ dir, trigger, blocking: via === 'interrupt' }, mode))
}

module.exports = { snapshotFor, reportedSnapshot }
