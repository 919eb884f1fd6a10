// @ts-check
'use strict'

// The addon's interface in plain JavaScript, for platforms with no prebuilt binary and no Rust
// toolchain (and for RHEAPDUMP_FALLBACK=1): `npm install rheapdump` never fails, and the API
// keeps working. What it cannot do, it says:
// - SIGUSR2 goes through a `process.on` listener, which waits for the event loop: a stuck loop
//   gets its snapshot when it frees up (the addon reaches it through a V8 interrupt);
// - no near-heap-limit snapshots, no `vsz`, no memory reservations among processes that share a
//   memory budget (an entry that dies with its holder needs flock); the guard reads the cgroup limits
//   as the addon does;
// - the analyses and the command line run the portable program (bin/rheapdump-cli.wasm,
//   lib/wasi.js), not the native one (ERR_RHEAPDUMP_NO_ADDON only if that is missing too).
// Files keep the addon's rules: written under a temporary name with mode 0600, made durable,
// then given their final name; a default name never replaces an existing file. A compressed
// snapshot is compressed after V8 has written the plain one, on this thread, chunk by chunk
// (each chunk a gzip member or zstd frame: one valid file that gunzip and zstd -d read whole),
// so the pause grows by the compression and the disk holds both files for a moment; the addon
// compresses as V8 writes, on a thread of its own.

const fs = require('node:fs')
// zstd came to zlib in Node 22.15 and 23.8, after the @types/node this package builds with.
const zlib = /** @type {typeof import('node:zlib') & { zstdCompressSync?: (buffer: Buffer) => Buffer }} */ (require('node:zlib'))
const os = require('node:os')
const path = require('node:path')
const { threadId } = require('node:worker_threads')

const { noAddonError } = require('./errors')
const facts = require('./facts')

function processMemory() {
  // No /proc here: RSS from libuv, the peak from getrusage; VSZ is not known.
  return { rss: process.memoryUsage.rss(), peakRss: process.resourceUsage().maxRSS * 1024 }
}

let sequence = 0
let temporaries = 0

/**
 * This process's run, as crates/core/src/naming.rs makes it (FNV-1a over the boot id, the start
 * time and the pid, six base-36 characters): here the start is the process's time origin in
 * microseconds, and the boot id is read where there is one.
 */
const RUN = (() => {
  let boot = ''
  try {
    boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    // Not Linux: the time origin and the pid tell runs apart.
  }
  const start = BigInt(Math.round(performance.timeOrigin * 1000))
  const bytes = [...Buffer.from(boot), ...littleEndian(start, 8), ...littleEndian(BigInt(process.pid), 4)]
  let hash = 0xcbf29ce484222325n
  for (const byte of bytes) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n)
  let run = ''
  for (let i = 0; i < 6; i++, hash /= 36n) run += (hash % 36n).toString(36)
  return run
})()

/** @param {bigint} value @param {number} width */
function littleEndian(value, width) {
  return Array.from({ length: width }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn))
}

function runId() {
  return RUN
}

/** @param {boolean | null | undefined} profile @param {string | null} [compress] */
function defaultName(profile, compress = null) {
  const now = performance.timeOrigin + performance.now()
  const stamp = new Date(Math.floor(now)).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '')
  const micros = String(Math.floor((now % 1000) * 1000)).padStart(6, '0')
  const { prefix, suffix } = facts.names[profile ? 'profile' : 'snapshot']
  const extension = compress ? facts.compression[/** @type {keyof typeof facts.compression} */ (compress)].extension : ''
  return `${prefix}${stamp}.${micros}Z-${process.pid}-${RUN}-${sequence++}${suffix}${extension}`
}

// Big enough that the per-chunk header costs nothing; small enough to keep memory flat.
const COMPRESS_CHUNK = 16 << 20

/**
 * Compresses `plain` into a new file `compressed` (mode 0600, never an existing name), one
 * gzip member or zstd frame per chunk.
 * @param {string} plain
 * @param {string} compressed
 * @param {string} format 'gzip' or 'zstd'
 * @returns {number} the plain size
 */
function compressFile(plain, compressed, format) {
  const encode = format === 'zstd'
    ? (/** @type {Buffer} */ chunk) => /** @type {(buffer: Buffer) => Buffer} */ (zlib.zstdCompressSync)(chunk)
    : (/** @type {Buffer} */ chunk) => zlib.gzipSync(chunk, { level: 1 })
  const input = fs.openSync(plain, 'r')
  let output
  try {
    output = fs.openSync(compressed, 'wx', 0o600)
    const buffer = Buffer.allocUnsafe(COMPRESS_CHUNK)
    let total = 0
    for (let read; (read = fs.readSync(input, buffer, 0, COMPRESS_CHUNK, null)) > 0; total += read) {
      fs.writeSync(output, encode(buffer.subarray(0, read)))
    }
    if (total === 0) throw Object.assign(new Error('EIO: V8 wrote nothing, write'), { code: 'EIO', syscall: 'write' })
    return total
  } finally {
    fs.closeSync(input)
    if (output !== undefined) fs.closeSync(output)
  }
}

/** Whether this Node's zlib writes `format` (zstd came in Node 22.15 and 23.8). */
function canCompress(format) {
  return format !== 'zstd' || typeof zlib.zstdCompressSync === 'function'
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
 * @param {string | null} [compress] 'gzip' or 'zstd'
 */
function createSnapshotFile(dir, filename, _byName = false, profile = false, compress = null) {
  // As the addon: a filename wins, and no directory means the working directory.
  const finalPath = filename == null ? null : path.resolve(filename)
  const directory = finalPath === null ? path.resolve(dir ?? '.') : path.dirname(finalPath)
  const displayPath = finalPath ?? directory
  if (finalPath !== null && isDeviceOrFifo(finalPath)) return inPlace(finalPath)
  const temporary = path.join(directory, `.rheapdump-${process.pid}-${threadId}-${temporaries++}.tmp`)
  const packed = compress ? `${temporary}${facts.compression[/** @type {keyof typeof facts.compression} */ (compress)].extension}` : null
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
      let written = temporary
      let plainBytes
      try {
        if (packed !== null && compress !== null) {
          plainBytes = compressFile(temporary, packed, compress)
          fs.rmSync(temporary, { force: true })
          written = packed
        }
        durable(written)
        if (target === null) {
          // link() refuses an existing name: a default name never replaces a file.
          target = path.join(directory, defaultName(profile, compress))
          fs.linkSync(written, target)
          fs.unlinkSync(written)
        } else {
          fs.renameSync(written, target)
        }
        // An explicit name is reported as given, as the addon does.
        const bytes = fs.statSync(target).size
        return { path: filename ?? target, bytes, plainBytes: plainBytes ?? bytes }
      } catch (err) {
        fs.rmSync(temporary, { force: true })
        if (packed !== null) fs.rmSync(packed, { force: true })
        return failure(err, target ?? displayPath, written === temporary && packed !== null ? 'write' : 'rename')
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
  return { writerPath: file, displayPath: file, commit: () => ({ path: file, bytes: 0, plainBytes: 0 }), abandon() {} }
}

// The worst case measured per Node major (crates/core/src/estimate.rs, through lib/facts.js),
// against the tightest memory budget: as the addon, every cgroup limit above the process, else
// the machine's free memory. In a pod the cgroup binds long before the machine does.
function snapshotBudget(nodeMajor, heapUsed, dir) {
  const row = facts.estimate.find(({ maxMajor }) => maxMajor === null || nodeMajor <= maxMajor) ?? facts.estimate[facts.estimate.length - 1]
  /** @type {number | undefined} */
  let diskFree
  try {
    const stats = fs.statfsSync(dir)
    diskFree = stats.bavail * stats.bsize
  } catch {
    // unknown: the disk check is skipped
  }
  const memory = memoryBudget()
  return {
    extraMemory: heapUsed * row.extraPerHeapByte,
    fileSize: heapUsed * row.filePerHeapByte,
    memoryAvailable: memory.available,
    memorySource: memory.source,
    diskFree,
  }
}

/** The tightest of the machine's free memory and this process's cgroup limits (v1 and v2). */
function memoryBudget() {
  let budget = { available: os.freemem(), source: 'free memory' }
  for (const limit of cgroupLimits(readText('/proc/self/cgroup') ?? '', '/sys/fs/cgroup', readText)) {
    const available = Math.max(0, limit.limit - limit.used)
    if (available < budget.available) budget = { available, source: `cgroup ${limit.dir} (limit ${Math.floor(limit.limit / 1048576)} MiB)` }
  }
  return budget
}

/** @param {string} file */
function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

/**
 * The memory limits of every cgroup level above this process that sets one, as
 * crates/platform/src/linux/resources.rs reads them: v2 `memory.max`/`memory.current` (at `root`, or
 * `root/unified` on hybrid systems), v1 `memory.limit_in_bytes`/`memory.usage_in_bytes`;
 * reclaimable page cache (`inactive_file`) is not counted as used.
 * @param {string} procCgroup the text of /proc/self/cgroup
 * @param {string} root where the cgroup file systems are mounted
 * @param {(file: string) => string | null} read
 * @returns {{ dir: string, limit: number, used: number }[]}
 */
function cgroupLimits(procCgroup, root, read) {
  const limits = []
  for (const line of procCgroup.split('\n')) {
    const [id, controllers, group] = [line.split(':')[0], line.split(':')[1], line.split(':').slice(2).join(':')]
    if (id === undefined || controllers === undefined || !group) continue
    let base
    let files
    if (controllers === '') {
      base = read(path.join(root, 'unified', 'cgroup.controllers')) !== null ? path.join(root, 'unified') : root
      files = ['memory.max', 'memory.current']
    } else if (controllers.split(',').includes('memory')) {
      base = path.join(root, 'memory')
      files = ['memory.limit_in_bytes', 'memory.usage_in_bytes']
    } else {
      continue
    }
    for (let dir = path.join(base, group); ; dir = path.dirname(dir)) {
      const limit = Number(read(path.join(dir, files[0]))?.trim())
      const used = Number(read(path.join(dir, files[1]))?.trim())
      // v1 says "no limit" with a huge page-rounded number, v2 with 'max' (NaN here).
      if (Number.isFinite(limit) && Number.isFinite(used) && limit < 2 ** 60) {
        const stat = read(path.join(dir, 'memory.stat')) ?? ''
        const reclaimable = Number(/^(?:total_)?inactive_file (\d+)$/m.exec(stat)?.[1] ?? 0)
        limits.push({ dir, limit, used: Math.max(0, used - reclaimable) })
      }
      if (dir === base || !dir.startsWith(base)) break
    }
  }
  return limits
}

const DEFAULT_SNAPSHOT_NAME = new RegExp(facts.names.snapshot.pattern)

/** This run's default-named snapshots in `dir` beyond `keep`, oldest first, never `current`. */
function pruneSnapshots(dir, keep, current) {
  const ours = fs
    .readdirSync(dir)
    .filter((name) => {
      const [, , pid, run] = DEFAULT_SNAPSHOT_NAME.exec(name) ?? [] // time, pid, run, sequence
      return pid === String(process.pid) && run === RUN
    })
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
// The addon's request state machine (crates/core/src/request.rs), from its generated table.
let phase = 'idle'
/** @param {keyof typeof facts.request} name */
function move(name) {
  const { from, to } = facts.request[name]
  if (phase !== from) return false
  phase = to
  return true
}
let listening = false
const stats = { received: 0, coalesced: 0 }

// libuv hands every queued signal to the listener in one go: the snapshot runs after them, so
// a burst makes one snapshot, as with the addon.
function onSignal() {
  stats.received++
  if (!receiver) return
  if (!move('request')) {
    stats.coalesced++
    return
  }
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
  processMemory,
  createSnapshotFile,
  canCompress,
  releaseFreeMemory: () => false,
  snapshotBudget,
  cgroupLimits,
  pruneSnapshots,
  runId,
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
    return move('claim') ? 'signal' : null
  },
  requestDone() {
    move('done')
  },
  signalStats: () => ({ ...stats, active: listening }),
  armNearHeapLimit: () => noAddon('near-heap-limit snapshots'),
  // No ledger without the addon: every reservation is granted at once, so none is ever queued.
  reserveMemory: () => ({ release() {} }),
  queueRequest: () => noAddon('waiting for memory off the main thread'),
  takeQueued: () => null,
  isMainThread: () => require('node:worker_threads').isMainThread,
  noAddon,
}
