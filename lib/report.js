// @ts-check
'use strict'

// How outcomes nobody awaits are told: a line on stderr and an event on the shared emitter.

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

/**
 * Emits `event` (or `${event}Error`) on the shared emitter once the loop is free: this may be
 * inside a V8 interrupt in the middle of the app's code, which is no place to run arbitrary
 * callbacks. The pending callback holds the shared state, not its emitter: the analysis
 * recognizes rheapdump's state (the object under its Symbol key) and keeps it off the paths it
 * reports, and a listener reached through the bare emitter would look held by the app's timers.
 * @param {{ emitter: import('node:events') }} shared
 * @param {Error | null | undefined} err
 * @param {object | null | undefined} info
 * @param {string} event
 */
function announce(shared, err, info, event = 'snapshot') {
  setImmediate(() => {
    if (err) shared.emitter.emit(`${event}Error`, err)
    else shared.emitter.emit(event, info)
  })
}

/** Whether `err` is V8's stack overflow (the interrupted code was near its stack limit). */
function isStackOverflow(err) {
  return err instanceof RangeError && /call stack/i.test(err.message)
}

module.exports = { writeStderr, formatBytes, announce, isStackOverflow }
