// @ts-check
'use strict'

// The options each public function takes, as lib/options.js checks them: a type name
// ('string', 'boolean|object', 'string?' for nullable) or a number's range.

const { number, bytes, count, milliseconds, U32_MAX, TIMER_MAX } = require('./options')

const SNAPSHOT = { dir: 'string', filename: 'string', force: 'boolean', fork: 'boolean|object' }

const PROFILE = { dir: 'string', filename: 'string' }

const NEAR_HEAP_LIMIT = number({ min: 0, max: U32_MAX, orBoolean: true })

const CONFIG = {
  signal: 'boolean',
  watchdog: 'boolean',
  quiet: 'boolean',
  guard: 'boolean',
  memoryLimit: bytes({ nullable: true }),
  keep: count({ max: U32_MAX, nullable: true }),
  nearHeapLimit: NEAR_HEAP_LIMIT,
  dir: 'string?',
  queueTimeout: milliseconds({ max: TIMER_MAX }),
  sampling: number({ min: 1, max: U32_MAX, orBoolean: true }),
  signalAction: 'string',
  fork: 'boolean|object',
}

const SIGNAL_ACTIONS = ['snapshot', 'profile', 'both']

const MONITOR = {
  interval: milliseconds({ min: 100, max: TIMER_MAX }),
  window: milliseconds({ min: 100 }),
  pressure: number({ above: 0, max: 1, integer: false }),
  leakGrowths: count(),
  leakMinGrowth: number({ min: 0 }),
  snapshots: 'object',
  profiles: 'boolean|object',
}

/** monitor({ snapshots }): snapshots taken automatically. */
const AUTOMATIC = {
  nearHeapLimit: NEAR_HEAP_LIMIT,
  heapUsed: bytes(),
  rss: bytes(),
  max: count(),
  minInterval: milliseconds(),
  dir: 'string',
}

/** monitor({ profiles }): heap profiles when 'leak' fires. */
const LEAK_PROFILE = { max: count(), minInterval: milliseconds(), dir: 'string' }

module.exports = { SNAPSHOT, PROFILE, CONFIG, SIGNAL_ACTIONS, MONITOR, AUTOMATIC, LEAK_PROFILE }
