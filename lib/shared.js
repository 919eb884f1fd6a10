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

const { defaults, readStartup } = require('./config')

const SHARED_KEY = 'rheapdump.shared.v2'

/**
 * @typedef {import('../index').Config} Config The settings in force (getConfig(); rows in lib/config.js).
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
 * @param {import('./config').Startup} startup
 * @returns {Shared}
 */
function createShared(startup) {
  return {
    config: { ...startup.config },
    diagnosticDir: startup.diagnosticDir,
    emitter: new EventEmitter(),
    controller: null,
    sampling: { owner: null, interval: null, startedAt: null, borrowNoted: false },
  }
}

/**
 * Settings and fields added since v2: a copy from before them may have made the shared state.
 * Every setting has a default in the table (lib/config.js), so a new one needs nothing here.
 * @param {Shared} shared
 */
function upgrade(shared) {
  const config = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (shared.config))
  for (const [key, value] of Object.entries(defaults())) {
    if (config[key] === undefined) config[key] = value
  }
  shared.sampling ??= { owner: null, interval: null, startedAt: null, borrowNoted: false }
  return shared
}

/**
 * This thread's shared state, made by the first copy to ask (`startup` reads the settings).
 * @param {object} host where it lives (`process`)
 * @param {() => import('./config').Startup} startup
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
 * This thread's shared state, as this copy sees it (made from the environment and command line).
 * @returns {Shared}
 */
function current() {
  own ??= obtainShared(process, () => readStartup(process.env, process.execArgv))
  return own
}

module.exports = { SHARED_KEY, createShared, upgrade, obtainShared, current }
