// @ts-check
'use strict'

// The public functions that take snapshots and profiles, heapdump's writeSnapshot among them,
// and monitor(); index.js exports them.

const path = require('node:path')

const { binding: native } = require('./binding')
const { reportedSnapshot, snapshotFor } = require('./capture')
const { checkCompress, checkFork, storeAll } = require('./config')
const { argumentError, heapdumpError } = require('./errors')
const { checkOptions, currentDir, describeValue } = require('./options')
const { memoryUsage } = require('./memory')
const { reportedProfile, takeProfile } = require('./profile')
const schemas = require('./schemas')
const { armNearHeapLimit, configure } = require('./settings')
const { current } = require('./shared')
const { takeSnapshot } = require('./snapshot')
const { announce } = require('./writer')

const shared = current()

/**
 * heapdump's `writeSnapshot([filename], [callback])`: writes synchronously, calls `callback`
 * before returning with `(null, filename)` or an Error (`heapdump write error <CODE>`, with
 * `code` and `path`), and returns true on success.
 * @param {unknown} [filename]
 * @param {unknown} [callback]
 */
function writeSnapshot(filename, callback) {
  if (typeof filename === 'function') {
    callback = filename
    filename = undefined
  }
  const name = typeof filename === 'string' ? filename : undefined // heapdump ignores other values
  let result
  let error
  try {
    result = takeSnapshot({ filename: name, trigger: 'api' })
  } catch (err) {
    error = heapdumpError(err)
  }
  announce(error, result)
  if (typeof callback === 'function') {
    if (error) callback(error)
    else callback(null, name ?? heapdumpName(/** @type {{ path: string }} */ (result).path))
  }
  return !error
}

/**
 * heapdump names a default-named file as written, relative to the working directory.
 * @param {string} written
 */
function heapdumpName(written) {
  const relative = path.relative(currentDir(), written)
  return relative.startsWith('..') || path.isAbsolute(relative) ? written : relative
}

/** Writes a snapshot; resolves to `{ path, bytes, durationMs, trigger, rss }`. */
function snapshot(/** @type {unknown} */ options) {
  /** @param {{ fork?: unknown, dir?: string, filename?: string, force?: boolean, compress?: string, trigger: string }} request */
  const take = ({ fork, compress, ...request }) => snapshotFor(
    compress === undefined ? request : { ...request, compress: checkCompress(compress, 'snapshot') },
    fork === undefined ? undefined : checkFork(fork, 'snapshot'))
  return promised(options, schemas.SNAPSHOT, 'snapshot', take, 'snapshot')
}

/** Writes a sampling heap profile; resolves to `{ path, bytes, durationMs, samples, interval, trigger }`. */
function heapProfile(/** @type {unknown} */ options) {
  return promised(options, schemas.PROFILE, 'heapProfile', takeProfile, 'profile')
}

/**
 * Checks `options` now, runs `take` once the event loop turns, and announces the outcome.
 * @template {object} T
 * @param {unknown} options
 * @param {Record<string, unknown>} schema
 * @param {string} fn
 * @param {(request: any) => T | Promise<T>} take a fork snapshot resolves later (lib/fork.js)
 * @param {string} event
 * @returns {Promise<T>}
 */
function promised(options, schema, fn, take, event) {
  return new Promise((resolve, reject) => {
    const checked = checkOptions(options, schema, fn)
    if (checked.dir !== undefined && checked.filename !== undefined) {
      throw argumentError(`${fn}(options): give 'dir' or 'filename', not both (a filename says the directory too)`, 'ERR_INVALID_ARG_VALUE')
    }
    setImmediate(() => {
      try {
        const info = take({ ...checked, trigger: 'api' })
        if (info instanceof Promise) {
          info.then((written) => (announce(null, written, event), resolve(written)), (err) => (announce(err, null, event), reject(err)))
          return
        }
        announce(null, info, event)
        resolve(info)
      } catch (err) {
        announce(err, null, event)
        reject(err)
      }
    })
  })
}

/**
 * Writes a sampling heap profile now, synchronously; returns what heapProfile() resolves to.
 * @param {unknown} [filename]
 */
function writeHeapProfile(filename) {
  if (filename !== undefined && typeof filename !== 'string') {
    throw argumentError(`writeHeapProfile(filename): filename must be a string, got ${describeValue(filename)}`)
  }
  const info = takeProfile({ filename, trigger: 'api' })
  announce(null, info, 'profile')
  return info
}

/**
 * Watches GC activity and memory; returns an EventEmitter with 'gc', 'stats', 'leak' and
 * 'pressure' events and a stop() method. Optionally takes snapshots near the heap limit or
 * above a heap/RSS threshold (at most `max`, at least `minInterval` ms apart), and sampling heap
 * profiles when 'leak' fires (`profiles`, turning sampling on).
 * @param {unknown} [options]
 */
function monitor(options) {
  const { Monitor, DEFAULTS: MONITOR_DEFAULTS, SNAPSHOT_DEFAULTS, PROFILE_DEFAULTS } = require('./monitor')
  /** @type {Record<string, any>} */
  const checked = { ...MONITOR_DEFAULTS, ...checkOptions(options, schemas.MONITOR, 'monitor') }
  if (checked.snapshots) {
    checked.snapshots = { ...SNAPSHOT_DEFAULTS, ...checkOptions(checked.snapshots, schemas.AUTOMATIC, 'monitor(snapshots)') }
    if (checked.snapshots.nearHeapLimit !== undefined) {
      const snapshots = /** @type {number} */ (storeAll({ nearHeapLimit: checked.snapshots.nearHeapLimit }, 'monitor').nearHeapLimit)
      armNearHeapLimit(snapshots, 'monitor')
      shared.config.nearHeapLimit = snapshots
    }
  }
  if (checked.profiles) {
    const given = checked.profiles === true ? {} : checkOptions(checked.profiles, schemas.LEAK_PROFILE, 'monitor(profiles)')
    checked.profiles = { ...PROFILE_DEFAULTS, ...given }
    // Only what is allocated from now on is sampled: the earlier the better.
    if (shared.config.sampling === false) configure({ sampling: true })
  }
  return new Monitor(checked, {
    memoryUsage,
    automaticSnapshot: (/** @type {{ dir?: string, reason: string }} */ { dir, reason }) => reportedSnapshot({ trigger: 'threshold', dir, note: reason }),
    leakProfile: (/** @type {{ dir?: string, reason: string }} */ { dir, reason }) => reportedProfile({ trigger: 'leak', dir, note: reason }),
  })
}

/**
 * Signal deliveries seen and coalesced, whether the watcher runs, and whether a signal reaches
 * a stuck event loop (`watchdog`: through a V8 interrupt).
 */
function signalStatus() {
  const stats = native.signalStats()
  return {
    received: stats.received,
    coalesced: stats.coalesced,
    active: stats.active,
    watchdog: shared.controller ? shared.controller.interrupts : false,
  }
}

module.exports = { writeSnapshot, snapshot, heapProfile, writeHeapProfile, monitor, signalStatus }
