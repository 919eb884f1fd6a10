'use strict'

// Snapshot analysis: each function runs in Rust on a worker thread (crates/analysis) and
// resolves to the report the CLI prints with --json. Loading this module does not start
// rheapdump's signal handling: the CLI uses it alone.

const { binding: native } = require('./binding')
const { analysisError, argumentError } = require('./errors')

/** A value of the right type but out of range. */
const invalid = (message) => argumentError(message, 'ERR_INVALID_ARG_VALUE')

const DEFAULT_TOP = 20
const DEFAULT_PATHS = 5

function checkFile(file, name) {
  if (typeof file !== 'string' || file === '') throw invalid(`${name} must be a file name, got ${typeof file}`)
  return file
}

function checkCount(value, name, fallback) {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw invalid(`${name} must be a whole number from 0 to 2^32-1, got ${value}`)
  }
  return value
}

/** Runs one analysis; `{ json, text }` with the report in both forms. */
async function run(task) {
  const result = await task
  if ('code' in result) throw analysisError(result)
  return result
}

const reports = {
  summary: (file, { top, progress = false } = {}) =>
    run(native.analyzeSummary(checkFile(file, 'file'), checkCount(top, 'top', DEFAULT_TOP), progress)),
  diff: (before, after, { top, progress = false } = {}) =>
    run(
      native.analyzeDiff(checkFile(before, 'before'), checkFile(after, 'after'), checkCount(top, 'top', DEFAULT_TOP), progress),
    ),
  leaks: (baseline, target, final, { top, progress = false } = {}) =>
    run(
      native.analyzeLeaks(
        checkFile(baseline, 'baseline'),
        checkFile(target, 'target'),
        checkFile(final, 'final'),
        checkCount(top, 'top', DEFAULT_TOP),
        progress,
      ),
    ),
  path: (file, id, { max, progress = false } = {}) => {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw invalid(`id must be a node id (a whole number), got ${id}`)
    return run(native.analyzePath(checkFile(file, 'file'), id, checkCount(max, 'max', DEFAULT_PATHS), progress))
  },
}

const parsed = (report) => async (...args) => JSON.parse((await report(...args)).json)

/** Checks a snapshot's structure; resolves to its counts, rejects with ERR_SNAPSHOT_* otherwise. */
async function validate(file) {
  const result = await native.validateSnapshot(checkFile(file, 'file'))
  if ('code' in result) throw analysisError(result)
  return { nodes: result.nodes, edges: result.edges, strings: result.strings }
}

module.exports = {
  summary: parsed(reports.summary),
  diff: parsed(reports.diff),
  leaks: parsed(reports.leaks),
  path: parsed(reports.path),
  validate,
  reports,
}
