'use strict'

// The benchmarks' settings: every bench/*.js reads its environment here, so that one name means
// one thing in every script (bench/README.md lists them). A name this file does not know, or one
// the benchmarks used before, stops the run: a misspelt variable would otherwise measure the
// defaults and print a table that looks like the one asked for.
//
//   RHEAPDUMP_BENCH_RUNS=N             fresh processes (or repetitions) per figure
//   RHEAPDUMP_BENCH_HEAP_MB=50,200     sizes of the heaps built in the measured process
//   RHEAPDUMP_BENCH_SNAPSHOT_MB=160    sizes of the snapshot files the analyses read
//   RHEAPDUMP_BENCH_TASKS=summary,diff which analyses to time
//   RHEAPDUMP_BENCH_TOOLS=rheapdump,portable  which analyzers to run them with
//   RHEAPDUMP_BENCH_SECONDS=N          length of one load run
//   RHEAPDUMP_BENCH_TABLES=idle        which of a script's tables to measure
//   RHEAPDUMP_BENCH_LOADS=idle,busy    which loads the service runs under
//
// A script passes the defaults of the settings it uses; the others are ignored by it, so that
// one `npm run bench` can set them all at once. RHEAPDUMP_NODE_MAJORS (scripts/node-versions.js)
// chooses the Node majors, as for the tests.

const PREFIX = 'RHEAPDUMP_BENCH_'

/** Setting name → how its value is read. */
const KINDS = {
  runs: 'count',
  heapMb: 'sizes',
  snapshotMb: 'sizes',
  tasks: 'words',
  tools: 'words',
  seconds: 'count',
  tables: 'words',
  loads: 'words',
}

// The names the benchmarks read before they shared this file.
const RENAMED = {
  BENCH_RUNS: 'RHEAPDUMP_BENCH_RUNS',
  BENCH_HEAP_MB: 'RHEAPDUMP_BENCH_HEAP_MB',
  BENCH_SECONDS: 'RHEAPDUMP_BENCH_SECONDS',
  GUARD_MB: 'RHEAPDUMP_BENCH_HEAP_MB',
  RHEAPDUMP_BENCH_SIZES: 'RHEAPDUMP_BENCH_SNAPSHOT_MB',
}

/** `heapMb` → `RHEAPDUMP_BENCH_HEAP_MB`. */
function variable(name) {
  return PREFIX + name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()
}

function fail(message) {
  process.stderr.write(`bench: ${message} (see bench/README.md)\n`)
  process.exit(2)
}

function parse(name, text) {
  const kind = KINDS[name]
  const items = text.split(',').map((item) => item.trim())
  if (kind === 'words') {
    if (items.some((item) => !/^[a-z-]+$/.test(item))) fail(`${variable(name)}=${text}: expected words separated by commas`)
    return items
  }
  const numbers = items.map(Number)
  if (numbers.some((n) => !Number.isInteger(n) || n <= 0)) fail(`${variable(name)}=${text}: expected positive whole numbers`)
  if (kind === 'count') {
    if (numbers.length !== 1) fail(`${variable(name)}=${text}: expected one number`)
    return numbers[0]
  }
  return numbers
}

/**
 * The settings of one benchmark: each key of `defaults` (a name of KINDS) from its variable when
 * set, else its default.
 */
function settings(defaults, env = process.env) {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (env[old] !== undefined) fail(`${old} is now ${now}`)
  }
  const known = new Set(Object.keys(KINDS).map(variable))
  for (const key of Object.keys(env)) {
    if (key.startsWith(PREFIX) && !known.has(key)) fail(`unknown setting ${key}; known: ${[...known].join(', ')}`)
  }
  const result = {}
  for (const [name, value] of Object.entries(defaults)) {
    if (!(name in KINDS)) throw new Error(`bench/settings.js: no setting named ${name}`)
    const text = env[variable(name)]
    result[name] = text === undefined || text === '' ? value : parse(name, text)
  }
  return result
}

module.exports = { settings, variable }
