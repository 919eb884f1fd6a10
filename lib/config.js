// @ts-check
'use strict'

// The settings table: one row per setting, the one place that says what a setting is called in
// the environment and in configure(), how its environment value is read, how a value is checked
// and stored, its default, and its line in the docs. Both the addon path and the pure-JS
// fallback start from `readStartup()` here; `configure()` (lib/settings.js) checks values with
// the same rows; the README's table and index.d.ts's `Config` are generated from them
// (`npm run generate`, checked by __test__/config.test.js).
//
// Adding a setting: a row here, the code that uses it, and `npm run generate`.

const { aSwitch, diagnosticDir, forkSwitch, formatSize, heapdumpOptions, isS3Url, nonEmpty, oneOf, parseSize, s3Url, SIZE_EXAMPLES, switchOrNumber, switchOrSize, wholeMilliseconds } = require('./environment')
const facts = require('./facts')
const { checkOptions, number, bytes, count, milliseconds, U32_MAX, TIMER_MAX } = require('./options')

// lib/errors.js is loaded by the first error, not at require, where only this table is read.
/** @type {typeof import('./errors').argumentError} */
const argumentError = (message, code) => require('./errors').argumentError(message, code)

const SIGNAL_ACTIONS = /** @type {const} */ (['snapshot', 'profile', 'both'])
/** The `compress` values: off, then the formats the Rust side writes (lib/facts.js). */
const COMPRESSIONS = ['off', ...Object.keys(facts.compression)]

/**
 * `fork` as given: a boolean, 'auto' or `{ fallback }`.
 * @param {unknown} value
 * @param {string} fn the public function, for the error
 * @returns {boolean | 'auto' | { fallback: boolean }}
 */
function checkFork(value, fn) {
  if (typeof value === 'string') {
    if (value === 'auto') return value
    throw argumentError(`${fn}(options): 'fork' must be true, false, 'auto' or { fallback }, got '${value}'`, 'ERR_INVALID_ARG_VALUE')
  }
  if (value === null || typeof value !== 'object') return value === true
  return { fallback: checkOptions(value, { fallback: 'boolean' }, `${fn}(fork)`).fallback === true }
}

/**
 * @typedef {object} Row
 * @property {string} key the name in configure() and getConfig()
 * @property {{ name: string, parse: import('./environment').EnvParser | ((text: string, name: string) => import('./environment').Reading[]) }[]} env
 *   environment variables, read in this order (a later one wins)
 * @property {unknown} schema what configure() accepts (lib/options.js)
 * @property {(value: any, fn: string) => unknown} [store] configure()'s value (or the
 *   environment's, read as one) → the value kept; checks what the schema cannot
 * @property {unknown} default
 * @property {string} type the TypeScript type of the kept value
 * @property {{ what: string, env: string, configure: string, default: string, type: string }} docs
 *   the README's row, and the doc comment of `Config` in index.d.ts
 */

/** @type {Row[]} */
const SETTINGS = [
  {
    key: 'signal',
    env: [{ name: 'NODE_HEAPDUMP_OPTIONS', parse: heapdumpOptions }, { name: 'RHEAPDUMP_SIGNAL', parse: aSwitch }],
    schema: 'boolean',
    default: true,
    type: 'boolean',
    docs: {
      what: 'snapshot on SIGUSR2',
      env: '`RHEAPDUMP_SIGNAL=0` or `NODE_HEAPDUMP_OPTIONS=nosignal`',
      configure: '`signal`',
      default: 'on',
      type: 'SIGUSR2 writes a snapshot. Default true; off with NODE_HEAPDUMP_OPTIONS=nosignal or RHEAPDUMP_SIGNAL=0.',
    },
  },
  {
    key: 'watchdog',
    env: [{ name: 'RHEAPDUMP_WATCHDOG', parse: aSwitch }],
    schema: 'boolean',
    default: true,
    type: 'boolean',
    docs: {
      what: 'signals interrupt running JavaScript (snapshots while the loop is stuck)',
      env: '`RHEAPDUMP_WATCHDOG=0`',
      configure: '`watchdog`',
      default: 'on',
      type: 'Signal and near-heap-limit snapshots interrupt running JavaScript (a V8 interrupt), so they are taken even while the event loop is stuck; false: they wait for the loop. No thread, no Worker, no inspector. Default true; RHEAPDUMP_WATCHDOG=0.',
    },
  },
  {
    key: 'quiet',
    env: [{ name: 'RHEAPDUMP_QUIET', parse: aSwitch }],
    schema: 'boolean',
    default: false,
    type: 'boolean',
    docs: {
      what: 'no stderr line for successful snapshots, nor for the files `keep` removes',
      env: '`RHEAPDUMP_QUIET=1`',
      configure: '`quiet`',
      default: 'off',
      type: 'No stderr line for successful snapshots nor for the files keep removes (failures are always reported). Default false; RHEAPDUMP_QUIET=1.',
    },
  },
  {
    key: 'dir',
    env: [{ name: 'RHEAPDUMP_DIR', parse: nonEmpty }],
    schema: 'string?',
    store: (value) => value ?? null,
    default: null,
    type: 'string | null',
    docs: {
      what: 'directory for default-named files',
      env: '`RHEAPDUMP_DIR`',
      configure: '`dir`',
      default: "Node's `--diagnostic-dir`, else the working directory at the time of the snapshot",
      type: "Directory for default-named snapshots and profiles, or null (then Node's --diagnostic-dir, else the working directory). Default RHEAPDUMP_DIR.",
    },
  },
  {
    key: 'guard',
    env: [{ name: 'RHEAPDUMP_GUARD', parse: aSwitch }],
    schema: 'boolean',
    default: true,
    type: 'boolean',
    docs: {
      what: 'refuse snapshots likely to exhaust memory or disk (see [Guard](docs/guard.md))',
      env: '`RHEAPDUMP_GUARD=0`',
      configure: '`guard`',
      default: 'on',
      type: 'Refuse snapshots likely to exhaust memory (cgroup limit or MemAvailable) or disk. Default true; RHEAPDUMP_GUARD=0.',
    },
  },
  {
    key: 'memoryLimit',
    env: [],
    schema: bytes({ nullable: true }),
    default: null,
    type: 'number | null',
    docs: {
      what: 'cap on RSS during a snapshot, on top of cgroup and machine limits',
      env: '',
      configure: '`memoryLimit` (bytes, an integer)',
      default: 'none',
      type: 'Bytes of RSS the process may reach during a snapshot, on top of the cgroup and machine limits; or null.',
    },
  },
  {
    key: 'queueTimeout',
    env: [{ name: 'RHEAPDUMP_QUEUE_TIMEOUT', parse: wholeMilliseconds }],
    schema: milliseconds({ max: TIMER_MAX }),
    default: 300000,
    type: 'number',
    docs: {
      what: "longest wait for memory that other processes' snapshots in the same memory budget have reserved; the event loop runs on meanwhile (see [Guard](docs/guard.md))",
      env: '`RHEAPDUMP_QUEUE_TIMEOUT` (ms)',
      configure: '`queueTimeout` (ms)',
      default: '300000 (5 min); `writeSnapshot()` waits at most 5 s',
      type: "Milliseconds a guarded snapshot waits for the memory other processes sharing its memory budget (cgroup, else host) have reserved before it is refused with ERR_RHEAPDUMP_BUSY; it waits off the main thread (heapdump's synchronous writeSnapshot() waits on it, at most 5 s). Default 300000; RHEAPDUMP_QUEUE_TIMEOUT.",
    },
  },
  {
    key: 'keep',
    env: [],
    schema: count({ max: U32_MAX, nullable: true }),
    default: null,
    type: 'number | null',
    docs: {
      what: "keep at most K (1 to 2³²−1) of this process's default-named snapshots per directory (oldest deleted; never another process's, nor an earlier run's of the same pid)",
      env: '',
      configure: '`keep`',
      default: 'keep all',
      type: "Keep at most this many (1 to 2**32-1) of this process's default-named snapshots per directory (oldest deleted; other processes', earlier runs' of the same pid (pid 1 in a container) and other files never); or null.",
    },
  },
  {
    key: 'nearHeapLimit',
    env: [{ name: 'RHEAPDUMP_NEAR_HEAP_LIMIT', parse: switchOrNumber('a number of snapshots', 0) }],
    schema: number({ min: 0, max: U32_MAX, orBoolean: true }),
    // Each near-heap-limit snapshot raises the heap limit once; like Node's own, one by default.
    store: (value) => (value === true ? 1 : value === false ? 0 : value),
    default: 0,
    type: 'number',
    docs: {
      what: 'a snapshot just before V8 runs out of heap (see [Monitoring](docs/monitor.md))',
      env: '`RHEAPDUMP_NEAR_HEAP_LIMIT=1` (or a count)',
      configure: '`nearHeapLimit` (true or a count, 0 to 2³²−1)',
      default: 'off',
      type: 'Snapshots to take just before V8 runs out of heap: true/1 for one, 0/false for none. Default 0; RHEAPDUMP_NEAR_HEAP_LIMIT=1.',
    },
  },
  {
    key: 'sampling',
    env: [{ name: 'RHEAPDUMP_SAMPLING', parse: switchOrSize('bytes per sample', facts.sampling.minInterval) }],
    // A size with a unit ('64k', '1MiB') as well as a number of bytes.
    schema: { ...number({ min: facts.sampling.minInterval, max: U32_MAX, orBoolean: true }), types: ['boolean', 'number', 'string'] },
    store: storeSampling,
    default: false,
    type: 'number | false',
    docs: {
      what: 'sampling heap profiler (see [Sampling](docs/sampling.md))',
      env: '`RHEAPDUMP_SAMPLING=1` (or bytes per sample: `64k`, `1MiB`)',
      configure: '`sampling` (true or bytes: a number, or `64k`)',
      default: `off; true means ${facts.sampling.defaultInterval / 1024} KiB; at least ${facts.sampling.minInterval / 1024} KiB`,
      type: `Bytes per sample of V8's sampling heap profiler (at least ${facts.sampling.minInterval}), or false when it is off. true sets ${facts.sampling.defaultInterval} (${facts.sampling.defaultInterval / 1024} KiB); configure() also takes a size such as '64k' or '1MiB'. Default false; RHEAPDUMP_SAMPLING=1 or =<size>.`,
    },
  },
  {
    key: 'signalAction',
    env: [{ name: 'RHEAPDUMP_SIGNAL_ACTION', parse: oneOf(SIGNAL_ACTIONS) }],
    schema: 'string',
    store: (value, fn) => {
      if (SIGNAL_ACTIONS.includes(value)) return value
      throw argumentError(`${fn}(options): 'signalAction' must be one of ${SIGNAL_ACTIONS.join(', ')}, got '${value}'`, 'ERR_INVALID_ARG_VALUE')
    },
    default: 'both',
    type: SIGNAL_ACTIONS.map((action) => `'${action}'`).join(' | '),
    docs: {
      what: 'what SIGUSR2 writes',
      env: '`RHEAPDUMP_SIGNAL_ACTION`',
      configure: '`signalAction`: `snapshot`, `profile`, `both`',
      default: '`both`: the profile first when sampling is on',
      type: "What SIGUSR2 writes: 'snapshot', 'profile', or 'both' (the profile first, when sampling is on). Default 'both'; RHEAPDUMP_SIGNAL_ACTION.",
    },
  },
  {
    key: 'fork',
    env: [{ name: 'RHEAPDUMP_FORK', parse: forkSwitch }],
    schema: 'boolean|object|string',
    store: checkFork,
    default: false,
    type: "boolean | 'auto' | { fallback: boolean }",
    docs: {
      what: 'experimental: snapshots written by a fork()ed child, pausing the service milliseconds (see [Fork snapshots](docs/fork.md))',
      env: '`RHEAPDUMP_FORK=1` (or `fallback`: in-process when the fork fails; `auto`: fork only when the in-process pause would exceed `forkAbove`)',
      configure: "`fork`: true, `'auto'` or `{ fallback: true }`",
      default: 'off',
      type: "Experimental: snapshots (API, signal, automatic; not writeSnapshot) are written by a fork()ed child (docs/fork.md); 'auto' forks only when the estimated in-process pause exceeds forkAbove (in-process otherwise, and when the fork fails). Default false; RHEAPDUMP_FORK=1 (or =fallback, =auto).",
    },
  },
  {
    key: 'forkAbove',
    env: [{ name: 'RHEAPDUMP_FORK_ABOVE', parse: wholeMilliseconds }],
    schema: milliseconds({ max: TIMER_MAX }),
    default: 3000,
    type: 'number',
    docs: {
      what: "with `fork: 'auto'`: fork when the in-process snapshot would pause the service longer than this (estimated from the used heap)",
      env: '`RHEAPDUMP_FORK_ABOVE` (ms)',
      configure: '`forkAbove` (ms)',
      default: '3000',
      type: "Milliseconds: with fork 'auto', a snapshot is forked when the in-process one would pause the service longer than this (estimated from the used heap, docs/fork.md). Default 3000; RHEAPDUMP_FORK_ABOVE.",
    },
  },
  {
    key: 'upload',
    env: [{ name: 'RHEAPDUMP_UPLOAD', parse: s3Url }],
    schema: 'string?',
    store: (value, fn) => {
      if (value == null) return null
      if (isS3Url(value)) return value
      throw argumentError(`${fn}(options): 'upload' must be an s3://BUCKET/PREFIX URL, got '${value}'`, 'ERR_INVALID_ARG_VALUE')
    },
    default: null,
    type: 'string | null',
    docs: {
      what: 'upload every snapshot and profile to S3-compatible object storage (see [Upload](docs/upload.md))',
      env: '`RHEAPDUMP_UPLOAD=s3://BUCKET/PREFIX`',
      configure: '`upload`',
      default: 'off',
      type: "s3://BUCKET/PREFIX: every snapshot and profile is uploaded there under its file name, by a native thread, with the standard AWS settings (docs/upload.md); or null. Default RHEAPDUMP_UPLOAD.",
    },
  },
  {
    key: 'uploadKeepLocal',
    env: [{ name: 'RHEAPDUMP_UPLOAD_KEEP_LOCAL', parse: aSwitch }],
    schema: 'boolean',
    default: true,
    type: 'boolean',
    docs: {
      what: 'keep the local file after a confirmed upload',
      env: '`RHEAPDUMP_UPLOAD_KEEP_LOCAL=0`',
      configure: '`uploadKeepLocal`',
      default: 'on',
      type: 'Keep the local file after a confirmed upload; false deletes it then (never after a failure). Default true; RHEAPDUMP_UPLOAD_KEEP_LOCAL=0.',
    },
  },
  {
    key: 'compress',
    env: [{ name: 'RHEAPDUMP_COMPRESS', parse: oneOf(COMPRESSIONS) }],
    schema: 'string',
    store: (value, fn) => checkCompress(value, fn),
    default: 'off',
    type: COMPRESSIONS.map((value) => `'${value}'`).join(' | '),
    docs: {
      what: 'compress default-named snapshots as they are written, `.heapsnapshot.gz`/`.zst` (see [Compression](docs/compression.md))',
      env: '`RHEAPDUMP_COMPRESS=gzip` or `zstd`',
      configure: '`compress`: `off`, `gzip`, `zstd`',
      default: 'off',
      type: "Compress default-named snapshots on a thread of their own as V8 writes them: 'gzip' (.heapsnapshot.gz) or 'zstd' (.heapsnapshot.zst); the analyses read both, DevTools neither (docs/compression.md). Default 'off'; RHEAPDUMP_COMPRESS.",
    },
  },
]

/**
 * `sampling` as given (already a boolean, or a number in range, or a string): the interval in
 * bytes, or false.
 * @param {boolean | number | string} value
 * @param {string} fn the public function (or the variable), for the error
 * @returns {number | false}
 */
function storeSampling(value, fn) {
  if (value === true) return facts.sampling.defaultInterval
  if (typeof value !== 'string') return value
  const size = parseSize(value)
  if (size === null) throw argumentError(`${fn}(options): 'sampling' must be true, false or bytes per sample (${SIZE_EXAMPLES}), got '${value}'`, 'ERR_INVALID_ARG_VALUE')
  if (size < facts.sampling.minInterval || size > U32_MAX) {
    throw argumentError(`${fn}(options): 'sampling' must be from ${formatSize(facts.sampling.minInterval)} to ${U32_MAX} bytes, got '${value}' (${size} bytes)`, 'ERR_OUT_OF_RANGE')
  }
  return size
}

/**
 * `compress` as given: one of COMPRESSIONS.
 * @param {unknown} value
 * @param {string} fn the public function, for the error
 * @returns {string}
 */
function checkCompress(value, fn) {
  if (typeof value === 'string' && COMPRESSIONS.includes(value)) return value
  throw argumentError(`${fn}(options): 'compress' must be one of ${COMPRESSIONS.join(', ')}, got ${typeof value === 'string' ? `'${value}'` : String(value)}`, 'ERR_INVALID_ARG_VALUE')
}

/**
 * Variables read outside the table, where a setting cannot wait for it: documented with it.
 * @type {{ name: string, what: string, default: string, readBy: string }[]}
 */
const OTHER_VARIABLES = [
  { name: 'RHEAPDUMP_LOCK_DIR', what: 'where the processes sharing a memory budget keep their memory reservations (see [Guard](docs/guard.md))', default: '`/dev/shm`, else `/tmp` (the first writable)', readBy: 'crates/platform/src/linux/ledger.rs' },
  { name: 'RHEAPDUMP_FALLBACK', what: 'run the pure-JS fallback even where the addon loads (see [Platforms](docs/platforms.md))', default: 'off (`1`: on)', readBy: 'lib/binding.js' },
]

/** configure()'s schema, from the rows. */
const SCHEMA = Object.fromEntries(SETTINGS.map((row) => [row.key, row.schema]))

/** @returns {import('../index').Config} */
function defaults() {
  return /** @type {any} */ (Object.fromEntries(SETTINGS.map((row) => [row.key, row.default])))
}

/**
 * configure()'s options (already checked against SCHEMA) as the values kept.
 * @param {Record<string, unknown>} checked
 * @param {string} fn
 */
function storeAll(checked, fn) {
  /** @type {Record<string, unknown>} */
  const stored = {}
  for (const row of SETTINGS) {
    if (row.key in checked) stored[row.key] = row.store ? row.store(checked[row.key], fn) : checked[row.key]
  }
  return stored
}

/**
 * @typedef {object} Startup What the environment and the command line set, read once.
 * @property {import('../index').Config} config every setting: the defaults, then the environment
 * @property {string | null} diagnosticDir Node's --diagnostic-dir
 * @property {string[]} warnings environment values that were ignored, one sentence each
 */

/**
 * The settings at start-up, from `env` and Node's `execArgv`. An unusable value is ignored
 * with a warning (the default stays): a typo in the environment must never stop the service.
 * @param {Record<string, string | undefined>} env
 * @param {readonly string[]} execArgv
 * @returns {Startup}
 */
function readStartup(env, execArgv) {
  const config = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (defaults()))
  /** @type {string[]} */
  const warnings = []
  for (const row of SETTINGS) {
    for (const { name, parse } of row.env) {
      const text = env[name]
      if (text === undefined) continue
      for (const reading of [parse(text, name)].flat()) {
        if ('warning' in reading) warnings.push(reading.warning)
        else if (reading.value !== undefined) config[row.key] = row.store ? row.store(reading.value, name) : reading.value
      }
    }
  }
  return { config: /** @type {any} */ (config), diagnosticDir: diagnosticDir(execArgv, env.NODE_OPTIONS), warnings }
}

module.exports = { SETTINGS, OTHER_VARIABLES, SCHEMA, SIGNAL_ACTIONS, COMPRESSIONS, defaults, storeAll, readStartup, checkFork, checkCompress }
