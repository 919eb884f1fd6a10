// @ts-check
'use strict'

// Option objects checked at the JS boundary, before any value reaches the addon: the addon's
// integers are u32, so 2**32 would arrive as 0 and 0.5 as 0. Every number has a range and, where
// it counts something, must be an integer; a value outside fails with a code and says the range.

const fs = require('node:fs')
const path = require('node:path')

// lib/errors.js is loaded by the first error, not at require, where only the settings table
// (lib/config.js) uses this module.
/** @type {typeof import('./errors').argumentError} */
const argumentError = (message, code) => require('./errors').argumentError(message, code)
/** @type {typeof import('./errors').fileError} */
const fileError = (failure, what) => require('./errors').fileError(failure, what)

const U32_MAX = 2 ** 32 - 1
// setInterval() caps its delay at 2**31 - 1 ms (with a TimeoutOverflowWarning, and then fires
// every millisecond); faster than 100 ms a monitor would spend its time emitting 'stats'.
const TIMER_MAX = 2 ** 31 - 1

/**
 * @typedef {object} NumberSpec
 * @property {number} [min]
 * @property {number} [above]
 * @property {number} [max]
 * @property {boolean} [integer]
 * @property {boolean} [nullable]
 * @property {boolean} [orBoolean]
 */

/**
 * A number option: `integer`, from `min` (or just above `above`) to `max`, maybe null.
 * @param {NumberSpec} spec
 */
function number({ min, above, max = Number.MAX_SAFE_INTEGER, integer = true, nullable = false, orBoolean = false }) {
  return { types: orBoolean ? ['boolean', 'number'] : ['number'], nullable, min, above, max, integer }
}

const bytes = (/** @type {NumberSpec} */ extra = {}) => number({ min: 1, ...extra })
const count = (/** @type {NumberSpec} */ extra = {}) => number({ min: 1, ...extra })
const milliseconds = (/** @type {NumberSpec} */ extra = {}) => number({ min: 0, ...extra })

/**
 * The options given, checked against `schema`; unknown keys and bad values throw.
 * @param {unknown} options
 * @param {Record<string, any>} schema
 * @param {string} fn the public function, for messages
 * @returns {Record<string, any>}
 */
function checkOptions(options, schema, fn) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw argumentError(`${fn}(options): options must be an object, got ${describeValue(options)}`)
  }
  const checked = {}
  for (const [key, value] of Object.entries(options)) {
    // Own keys only: 'constructor' or 'hasOwnProperty' must not find Object.prototype's.
    if (!Object.hasOwn(schema, key)) {
      throw argumentError(
        `${fn}(options): unknown option '${key}' (known: ${Object.keys(schema).join(', ')})`,
        'ERR_INVALID_ARG_VALUE',
      )
    }
    if (value === undefined) continue
    const spec = typeof schema[key] === 'string' ? parseType(schema[key]) : schema[key]
    if (!(spec.types.includes(typeof value) || (spec.nullable && value === null))) {
      throw argumentError(`${fn}(options): '${key}' must be a ${spec.types.join(' or a ')}${spec.nullable ? ' or null' : ''}, got ${describeValue(value)}`)
    }
    if (typeof value === 'number') checkNumber(value, spec, `${fn}(options): '${key}'`)
    if (typeof value === 'string') checkPathString(value, `${fn}(options): '${key}'`)
    checked[key] = value
  }
  if ('dir' in checked && checked.dir !== null) checkDirectory(checked.dir)
  return checked
}

/** 'string?' → a string or null; 'boolean|number' → either. */
function parseType(type) {
  const nullable = type.endsWith('?')
  return { types: (nullable ? type.slice(0, -1) : type).split('|'), nullable }
}

function checkNumber(value, spec, what) {
  const inRange =
    Number.isFinite(value) &&
    (!spec.integer || Number.isInteger(value)) &&
    (spec.min === undefined || value >= spec.min) &&
    (spec.above === undefined || value > spec.above) &&
    value <= spec.max
  if (inRange) return
  const low = spec.above !== undefined ? `above ${spec.above}` : `from ${spec.min}`
  throw argumentError(`${what} must be ${spec.integer ? 'an integer' : 'a number'} ${low} to ${spec.max}, got ${value}`, 'ERR_OUT_OF_RANGE')
}

/** Paths go to C: a NUL byte would cut them short there, so it is refused here. */
function checkPathString(value, what) {
  if (value.includes('\0')) throw argumentError(`${what} must not contain a NUL byte`, 'ERR_INVALID_ARG_VALUE')
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
      description: err.code === 'ENOTDIR' ? 'not a directory' : require('./errors').describe(err),
    })
  }
}

/**
 * An explicit snapshot filename: no NUL byte, and not a name ending in '/', which names a
 * directory (path.resolve() would silently drop the slash and write a file by that name).
 */
function checkFilename(filename) {
  checkPathString(filename, 'the filename')
  if (filename.endsWith('/')) {
    throw fileError({ code: 'EISDIR', syscall: 'open', path: filename, description: 'a name ending in / names a directory' })
  }
}

function currentDir() {
  try {
    return process.cwd()
  } catch {
    return '.' // the working directory was deleted; the snapshot will fail with ENOENT on it
  }
}

module.exports = { checkOptions, checkFilename, currentDir, describeValue, number, bytes, count, milliseconds, U32_MAX, TIMER_MAX }
