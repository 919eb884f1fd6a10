// @ts-check
'use strict'

// Loads the compiled addon that fits this platform. Several may ship side by side (prebuilt and
// built from source); a glibc build fails to load on musl and vice versa, so try each in turn.
// When none loads (or RHEAPDUMP_FALLBACK=1), the pure-JS fallback stands in (lib/fallback.js),
// with `reason` saying why.

// The addon's functions are typed by lib/addon.d.ts, generated from crates/addon/src/ (scripts/binding-types.js);
// the fallback must give the same ones, less the analyses (lib/analysis.js answers those itself).

/** @typedef {typeof import('./addon')} Addon */
/** @typedef {'analyzeSummary' | 'analyzeDiff' | 'analyzeLeaks' | 'analyzePath' | 'validateSnapshot' | 'redactSnapshot' | 'estimateSnapshotCost' | 'forkChildExit' | 'forkChildFinish' | 'forkExtraMemory' | 'forkPrefetch' | 'forkPrefetched' | 'forkSnapshotPoll' | 'forkSnapshotsRunning' | 'forkSnapshotStart' | 'forkUnavailable' | 'uploadFile'} NativeOnly */
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
/** @typedef {Omit<Addon, NativeOnly | 'processMemory' | 'SnapshotFile' | 'SnapshotTurn'> & FallbackExtras} Fallback */
/** @typedef {Addon | Fallback} Binding */

const fs = require('node:fs')
const path = require('node:path')

const { addonsForbiddenError, binaryError } = require('./errors')

const root = path.join(__dirname, '..')

function candidates() {
  const base = `rheapdump.${process.platform}-${process.arch}`
  if (process.platform !== 'linux') return [`${base}.node`]
  return [`${base}-gnu.node`, `${base}-musl.node`]
}

/** @returns {{ binding: Addon, file: string }} */
function loadAddon() {
  const errors = []
  for (const name of candidates()) {
    const file = path.join(root, name)
    if (!fs.existsSync(file)) continue
    try {
      return { binding: require(file), file }
    } catch (err) {
      errors.push(Object.assign(err, { message: `${name}: ${err.message}` }))
    }
  }
  if (errors.some((error) => error.code === 'ERR_DLOPEN_DISABLED')) throw addonsForbiddenError()
  throw binaryError(candidates().join(', '), root, errors)
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

module.exports = load()
