// @ts-check
'use strict'

// rheapdump: heap snapshots on SIGUSR2 (even while the event loop is stuck), heapdump's
// writeSnapshot as a drop-in, a Promise API, sampling heap profiles, memoryUsage() and gc().
//
// Who does what: the native addon watches the signal on a thread of its own, reaches the main
// thread on its event loop or, when the loop is stuck, inside a V8 interrupt
// (crates/addon/src/signal.rs, crates/addon/src/handoff.rs), and handles files (crates/platform);
// lib/ holds the API and runs every snapshot on the JS thread that owns the heap:
//   lib/config.js    the settings table: every setting's environment variable, check and default
//   lib/shared.js    the state every copy of rheapdump on this thread shares
//   lib/binding.js   loads the addon, or the pure-JS fallback (lib/fallback.js)
//   lib/handoff.js   the main thread's receiver of snapshot requests; who owns the signal
//   lib/capture.js   a snapshot in-process (lib/snapshot.js) or by a fork child (lib/fork.js)
//   lib/guard.js     refuses a snapshot that would exhaust memory or disk
//   lib/writer.js    the one writer of every file: place, permission, commit, keep, stderr, events
//   lib/profile.js   sampling heap profiles (the sampler: lib/sampling.js)
//   lib/api.js       the public functions; lib/settings.js configure(); lib/memory.js; lib/monitor.js
//   lib/options.js   option checking, with the options of each function in lib/schemas.js
//   lib/analysis.js  the analyses: one request each, run in Rust on a worker thread (loaded on first call)
//   lib/errors.js    every error code rheapdump gives, and the errors; lib/report.js, stderr and events
//   lib/facts.js     constants generated from the Rust crates (names, estimates, defaults)
// `require` loads only the addon, the settings and the hand-off (binding, config, shared,
// handoff); the rest loads on first use: the snapshot's path (capture, guard, snapshot,
// writer) on the first snapshot, inside the V8 interrupt when the loop is stuck.
//
// ARCHITECTURE.md has the whole path from signal to file, the invariants and where each is tested.

const { takeOwnership } = require('./lib/handoff')
const { current } = require('./lib/shared')

const shared = current()

// Start-up: the first copy on the main thread owns the signal; the first copy to see sampling
// asked for (RHEAPDUMP_SAMPLING) starts it; with RHEAPDUMP_UPLOAD set, the uploader's module is
// loaded now, while the loop is free (lib/writer.js prepareUpload).
takeOwnership()
if (shared.config.upload !== null) require('./lib/writer').prepareUpload()
if (shared.config.sampling !== false && shared.sampling.owner === null) {
  try {
    require('./lib/sampling').sampler().set(shared.config.sampling)
  } catch (err) {
    require('./lib/report').writeStderr(`rheapdump: sampling heap profiles are off: ${err.message}`)
    shared.config.sampling = false
  }
}

/**
 * Functions of a module that is loaded on the first call of one of them, so that a process
 * that never calls them does not pay for it (lib/api.js with the snapshot's path, its option
 * schemas and the profiler; lib/settings.js; lib/memory.js; lib/analysis.js). Plain functions rather than getters: ESM's named exports
 * (index.mjs) and spies read them without loading anything. Each keeps its name and length.
 * @template T
 * @param {() => T} load
 * @param {Record<string, number>} lengths
 * @returns {T}
 */
function onFirstCall(load, lengths) {
  /** @type {Record<string, Function>} */
  const functions = {}
  for (const [name, length] of Object.entries(lengths)) {
    const call = { [name](/** @type {unknown[]} */ ...args) { return /** @type {any} */ (load())[name](...args) } }[name]
    functions[name] = Object.defineProperty(call, 'length', { value: length })
  }
  return /** @type {T} */ (functions)
}

/** @type {typeof import('./lib/api') | undefined} */
let apiModule
const api = onFirstCall(() => (apiModule ??= require('./lib/api')), { writeSnapshot: 2, snapshot: 1, heapProfile: 1, writeHeapProfile: 1, monitor: 1, signalStatus: 0 })
/** @type {typeof import('./lib/settings') | undefined} */
let settingsModule
const settings = onFirstCall(() => (settingsModule ??= require('./lib/settings')), { configure: 1, getConfig: 0 })
/** @type {typeof import('./lib/memory') | undefined} */
let memoryModule
const memory = onFirstCall(() => (memoryModule ??= require('./lib/memory')), { memoryUsage: 0, gc: 0 })
/** @type {typeof import('./lib/analysis') | undefined} */
let analysisModule
const analysis = onFirstCall(() => (analysisModule ??= require('./lib/analysis')), { run: 1, summary: 1, instances: 2, diff: 2, leaks: 3, report: 3, path: 2, validate: 1, redact: 2, check: 2, profileTop: 1, profileDiff: 2 })

module.exports = {
  writeSnapshot: api.writeSnapshot,
  snapshot: api.snapshot,
  heapProfile: api.heapProfile,
  writeHeapProfile: api.writeHeapProfile,
  memoryUsage: memory.memoryUsage,
  gc: memory.gc,
  monitor: api.monitor,
  configure: settings.configure,
  getConfig: settings.getConfig,
  signalStatus: api.signalStatus,
  analysis: Object.freeze({ ...analysis }),
  /** @param {string} event @param {(...args: any[]) => void} listener */
  on: (event, listener) => (shared.emitter.on(event, listener), module.exports),
  /** @param {string} event @param {(...args: any[]) => void} listener */
  off: (event, listener) => (shared.emitter.off(event, listener), module.exports),
  /** @param {string} event @param {(...args: any[]) => void} listener */
  once: (event, listener) => (shared.emitter.once(event, listener), module.exports),
}
