'use strict'

// In-process tests of the modules around the hand-off: the shared state (lib/shared.js), what
// a request asks for (lib/handoff.js), settings (lib/settings.js), memory and gc
// (lib/memory.js). None starts the signal watcher: this file never requires index.js.

const assert = require('node:assert/strict')
const EventEmitter = require('node:events')
const { test } = require('node:test')

const { SHARED_KEY, createShared, upgrade, obtainShared } = require('../lib/shared')

const { defaults } = require('../lib/config')

const startup = () => ({ config: defaults(), diagnosticDir: null, warnings: [] })

test('shared: the key carries the shape\'s version', () => {
  assert.match(SHARED_KEY, /^rheapdump\.shared\.v\d+$/)
})

test('shared: the first copy makes the state from the start-up settings; later copies get the same object', () => {
  const host = {}
  let reads = 0
  const read = () => (reads++, { ...startup(), config: { ...defaults(), dir: '/snapshots', sampling: 4096 } })
  const first = obtainShared(host, read)
  const second = obtainShared(host, read)
  assert.equal(first, second)
  assert.equal(reads, 1, 'the settings are read once')
  assert.equal(host[Symbol.for(SHARED_KEY)], first, 'kept under the versioned key, where another copy finds it')
  assert.deepEqual(first.config, { signal: true, watchdog: true, quiet: false, guard: true, memoryLimit: null, keep: null, nearHeapLimit: 0, dir: '/snapshots', queueTimeout: 300000, sampling: 4096, signalAction: 'both', fork: false, forkAbove: 3000, upload: null, uploadKeepLocal: true, compress: 'off' })
  assert.ok(first.emitter instanceof EventEmitter)
  assert.equal(first.controller, null)
})

test('shared: state made by an older copy of the same version gets the fields added since', () => {
  const older = createShared(startup())
  delete older.config.sampling
  delete older.config.signalAction
  delete older.config.fork
  delete older.sampling
  const host = { [Symbol.for(SHARED_KEY)]: older }
  const state = obtainShared(host, () => assert.fail('an existing state is not made again'))
  assert.equal(state.config.sampling, false)
  assert.equal(state.config.signalAction, 'both')
  assert.equal(state.config.fork, false)
  assert.deepEqual(state.sampling, { owner: null, interval: null, startedAt: null, borrowNoted: false })
  // Fields already there are not touched.
  const kept = upgrade(Object.assign(createShared(startup()), { config: { ...createShared(startup()).config, sampling: 1024 } }))
  assert.equal(kept.config.sampling, 1024)
})

test('shared: start-up warnings are emitted once, as RheapdumpWarning', async () => {
  const warnings = []
  const onWarning = (warning) => warnings.push(warning)
  process.on('warning', onWarning)
  try {
    const host = {}
    obtainShared(host, () => ({ ...startup(), warnings: ['RHEAPDUMP_GUARD: \'maybe\' is not a switch'] }))
    obtainShared(host, () => ({ ...startup(), warnings: ['again'] }))
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(warnings.map((w) => [w.name, w.message]), [['RheapdumpWarning', 'RHEAPDUMP_GUARD: \'maybe\' is not a switch']])
  } finally {
    process.off('warning', onWarning)
  }
})

test('handoff: what a request asks for, by trigger, signalAction and sampling', () => {
  const { planRequest } = require('../lib/handoff')
  const plan = (trigger, signalAction, sampling) => planRequest(trigger, { signalAction, sampling })
  assert.deepEqual(plan('signal', 'both', false), { profile: false, snapshot: true, samplingOff: false, note: null })
  assert.deepEqual(plan('signal', 'both', 1024), { profile: true, snapshot: true, samplingOff: false, note: null })
  assert.deepEqual(plan('signal', 'snapshot', 1024), { profile: false, snapshot: true, samplingOff: false, note: null })
  assert.deepEqual(plan('signal', 'profile', 1024), { profile: true, snapshot: false, samplingOff: false, note: null })
  assert.deepEqual(plan('signal', 'profile', false), { profile: false, snapshot: false, samplingOff: true, note: null })
  // Near the heap limit both are wanted, whatever the action.
  assert.deepEqual(plan('near-heap-limit', 'profile', 1024), { profile: true, snapshot: true, samplingOff: false, note: 'near the heap limit' })
})

test('handoff: a refused signal snapshot points at the profile written before it, or says how to get one', () => {
  const { refusalHint } = require('../lib/handoff')
  const interval = `${require('../lib/facts').sampling.defaultInterval / 1024}k`
  assert.match(refusalHint({ path: '/srv/heapprofile-1.heapprofile' }, { signalAction: 'both', sampling: 65536 }), /rheapdump profile top \/srv\/heapprofile-1\.heapprofile$/)
  const off = refusalHint(null, { signalAction: 'both', sampling: false })
  assert.ok(off.includes(`RHEAPDUMP_SAMPLING=${interval}`) && off.includes(`configure({ sampling: '${interval}' })`), off)
  assert.match(refusalHint(null, { signalAction: 'snapshot', sampling: 65536 }), /RHEAPDUMP_SIGNAL_ACTION=both/)
  assert.equal(refusalHint(null, { signalAction: 'both', sampling: 65536 }), null, 'a failed profile said why on its own line')
})

test('handoff: the receiver does nothing when there is no request to claim', () => {
  const { receiveRequest } = require('../lib/handoff')
  const { binding } = require('../lib/binding')
  assert.equal(binding.claimRequest(), null)
  receiveRequest('loop')
  receiveRequest('interrupt')
  assert.equal(binding.claimRequest(), null)
})

test('settings: configure checks, applies and returns the settings; getConfig is a copy', (t) => {
  const { configure, getConfig } = require('../lib/settings')
  const { storeAll } = require('../lib/config')
  const before = getConfig()
  t.after(() => configure({ quiet: before.quiet, keep: before.keep, signalAction: before.signalAction }))
  const after = configure({ quiet: true, keep: 3, signalAction: 'profile' })
  assert.equal(after.quiet, true)
  assert.equal(after.keep, 3)
  assert.equal(after.signalAction, 'profile')
  after.keep = 99
  assert.equal(getConfig().keep, 3, 'the returned object is a copy')
  assert.throws(() => configure({ signalAction: 'dump' }), { code: 'ERR_INVALID_ARG_VALUE', message: /'signalAction' must be one of snapshot, profile, both, got 'dump'/ })
  assert.throws(() => configure({ keep: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.equal(getConfig().keep, 3, 'a refused call changes nothing')
  assert.deepEqual([true, false, 3].map((nearHeapLimit) => storeAll({ nearHeapLimit }, 'configure').nearHeapLimit), [1, 0, 3])
})

test('settings: near-heap-limit snapshots are armed only by the copy that owns the signal', () => {
  const { configure } = require('../lib/settings')
  // This file never runs index.js's start-up: no copy owns the signal here.
  assert.throws(() => configure({ nearHeapLimit: 1 }), { code: 'ERR_INVALID_STATE', message: /configure\(\): near-heap-limit snapshots are armed from the main thread/ })
})

test('memory: memoryUsage() reads the process and V8; gc() frees what nothing holds', () => {
  const { memoryUsage, gc } = require('../lib/memory')
  const usage = memoryUsage()
  assert.ok(usage.rss > usage.heapUsed, 'RSS includes the heap')
  assert.ok(usage.vsz > usage.rss)
  assert.ok(usage.heapLimit > usage.heapTotal)
  assert.ok(usage.spaces.old_space.used > 0)
  // Made in a function that returns: nothing holds the objects once it has.
  const made = ((n) => Array.from({ length: n }, (_, i) => ({ i })).length)(200000)
  assert.equal(made, 200000)
  const result = gc()
  assert.ok(result.freed > 1024 * 1024, `freed ${result.freed} bytes`)
  assert.equal(result.freed, result.before - result.after)
  assert.equal(typeof globalThis.gc, 'undefined', 'no global gc left behind')
})
