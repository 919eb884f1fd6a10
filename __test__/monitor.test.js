'use strict'

// monitor() in real processes: leaks, steady workloads, GC pressure, snapshots near the heap
// limit and above thresholds, and retention.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, runScript, snapshotFiles } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

const PRELUDE = `
  const rheapdump = require(${JSON.stringify(ROOT)})
  const out = (value) => console.log(JSON.stringify(value))
`

function inChild(body, { cwd, env, args, timeout } = {}) {
  const result = runScript(PRELUDE + body, { cwd, env: { RHEAPDUMP_SIGNAL: '0', ...env }, args, timeout })
  return { ...result, lines: result.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) }
}

test('a heap that keeps growing after full GCs raises leak with growth, period and rate', () => {
  const { status, stderr, lines } = inChild(`
    const m = rheapdump.monitor({ interval: 200 })
    const leak = []
    const grow = setInterval(() => { for (let i = 0; i < 5000; i++) leak.push({ i, s: 'leak' + i }); rheapdump.gc() }, 20)
    m.once('leak', (event) => { out(event); clearInterval(grow); m.stop() })
  `)
  assert.equal(status, 0, stderr)
  const [event] = lines
  assert.equal(event.rule, 'full-gcs')
  assert.equal(event.confirmed, true)
  assert.equal(event.samples.length, 6, 'five growths in a row')
  for (let i = 1; i < 6; i++) assert.ok(event.samples[i] - event.samples[i - 1] >= 32 * 1024)
  assert.equal(event.growth, event.samples[5] - event.samples[0])
  assert.ok(event.periodMs > 0 && event.ratePerHour > 0)
  // What grew, by space, largest first: the leaked objects live in the old space after full GCs.
  const spaces = Object.entries(event.spaces)
  assert.equal(spaces[0][0], 'old_space', JSON.stringify(event.spaces))
  assert.ok(spaces.every(([, bytes], i) => bytes > 0 && (i === 0 || bytes <= spaces[i - 1][1])))
  assert.ok(spaces.reduce((sum, [, bytes]) => sum + bytes, 0) >= event.growth * 0.5)
})

// ~100 MB/s with no forced GC: V8 runs only a few full GCs (measured: 2-3 in 20 s), too few for
// the streak of five, so the alarm must come from the heap after scavenges.
test('a fast leak that V8 gives few full GCs raises leak by the growth rule, long before five full GCs', () => {
  const { status, stderr, lines } = inChild(`
    const m = rheapdump.monitor({ interval: 1000 })
    const leak = []
    let fullGcs = 0
    m.on('gc', (gc) => { if (gc.kind === 'mark-compact') fullGcs++ })
    const grow = setInterval(() => { for (let i = 0; i < 20000; i++) leak.push({ i, s: 'leak' + i }) }, 20)
    m.once('leak', (event) => { clearInterval(grow); m.stop(); out({ event, fullGcs }) })
    setTimeout(() => { clearInterval(grow); m.stop(); out({ event: null, fullGcs }) }, 60000).unref()
  `, { timeout: 90000 })
  assert.equal(status, 0, stderr)
  const [{ event, fullGcs }] = lines
  assert.ok(event, `no leak alarm in 60 s (${fullGcs} full GCs)`)
  assert.equal(event.rule, 'growth')
  assert.ok(fullGcs < 5, `${fullGcs} full GCs: the streak rule could have fired`)
  assert.ok(event.growth >= 64 * 1024 * 1024, JSON.stringify(event))
  assert.equal(event.growth, event.samples.at(-1) - event.samples[0])
  assert.equal(event.heapUsed, event.samples.at(-1))
  assert.ok(event.samples.every((used) => used <= event.heapUsed))
  assert.ok(event.samples.length >= 3)
  assert.equal(typeof event.confirmed, 'boolean')
  assert.ok(event.periodMs <= 10000 && event.ratePerHour > 0)
  assert.ok(Object.keys(event.spaces).includes('old_space'), JSON.stringify(event.spaces))
})

test('a steady rolling cache (promoting garbage between full GCs) raises no leak', () => {
  const { status, stderr, lines } = inChild(`
    const m = rheapdump.monitor({ interval: 200 })
    let leaks = 0, gcs = 0
    m.on('leak', () => leaks++)
    m.on('gc', () => gcs++)
    let cache = new Map()
    const work = setInterval(() => {
      const base = Date.now() * 100000
      for (let i = 0; i < 20000; i++) cache.set((base + i) % 2000000, { i, s: 'x' + i, list: [i] })
      if (cache.size > 400000) cache = new Map()
    }, 20)
    setTimeout(() => { clearInterval(work); setTimeout(() => { m.stop(); out({ leaks, gcs }) }, 1100) }, 8000)
  `, { timeout: 60000 })
  assert.equal(status, 0, stderr)
  const [{ leaks, gcs }] = lines
  assert.ok(gcs > 20, `${gcs} GCs`)
  assert.equal(leaks, 0)
})

test('a steady workload with hundreds of full GCs raises no leak', () => {
  const { status, stderr, lines } = inChild(`
    const m = rheapdump.monitor({ interval: 200 })
    let leaks = 0, fullGcs = 0
    m.on('leak', () => leaks++)
    m.on('gc', (gc) => { if (gc.kind === 'mark-compact') fullGcs++ })
    globalThis.state = Array.from({ length: 50000 }, (_, i) => ({ i }))
    const work = setInterval(() => { let tmp = []; for (let i = 0; i < 20000; i++) tmp.push({ i, s: 'x' + i }); tmp = null; rheapdump.gc() }, 10)
    setTimeout(() => { clearInterval(work); setTimeout(() => { m.stop(); out({ leaks, fullGcs }) }, 300) }, 4000)
  `)
  assert.equal(status, 0, stderr)
  const [{ leaks, fullGcs }] = lines
  assert.ok(fullGcs > 100, `${fullGcs} full GCs`)
  assert.equal(leaks, 0)
})

test('a GC-heavy loop raises pressure, and stats count GCs per kind', () => {
  const { status, stderr, lines } = inChild(`
    // The heap first, then the monitor: on a loaded machine the scavenges that build it can by
    // themselves take 20% of a second, before the loop has run a full GC.
    globalThis.state = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'live' + i }))
    const m = rheapdump.monitor({ interval: 300, window: 1000, pressure: 0.2 })
    const stats = []
    m.on('stats', (s) => stats.push(s))
    const churn = setInterval(() => rheapdump.gc(), 1)
    m.once('pressure', (p) => { clearInterval(churn); m.stop(); out({ pressure: p, stats: stats.at(-1), all: stats.map((s) => s.gc) }) })
  `)
  assert.equal(status, 0, stderr)
  const [{ pressure, stats, all }] = lines
  assert.ok(pressure.share > 0.2 && pressure.share <= 1, JSON.stringify(pressure))
  assert.equal(pressure.threshold, 0.2)
  // Counts are per interval, pressure is over the window: on a loaded machine the interval that
  // tips the window over may itself have run no GC, so count the full GCs over all the intervals.
  const fullGcs = all.map((gc) => gc['mark-compact']).filter(Boolean)
  assert.ok(fullGcs.reduce((n, c) => n + c.count, 0) > 0 && fullGcs.every((c) => c.pauseMs > 0), JSON.stringify(all))
  assert.ok(stats.heapUsedAfterLastFullGc > 10 * 1024 * 1024)
  assert.equal(stats.gcShare, pressure.share)
})

test('an idle process raises no pressure, a pause at the start is judged over the whole window, and a monitor never keeps a process alive', () => {
  const { status, stderr, lines } = inChild(`
    globalThis.state = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'live' + i }))
    const m = rheapdump.monitor({ interval: 100, window: 3000, pressure: 0.05 })
    // One full GC right at the start: measured 20-45 ms, a large share of the first 100 ms and
    // about 1% of the window. A share over the first interval alone raised pressure on a loaded
    // machine.
    rheapdump.gc()
    let pressure = 0
    const shares = []
    m.on('pressure', () => pressure++)
    m.on('stats', (s) => shares.push([s.gcShare, s.windowMs]))
    setTimeout(() => out({ pressure, shares }), 4500)
    rheapdump.monitor() // a second one, never stopped: the process must still exit
  `, { timeout: 15000 })
  assert.equal(status, 0, stderr)
  const [{ pressure, shares }] = lines
  assert.ok(shares.length >= 30, JSON.stringify(shares))
  // The pause was seen: over the first interval it is above the threshold. (Whether it still
  // counts once the window is whole depends on how late 30 interval timers run; the GC-heavy test
  // above shows pressure judged over a whole window.)
  assert.ok(shares[0][0] > 0.05 && shares[0][1] < 3000, JSON.stringify(shares))
  assert.ok(shares.some(([, windowMs]) => windowMs === 3000), JSON.stringify(shares))
  assert.equal(pressure, 0, JSON.stringify(shares))
})

test('monitor() rejects bad options with a code', () => {
  const { lines } = inChild(`
    const cases = [{ pressure: 2 }, { interval: 'x' }, { bogus: 1 }, { snapshots: { nearHeapLimit: 1.5 } }, { leakGrowths: 2.5 },
      { interval: 3e9 }, { interval: 0.001 }, { snapshots: { max: 0.5 } }, { snapshots: { nearHeapLimit: 2 ** 32 } }, { constructor: 1 },
      { leakWindow: 50 }, { leakFastGrowth: 0 }, { leakFastGrowth: '64MB' }]
    process.on('warning', (warning) => out(warning.name))
    for (const options of cases) {
      try { rheapdump.monitor(options).stop(); out('accepted') } catch (err) { out(err.code) }
    }
  `)
  assert.deepEqual(lines, ['ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE',
    'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE',
    'ERR_OUT_OF_RANGE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE'])
})

const nearLimitSwitches = [
  ['monitor({ snapshots: { nearHeapLimit: true } })', `rheapdump.monitor({ snapshots: { nearHeapLimit: true } })`, {}],
  ['configure({ nearHeapLimit: true })', `rheapdump.configure({ nearHeapLimit: true })`, {}],
  ['RHEAPDUMP_NEAR_HEAP_LIMIT=1', '', { RHEAPDUMP_NEAR_HEAP_LIMIT: '1' }],
]

for (const [name, arm, env] of nearLimitSwitches) test(`near the heap limit (${name}), a process about to die of OOM leaves a sound rheapdump snapshot`, (t) => {
  const cwd = tempDir(t)
  const { status, signal, stderr } = inChild(
    `${arm}
     class Hoarded { constructor(i) { this.i = i; this.s = 'h' + i } }
     const hoard = []
     setInterval(() => { for (let i = 0; i < 20000; i++) hoard.push(new Hoarded(i)) }, 1)`,
    { cwd, env, args: ['--max-old-space-size=40'], timeout: 120000 },
  )
  assert.ok(status !== 0 || signal, 'the process still dies of OOM')
  assert.match(stderr, /heap out of memory/)
  const files = snapshotFiles(cwd)
  assert.equal(files.length, 1, stderr)
  assert.match(path.basename(files[0]), /^heapdump-\d{8}T\d{6}\.\d{6}Z-\d+-[0-9a-z]{6}-\d+\.heapsnapshot$/)
  assert.match(stderr, new RegExp(`rheapdump: wrote ${files[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*near the heap limit`))
  assert.ok(countObjectsByName(validateFile(files[0]).snap, 'Hoarded') > 100000)
  assert.deepEqual(fs.readdirSync(cwd).filter((n) => !n.endsWith('.heapsnapshot')), [])
})

test('above a heap threshold, at most max snapshots are taken, at least minInterval apart', (t) => {
  const dir = tempDir(t)
  const { status, stderr, lines } = inChild(`
    class Big { constructor(i) { this.i = i } }
    globalThis.big = Array.from({ length: 200000 }, (_, i) => new Big(i))
    const m = rheapdump.monitor({ interval: 100, snapshots: { heapUsed: 1024 * 1024, max: 2, minInterval: 500, dir: ${JSON.stringify(dir)} } })
    const taken = []
    const done = () => { m.stop(); out(taken) }
    const deadline = setTimeout(done, 30000)
    rheapdump.on('snapshot', (info) => {
      taken.push({ at: Date.now(), trigger: info.trigger, reason: info.reason })
      // Each snapshot takes a second or more on a loaded machine: wait for the second one, then
      // long enough for a third (interval 100 + minInterval 500) that max: 2 must prevent.
      if (taken.length === 2) { clearTimeout(deadline); setTimeout(done, 1500) }
    })
  `)
  assert.equal(status, 0, stderr)
  const [taken] = lines
  assert.equal(taken.length, 2)
  assert.ok(taken[1].at - taken[0].at >= 500)
  assert.deepEqual(taken.map((s) => s.trigger), ['threshold', 'threshold'])
  assert.match(taken[0].reason, /^heap used [\d.]+ MiB > 1\.0 MiB$/)
  const files = snapshotFiles(dir)
  assert.equal(files.length, 2)
  for (const file of files) assert.equal(countObjectsByName(validateFile(file).snap, 'Big'), 200000)
})

test('keep: only rheapdump\'s own oldest snapshots are deleted, never other files', (t) => {
  const dir = tempDir(t)
  const others = ['heapdump-1234567.123456.heapsnapshot', 'Heap.20260101.000000.1.0.001.heapsnapshot', 'notes.txt']
  for (const name of others) fs.writeFileSync(path.join(dir, name), 'not ours')
  const { status, stderr, lines } = inChild(`
    rheapdump.configure({ keep: 2, dir: ${JSON.stringify(dir)} })
    const written = []
    for (let i = 0; i < 4; i++) rheapdump.writeSnapshot((err, file) => written.push(file))
    out(written)
  `)
  assert.equal(status, 0, stderr)
  const [written] = lines
  const left = fs.readdirSync(dir).sort()
  assert.deepEqual(left, [...others, ...written.slice(2).map((f) => path.basename(f))].sort())
  assert.equal((stderr.match(/rheapdump: removed /g) || []).length, 2)
})
