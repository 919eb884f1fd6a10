// @ts-check
'use strict'

// Snapshot analysis: each function runs in Rust on a worker thread (crates/analysis, in the
// native module crates/analysis-addon, which loading this module maps) and resolves to the
// report the CLI (crates/cli) prints with --json. Loading this module does not start
// rheapdump's signal handling.

const fs = require('node:fs')

const { analyzer } = require('./binding')
const { analysisError, argumentError } = require('./errors')
const facts = require('./facts')

// Without the analysis module (the fallback, or its file missing), the portable program
// (bin/rheapdump-cli.wasm, lib/wasi.js) answers, on a worker thread too, with the same reports;
// without it as well, each function rejects with why the module did not load (at the end of
// this file).
/** @type {typeof import('./analysis-addon') | null} */
let loaded = null
/** @type {Error | null} */
let notLoaded = null
try {
  loaded = analyzer()
} catch (err) {
  notLoaded = err
}
/** @type {typeof import('./wasi') | null} */
const portable = loaded ? null : require('./wasi')
const native = /** @type {Pick<typeof import('./analysis-addon'), keyof typeof import('./wasi').analyses>} */ (loaded ?? /** @type {typeof import('./wasi')} */ (portable).analyses)

/**
 * @typedef {object} AnalysisOptions
 * @property {number} [top] rows per table
 * @property {number} [max] retaining paths (path())
 * @property {boolean} [progress] a progress bar on stderr
 * @property {string} [package] only the rows of this npm package (`lru-cache`, `@scope/pkg`), or of
 *   `(app)`, `(node)` or `(unknown)` (summary(), diff(), leaks())
 * @property {'auto' | 'ids' | 'structure'} [match] how diff() and leaks() match objects between snapshots
 * @property {boolean} [sourceMaps] false: the positions that ran, not where source maps say the code was written
 * @property {string} [sourceRoot] where the scripts and their maps are when the snapshot comes from another machine
 */

/** A value of the right type but out of range. */
const invalid = (message) => argumentError(message, 'ERR_INVALID_ARG_VALUE')

function checkFile(file, name) {
  if (typeof file !== 'string' || file === '') throw invalid(`${name} must be a file name, got ${typeof file}`)
  return file
}

function checkPackage(value) {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw invalid(`package must be a package name such as 'lru-cache' or '(app)', got ${typeof value === 'string' ? "''" : typeof value}`)
  return value
}

const MATCHINGS = ['auto', 'ids', 'structure']

function checkMatch(value) {
  if (value === undefined) return 'auto'
  if (!MATCHINGS.includes(value)) throw invalid(`match must be one of ${MATCHINGS.join(', ')}, got ${value}`)
  return value
}

/** The `sourceMaps` and `sourceRoot` options, as the analysis module takes them. */
function checkSourceMaps(sourceMaps, sourceRoot) {
  if (sourceMaps !== undefined && typeof sourceMaps !== 'boolean') throw invalid(`sourceMaps must be true or false, got ${typeof sourceMaps}`)
  if (sourceRoot !== undefined && (typeof sourceRoot !== 'string' || sourceRoot === '')) throw invalid(`sourceRoot must be a directory name, got ${typeof sourceRoot === 'string' ? "''" : typeof sourceRoot}`)
  if (sourceMaps === false && sourceRoot !== undefined) throw invalid('sourceRoot needs source maps: leave sourceMaps out or true')
  return /** @type {const} */ ([sourceMaps !== false, sourceRoot])
}

function checkCount(value, name, fallback) {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw invalid(`${name} must be a whole number from 0 to 2^32-1, got ${value}`)
  }
  return value
}

/** Runs one analysis: its report, from the JSON the Rust side writes. */
async function run(/** @type {Promise<unknown>} */ task) {
  const result = /** @type {string | import('./analysis-addon').AnalysisFailure} */ (await task)
  if (typeof result !== 'string') throw analysisError(result)
  return JSON.parse(result)
}

/** Checks a snapshot's structure; resolves to the report `validate --json` prints, rejects with ERR_SNAPSHOT_* otherwise. */
async function validate(file) {
  return run(native.validateSnapshot(checkFile(file, 'file')))
}

module.exports = {
  async summary(file, /** @type {AnalysisOptions} */ { top, progress = false, package: pkg, sourceMaps, sourceRoot } = {}) {
    return run(native.analyzeSummary(checkFile(file, 'file'), checkCount(top, 'top', facts.analysis.top), progress, checkPackage(pkg), ...checkSourceMaps(sourceMaps, sourceRoot)))
  },
  async diff(before, after, /** @type {AnalysisOptions} */ { top, progress = false, match, package: pkg, sourceMaps, sourceRoot } = {}) {
    const files = /** @type {const} */ ([checkFile(before, 'before'), checkFile(after, 'after')])
    return run(native.analyzeDiff(...files, checkMatch(match), checkCount(top, 'top', facts.analysis.top), progress, checkPackage(pkg), ...checkSourceMaps(sourceMaps, sourceRoot)))
  },
  async leaks(baseline, target, final, /** @type {AnalysisOptions} */ { top, progress = false, match, package: pkg, sourceMaps, sourceRoot } = {}) {
    const files = /** @type {const} */ ([checkFile(baseline, 'baseline'), checkFile(target, 'target'), checkFile(final, 'final')])
    return run(native.analyzeLeaks(...files, checkMatch(match), checkCount(top, 'top', facts.analysis.top), progress, checkPackage(pkg), ...checkSourceMaps(sourceMaps, sourceRoot)))
  },
  async path(file, id, /** @type {AnalysisOptions} */ { max, progress = false, sourceMaps, sourceRoot } = {}) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw invalid(`id must be a node id (a whole number), got ${id}`)
    return run(native.analyzePath(checkFile(file, 'file'), id, checkCount(max, 'max', facts.analysis.paths), progress, ...checkSourceMaps(sourceMaps, sourceRoot)))
  },
  validate,
  /** Writes a copy of `file` to `output` with every value string replaced (docs/sharing.md); resolves to the report `redact --json` prints. */
  async redact(file, output, /** @type {AnalysisOptions} */ { progress = false } = {}) {
    return run(native.redactSnapshot(checkFile(file, 'file'), checkFile(output, 'output'), progress))
  },
}

// Without the analysis module and the portable program, every analysis rejects with why the
// module did not load (ERR_RHEAPDUMP_NO_ADDON under the fallback).
if (portable && !fs.existsSync(portable.PROGRAM)) {
  for (const name of /** @type {(keyof typeof module.exports)[]} */ (Object.keys(module.exports))) {
    module.exports[name] = async () => {
      throw notLoaded
    }
  }
}
