// @ts-check
'use strict'

// State shared by every copy of rheapdump loaded on this thread (two versions in node_modules):
// one signal owner, one set of listeners, one sampler, so one signal still makes one snapshot.
//
// The rule for changing its shape: the key carries the shape's version. Removing or renaming a
// field, or giving one another meaning, takes a new version (rheapdump.shared.v3), so that
// copies of different shapes never read each other's state (each then keeps its own, as two
// unrelated libraries would). Adding a field that older copies ignore keeps the version: give
// it a default in `upgrade` below, because an older copy may have made the object without it.

const EventEmitter = require('node:events')

const SHARED_KEY = 'rheapdump.shared.v2'

/**
 * @typedef {object} Config The settings in force (getConfig()).
 * @property {boolean} signal
 * @property {boolean} watchdog
 * @property {boolean} quiet
 * @property {boolean} guard
 * @property {number | null} memoryLimit
 * @property {number | null} keep
 * @property {number} nearHeapLimit
 * @property {string | null} dir
 * @property {number} queueTimeout
 * @property {number | false} sampling
 * @property {string} signalAction
 * @property {boolean | { fallback: boolean }} fork fork snapshots (experimental, lib/fork.js)
 *
 * @typedef {object} SamplingState The sampler's state (lib/sampling.js).
 * @property {'rheapdump' | 'other' | null} owner
 * @property {number | null} interval
 * @property {Date | null} startedAt
 * @property {boolean} borrowNoted
 *
 * @typedef {object} Controller The signal owner's switches (lib/handoff.js).
 * @property {(config: Config) => void} apply
 * @property {(count: number) => void} armNearHeapLimit
 * @property {boolean} interrupts
 *
 * @typedef {object} Shared
 * @property {Config} config
 * @property {string | null} diagnosticDir
 * @property {EventEmitter} emitter
 * @property {Controller | null} controller
 * @property {SamplingState} sampling
 * @property {boolean} [fallbackNoted]
 */

/**
 * The state from the start-up settings (environment, NODE_OPTIONS, command line).
 * @param {import('./addon').StartupConfig} startup
 * @returns {Shared}
 */
function createShared(startup) {
  return {
    config: {
      signal: startup.signal,
      watchdog: startup.watchdog,
      quiet: startup.quiet,
      guard: startup.guard,
      memoryLimit: null,
      keep: null,
      nearHeapLimit: startup.nearHeapLimit,
      dir: startup.dir ?? null,
      queueTimeout: 5000,
      sampling: startup.sampling ?? false,
      signalAction: startup.signalAction,
      fork: startup.fork ? (startup.forkFallback ? { fallback: true } : true) : false,
    },
    diagnosticDir: startup.diagnosticDir ?? null,
    emitter: new EventEmitter(),
    controller: null,
    sampling: { owner: null, interval: null, startedAt: null, borrowNoted: false },
  }
}

/**
 * Fields added since v2: a copy from before them may have made the shared state.
 * @param {Shared} shared
 */
function upgrade(shared) {
  shared.config.sampling ??= false
  shared.config.signalAction ??= 'both'
  shared.config.fork ??= false
  shared.sampling ??= { owner: null, interval: null, startedAt: null, borrowNoted: false }
  return shared
}

/**
 * This thread's shared state, made by the first copy to ask (`startup` reads the settings).
 * @param {object} host where it lives (`process`)
 * @param {() => import('./addon').StartupConfig} startup
 * @returns {Shared}
 */
function obtainShared(host, startup) {
  const key = Symbol.for(SHARED_KEY)
  const slots = /** @type {{ [key: symbol]: Shared | undefined }} */ (host)
  if (!slots[key]) {
    const settings = startup()
    for (const warning of settings.warnings) process.emitWarning(warning, 'RheapdumpWarning')
    slots[key] = createShared(settings)
  }
  return upgrade(/** @type {Shared} */ (slots[key]))
}

/** @type {Shared | null} */
let own = null

/**
 * This thread's shared state, as this copy sees it (made from the addon's start-up settings).
 * @returns {Shared}
 */
function current() {
  if (!own) {
    const { binding: native } = require('./binding')
    own = obtainShared(process, () => native.startupConfig(process.execArgv))
  }
  return own
}

module.exports = { SHARED_KEY, createShared, upgrade, obtainShared, current }
