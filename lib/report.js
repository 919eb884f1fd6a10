// @ts-check
'use strict'

// Lines on stderr, sizes as people read them, and V8's stack overflow recognised.

const fs = require('node:fs')

/** @param {string} line */
function writeStderr(line) {
  try {
    fs.writeSync(2, `${line}\n`)
  } catch {
    // stderr closed: nothing else to tell
  }
}

/** @param {number} bytes */
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

/** Whether `err` is V8's stack overflow (the interrupted code was near its stack limit). */
function isStackOverflow(err) {
  return err instanceof RangeError && /call stack/i.test(err.message)
}

module.exports = { writeStderr, formatBytes, isStackOverflow }
