'use strict'

// rheapdump: heap snapshots on SIGUSR2 (even while the event loop is stuck), heapdump's
// writeSnapshot as a drop-in, a Promise API, memoryUsage() and gc().
//
// Who does what: the native addon watches the signal on a thread of its own and handles files
// (src/signal.rs, crates/core); this file holds the API and runs every snapshot on the JS thread
// that owns the heap; lib/watchdog.js reaches the main thread while its loop is busy.

const EventEmitter = require('node:events')
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')
const { isMainThread, Worker } = require('node:worker_threads')

const { binding: native, file: bindingFile } = require('./lib/binding')
const { fileError, heapdumpError, writerError, argumentError, describe } = require('./lib/errors')

// State shared by every copy of rheapdump loaded on this thread (two versions in node_modules):
// one signal owner, one set of listeners, so one signal still makes one snapshot.
const SHARED_KEY = 'rheapdump.shared'
const shared = (process[Symbol.for(SHARED_KEY)] ??= createShared())

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
      dir: startup.dir ?? null,
    },
    diagnosticDir: startup.diagnosticDir ?? null,
    emitter: new EventEmitter(),
    controller: null,
    onSignal: null,
  }
}

// ---------------------------------------------------------------------------------------------
// Taking a snapshot: the one path used by the API and by signals.

function takeSnapshot({ dir, filename, trigger, force = false }) {
  const started = process.hrtime.bigint()
  const before = native.processMemory()
  const targetDir = filename === undefined ? resolveDir(dir) : path.dirname(path.resolve(currentDir(), filename))
  if (shared.config.guard && !force) checkBudget(targetDir, before.rss, trigger)
  const file = native.createSnapshotFile(filename === undefined ? targetDir : null, filename ?? null)
  if ('code' in file) throw fileError(file)
  try {
    v8.writeHeapSnapshot(file.writerPath)
  } catch (thrown) {
    file.abandon()
    throw writerError(thrown, file.displayPath)
  }
  const written = file.commit()
  if ('code' in written) throw fileError(written)
  native.releaseFreeMemory()
  const after = native.processMemory()
  return {
    path: written.path,
    bytes: written.bytes,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    trigger,
    rss: {
      before: before.rss,
      // VmHWM only tells the peak of this snapshot when the snapshot raised it.
      peak: after.peakRss > before.peakRss ? after.peakRss : null,
      after: after.rss,
    },
  }
}

const NODE_MAJOR = Number(process.versions.node.split('.')[0])

/**
 * The guard: refuses a snapshot that would likely get the process OOM-killed or fill the disk.
 * The estimate is the worst case measured for this Node major (crates/core/src/estimate.rs).
 */
function checkBudget(dir, rss, trigger) {
  const budget = native.snapshotBudget(NODE_MAJOR, v8.getHeapStatistics().used_heap_size, dir)
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
  // Signal snapshots report failures on their own line; say it here for the other triggers.
  if (trigger !== 'signal') writeStderr(`rheapdump: heap snapshot refused: ${refusal.description}`)
  throw refusal
}

function guardError(code, dir, needed, available, description) {
  const err = new Error(`rheapdump: heap snapshot refused: ${description}; pass { force: true } to take it anyway`)
  Object.assign(err, { code, path: dir, needed, available, description })
  return err
}

function resolveDir(dir) {
  const chosen = dir ?? shared.config.dir ?? shared.diagnosticDir
  if (chosen != null) return path.resolve(currentDir(), chosen)
  return currentDir()
}

function currentDir() {
  try {
    return process.cwd()
  } catch {
    return '.' // the working directory was deleted; the snapshot will fail with ENOENT on it
  }
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
    else callback(null, filename ?? result.path)
  }
  return !error
}

// ---------------------------------------------------------------------------------------------
// Promise API

const SNAPSHOT_OPTIONS = { dir: 'string', filename: 'string', force: 'boolean' }

/** Writes a snapshot; resolves to `{ path, bytes, durationMs, trigger, rss }`. */
function snapshot(options) {
  return new Promise((resolve, reject) => {
    const checked = checkOptions(options, SNAPSHOT_OPTIONS, 'snapshot')
    setImmediate(() => {
      try {
        const info = takeSnapshot({ ...checked, trigger: 'api' })
        announce(null, info)
        resolve(info)
      } catch (err) {
        announce(err)
        reject(err)
      }
    })
  })
}

function checkOptions(options, schema, fn) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw argumentError(`${fn}(options): options must be an object, got ${describeValue(options)}`)
  }
  const checked = {}
  for (const [key, value] of Object.entries(options)) {
    const type = schema[key]
    if (!type) {
      throw argumentError(
        `${fn}(options): unknown option '${key}' (known: ${Object.keys(schema).join(', ')})`,
        'ERR_INVALID_ARG_VALUE',
      )
    }
    if (value === undefined) continue
    const nullable = type.endsWith('?')
    const base = nullable ? type.slice(0, -1) : type
    if (!(typeof value === base || (nullable && value === null))) {
      throw argumentError(`${fn}(options): '${key}' must be a ${base}${nullable ? ' or null' : ''}, got ${describeValue(value)}`)
    }
    if (base === 'number' && value !== null && !(Number.isFinite(value) && value > 0)) {
      throw argumentError(`${fn}(options): '${key}' must be a positive number, got ${value}`, 'ERR_OUT_OF_RANGE')
    }
    checked[key] = value
  }
  if ('dir' in checked && checked.dir !== null) checkDirectory(checked.dir)
  return checked
}

function describeValue(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `the string '${value}'` : `a ${typeof value}`
}

/** Fails early, with code and path, for a directory no snapshot could be written to. */
function checkDirectory(dir) {
  const resolved = path.resolve(currentDir(), dir)
  let stat
  try {
    stat = fs.statSync(resolved)
    if (!stat.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR', syscall: 'stat' })
    fs.accessSync(resolved, fs.constants.W_OK | fs.constants.X_OK)
  } catch (err) {
    throw fileError({
      code: err.code || 'EIO',
      syscall: err.syscall || 'access',
      path: resolved,
      description: err.code === 'ENOTDIR' ? 'not a directory' : describe(err),
    })
  }
}

// ---------------------------------------------------------------------------------------------
// Signals

function onSignal(via) {
  try {
    const info = takeSnapshot({ trigger: 'signal' })
    info.via = via
    if (!shared.config.quiet) {
      writeStderr(`rheapdump: wrote ${info.path} (${formatBytes(info.bytes)}) in ${(info.durationMs / 1000).toFixed(2)} s`)
    }
    announce(null, info)
  } catch (err) {
    writeStderr(`rheapdump: heap snapshot failed: ${err.code} ${err.path} (${err.description})`)
    announce(err)
  } finally {
    native.signalDone()
  }
}

// Listeners run when the loop is free: this may be inside a V8 interrupt in the middle of the
// app's code, which is no place to run arbitrary callbacks.
function announce(err, info) {
  setImmediate(() => {
    if (err) shared.emitter.emit('snapshotError', err)
    else shared.emitter.emit('snapshot', info)
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
  let watchdog = null

  function startWatchdog() {
    if (watchdog) return
    watchdog = new Worker(path.join(__dirname, 'lib', 'watchdog.js'), {
      name: 'rheapdump-watchdog',
      workerData: { binding: bindingFile, sharedKey: SHARED_KEY },
      execArgv: [],
      argv: [],
      stdin: false,
      resourceLimits: { maxOldGenerationSizeMb: 16 },
    })
    const current = watchdog
    // The watchdog's reply comes through the main loop: receiving it means the loop turns again,
    // and the Worker may disconnect its inspector session safely.
    current.on('message', (message) => {
      if (message === 'written') current.postMessage('loop-turned')
    })
    current.on('error', (err) => {
      native.unregisterWatchdog()
      writeStderr(`rheapdump: the watchdog stopped (${err.message}); signals now wait for the event loop`)
    })
    current.on('exit', () => {
      if (watchdog === current) watchdog = null
    })
    // Last: adding a 'message' listener refs the Worker's port again.
    current.unref()
  }

  function stopWatchdog() {
    if (!watchdog) return
    native.unregisterWatchdog()
    const stopping = watchdog
    watchdog = null
    stopping.terminate()
    // A request the Worker claimed dies with it (the main thread is here, so none is running):
    // let the next signal start afresh.
    native.signalDone()
  }

  return {
    apply(config) {
      if (config.signal) {
        native.startSignalWatcher(() => {
          if (native.claimSignal()) onSignal('loop')
        })
        if (config.watchdog) startWatchdog()
        else stopWatchdog()
      } else {
        stopWatchdog()
        native.stopSignalWatcher()
      }
    },
    get watchdogThreadId() {
      return watchdog ? watchdog.threadId : null
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
  memoryLimit: 'number?',
  dir: 'string?',
}

/** Changes settings at run time; returns the settings now in force. */
function configure(options) {
  const checked = checkOptions(options, CONFIG_OPTIONS, 'configure')
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
// Memory

/** Process and V8 heap memory, in bytes. */
function memoryUsage() {
  const proc = native.processMemory()
  const usage = process.memoryUsage()
  const heap = v8.getHeapStatistics()
  const spaces = {}
  for (const space of v8.getHeapSpaceStatistics()) {
    spaces[space.space_name] = {
      size: space.space_size,
      used: space.space_used_size,
      available: space.space_available_size,
      physical: space.physical_space_size,
    }
  }
  return {
    rss: proc.rss,
    vsz: proc.vsz,
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
  v8.setFlagsFromString('--expose-gc')
  try {
    return vm.runInNewContext('gc')
  } finally {
    v8.setFlagsFromString('--no-expose-gc')
  }
}

// ---------------------------------------------------------------------------------------------
// Start-up: the first copy on the main thread owns the signal.

if (isMainThread && !shared.controller) {
  shared.controller = createController()
  shared.onSignal = onSignal
  if (shared.config.signal) {
    try {
      shared.controller.apply(shared.config)
    } catch (err) {
      writeStderr(`rheapdump: SIGUSR2 snapshots are off: ${err.message}`)
      shared.config.signal = false
    }
  }
}

/** Signal deliveries seen and coalesced, and whether the watcher and watchdog run. */
function signalStatus() {
  const stats = native.signalStats()
  return {
    received: stats.received,
    coalesced: stats.coalesced,
    active: stats.active,
    watchdog: shared.controller ? shared.controller.watchdogThreadId !== null : false,
  }
}

module.exports = {
  writeSnapshot,
  snapshot,
  memoryUsage,
  gc,
  configure,
  getConfig,
  signalStatus,
  on: (event, listener) => (shared.emitter.on(event, listener), module.exports),
  off: (event, listener) => (shared.emitter.off(event, listener), module.exports),
  once: (event, listener) => (shared.emitter.once(event, listener), module.exports),
}
