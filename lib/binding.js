// @ts-check
'use strict'

// Loads the compiled addon that fits this platform. Several may ship side by side (prebuilt and
// built from source); a glibc build fails to load on musl and vice versa, so try each in turn.
// When none loads (or RHEAPDUMP_FALLBACK=1), the pure-JS fallback stands in (lib/fallback.js),
// with `reason` saying why. The uploader and the analyses are native modules of their own
// (crates/upload-addon, crates/analysis-addon), loaded only by a process that uses them: every
// page of a module that loading touches stays resident, and `require` maps only the addon.

// The addon's functions are typed by lib/addon.d.ts, generated from crates/addon/src/ (scripts/binding-types.js);
// the fallback must give the same ones.
// The on-demand modules' are typed by lib/upload-addon.d.ts and lib/analysis-addon.d.ts.

/** @typedef {typeof import('./addon')} Addon */
/** @typedef {'estimateSnapshotCost' | 'forkChildExit' | 'forkChildFinish' | 'forkExtraMemory' | 'forkPrefetch' | 'forkPrefetched' | 'forkSnapshotPoll' | 'forkSnapshotsRunning' | 'forkSnapshotStart' | 'forkUnavailable'} NativeOnly */
/**
 * @typedef {object} FallbackExtras
 * @property {true} fallback
 * @property {string | null} reason why the addon is not there
 * @property {(what: string) => never} noAddon throws ERR_RHEAPDUMP_NO_ADDON
 * @property {() => { rss: number, peakRss?: number, vsz?: undefined }} processMemory no VSZ without /proc
 * @property {(procCgroup: string, root: string, read: (file: string) => string | null) => { dir: string, limit: number, used: number }[]} cgroupLimits the guard's cgroup reading, for tests
 * @property {(format: string) => boolean} canCompress whether this Node's zlib writes the format
 */
// The classes are only ever made by the addon's own functions: the fallback returns look-alikes.
/** @typedef {Omit<Addon, NativeOnly | 'processMemory' | 'SnapshotFile' | 'MemoryReservation'> & FallbackExtras} Fallback */
/** @typedef {Addon | Fallback} Binding */

const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** The files a native module may be in, `stem` as scripts/build.js names it. */
function candidates(stem) {
  const base = `${stem}.${process.platform}-${process.arch}`
  if (process.platform !== 'linux') return [`${base}.node`]
  return [`${base}-gnu.node`, `${base}-musl.node`]
}

/** @returns {{ exports: any, file: string }} */
function loadNative(/** @type {string} */ stem) {
  const errors = []
  for (const name of candidates(stem)) {
    const file = path.join(root, name)
    if (!fs.existsSync(file)) continue
    try {
      return { exports: require(file), file }
    } catch (err) {
      errors.push(Object.assign(err, { message: `${name}: ${err.message}` }))
    }
  }
  if (errors.some((error) => error.code === 'ERR_DLOPEN_DISABLED')) throw require('./errors').addonsForbiddenError()
  throw require('./errors').binaryError(candidates(stem).join(', '), root, errors)
}

/** @returns {{ binding: Addon, file: string }} */
function loadAddon() {
  const { exports, file } = loadNative('rheapdump')
  return { binding: exports, file }
}

/** @returns {{ binding: Binding, file: string | null, reason: string | null }} */
function load() {
  let reason = 'RHEAPDUMP_FALLBACK=1'
  if (process.env.RHEAPDUMP_FALLBACK !== '1') {
    try {
      return { ...loadAddon(), reason: null }
    } catch (err) {
      reason = err.message
    }
  }
  const fallback = require('./fallback')
  fallback.reason = reason
  return { binding: fallback, file: null, reason }
}

const loaded = load()

/**
 * A native module that a process loads only when it needs it, on the first call of the function
 * returned; that function throws ERR_RHEAPDUMP_NO_ADDON under the fallback and
 * ERR_RHEAPDUMP_BINARY when the module's file is missing or does not load. A failure is kept,
 * so a later call throws it again without another attempt.
 * @template T
 * @param {string} stem the module's file name stem (scripts/build.js MODULES)
 * @param {string} what what needs it, for the error under the fallback
 * @returns {() => T}
 */
function onDemand(stem, what) {
  /** @type {{ exports: T } | { error: Error } | null} */
  let outcome = null
  return () => {
    if (outcome === null) {
      try {
        if (loaded.file === null) throw require('./errors').noAddonError(what)
        outcome = { exports: loadNative(stem).exports }
      } catch (err) {
        outcome = { error: /** @type {Error} */ (err) }
      }
    }
    if ('error' in outcome) throw outcome.error
    return outcome.exports
  }
}

/**
 * The uploader (crates/upload-addon). Load it on the main thread as soon as `upload` is set
 * (lib/writer.js prepareUpload): the first upload may start inside a V8 interrupt while the
 * loop is stuck, which should find it loaded.
 * @type {() => typeof import('./upload-addon')}
 */
const uploader = onDemand('rheapdump-upload', 'upload')

/**
 * The analyses (crates/analysis-addon), loaded by lib/analysis.js, itself loaded on the first
 * analysis: a process that never analyses in-process never maps the parser.
 * @type {() => typeof import('./analysis-addon')}
 */
const analyzer = onDemand('rheapdump-analysis', 'snapshot analysis')

module.exports = { ...loaded, uploader, analyzer }
