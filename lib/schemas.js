// @ts-check
'use strict'

// The options each public function takes, as lib/options.js checks them: a type name
// ('string', 'boolean|object', 'string?' for nullable) or a number's range. configure()'s
// come from the settings table (lib/config.js).

const { SCHEMA: CONFIG } = require('./config')
const { number, bytes, count, milliseconds, TIMER_MAX } = require('./options')

const SNAPSHOT = { dir: 'string', filename: 'string', force: 'boolean', fork: 'boolean|object', compress: 'string' }

const PROFILE = { dir: 'string', filename: 'string' }

const MONITOR = {
  interval: milliseconds({ min: 100, max: TIMER_MAX }),
  window: milliseconds({ min: 100 }),
  pressure: number({ above: 0, max: 1, integer: false }),
  leakGrowths: count(),
  leakMinGrowth: number({ min: 0 }),
  leakWindow: milliseconds({ min: 100, max: TIMER_MAX }),
  leakFastGrowth: bytes(),
  snapshots: 'object',
  profiles: 'boolean|object',
}

/** monitor({ snapshots }): snapshots taken automatically. */
const AUTOMATIC = {
  nearHeapLimit: CONFIG.nearHeapLimit,
  heapUsed: bytes(),
  rss: bytes(),
  max: count(),
  minInterval: milliseconds(),
  dir: 'string',
}

/** monitor({ profiles }): heap profiles when 'leak' fires. */
const LEAK_PROFILE = { max: count(), minInterval: milliseconds(), dir: 'string' }

module.exports = { SNAPSHOT, PROFILE, CONFIG, MONITOR, AUTOMATIC, LEAK_PROFILE }
