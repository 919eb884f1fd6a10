// @ts-check
'use strict'

// Snapshot and profile analysis: every function is one request ({ kind, its files, its
// options }) handed to the one entry point of the native module crates/analysis-addon
// (`analyze`, which loading this module maps), run in Rust on a worker thread, resolving to the
// report the CLI (crates/cli) prints with --json. Rust checks the request (crates/analysis,
// `run::Request`): a bad one rejects with ERR_INVALID_ARG_VALUE, naming the field. Loading this
// module does not start rheapdump's signal handling.

const fs = require('node:fs')

const { analyzer } = require('./binding')
const { analysisError, argumentError } = require('./errors')

// Without the analysis module (the fallback, or its file missing), the portable program
// (bin/rheapdump-cli.wasm, lib/wasi.js) answers the same request, on a worker thread too, with
// the same report; without it as well, each function rejects with why the module did not load
// (at the end of this file).
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
const native = /** @type {Pick<typeof import('./analysis-addon'), 'analyze'>} */ (loaded ?? /** @type {typeof import('./wasi')} */ (portable).analyses)

/** Numbers JSON cannot hold (NaN, Infinity) go as text, which Rust refuses with the field's name. */
const finite = (/** @type {string} */ _key, /** @type {unknown} */ value) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value)

/**
 * Runs one analysis request, `{ kind, ...its files, ...options }` (index.d.ts AnalysisRequest):
 * its report, from the JSON the Rust side writes.
 * @param {object} request
 */
async function run(request) {
  let json
  try {
    json = JSON.stringify(request, finite) ?? 'null'
  } catch (err) {
    throw argumentError(`the request cannot be written as JSON: ${err.message}`, 'ERR_INVALID_ARG_VALUE')
  }
  const result = /** @type {string | import('./analysis-addon').AnalysisFailure} */ (await native.analyze(json))
  if (typeof result === 'string') return JSON.parse(result)
  throw result.path == null ? argumentError(result.description, result.code) : analysisError(result)
}

/**
 * A request of `kind` on `files`, with the caller's options beside them.
 * @param {string} kind
 * @param {Record<string, unknown>} files
 * @param {object | undefined} options
 */
const request = (kind, files, options) => run({ ...options, kind, ...files })

module.exports = {
  run,
  summary: (file, options = undefined) => request('summary', { file }, options),
  instances: (file, className, options = undefined) => request('instances', { file, class: className }, options),
  diff: (before, after, options = undefined) => request('diff', { before, after }, options),
  leaks: (baseline, target, final, options = undefined) => request('leaks', { baseline, target, final }, options),
  report: (baseline, target, final, options = undefined) => request('report', { baseline, target, final }, options),
  path: (file, id, options = undefined) => request('path', { file, id }, options),
  validate: (file, options = undefined) => request('validate', { file }, options),
  redact: (file, output, options = undefined) => request('redact', { file, output }, options),
  check: (baseline, current, options = undefined) => request('check', { baseline, current }, options),
  profileTop: (file, options = undefined) => request('profileTop', { file }, options),
  profileDiff: (before, after, options = undefined) => request('profileDiff', { before, after }, options),
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
