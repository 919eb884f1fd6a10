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
//   lib/analysis.js  the analyses, run by the addon on a worker thread (loaded on first use)
//   lib/errors.js    every error code rheapdump gives, and the errors; lib/report.js, stderr and events
//   lib/facts.js     constants generated from the Rust crates (names, estimates, defaults)
//
// ARCHITECTURE.md has the whole path from signal to file, the invariants and where each is tested.

const api = require('./lib/api')
const { takeOwnership } = require('./lib/handoff')
const { gc, memoryUsage } = require('./lib/memory')
const { writeStderr } = require('./lib/report')
const { configure, getConfig } = require('./lib/settings')
const { current } = require('./lib/shared')

const shared = current()

// Start-up: the first copy on the main thread owns the signal; the first copy to see sampling
// asked for (RHEAPDUMP_SAMPLING) starts it.
takeOwnership()
if (shared.config.sampling !== false && shared.sampling.owner === null) {
  try {
    require('./lib/sampling').sampler().set(shared.config.sampling)
  } catch (err) {
    writeStderr(`rheapdump: sampling heap profiles are off: ${err.message}`)
    shared.config.sampling = false
  }
}

/** @type {typeof import('./lib/analysis') | null} */
let analysis = null

module.exports = {
  writeSnapshot: api.writeSnapshot,
  snapshot: api.snapshot,
  heapProfile: api.heapProfile,
  writeHeapProfile: api.writeHeapProfile,
  memoryUsage,
  gc,
  monitor: api.monitor,
  configure,
  getConfig,
  signalStatus: api.signalStatus,
  // Loaded on first use: an app that only takes snapshots does not pay for it at require time.
  get analysis() {
    if (!analysis) {
      const { summary, diff, leaks, path, validate, redact } = require('./lib/analysis')
      analysis = Object.freeze({ summary, diff, leaks, path, validate, redact })
    }
    return analysis
  },
  /** @param {string} event @param {(...args: any[]) => void} listener */
  on: (event, listener) => (shared.emitter.on(event, listener), module.exports),
  /** @param {string} event @param {(...args: any[]) => void} listener */
  off: (event, listener) => (shared.emitter.off(event, listener), module.exports),
  /** @param {string} event @param {(...args: any[]) => void} listener */
  once: (event, listener) => (shared.emitter.once(event, listener), module.exports),
}
