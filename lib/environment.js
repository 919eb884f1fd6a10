// @ts-check
'use strict'

// Reading the environment and Node's command line, for the settings table (lib/config.js): what
// each kind of value accepts, what a value that is not accepted is told as, and Node's own
// `--diagnostic-dir` found the way Node finds it. Pure: nothing here reads process.env itself.

const facts = require('./facts')
const { U32_MAX, TIMER_MAX } = require('./options')

const SWITCHES = /** @type {Record<string, boolean>} */ ({ 1: true, true: true, on: true, yes: true, 0: false, false: false, off: false, no: false })
const SWITCH_WORDS = '1/0, true/false, on/off, yes/no'

/**
 * What an environment value means: `{ value }` in configure()'s terms, or `{ warning }`.
 * @typedef {{ value: unknown } | { warning: string }} Reading
 * @typedef {(text: string, name: string) => Reading} EnvParser
 */

/** @type {EnvParser} */
function aSwitch(text, name) {
  const on = SWITCHES[text.trim().toLowerCase()]
  return on === undefined ? { warning: `${name}: '${text}' is not a switch (use ${SWITCH_WORDS})` } : { value: on }
}

/**
 * A switch, or a whole number (`what` says of what; `min` the least allowed).
 * @param {string} what
 * @param {number} min
 * @returns {EnvParser}
 */
function switchOrNumber(what, min) {
  return (text, name) => {
    const on = SWITCHES[text.trim().toLowerCase()]
    if (on !== undefined) return { value: on }
    const digits = text.trim()
    if (/^\d+$/.test(digits) && Number(digits) >= min && Number(digits) <= U32_MAX) return { value: Number(digits) }
    return { warning: `${name}: '${text}' is neither a switch nor ${what}` }
  }
}

/**
 * Units of a size, the command line's rule too (crates/core/src/size.rs): a single letter and
 * the IEC names count in 1024s (as Docker's `512m`), the SI names in 1000s (`1MB` is 10⁶).
 */
const SIZE_UNITS = /** @type {Record<string, number>} */ (Object.fromEntries(facts.sizeUnits))
const SIZE_EXAMPLES = facts.sizeExamples

/**
 * Bytes in `text`: a whole number, or a number with a unit (`512k`, `64KiB`, `1.5MiB`, `1MB`),
 * rounded to a whole byte; null when it is not a size.
 * @param {string} text
 * @returns {number | null}
 */
function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim())
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined
  return match && unit !== undefined ? Math.round(Number(match[1]) * unit) : null
}

/**
 * A switch, or a size in bytes from `min` to 2³²−1 (`what` says of what).
 * @param {string} what
 * @param {number} min
 * @returns {EnvParser}
 */
function switchOrSize(what, min) {
  return (text, name) => {
    const on = SWITCHES[text.trim().toLowerCase()]
    if (on !== undefined) return { value: on }
    const size = parseSize(text)
    if (size === null) return { warning: `${name}: '${text}' is neither a switch nor a size (${what}: ${SIZE_EXAMPLES})` }
    if (size < min || size > U32_MAX) {
      return { warning: `${name}: '${text}' is out of range (ERR_OUT_OF_RANGE): ${what} must be from ${formatSize(min)} to 4 GiB − 1` }
    }
    return { value: size }
  }
}

/** `1024` → `1 KiB (1024 bytes)`, for range messages. */
function formatSize(bytes) {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB (${bytes} bytes)` : `${bytes} bytes`
}

/**
 * One of `words`, in any case.
 * @param {readonly string[]} words
 * @returns {EnvParser}
 */
function oneOf(words) {
  return (text, name) => {
    const word = text.trim().toLowerCase()
    return words.includes(word) ? { value: word } : { warning: `${name}: '${text}' is not one of ${words.join(', ')}` }
  }
}

/** @type {EnvParser} */
function nonEmpty(text) {
  return text === '' ? { value: undefined } : { value: text }
}

/**
 * Whether `text` is `s3://BUCKET` or `s3://BUCKET/PREFIX` with a valid bucket name
 * (crates/upload/src/destination.rs reads it).
 * @param {unknown} text
 */
function isS3Url(text) {
  return typeof text === 'string' && /^s3:\/\/[a-z0-9.-]{3,63}(\/.*)?$/.test(text)
}

/** @type {EnvParser} */
function s3Url(text, name) {
  if (text === '') return { value: undefined }
  return isS3Url(text) ? { value: text } : { warning: `${name}: '${text}' is not an s3://BUCKET/PREFIX URL` }
}

/** @type {EnvParser} */
function wholeMilliseconds(text, name) {
  const digits = text.trim()
  if (/^\d+$/.test(digits) && Number(digits) <= TIMER_MAX) return { value: Number(digits) }
  return { warning: `${name}: '${text}' is not a whole number of milliseconds (0 to ${TIMER_MAX})` }
}

/** @type {EnvParser} */
function forkSwitch(text, name) {
  const word = text.trim().toLowerCase()
  if (word === 'fallback') return { value: { fallback: true } }
  if (word === 'auto') return { value: 'auto' }
  const reading = aSwitch(text, name)
  return 'value' in reading ? reading : { warning: `${name}: '${text}' is neither a switch, 'fallback' nor 'auto'` }
}

/**
 * heapdump's NODE_HEAPDUMP_OPTIONS: a comma list, `nosignal` turns the signal off (and
 * `signal` on); anything else is warned about, as heapdump does.
 * @param {string} text
 * @param {string} name
 * @returns {Reading[]}
 */
function heapdumpOptions(text, name) {
  return text.split(',').map((item) => item.trim()).filter(Boolean).map((item) =>
    item === 'nosignal' || item === 'signal'
      ? { value: item === 'signal' }
      : { warning: `${name}: unrecognized option '${item}' (expected 'signal' or 'nosignal')` })
}

/**
 * Node's `--diagnostic-dir`, from the command line or NODE_OPTIONS: the command line wins, and
 * the last occurrence wins within each, as in Node. Both `--diagnostic-dir=DIR` and
 * `--diagnostic-dir DIR`.
 * @param {readonly string[]} execArgv
 * @param {string | undefined} nodeOptions
 */
function diagnosticDir(execArgv, nodeOptions) {
  return findDiagnosticDir(execArgv) ?? findDiagnosticDir(splitNodeOptions(nodeOptions ?? ''))
}

/** @param {readonly string[]} args */
function findDiagnosticDir(args) {
  /** @type {string | null} */
  let found = null
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith('--diagnostic-dir=')) found = args[i].slice('--diagnostic-dir='.length)
    else if (args[i] === '--diagnostic-dir' && i + 1 < args.length) found = args[++i]
  }
  return found || null
}

/**
 * NODE_OPTIONS split as Node splits it: on white space, with double quotes grouping and `\`
 * escaping the next character inside them.
 * @param {string} options
 */
function splitNodeOptions(options) {
  const args = []
  let current = ''
  let inArg = false
  let quoted = false
  for (let i = 0; i < options.length; i++) {
    const c = options[i]
    if (c === '"') {
      quoted = !quoted
      inArg = true
    } else if (c === '\\' && quoted) {
      if (i + 1 < options.length) current += options[++i]
    } else if (!quoted && (c === ' ' || c === '\t' || c === '\n')) {
      if (inArg) args.push(current)
      current = ''
      inArg = false
    } else {
      current += c
      inArg = true
    }
  }
  if (inArg) args.push(current)
  return args
}

module.exports = { aSwitch, switchOrNumber, switchOrSize, parseSize, formatSize, SIZE_EXAMPLES, oneOf, nonEmpty, isS3Url, s3Url, wholeMilliseconds, forkSwitch, heapdumpOptions, diagnosticDir, splitNodeOptions }
