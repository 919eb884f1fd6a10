// @ts-check
'use strict'

// The addon's interface in plain JavaScript, for platforms with no prebuilt binary and no Rust
// toolchain (and for RHEAPDUMP_FALLBACK=1): `npm install rheapdump` never fails, and the API
// keeps working. What it cannot do, it says:
// - SIGUSR2 goes through a `process.on` listener, which waits for the event loop: a stuck loop
//   gets its snapshot when it frees up (the addon reaches it through a V8 interrupt);
// - no near-heap-limit snapshots, no `vsz`, no cgroup-aware guard (free memory only), no turns
//   between processes that share a memory budget (a lock that dies with its holder needs flock);
// - the analyses and the command line need the native program (ERR_RHEAPDUMP_NO_ADDON).
// Files keep the addon's rules: written under a temporary name with mode 0600, made durable,
// then given their final name; a default name never replaces an existing file.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { threadId } = require('node:worker_threads')

const { noAddonError } = require('./errors')

const SWITCHES = { 1: true, true: true, on: true, yes: true, 0: false, false: false, off: false, no: false }

function startupConfig(execArgv) {
  const warnings = []
  /** @type {import('./addon').StartupConfig} */
  const config = { signal: true, watchdog: true, quiet: false, guard: true, nearHeapLimit: 0, sampling: undefined, signalAction: 'both', fork: false, forkFallback: false, warnings }
  for (const item of (process.env.NODE_HEAPDUMP_OPTIONS || '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (item === 'nosignal' || item === 'signal') config.signal = item === 'signal'
    else warnings.push(`NODE_HEAPDUMP_OPTIONS: unrecognized option '${item}' (expected 'signal' or 'nosignal')`)
  }
  for (const [name, key] of [['RHEAPDUMP_SIGNAL', 'signal'], ['RHEAPDUMP_WATCHDOG', 'watchdog'], ['RHEAPDUMP_QUIET', 'quiet'], ['RHEAPDUMP_GUARD', 'guard']]) {
    const value = process.env[name]
    if (value === undefined) continue
    const on = SWITCHES[value.trim().toLowerCase()]
    if (on === undefined) warnings.push(`${name}: '${value}' is not a switch (use 1/0, true/false, on/off, yes/no)`)
    else config[key] = on
  }
  const sampling = process.env.RHEAPDUMP_SAMPLING
  if (sampling !== undefined) {
    const on = SWITCHES[sampling.trim().toLowerCase()]
    if (on !== undefined) config.sampling = on ? 512 * 1024 : undefined
    else if (/^\d+$/.test(sampling.trim()) && Number(sampling) > 0) config.sampling = Number(sampling)
    else warnings.push(`RHEAPDUMP_SAMPLING: '${sampling}' is neither a switch nor a positive number of bytes per sample`)
  }
  const action = process.env.RHEAPDUMP_SIGNAL_ACTION
  if (action !== undefined) {
    if (['snapshot', 'profile', 'both'].includes(action.trim().toLowerCase())) config.signalAction = action.trim().toLowerCase()
    else warnings.push(`RHEAPDUMP_SIGNAL_ACTION: '${action}' is not one of snapshot, profile, both`)
  }
  // Fork snapshots need the addon: the setting is kept so that they report ERR_RHEAPDUMP_FORK_UNAVAILABLE.
  const fork = process.env.RHEAPDUMP_FORK?.trim().toLowerCase()
  if (fork === 'fallback') Object.assign(config, { fork: true, forkFallback: true })
  else if (fork !== undefined && SWITCHES[fork] !== undefined) config.fork = SWITCHES[fork]
  else if (fork !== undefined) warnings.push(`RHEAPDUMP_FORK: '${process.env.RHEAPDUMP_FORK}' is neither a switch nor 'fallback'`)
  if (process.env.RHEAPDUMP_DIR) config.dir = process.env.RHEAPDUMP_DIR
  // Node's --diagnostic-dir: the command line wins over NODE_OPTIONS, the last one within each.
  for (const args of [execArgv, (process.env.NODE_OPTIONS || '').split(/\s+/)]) {
    const flag = args.findLast((arg) => arg.startsWith('--diagnostic-dir='))
    if (flag && flag.length > '--diagnostic-dir='.length) {
      config.diagnosticDir = flag.slice('--diagnostic-dir='.length)
      break
    }
  }
  return config
}

function processMemory() {
  // No /proc here: RSS from libuv, the peak from getrusage; VSZ is not known.
  return { rss: process.memoryUsage.rss(), peakRss: process.resourceUsage().maxRSS * 1024 }
}

let sequence = 0
let temporaries = 0

function defaultName(profile) {
  const now = performance.timeOrigin + performance.now()
  const stamp = new Date(Math.floor(now)).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '')
  const micros = String(Math.floor((now % 1000) * 1000)).padStart(6, '0')
  const [prefix, suffix] = profile ? ['heapprofile-', '.heapprofile'] : ['heapdump-', '.heapsnapshot']
  return `${prefix}${stamp}.${micros}Z-${process.pid}-${sequence++}${suffix}`
}

function failure(err, fallbackPath, syscall) {
  const match = /^[A-Z0-9_]+: ([^,]+)/.exec(String(err.message))
  return { code: err.code || 'EIO', syscall: err.syscall || syscall, path: fallbackPath, description: match ? match[1] : String(err.message) }
}

/**
 * @param {string | null | undefined} dir
 * @param {string | null | undefined} filename
 * @param {boolean | null} [_byName]
 * @param {boolean | null} [profile]
 */
function createSnapshotFile(dir, filename, _byName = false, profile = false) {
  // As the addon: a filename wins, and no directory means the working directory.
  const finalPath = filename == null ? null : path.resolve(filename)
  const directory = finalPath === null ? path.resolve(dir ?? '.') : path.dirname(finalPath)
  const displayPath = finalPath ?? directory
  if (finalPath !== null && isDeviceOrFifo(finalPath)) return inPlace(finalPath)
  const temporary = path.join(directory, `.rheapdump-${process.pid}-${threadId}-${temporaries++}.tmp`)
  try {
    fs.closeSync(fs.openSync(temporary, 'wx', 0o600))
  } catch (err) {
    return failure(err, displayPath, 'open')
  }
  let open = true
  return {
    writerPath: temporary,
    displayPath,
    commit() {
      if (!open) return { code: 'ERR_INVALID_STATE', syscall: 'commit', path: displayPath, description: 'snapshot file already committed or abandoned' }
      open = false
      let target = finalPath
      try {
        durable(temporary)
        if (target === null) {
          // link() refuses an existing name: a default name never replaces a file.
          target = path.join(directory, defaultName(profile))
          fs.linkSync(temporary, target)
          fs.unlinkSync(temporary)
        } else {
          fs.renameSync(temporary, target)
        }
        // An explicit name is reported as given, as the addon does.
        return { path: filename ?? target, bytes: fs.statSync(target).size }
      } catch (err) {
        fs.rmSync(temporary, { force: true })
        return failure(err, target ?? directory, 'rename')
      }
    },
    abandon() {
      open = false
      fs.rmSync(temporary, { force: true })
    },
  }
}

/** fsync, where allowed: Node 20's permission model refuses it (ERR_ACCESS_DENIED) to everyone. */
function durable(file) {
  const fd = fs.openSync(file, 'r+')
  try {
    fs.fsyncSync(fd)
  } catch (err) {
    if (err.code !== 'ERR_ACCESS_DENIED') throw err
  } finally {
    fs.closeSync(fd)
  }
}

// A device or FIFO named directly (never through a symlink) is written in place, as the addon
// does: renaming over it would replace the device node.
function isDeviceOrFifo(file) {
  try {
    const stat = fs.lstatSync(file)
    return stat.isCharacterDevice() || stat.isBlockDevice() || stat.isFIFO()
  } catch {
    return false
  }
}

function inPlace(file) {
  return { writerPath: file, displayPath: file, commit: () => ({ path: file, bytes: 0 }), abandon() {} }
}

// The worst case measured per Node major (see crates/core/src/estimate.rs).
function snapshotBudget(nodeMajor, heapUsed, dir) {
  const [extra, file] = nodeMajor <= 21 ? [35, 2.6] : nodeMajor <= 23 ? [34.5, 2.65] : [34, 2.45]
  /** @type {number | undefined} */
  let diskFree
  try {
    const stats = fs.statfsSync(dir)
    diskFree = stats.bavail * stats.bsize
  } catch {
    // unknown: the disk check is skipped
  }
  return {
    extraMemory: heapUsed * extra,
    fileSize: heapUsed * file,
    memoryAvailable: os.freemem(),
    memorySource: 'free memory',
    diskFree,
  }
}

const DEFAULT_NAME = /^heapdump-\d{8}T\d{6}\.\d{6}Z-(\d+)-\d+\.heapsnapshot$/

/** This process's default-named snapshots in `dir` beyond `keep`, oldest first, never `current`. */
function pruneSnapshots(dir, keep, current) {
  const ours = fs
    .readdirSync(dir)
    .filter((name) => DEFAULT_NAME.exec(name)?.[1] === String(process.pid))
    .sort()
  const removed = []
  for (const name of ours.slice(0, Math.max(0, ours.length - keep))) {
    if (name === current) continue
    fs.rmSync(path.join(dir, name), { force: true })
    removed.push(name)
  }
  return removed
}

// Signals: one process.on listener, which runs when the event loop turns.
/** @type {(() => void) | null} */
let receiver = null
let pending = false
let claimed = false
let listening = false
const stats = { received: 0, coalesced: 0 }

// libuv hands every queued signal to the listener in one go: the snapshot runs after them, so
// a burst makes one snapshot, as with the addon.
function onSignal() {
  stats.received++
  if (pending || !receiver) {
    stats.coalesced += pending ? 1 : 0
    return
  }
  pending = true
  setImmediate(receiver)
}

/** @returns {never} */
function noAddon(what) {
  throw noAddonError(what)
}

/** @type {import('./binding').Fallback} */
module.exports = {
  fallback: true,
  /** Why the addon is not there; lib/binding.js sets it. */
  reason: null,
  startupConfig,
  processMemory,
  createSnapshotFile,
  releaseFreeMemory: () => false,
  snapshotBudget,
  pruneSnapshots,
  setMainReceiver(receive) {
    receiver = receive
    return false
  },
  setInterrupts() {},
  startSignalWatcher() {
    if (!listening) process.on('SIGUSR2', onSignal)
    listening = true
  },
  stopSignalWatcher() {
    process.off('SIGUSR2', onSignal)
    listening = false
  },
  claimRequest() {
    if (!pending || claimed) return null
    claimed = true
    return 'signal'
  },
  requestDone() {
    pending = claimed = false
  },
  signalStats: () => ({ ...stats, active: listening }),
  armNearHeapLimit: () => noAddon('near-heap-limit snapshots'),
  waitForSnapshotTurn: () => ({ release() {} }),
  isMainThread: () => require('node:worker_threads').isMainThread,
  noAddon,
}
