'use strict'

// rheapdump: heap snapshots on SIGUSR2 (even while the event loop is stuck), heapdump's
// writeSnapshot as a drop-in, a Promise API, sampling heap profiles (lib/sampling.js),
// memoryUsage() and gc().
//
// Who does what: the native addon watches the signal on a thread of its own, reaches the main
// thread on its event loop or, when the loop is stuck, inside a V8 interrupt (src/signal.rs,
// src/handoff.rs), and handles files (crates/core); this file holds the API and runs every
// snapshot on the JS thread that owns the heap.

const EventEmitter = require('node:events')
const fs = require('node:fs')
const path = require('node:path')

const { binding: native } = require('./lib/binding')

// Loaded on first use: node:v8 alone costs ~2 MB of RSS in a process that never snapshots.
let v8Module = null
const v8 = () => (v8Module ??= require('node:v8'))
const { fileError, heapdumpError, writerError, argumentError } = require('./lib/errors')
const { checkOptions, checkFilename, currentDir, describeValue, number, bytes, count, milliseconds, U32_MAX, TIMER_MAX } = require('./lib/options')
const { createSampler, profileDocument } = require('./lib/sampling')
const { createForkSnapshots, forkMode } = require('./lib/fork')

// State shared by every copy of rheapdump loaded on this thread (two versions in node_modules):
// one signal owner, one set of listeners, so one signal still makes one snapshot.
// The key carries the shape's version: a change to the shape of this object (a field removed,
// renamed or given another meaning) takes a new version, so that copies of different shapes
// never read each other's state; adding a field that older copies ignore does not.
const SHARED_KEY = 'rheapdump.shared.v2'
const shared = (process[Symbol.for(SHARED_KEY)] ??= createShared())
// Fields added since v2 (a copy from before them may have made the shared state).
shared.config.sampling ??= false
shared.config.signalAction ??= 'both'
shared.sampling ??= { owner: null, interval: null, startedAt: null, borrowNoted: false }
shared.config.fork ??= false

function createShared() {
  const startup = native.startupConfig(process.execArgv)
  for (const warning of startup.warnings) process.emitWarning(warning, 'RheapdumpWarning')
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
  }
}

// ---------------------------------------------------------------------------------------------
// Taking a snapshot: the one path used by the API and by signals.

function takeSnapshot({ dir, filename, trigger, force = false, fork }) {
  const mode = forkMode(fork)
  if (mode) return forkSnapshots.take({ dir, filename, trigger, force, mode })
  const started = process.hrtime.bigint()
  if (filename !== undefined) checkFilename(filename)
  const targetDir = filename === undefined ? resolveDir(dir) : path.dirname(path.resolve(currentDir(), filename))
  const guarded = shared.config.guard && !force
  const turn = guarded ? waitForTurn(targetDir, trigger) : null
  try {
    return snapshotInTurn({ filename, trigger, started, targetDir, guarded })
  } finally {
    turn?.release() // never held past the snapshot: the next process is waiting
  }
}

function snapshotInTurn({ filename, trigger, started, targetDir, guarded }) {
  // Measured after the wait: the process before us may have used, and returned, the memory.
  const before = native.processMemory()
  if (guarded) checkBudget(targetDir, before.rss, trigger)
  const byName = checkWritePermission(filename === undefined ? targetDir : path.resolve(currentDir(), filename))
  const file = native.createSnapshotFile(filename === undefined ? targetDir : null, filename ?? null, byName)
  if ('code' in file) throw fileError(file)
  try {
    v8().writeHeapSnapshot(file.writerPath)
  } catch (thrown) {
    file.abandon()
    throw writerError(thrown, file.displayPath)
  }
  const written = file.commit()
  if ('code' in written) throw fileError(written)
  native.releaseFreeMemory()
  if (filename === undefined && shared.config.keep !== null) prune(targetDir, written.path)
  const after = native.processMemory()
  return {
    path: written.path,
    bytes: written.bytes,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    trigger,
    rss: {
      before: before.rss,
      // VmHWM tells the peak of this snapshot when the snapshot raised it; otherwise the
      // snapshot stayed below an earlier peak, and the highest RSS seen is the best known.
      peak: after.peakRss > before.peakRss ? after.peakRss : Math.max(before.rss, after.rss),
      after: after.rss,
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Sampling heap profiles: the same file rules as snapshots, a fraction of the cost.

let samplerOfThread = null
const sampler = () => (samplerOfThread ??= createSampler(shared.sampling, { quiet: () => shared.config.quiet }))

function takeProfile({ dir, filename, trigger }) {
  const started = process.hrtime.bigint()
  let profile
  try {
    profile = sampler().read()
  } catch (err) {
    if (err.code === 'ERR_RHEAPDUMP_SAMPLING_STOPPED') shared.config.sampling = false
    throw err
  }
  const usage = process.memoryUsage()
  const document = profileDocument(profile, {
    interval: shared.sampling.interval,
    startedAt: shared.sampling.startedAt,
    memory: usage,
    trigger,
  })
  if (filename !== undefined) checkFilename(filename)
  const targetDir = filename === undefined ? resolveDir(dir) : null
  const finalPath = filename === undefined ? null : path.resolve(currentDir(), filename)
  const byName = checkWritePermission(finalPath ?? targetDir)
  const file = native.createSnapshotFile(targetDir, finalPath, byName, true)
  if ('code' in file) throw fileError(file, 'heap profile')
  try {
    fs.writeFileSync(file.writerPath, JSON.stringify(document))
  } catch (thrown) {
    file.abandon()
    throw writerError(thrown, file.displayPath, 'heap profile')
  }
  const written = file.commit()
  if ('code' in written) throw fileError(written, 'heap profile')
  return {
    path: written.path,
    bytes: written.bytes,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    samples: profile.samples.length,
    interval: shared.sampling.interval,
    trigger,
  }
}

/** A profile nobody awaits (signal, near the heap limit, leak): its outcome goes to stderr and the events. */
function reportedProfile({ trigger, via, dir, note, deferrable }) {
  try {
    const info = takeProfile({ trigger, dir })
    if (via) info.via = via
    if (note) info.reason = note
    if (!shared.config.quiet) {
      writeStderr(`rheapdump: wrote ${info.path} (${formatBytes(info.bytes)}, ${info.samples} samples) in ${(info.durationMs / 1000).toFixed(2)} s`)
    }
    announce(null, info, 'profile')
  } catch (err) {
    if (deferrable && isStackOverflow(err)) throw err
    writeStderr(`rheapdump: heap profile failed: ${err.code} ${err.path ?? ''} (${err.description ?? err.message})`)
    announce(err, null, 'profile')
  }
}

const PROFILE_OPTIONS = { dir: 'string', filename: 'string' }

/** Writes a sampling heap profile; resolves to `{ path, bytes, durationMs, samples, interval, trigger }`. */
function heapProfile(options) {
  return promised(options, PROFILE_OPTIONS, 'heapProfile', takeProfile, 'profile')
}

/** Writes a sampling heap profile now, synchronously; returns what heapProfile() resolves to. */
function writeHeapProfile(filename) {
  if (filename !== undefined && typeof filename !== 'string') {
    throw argumentError(`writeHeapProfile(filename): filename must be a string, got ${describeValue(filename)}`)
  }
  const info = takeProfile({ filename, trigger: 'api' })
  announce(null, info, 'profile')
  return info
}

const DEFAULT_SAMPLING_INTERVAL = 512 * 1024

function samplingInterval(value) {
  if (value === false) return false
  if (value === true) return DEFAULT_SAMPLING_INTERVAL
  if (!Number.isInteger(value)) {
    throw argumentError(`configure: 'sampling' must be a boolean or a whole number of bytes per sample, got ${value}`, 'ERR_OUT_OF_RANGE')
  }
  return value
}

const NODE_MAJOR = Number(process.versions.node.split('.')[0])

/**
 * The guard: refuses a snapshot that would likely get the process OOM-killed or fill the disk.
 * The estimate is the worst case measured for this Node major (crates/core/src/estimate.rs).
 */
function checkBudget(dir, rss, trigger, forkHeap) {
  const budget = native.snapshotBudget(NODE_MAJOR, v8().getHeapStatistics().used_heap_size, dir)
  // A fork snapshot's child and the parent's copy-on-write pages (crates/core/src/fork.rs).
  if (forkHeap) budget.extraMemory = native.forkExtraMemory(NODE_MAJOR, forkHeap.used_heap_size, forkHeap.total_heap_size, rss)
  let available = budget.memoryAvailable
  let source = budget.memorySource
  if (shared.config.memoryLimit !== null && (available === null || shared.config.memoryLimit - rss < available)) {
    available = Math.max(0, shared.config.memoryLimit - rss)
    source = `memoryLimit ${formatBytes(shared.config.memoryLimit)}, RSS ${formatBytes(rss)}`
  }
  let refusal = null
  if (available !== null && budget.extraMemory > available) {
    refusal = guardError('ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', dir, budget.extraMemory, available,
      `it would need ~${formatBytes(budget.extraMemory)} more memory and ${formatBytes(available)} is available (${source})`)
  } else if (budget.diskFree !== null && budget.fileSize > budget.diskFree) {
    refusal = guardError('ERR_RHEAPDUMP_INSUFFICIENT_DISK', dir, budget.fileSize, budget.diskFree,
      `it would write ~${formatBytes(budget.fileSize)} and ${dir} has ${formatBytes(budget.diskFree)} free`)
  }
  if (!refusal) return
  // Snapshots nobody awaits report failures on their own line (reportedSnapshot); API calls here.
  if (trigger === 'api') writeStderr(`rheapdump: heap snapshot refused: ${refusal.description}`)
  throw refusal
}

/**
 * Under Node's permission model (--permission), the addon writes only where Node would let this
 * process write, and hands Node's writer a real path there (a temporary file, renamed after):
 * Node checks the path the writer opens, and /proc/self/fd/N is not in --allow-fs-write=<dir>.
 * Returns whether the writer needs that real path.
 */
function checkWritePermission(target) {
  const permission = process.permission
  if (typeof permission?.has !== 'function') return false
  if (!permission.has('fs.write', target)) {
    throw fileError({
      code: 'ERR_ACCESS_DENIED',
      syscall: 'open',
      path: target,
      description: "Node's permission model does not allow writing here (see --allow-fs-write)",
    })
  }
  return true
}

let uncoordinatedWarned = false

/**
 * Processes that share a memory budget (a cluster in one cgroup, all signalled at once) take
 * their snapshots one at a time, each checking the budget when its turn comes; a process that
 * waits longer than `queueTimeout` ms is refused (crates/core/src/turn.rs).
 */
function waitForTurn(dir, trigger) {
  const turn = native.waitForSnapshotTurn(shared.config.queueTimeout)
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

function guardError(code, dir, needed, available, description) {
  const err = new Error(`rheapdump: heap snapshot refused: ${description}; pass { force: true } to take it anyway`)
  Object.assign(err, { code, path: dir, needed, available, description })
  return err
}

/** Keeps at most `keep` of rheapdump's default-named snapshots in `dir`; never others, never `current`. */
function prune(dir, current) {
  try {
    for (const name of native.pruneSnapshots(dir, shared.config.keep, path.basename(current))) {
      writeStderr(`rheapdump: removed ${path.join(dir, name)} (keep: ${shared.config.keep})`)
    }
  } catch (err) {
    writeStderr(err.message)
  }
}

function resolveDir(dir) {
  const chosen = dir ?? shared.config.dir ?? shared.diagnosticDir
  if (chosen != null) return path.resolve(currentDir(), chosen)
  return currentDir()
}

// ---------------------------------------------------------------------------------------------
// heapdump-compatible API

/**
 * heapdump's `writeSnapshot([filename], [callback])`: writes synchronously, calls `callback`
 * before returning with `(null, filename)` or an Error (`heapdump write error <CODE>`, with
 * `code` and `path`), and returns true on success.
 */
function writeSnapshot(filename, callback) {
  if (typeof filename === 'function') {
    callback = filename
    filename = undefined
  }
  if (typeof filename !== 'string') filename = undefined // heapdump ignores other values
  let result
  let error
  try {
    result = takeSnapshot({ filename, trigger: 'api' })
  } catch (err) {
    error = heapdumpError(err)
  }
  announce(error, result)
  if (typeof callback === 'function') {
    if (error) callback(error)
    else callback(null, filename ?? heapdumpName(result.path))
  }
  return !error
}

// heapdump names a default-named file as written, relative to the working directory.
function heapdumpName(written) {
  const relative = path.relative(currentDir(), written)
  return relative.startsWith('..') || path.isAbsolute(relative) ? written : relative
}

// ---------------------------------------------------------------------------------------------
// Promise API

const SNAPSHOT_OPTIONS = { dir: 'string', filename: 'string', force: 'boolean', fork: 'boolean|object' }

/** Writes a snapshot; resolves to `{ path, bytes, durationMs, trigger, rss }` (fork: lib/fork.js). */
function snapshot(options) {
  const fork = options?.fork ?? shared.config.fork
  return promised(options, SNAPSHOT_OPTIONS, 'snapshot', (checked) => takeSnapshot({ ...checked, fork: checkFork(fork, 'snapshot') }), 'snapshot')
}

/** Checks `options` now, runs `take` once the event loop turns, and announces the outcome. */
function promised(options, schema, fn, take, event) {
  return new Promise((resolve, reject) => {
    const checked = checkOptions(options, schema, fn)
    if (checked.dir !== undefined && checked.filename !== undefined) {
      throw argumentError(`${fn}(options): give 'dir' or 'filename', not both (a filename says the directory too)`, 'ERR_INVALID_ARG_VALUE')
    }
    setImmediate(() => {
      try {
        const info = take({ ...checked, trigger: 'api' })
        if (typeof info.then === 'function') {
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

// ---------------------------------------------------------------------------------------------
// Signals

// Why the native side asked for a snapshot (crates/core/src/request.rs, Reason).
const REQUEST_TRIGGERS = { 1: 'signal', 2: 'near-heap-limit' }

/**
 * The main thread's receiver of snapshot requests (src/handoff.rs): called from the event loop
 * (`via` 'loop') and from inside a V8 interrupt in the middle of running JavaScript
 * ('interrupt'); the first to claim the request writes it.
 */
function receiveRequest(via = 'loop') {
  const reason = native.claimRequest()
  if (!reason) return
  // Inside an interrupt, an exception that escapes from here (the interrupted code was near its
  // stack limit) hands the request back: the native side lets the event loop serve it.
  let handedBack = via === 'interrupt'
  if (native.fallback && !shared.config.quiet && !shared.fallbackNoted) {
    shared.fallbackNoted = true
    writeStderr(`rheapdump: without its native addon (${native.reason}), SIGUSR2 snapshots wait for the event loop`)
  }
  try {
    const trigger = REQUEST_TRIGGERS[reason] || 'signal'
    const deferrable = via === 'interrupt'
    // The profile first: it is cheap, names the allocating functions, and is still written when
    // the guard refuses the snapshot. Near the heap limit both are wanted whatever the action.
    const action = trigger === 'near-heap-limit' ? 'both' : shared.config.signalAction
    const sampling = shared.config.sampling !== false
    if (sampling && action !== 'snapshot') reportedProfile({ trigger, via, deferrable })
    if (!sampling && action === 'profile') {
      writeStderr('rheapdump: SIGUSR2 asks for a heap profile (signalAction: profile), but sampling is off: configure({ sampling: true }) or RHEAPDUMP_SAMPLING=1')
    }
    if (action !== 'profile') {
      const note = trigger === 'near-heap-limit' ? 'near the heap limit' : null
      reportedSnapshot({ trigger, via, note, deferrable })
    }
    handedBack = false
  } finally {
    if (!handedBack) native.requestDone()
  }
}

function isStackOverflow(err) {
  return err instanceof RangeError && /call stack/i.test(err.message)
}

/**
 * A snapshot nobody awaits (signal, automatic): its outcome goes to stderr and to the events.
 * A `deferrable` one lets a stack overflow escape, for the caller to retry from the loop.
 */
function reportedSnapshot({ trigger, via, dir, note, deferrable = false }) {
  const mode = forkMode(shared.config.fork)
  if (mode) return forkSnapshots.reported({ trigger, via, dir, note, mode })
  try {
    const info = takeSnapshot({ dir, trigger })
    if (via) info.via = via
    if (note) info.reason = note
    if (!shared.config.quiet) {
      const why = note ? `, ${note}` : ''
      writeStderr(`rheapdump: wrote ${info.path} (${formatBytes(info.bytes)}) in ${(info.durationMs / 1000).toFixed(2)} s${why}`)
    }
    announce(null, info)
  } catch (err) {
    if (deferrable && isStackOverflow(err)) throw err
    writeStderr(`rheapdump: heap snapshot failed: ${err.code} ${err.path} (${err.description})`)
    announce(err)
  }
}

// Listeners run when the loop is free: this may be inside a V8 interrupt in the middle of the
// app's code, which is no place to run arbitrary callbacks.
function announce(err, info, event = 'snapshot') {
  setImmediate(() => {
    if (err) shared.emitter.emit(`${event}Error`, err)
    else shared.emitter.emit(event, info)
  })
}

function writeStderr(line) {
  try {
    fs.writeSync(2, `${line}\n`)
  } catch {
    // stderr closed: nothing else to tell
  }
}

function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}

function createController() {
  let receiving = false
  let interruptible = false
  let nearHeapLimit = false

  return {
    apply(config) {
      const wanted = config.signal || nearHeapLimit
      if (wanted && !receiving) {
        interruptible = native.setMainReceiver(receiveRequest)
        receiving = true
      }
      native.setInterrupts(config.watchdog)
      if (config.signal) native.startSignalWatcher()
      else native.stopSignalWatcher()
    },
    armNearHeapLimit(count) {
      native.armNearHeapLimit(count)
      nearHeapLimit = true
      this.apply(shared.config)
    },
    /** Whether a request reaches a stuck main thread (the `watchdog` setting, where V8 allows). */
    get interrupts() {
      return receiving && interruptible && shared.config.watchdog
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration

const CONFIG_OPTIONS = {
  signal: 'boolean',
  watchdog: 'boolean',
  quiet: 'boolean',
  guard: 'boolean',
  memoryLimit: bytes({ nullable: true }),
  keep: count({ max: U32_MAX, nullable: true }),
  nearHeapLimit: number({ min: 0, max: U32_MAX, orBoolean: true }),
  dir: 'string?',
  queueTimeout: milliseconds({ max: TIMER_MAX }),
  sampling: number({ min: 1, max: U32_MAX, orBoolean: true }),
  signalAction: 'string',
  fork: 'boolean|object',
}

const SIGNAL_ACTIONS = ['snapshot', 'profile', 'both']

/** Changes settings at run time; returns the settings now in force. */
function configure(options) {
  const checked = checkOptions(options, CONFIG_OPTIONS, 'configure')
  if ('nearHeapLimit' in checked) {
    checked.nearHeapLimit = nearHeapLimitCount(checked.nearHeapLimit)
    armNearHeapLimit(checked.nearHeapLimit, 'configure')
  }
  if ('signalAction' in checked && !SIGNAL_ACTIONS.includes(checked.signalAction)) {
    throw argumentError(`configure(options): 'signalAction' must be one of ${SIGNAL_ACTIONS.join(', ')}, got '${checked.signalAction}'`, 'ERR_INVALID_ARG_VALUE')
  }
  if ('fork' in checked) checked.fork = checkFork(checked.fork, 'configure')
  if ('sampling' in checked) {
    checked.sampling = samplingInterval(checked.sampling)
    sampler().set(checked.sampling === false ? null : checked.sampling)
  }
  Object.assign(shared.config, checked)
  if (shared.controller && ('signal' in checked || 'watchdog' in checked)) {
    shared.controller.apply(shared.config)
  }
  return getConfig()
}

function getConfig() {
  return { ...shared.config }
}

// ---------------------------------------------------------------------------------------------
// Monitoring

const MONITOR_OPTIONS = {
  interval: milliseconds({ min: 100, max: TIMER_MAX }),
  window: milliseconds({ min: 100 }),
  pressure: number({ above: 0, max: 1, integer: false }),
  leakGrowths: count(),
  leakMinGrowth: number({ min: 0 }),
  snapshots: 'object',
  profiles: 'boolean|object',
}
const AUTOMATIC_OPTIONS = {
  nearHeapLimit: CONFIG_OPTIONS.nearHeapLimit,
  heapUsed: bytes(),
  rss: bytes(),
  max: count(),
  minInterval: milliseconds(),
  dir: 'string',
}
const LEAK_PROFILE_OPTIONS = { max: count(), minInterval: milliseconds(), dir: 'string' }

/**
 * Watches GC activity and memory; returns an EventEmitter with 'gc', 'stats', 'leak' and
 * 'pressure' events and a stop() method. Optionally takes snapshots near the heap limit or
 * above a heap/RSS threshold (at most `max`, at least `minInterval` ms apart), and sampling heap
 * profiles when 'leak' fires (`profiles`, turning sampling on).
 */
function monitor(options) {
  const { Monitor, DEFAULTS: MONITOR_DEFAULTS, SNAPSHOT_DEFAULTS, PROFILE_DEFAULTS } = require('./lib/monitor')
  const checked = { ...MONITOR_DEFAULTS, ...checkOptions(options, MONITOR_OPTIONS, 'monitor') }
  if (checked.snapshots) {
    checked.snapshots = { ...SNAPSHOT_DEFAULTS, ...checkOptions(checked.snapshots, AUTOMATIC_OPTIONS, 'monitor(snapshots)') }
    if (checked.snapshots.nearHeapLimit !== undefined) {
      const snapshots = nearHeapLimitCount(checked.snapshots.nearHeapLimit)
      armNearHeapLimit(snapshots, 'monitor')
      shared.config.nearHeapLimit = snapshots
    }
  }
  if (checked.profiles) {
    const given = checked.profiles === true ? {} : checkOptions(checked.profiles, LEAK_PROFILE_OPTIONS, 'monitor(profiles)')
    checked.profiles = { ...PROFILE_DEFAULTS, ...given }
    // Only what is allocated from now on is sampled: the earlier the better.
    if (shared.config.sampling === false) configure({ sampling: true })
  }
  return new Monitor(checked, {
    memoryUsage,
    automaticSnapshot: ({ dir, reason }) => reportedSnapshot({ trigger: 'threshold', dir, note: reason }),
    leakProfile: ({ dir, reason }) => reportedProfile({ trigger: 'leak', dir, note: reason }),
  })
}

// Each near-heap-limit snapshot raises the heap limit once; like Node's own, one by default.
function nearHeapLimitCount(value) {
  return value === true ? 1 : value === false ? 0 : value
}

function armNearHeapLimit(count, fn) {
  if (!shared.controller) throw argumentError(`${fn}(): near-heap-limit snapshots are armed from the main thread`, 'ERR_INVALID_STATE')
  shared.controller.armNearHeapLimit(count)
}

// ---------------------------------------------------------------------------------------------
// Memory

/** Process and V8 heap memory, in bytes. */
function memoryUsage() {
  const proc = native.processMemory()
  const usage = process.memoryUsage()
  const heap = v8().getHeapStatistics()
  const spaces = {}
  for (const space of v8().getHeapSpaceStatistics()) {
    spaces[space.space_name] = {
      size: space.space_size,
      used: space.space_used_size,
      available: space.space_available_size,
      physical: space.physical_space_size,
    }
  }
  return {
    rss: proc.rss,
    ...(proc.vsz === undefined ? {} : { vsz: proc.vsz }),
    peakRss: proc.peakRss ?? null,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    heapLimit: heap.heap_size_limit,
    mallocedMemory: heap.malloced_memory,
    spaces,
  }
}

let fullGc = null

/** `fork`: a boolean or `{ fallback }` (experimental; lib/fork.js). */
function checkFork(value, fn) {
  if (value === null || typeof value !== 'object') return value === true
  return { fallback: checkOptions(value, { fallback: 'boolean' }, `${fn}(fork)`).fallback === true }
}

const forkSnapshots = createForkSnapshots({
  native, v8, shared, resolveDir, currentDir, checkFilename, checkWritePermission, waitForTurn, checkBudget, prune,
  writeStderr, formatBytes, announce, fileError, takeSnapshot: (options) => takeSnapshot({ ...options, fork: false }),
})

/**
 * Runs a full (mark-compact) collection without --expose-gc and without leaving a global `gc`.
 * Returns `{ before, after, freed, durationMs }` of V8's used heap.
 */
function gc() {
  fullGc ??= obtainGc()
  const before = process.memoryUsage().heapUsed
  const started = process.hrtime.bigint()
  fullGc() // no argument: on Node 20, gc({ type: 'major' }) silently runs a minor GC
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6
  const after = process.memoryUsage().heapUsed
  return { before, after, freed: Math.max(0, before - after), durationMs }
}

function obtainGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc
  // --expose-gc only installs `gc` in contexts created while it is set: create one, take its
  // gc, and turn the flag off again so that later Workers and contexts do not get a global gc.
  v8().setFlagsFromString('--expose-gc')
  try {
    return require('node:vm').runInNewContext('gc')
  } finally {
    v8().setFlagsFromString('--no-expose-gc')
  }
}

// ---------------------------------------------------------------------------------------------
// Start-up: the first copy on the main thread owns the signal.

if (!shared.controller && native.isMainThread()) {
  shared.controller = createController()
  if (shared.config.signal) {
    try {
      shared.controller.apply(shared.config)
    } catch (err) {
      writeStderr(`rheapdump: SIGUSR2 snapshots are off: ${err.message}`)
      shared.config.signal = false
    }
  }
  if (shared.config.nearHeapLimit) {
    try {
      shared.controller.armNearHeapLimit(shared.config.nearHeapLimit)
    } catch (err) {
      writeStderr(`rheapdump: near-heap-limit snapshots are off: ${err.message}`)
      shared.config.nearHeapLimit = 0
    }
  }
}

if (shared.config.sampling !== false && shared.sampling.owner === null) {
  try {
    sampler().set(shared.config.sampling)
  } catch (err) {
    writeStderr(`rheapdump: sampling heap profiles are off: ${err.message}`)
    shared.config.sampling = false
  }
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

let analysis = null

module.exports = {
  writeSnapshot,
  snapshot,
  heapProfile,
  writeHeapProfile,
  memoryUsage,
  gc,
  monitor,
  configure,
  getConfig,
  signalStatus,
  // Loaded on first use: an app that only takes snapshots does not pay for it at require time.
  get analysis() {
    if (!analysis) {
      const { summary, diff, leaks, path, validate } = require('./lib/analysis')
      analysis = Object.freeze({ summary, diff, leaks, path, validate })
    }
    return analysis
  },
  on: (event, listener) => (shared.emitter.on(event, listener), module.exports),
  off: (event, listener) => (shared.emitter.off(event, listener), module.exports),
  once: (event, listener) => (shared.emitter.once(event, listener), module.exports),
}
