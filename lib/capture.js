// @ts-check
'use strict'

// How a snapshot is taken: in-process (lib/snapshot.js) or, with `fork` set, by a fork()ed
// child (lib/fork.js, loaded only then), for the API and for the snapshots nobody awaits
// (signal, near the heap limit, monitor), whose outcome lib/writer.js tells.

const { current } = require('./shared')
const { takeSnapshot } = require('./snapshot')
const writer = require('./writer')

const shared = current()

/**
 * The `fork` setting (false, true or { fallback }) as a mode, or false for in-process.
 * @param {boolean | { fallback: boolean }} fork
 * @returns {false | { fallback: boolean }}
 */
function forkMode(fork) {
  if (!fork) return false
  return { fallback: typeof fork === 'object' && fork.fallback === true }
}

/**
 * A snapshot for the API: the info, or a Promise of it for a fork snapshot.
 * @param {{ dir?: string, filename?: string, force?: boolean, trigger: string }} request
 * @param {boolean | { fallback: boolean }} [fork]
 */
function snapshotFor(request, fork = shared.config.fork) {
  const mode = forkMode(fork)
  return mode ? require('./fork').takeForkSnapshot({ ...request, mode }) : takeSnapshot(request)
}

/**
 * A snapshot nobody awaits. A `deferrable` one (served inside a V8 interrupt) lets a stack
 * overflow escape, for the caller to retry from the loop.
 * @param {{ trigger: string, via?: string, dir?: string, note?: string | null, deferrable?: boolean }} request
 */
function reportedSnapshot({ trigger, via, dir, note, deferrable = false }) {
  const mode = forkMode(shared.config.fork)
  if (mode) return require('./fork').reportedFork({ trigger, via, dir, note, mode })
  writer.reported('snapshot', { via, note, deferrable }, () => takeSnapshot({ dir, trigger }))
}

module.exports = { snapshotFor, reportedSnapshot }
