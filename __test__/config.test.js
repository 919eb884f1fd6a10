'use strict'

// The settings table (lib/config.js): how the environment and Node's command line are read,
// that the addon path and the pure-JS fallback read the same environments the same way (real
// processes), and that what is generated from the table (the README's table, `Config` in
// index.d.ts) is current.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { SETTINGS, OTHER_VARIABLES, readStartup } = require('../lib/config')
const { splitNodeOptions } = require('../lib/environment')
const { ROOT, runScript } = require('./helpers/proc')
const { BLOCKS, regenerated } = require('../scripts/generate')

const read = (env, execArgv = []) => readStartup(env, execArgv)

test('no environment: every setting has its default and nothing is warned about', () => {
  const { config, diagnosticDir, warnings } = read({})
  assert.deepEqual(config, Object.fromEntries(SETTINGS.map((row) => [row.key, row.default])))
  assert.equal(diagnosticDir, null)
  assert.deepEqual(warnings, [])
})

test("heapdump's NODE_HEAPDUMP_OPTIONS: nosignal turns the signal off, unknown items are warned about", () => {
  assert.equal(read({ NODE_HEAPDUMP_OPTIONS: 'nosignal' }).config.signal, false)
  const { config, warnings } = read({ NODE_HEAPDUMP_OPTIONS: ' foo , nosignal' })
  assert.equal(config.signal, false)
  assert.deepEqual(warnings, ["NODE_HEAPDUMP_OPTIONS: unrecognized option 'foo' (expected 'signal' or 'nosignal')"])
  assert.equal(read({ NODE_HEAPDUMP_OPTIONS: 'nosignal', RHEAPDUMP_SIGNAL: '1' }).config.signal, true, 'the own variable wins')
})

test('switches take the common spellings; anything else is warned about and keeps the default', () => {
  const { config } = read({ RHEAPDUMP_SIGNAL: 'off', RHEAPDUMP_WATCHDOG: '0', RHEAPDUMP_QUIET: 'TRUE', RHEAPDUMP_GUARD: 'no', RHEAPDUMP_DIR: '/tmp/snaps' })
  assert.deepEqual([config.signal, config.watchdog, config.quiet, config.guard, config.dir], [false, false, true, false, '/tmp/snaps'])
  const bad = read({ RHEAPDUMP_WATCHDOG: 'maybe' })
  assert.equal(bad.config.watchdog, true)
  assert.deepEqual(bad.warnings, ["RHEAPDUMP_WATCHDOG: 'maybe' is not a switch (use 1/0, true/false, on/off, yes/no)"])
  assert.equal(read({ RHEAPDUMP_DIR: '' }).config.dir, null, 'an empty directory is no directory')
})

test('numbers: near-heap-limit takes a switch or a count, sampling a switch or bytes, queueTimeout milliseconds', () => {
  assert.equal(read({ RHEAPDUMP_NEAR_HEAP_LIMIT: 'on' }).config.nearHeapLimit, 1)
  assert.equal(read({ RHEAPDUMP_NEAR_HEAP_LIMIT: '3' }).config.nearHeapLimit, 3)
  assert.equal(read({ RHEAPDUMP_SAMPLING: '1' }).config.sampling, require('../lib/facts').sampling.defaultInterval)
  assert.equal(read({ RHEAPDUMP_SAMPLING: 'off' }).config.sampling, false)
  assert.equal(read({ RHEAPDUMP_SAMPLING: '65536' }).config.sampling, 65536)
  assert.equal(read({ RHEAPDUMP_QUEUE_TIMEOUT: '250' }).config.queueTimeout, 250)
  for (const [name, value] of [['RHEAPDUMP_NEAR_HEAP_LIMIT', 'lots'], ['RHEAPDUMP_SAMPLING', '-5'], ['RHEAPDUMP_SAMPLING', '4294967296'], ['RHEAPDUMP_SAMPLING', '4g'], ['RHEAPDUMP_SAMPLING', '64 furlongs'], ['RHEAPDUMP_QUEUE_TIMEOUT', 'soon']]) {
    const { config, warnings } = read({ [name]: value })
    assert.deepEqual(config, read({}).config, `${name}=${value} keeps the defaults`)
    assert.equal(warnings.length, 1, `${name}=${value}`)
    assert.ok(warnings[0].startsWith(`${name}: '${value}'`), warnings[0])
  }
})

test('sizes: the sampling interval in bytes or with a unit (k, m, g and KiB… in 1024s; KB… in 1000s), at least 1 KiB', () => {
  const sampling = (text) => read({ RHEAPDUMP_SAMPLING: text }).config.sampling
  assert.deepEqual(['512k', '64KiB', '64 kib', '1m', '1MiB', '1.5M', '1MB', '2048', '1k'].map(sampling), [524288, 65536, 65536, 1048576, 1048576, 1572864, 1000000, 2048, 1024])
  for (const small of ['512', '1023', '0.5k', '1KB']) {
    const { config, warnings } = read({ RHEAPDUMP_SAMPLING: small })
    assert.equal(config.sampling, read({}).config.sampling, `RHEAPDUMP_SAMPLING=${small} keeps the default`)
    assert.deepEqual(warnings, [`RHEAPDUMP_SAMPLING: '${small}' is out of range (ERR_OUT_OF_RANGE): bytes per sample must be from 1 KiB (1024 bytes) to 4 GiB − 1`])
  }
  assert.deepEqual(read({ RHEAPDUMP_SAMPLING: 'lots' }).warnings, ["RHEAPDUMP_SAMPLING: 'lots' is neither a switch nor a size (bytes per sample: 65536, 64k, 64KiB, 1m, 1MiB)"])
})

test('words: the signal action in any case, fork as a switch or fallback', () => {
  assert.equal(read({ RHEAPDUMP_SIGNAL_ACTION: 'Profile' }).config.signalAction, 'profile')
  assert.deepEqual(read({ RHEAPDUMP_SIGNAL_ACTION: 'dump' }).warnings, ["RHEAPDUMP_SIGNAL_ACTION: 'dump' is not one of snapshot, profile, both"])
  assert.equal(read({ RHEAPDUMP_FORK: '1' }).config.fork, true)
  assert.deepEqual(read({ RHEAPDUMP_FORK: 'Fallback' }).config.fork, { fallback: true })
  const bad = read({ RHEAPDUMP_FORK: 'sometimes' })
  assert.deepEqual([bad.config.fork, bad.warnings.length], [false, 1])
})

test("Node's --diagnostic-dir: both spellings, the command line over NODE_OPTIONS, the last one within each, NODE_OPTIONS quoting", () => {
  assert.equal(read({}, ['--diagnostic-dir=/a']).diagnosticDir, '/a')
  assert.equal(read({}, ['--diagnostic-dir', '/c']).diagnosticDir, '/c')
  assert.equal(read({}, ['--diagnostic-dir=/a', '--diagnostic-dir', '/b']).diagnosticDir, '/b')
  assert.equal(read({ NODE_OPTIONS: '--diagnostic-dir=/b' }, ['--diagnostic-dir=/a']).diagnosticDir, '/a')
  assert.equal(read({ NODE_OPTIONS: '--max-old-space-size=100 --diagnostic-dir "/with space/dir"' }).diagnosticDir, '/with space/dir')
  assert.equal(read({ NODE_OPTIONS: '--inspect' }).diagnosticDir, null)
  assert.deepEqual(splitNodeOptions(' --a  "b c" "d\\"e" f\t--g '), ['--a', 'b c', 'd"e', 'f', '--g'])
})

test('configure() takes every setting the table has, and no other', () => {
  const schema = require('../lib/schemas').CONFIG
  assert.deepEqual(Object.keys(schema), SETTINGS.map((row) => row.key))
})

test('the variables read outside the table are read where the table says', () => {
  for (const variable of OTHER_VARIABLES) {
    assert.ok(fs.readFileSync(path.join(ROOT, variable.readBy), 'utf8').includes(variable.name), `${variable.readBy} reads ${variable.name}`)
  }
})

test('what is generated from the table is current (npm run generate)', () => {
  for (const block of BLOCKS) {
    assert.equal(fs.readFileSync(path.join(ROOT, block.file), 'utf8'), regenerated(block), `${block.file} is stale: run npm run generate`)
  }
})

// What a process reads at require: its settings, the directory default-named files go to, and
// the warnings. One with the addon, one with the fallback, for each environment.
const PROBE = `
  const warnings = []
  process.on('warning', (w) => warnings.push(w.message))
  const rheapdump = require(${JSON.stringify(ROOT)})
  setImmediate(() => console.log(JSON.stringify({
    config: rheapdump.getConfig(),
    dir: require(${JSON.stringify(path.join(ROOT, 'lib', 'writer'))}).resolveDir(undefined),
    warnings,
  })))`

const ENVIRONMENTS = [
  { name: 'none', env: {} },
  { name: "heapdump's switch and a bad item", env: { NODE_HEAPDUMP_OPTIONS: 'foo, nosignal' } },
  { name: 'switches and a directory', env: { RHEAPDUMP_WATCHDOG: '0', RHEAPDUMP_QUIET: 'TRUE', RHEAPDUMP_GUARD: 'no', RHEAPDUMP_DIR: '/srv/snaps' } },
  { name: 'values', env: { RHEAPDUMP_SAMPLING: '65536', RHEAPDUMP_SIGNAL_ACTION: 'Profile', RHEAPDUMP_FORK: 'fallback', RHEAPDUMP_QUEUE_TIMEOUT: '250' } },
  { name: 'bad values', env: { RHEAPDUMP_SIGNAL: 'maybe', RHEAPDUMP_NEAR_HEAP_LIMIT: 'lots', RHEAPDUMP_SAMPLING: '-5', RHEAPDUMP_SIGNAL_ACTION: 'dump', RHEAPDUMP_FORK: 'sometimes', RHEAPDUMP_QUEUE_TIMEOUT: 'soon' } },
  { name: 'NODE_OPTIONS with quotes', env: { NODE_OPTIONS: '--max-old-space-size=100 --diagnostic-dir "/with space/dir"' } },
  { name: '--diagnostic-dir DIR on the command line, over NODE_OPTIONS', env: { NODE_OPTIONS: '--diagnostic-dir=/from-options' }, args: ['--diagnostic-dir', '/from-argv'] },
]

test('the addon path and the pure-JS fallback read the same environments the same way', () => {
  for (const { name, env, args = [] } of ENVIRONMENTS) {
    const [addon, fallback] = ['0', '1'].map((forced) => {
      const result = runScript(PROBE, { env: { RHEAPDUMP_SIGNAL: '0', ...env, RHEAPDUMP_FALLBACK: forced }, args })
      assert.equal(result.status, 0, `${name}: ${result.stderr}`)
      return JSON.parse(result.stdout)
    })
    assert.deepEqual(fallback, addon, name)
    const expected = readStartup({ RHEAPDUMP_SIGNAL: '0', ...env }, args)
    assert.deepEqual(addon.config, expected.config, `${name}: the settings read at require`)
    assert.deepEqual(addon.warnings, expected.warnings, `${name}: each ignored value warned about once`)
  }
})

test('near-heap-limit snapshots asked for in the environment: armed by the addon; the fallback says it cannot', { skip: process.env.RHEAPDUMP_FALLBACK === '1' && 'runs both paths itself' }, () => {
  const [addon, fallback] = ['0', '1'].map((forced) => runScript(PROBE, { env: { RHEAPDUMP_NEAR_HEAP_LIMIT: '2', RHEAPDUMP_FALLBACK: forced } }))
  assert.equal(JSON.parse(addon.stdout).config.nearHeapLimit, 2)
  assert.equal(JSON.parse(fallback.stdout).config.nearHeapLimit, 0)
  assert.match(fallback.stderr, /rheapdump: near-heap-limit snapshots are off: .*ERR_RHEAPDUMP_NO_ADDON|rheapdump: near-heap-limit snapshots are off: .*native addon/)
})
