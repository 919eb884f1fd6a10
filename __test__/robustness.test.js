'use strict'

// Attacks on the signal path: storms of signals, Workers that come and go, and exits while a
// snapshot is in flight. Short versions; RHEAPDUMP_LONG_TESTS=1 runs them at full size.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, waitFor, startApp, snapshotFiles, runScript } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

const LONG = process.env.RHEAPDUMP_LONG_TESTS === '1'

function assertSound(files) {
  for (const file of files) assert.equal(countObjectsByName(validateFile(file).snap, 'FixtureLeak'), 2000, file)
}

function leftovers(dir) {
  return fs.readdirSync(dir).filter((name) => !name.endsWith('.heapsnapshot'))
}

async function storm(app, count) {
  // Bursts of kill(2) with a yield between them, so the storm lasts about a second.
  for (let sent = 0; sent < count; sent += 50) {
    for (let i = 0; i < 50 && sent + i < count; i++) app.signal()
    await new Promise((resolve) => setTimeout(resolve, 1000 / (count / 50)))
  }
}

for (const state of ['idle', 'stuck']) {
  test(`a storm of ${LONG ? 1000 : 200} SIGUSR2 at a ${state} process: it survives, and every file is sound`, async (t) => {
    const cwd = tempDir(t)
    const app = await startApp(t, { cwd })
    await app.command({ cmd: 'require', path: ROOT })
    if (state === 'stuck') {
      app.send({ cmd: 'busy', ms: 4000 })
      await app.waitEvent('busy-start')
    }
    await storm(app, LONG ? 1000 : 200)
    if (state === 'stuck') await app.waitEvent('busy-end', 60000)
    // Quiet: no snapshot event for a while, then ask for the counts.
    let settled = -1
    await waitFor(
      () => {
        const n = app.events.filter((e) => e.event === 'snapshot-event').length
        const stable = n === settled
        settled = n
        return stable && n > 0
      },
      { interval: 2000, timeout: 120000, what: 'snapshots to settle' },
    )
    await app.command({ cmd: 'status' })
    const { status } = app.events.findLast((e) => e.event === 'status')
    const files = snapshotFiles(cwd)
    t.diagnostic(`${status.received} received, ${status.coalesced} coalesced, ${files.length} written`)
    assert.equal(app.exited, null)
    assert.equal(files.length, status.received - status.coalesced)
    assert.ok(files.length <= 10, `bounded: ${files.length} snapshots`)
    assert.deepEqual(leftovers(cwd), [])
    assertSound(files)
  })
}

test(`${LONG ? 300 : 60} Workers that load rheapdump start and exit while signals arrive`, async (t) => {
  const cwd = tempDir(t)
  const total = LONG ? 300 : 60
  const source = `
    const { Worker } = require('node:worker_threads')
    require(${JSON.stringify(ROOT)})
    class FixtureLeak {}
    globalThis.keep = Array.from({ length: 2000 }, () => new FixtureLeak())
    let started = 0, exited = 0
    const signals = setInterval(() => process.kill(process.pid, 'SIGUSR2'), 150)
    function spawn() {
      if (started === ${total}) return
      started++
      const w = new Worker('require(${JSON.stringify(ROOT)}).memoryUsage(); if (Math.random() < 0.5) process.exit(0)', { eval: true })
      w.on('exit', () => { exited++; if (exited === ${total}) { clearInterval(signals); console.log('all exited') } else spawn() })
    }
    for (let i = 0; i < 4; i++) spawn()
  `
  const result = runScript(source, { cwd, timeout: 240000 })
  assert.deepEqual([result.status, result.signal], [0, null], result.stderr)
  assert.equal(result.stdout.trim(), 'all exited')
  const files = snapshotFiles(cwd)
  t.diagnostic(`${files.length} snapshots during the churn`)
  assert.ok(files.length > 0)
  assert.deepEqual(leftovers(cwd), [])
  assertSound(files)
})

const exits = [
  ['process.exit()', `process.exit(7)`, { code: 7, signal: null }],
  ['an uncaught exception', `throw new Error('boom')`, { code: 1, signal: null }],
  ['SIGTERM', `process.kill(process.pid, 'SIGTERM')`, { code: null, signal: 'SIGTERM' }],
]

for (const [name, how, expected] of exits) {
  test(`${name} while a snapshot is being taken inside an interrupt ends the process as without rheapdump, leaving nothing`, async (t) => {
    const cwd = tempDir(t)
    // A big heap makes the snapshot long; the app ends itself from a timer that fires inside it.
    const source = `
      require(${JSON.stringify(ROOT)})
      globalThis.big = Array.from({ length: 400000 }, (_, i) => ({ i, s: 'x' + i }))
      setTimeout(() => {
        process.kill(process.pid, 'SIGUSR2')
        const end = Date.now() + 300
        while (Date.now() < end) {} // stuck: the interrupt takes the snapshot
        ${how}
      }, 200)
    `
    const child = require('node:child_process').spawnSync(process.execPath, ['-e', source], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env },
      timeout: 60000,
    })
    assert.deepEqual({ code: child.status, signal: child.signal }, expected, child.stderr)
    assert.doesNotMatch(child.stderr, /Waiting for the debugger|Assertion|Aborted|FATAL|uv_loop_close/)
    assert.deepEqual(leftovers(cwd), [])
    for (const file of snapshotFiles(cwd)) validateFile(file)
  })
}

test('SIGTERM from outside in the middle of a snapshot write kills as usual and leaves no file', async (t) => {
  const cwd = tempDir(t)
  const app = await startApp(t, { cwd, env: { FIXTURE_COUNT: '600000' } })
  await app.command({ cmd: 'require', path: ROOT })
  app.send({ cmd: 'busy', ms: 20000 })
  await app.waitEvent('busy-start')
  app.signal()
  // The snapshot of a 600,000-object heap takes seconds; kill well inside it.
  await new Promise((resolve) => setTimeout(resolve, 700))
  assert.deepEqual(fs.readdirSync(cwd), [], 'still writing')
  app.signal('SIGTERM')
  assert.deepEqual(await app.waitExit(), { code: null, signal: 'SIGTERM' })
  assert.deepEqual(fs.readdirSync(cwd), [], 'the anonymous file vanished with the process')
})

test('the process can exit while the main thread is stuck and a snapshot is pending', () => {
  // The signal arrives during a busy loop that ends with process.exit: whatever state the
  // request is in, no abort and no leftover.
  for (let i = 0; i < (LONG ? 30 : 8); i++) {
    const cwd = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rheapdump-exit-'))
    const result = runScript(
      `require(${JSON.stringify(ROOT)})
       globalThis.big = Array.from({ length: 100000 }, (_, i) => ({ i }))
       setTimeout(() => {
         process.kill(process.pid, 'SIGUSR2')
         const end = Date.now() + ${i * 15}
         while (Date.now() < end) {}
         process.exit(3)
       }, 100)`,
      { cwd, timeout: 60000 },
    )
    const left = leftovers(cwd)
    fs.rmSync(cwd, { recursive: true, force: true })
    assert.deepEqual([result.status, result.signal, left], [3, null, []], `run ${i}: ${result.stderr}`)
    assert.doesNotMatch(result.stderr, /Waiting for the debugger|Assertion|Aborted|FATAL/)
  }
})

test(`${LONG ? 100 : 20} snapshots in a row, signal and API mixed: fds, threads and RSS return to baseline`, async (t) => {
  const cwd = tempDir(t)
  const total = LONG ? 100 : 20
  const source = `
    const fs = require('node:fs')
    const rheapdump = require(${JSON.stringify(ROOT)})
    class FixtureLeak { constructor(i) { this.i = i } }
    globalThis.keep = Array.from({ length: 2000 }, (_, i) => new FixtureLeak(i))
    const fds = () => fs.readdirSync('/proc/self/fd').length
    const threads = () => fs.readdirSync('/proc/self/task').length
    const rss = () => rheapdump.memoryUsage().rss
    const samples = []
    let taken = 0
    rheapdump.configure({ quiet: true, keep: 3 })
    rheapdump.on('snapshot', () => setImmediate(next))
    function next() {
      samples.push({ fds: fds(), threads: threads(), rss: rss() })
      if (taken === ${total}) {
        clearInterval(alive)
        return console.log(JSON.stringify(samples))
      }
      taken++
      if (taken % 2) process.kill(process.pid, 'SIGUSR2')
      else rheapdump.snapshot()
    }
    // rheapdump keeps nothing alive, so a pending signal would not either.
    const alive = setInterval(() => {}, 1000)
    // Let start-up settle before the baseline.
    setTimeout(() => { rheapdump.gc(); next() }, 500)
  `
  const result = runScript(source, { cwd, timeout: 600000 })
  assert.equal(result.status, 0, result.stderr)
  const samples = JSON.parse(result.stdout)
  const [baseline, ...after] = samples
  const maxOf = (key) => Math.max(...after.map((s) => s[key]))
  t.diagnostic(`baseline fds ${baseline.fds}, threads ${baseline.threads}, rss ${(baseline.rss / 1048576).toFixed(1)} MiB; ` +
    `after ${total}: max fds ${maxOf('fds')}, max threads ${maxOf('threads')}, max rss ${(maxOf('rss') / 1048576).toFixed(1)} MiB, ` +
    `last rss ${(after.at(-1).rss / 1048576).toFixed(1)} MiB`)
  assert.ok(maxOf('fds') <= baseline.fds, 'no file descriptor leak')
  assert.equal(after.at(-1).fds, samples[samples.length - 3].fds, 'fds stable at the end')
  assert.equal(maxOf('threads'), baseline.threads, 'no thread: the hand-off starts none')
  assert.ok(after.at(-1).rss < baseline.rss + 64 * 1024 * 1024, 'RSS returns near its baseline')
  assert.equal(snapshotFiles(cwd).length, 3, 'keep: 3')
  assertSound(snapshotFiles(cwd))
  assert.deepEqual(leftovers(cwd), [])
})
