'use strict'

// SIGUSR2 in real processes: the file it writes, the stuck event loop, coexistence with the
// app's own listeners, the switches that turn it off, coalescing, copies and Workers.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, waitFor, startApp, snapshotFiles, runScript, needsAddon } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

const DEFAULT_NAME = /^heapdump-\d{8}T\d{6}\.\d{6}Z-(\d+)-[0-9a-z]{6}-\d+\.heapsnapshot$/

function assertFixtureSnapshot(file, count = 2000) {
  const { snap } = validateFile(file)
  assert.equal(countObjectsByName(snap, 'FixtureLeak'), count, `FixtureLeak instances in ${file}`)
}

/** Every snapshot in these directories is sound and holds the fixture's objects. */
function assertAllFixtureSnapshots(...dirs) {
  for (const dir of dirs) for (const file of snapshotFiles(dir)) assertFixtureSnapshot(file)
}

/** Signals an app spinning in a 30 s busy loop; returns the snapshot, written while it spins. */
async function snapshotWhileStuck(app, cwd) {
  app.send({ cmd: 'busy', ms: 30000 })
  const busy = await app.waitEvent('busy-start')
  app.signal()
  const signalled = Date.now()
  const [file] = await waitFor(() => snapshotFiles(cwd).length && snapshotFiles(cwd), { timeout: 25000, what: 'snapshot during busy loop' })
  const appeared = Date.now()
  assert.ok(!app.events.some((e) => e.event === 'busy-end'), 'written while the loop was still stuck')
  assertFixtureSnapshot(file)
  return { afterSignalMs: appeared - signalled, intoLoopMs: appeared - busy.at }
}

async function appWithRheapdump(t, options = {}) {
  const cwd = options.cwd ?? tempDir(t)
  const app = await startApp(t, { cwd, ...options })
  await app.command({ cmd: 'require', path: ROOT })
  return { app, cwd }
}

test('SIGUSR2 writes a complete, private snapshot with a default name into the working directory', async (t) => {
  const { app, cwd } = await appWithRheapdump(t)
  app.signal()
  const event = await app.waitEvent('snapshot-event')
  const files = snapshotFiles(cwd)
  assert.equal(files.length, 1)
  const [file] = files
  assert.equal(event.path, file)
  const match = DEFAULT_NAME.exec(path.basename(file))
  assert.ok(match, `default name: ${path.basename(file)}`)
  assert.equal(Number(match[1]), app.child.pid)
  assert.equal(fs.statSync(file).mode & 0o777, 0o600)
  assertFixtureSnapshot(file)
  await waitFor(() => app.stderr.includes('rheapdump: wrote'), { what: 'stderr line' })
  const line = app.stderr.split('\n').find((l) => l.startsWith('rheapdump: wrote'))
  assert.match(line, new RegExp(`^rheapdump: wrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+\\.\\d MiB\\) in \\d+\\.\\d\\d s$`))
  assert.equal(app.exited, null, 'the process keeps running')
})

const STUCK = needsAddon('waits for the event loop')

test('a snapshot is complete within seconds of the signal while the loop spins for 30 s', { skip: STUCK }, async (t) => {
  const { app, cwd } = await appWithRheapdump(t)
  const { afterSignalMs, intoLoopMs } = await snapshotWhileStuck(app, cwd)
  t.diagnostic(`snapshot complete ${afterSignalMs} ms after the signal, ${intoLoopMs} ms into the busy loop`)
})

test('a signal that arrives right after require is served during the stuck loop', { skip: STUCK }, async (t) => {
  const cwd = tempDir(t)
  const app = await startApp(t, { cwd })
  app.send({ cmd: 'require', path: ROOT }) // no wait for the command to finish
  await snapshotWhileStuck(app, cwd)
})

test('the first SIGUSR2, in a loop stuck since require, loads the snapshot\'s code inside the interrupt and writes a complete snapshot', { skip: STUCK }, (t) => {
  // require() leaves the snapshot's path (lib/capture.js, the guard, the writer) for the first
  // request: here that request comes while synchronous code holds the thread, so the modules
  // are compiled inside the V8 interrupt. The loop below never yields; only the interrupt can
  // write the file, and it appears only complete, under its final name.
  const cwd = tempDir(t)
  const run = runScript(`
    const fs = require('node:fs')
    const path = require('node:path')
    const rheapdump = require(${JSON.stringify(ROOT)})
    const lib = path.join(${JSON.stringify(ROOT)}, 'lib')
    const loaded = () => Object.keys(require.cache).filter((f) => path.dirname(f) === lib).map((f) => path.basename(f)).sort()
    const atRequire = loaded()
    class Marker {}
    globalThis.keep = Array.from({ length: 1000 }, () => new Marker())
    const deadline = Date.now() + 30000
    process.kill(process.pid, 'SIGUSR2')
    let file
    while (!file && Date.now() < deadline) file = fs.readdirSync('.').find((f) => f.endsWith('.heapsnapshot'))
    console.log(JSON.stringify({ atRequire, atFile: loaded(), file, spunMs: 30000 - (deadline - Date.now()) }))
    process.exit(0)
  `, { cwd, timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const { atRequire, atFile, file } = JSON.parse(run.stdout)
  for (const module of ['capture.js', 'snapshot.js', 'guard.js', 'writer.js']) {
    assert.ok(!atRequire.includes(module), `${module} loaded at require: ${atRequire}`)
    assert.ok(atFile.includes(module), `${module} not loaded by the signal: ${atFile}`)
  }
  assert.ok(file, `no snapshot within 30 s of the signal while the loop spun: ${run.stderr}`)
  assert.match(file, DEFAULT_NAME)
  assert.equal(countObjectsByName(validateFile(path.join(cwd, file)).snap, 'Marker'), 1000)
  assert.doesNotMatch(run.stderr, /could not take the snapshot/)
})

test('with RHEAPDUMP_WATCHDOG=0, a signal during a busy loop waits for the loop and then writes', async (t) => {
  const { app, cwd } = await appWithRheapdump(t, { env: { RHEAPDUMP_WATCHDOG: '0' } })
  app.send({ cmd: 'busy', ms: 1500 })
  await app.waitEvent('busy-start')
  app.signal()
  const event = await app.waitEvent('snapshot-event')
  const busyEnd = app.events.find((e) => e.event === 'busy-end')
  assert.ok(busyEnd && busyEnd.at <= event.at, 'written after the loop freed up')
  assertFixtureSnapshot(snapshotFiles(cwd)[0])
})

test('a burst of signals makes one snapshot, and the coalesced ones are counted', async (t) => {
  const { app, cwd } = await appWithRheapdump(t)
  app.send({ cmd: 'busy', ms: 4000 })
  await app.waitEvent('busy-start')
  for (let i = 0; i < 20; i++) app.signal()
  await app.waitEvent('busy-end', 30000)
  await app.waitEvent('snapshot-event')
  await app.command({ cmd: 'status' })
  const { status } = app.events.findLast((e) => e.event === 'status')
  assert.equal(snapshotFiles(cwd).length, 1)
  assert.ok(status.received >= 1 && status.coalesced === status.received - 1, JSON.stringify(status))
  app.signal()
  await waitFor(() => snapshotFiles(cwd).length === 2, { what: 'a later signal makes a new snapshot' })
  await app.waitEvent((e) => e.event === 'snapshot-event' && e.path === snapshotFiles(cwd)[1])
  assertAllFixtureSnapshots(cwd)
})

for (const order of ['before', 'after']) {
  test(`an app listener added ${order} require keeps being called, alongside the snapshot`, async (t) => {
    const cwd = tempDir(t)
    const app = await startApp(t, { cwd })
    if (order === 'before') await app.command({ cmd: 'addListener' })
    await app.command({ cmd: 'require', path: ROOT })
    if (order === 'after') await app.command({ cmd: 'addListener' })
    app.signal()
    await app.waitEvent('app-listener')
    await app.waitEvent('snapshot-event')
    assert.equal(snapshotFiles(cwd).length, 1)
    assertAllFixtureSnapshots(cwd)
  })
}

test('removing the app listeners never makes SIGUSR2 fatal', { skip: needsAddon('listens with process.on, which removeAllListeners removes') }, async (t) => {
  const { app, cwd } = await appWithRheapdump(t)
  await app.command({ cmd: 'addListener' })
  await app.command({ cmd: 'removeListeners' })
  app.signal()
  await app.waitEvent('snapshot-event')
  assert.equal(app.exited, null)
  assert.equal(snapshotFiles(cwd).length, 1)
  assertAllFixtureSnapshots(cwd)
})

const switchesOff = [
  ['NODE_HEAPDUMP_OPTIONS=nosignal', { env: { NODE_HEAPDUMP_OPTIONS: 'nosignal' } }],
  ['RHEAPDUMP_SIGNAL=0', { env: { RHEAPDUMP_SIGNAL: '0' } }],
  ['configure({ signal: false })', { configure: { signal: false } }],
]

for (const [name, how] of switchesOff) {
  test(`with ${name}, SIGUSR2 behaves as without rheapdump: default action kills`, async (t) => {
    const { app, cwd } = await appWithRheapdump(t, { env: how.env })
    if (how.configure) await app.command({ cmd: 'configure', options: how.configure })
    app.signal()
    const exit = await app.waitExit()
    assert.deepEqual(exit, { code: null, signal: 'SIGUSR2' })
    assert.equal(snapshotFiles(cwd).length, 0)
  })

  test(`with ${name}, SIGUSR2 only reaches the app's listener`, async (t) => {
    const { app, cwd } = await appWithRheapdump(t, { env: how.env })
    if (how.configure) await app.command({ cmd: 'configure', options: how.configure })
    await app.command({ cmd: 'addListener' })
    app.signal()
    await app.waitEvent('app-listener')
    await app.command({ cmd: 'status' })
    assert.equal(app.exited, null)
    assert.equal(snapshotFiles(cwd).length, 0)
  })
}

test('configure({ signal: true }) turns a disabled handler back on', async (t) => {
  const { app, cwd } = await appWithRheapdump(t, { env: { RHEAPDUMP_SIGNAL: 'off' } })
  await app.command({ cmd: 'configure', options: { signal: true } })
  app.signal()
  await app.waitEvent('snapshot-event')
  assert.equal(snapshotFiles(cwd).length, 1)
  assertAllFixtureSnapshots(cwd)
})

test('RHEAPDUMP_DIR wins over --diagnostic-dir, which wins over the working directory', async (t) => {
  const cwd = tempDir(t)
  const envDir = tempDir(t)
  const diagDir = tempDir(t)
  const withBoth = await startApp(t, { cwd, env: { RHEAPDUMP_DIR: envDir }, execArgv: [`--diagnostic-dir=${diagDir}`] })
  await withBoth.command({ cmd: 'require', path: ROOT })
  withBoth.signal()
  await withBoth.waitEvent('snapshot-event')
  assert.equal(snapshotFiles(envDir).length, 1)

  const withDiag = await startApp(t, { cwd, env: { NODE_OPTIONS: `--diagnostic-dir=${diagDir}` } })
  await withDiag.command({ cmd: 'require', path: ROOT })
  withDiag.signal()
  await withDiag.waitEvent('snapshot-event')
  assert.equal(snapshotFiles(diagDir).length, 1)
  assert.equal(snapshotFiles(cwd).length, 0)
  assertAllFixtureSnapshots(envDir, diagDir)
})

test('the working directory is read at the time of the snapshot', async (t) => {
  const { app } = await appWithRheapdump(t)
  const later = tempDir(t)
  await app.command({ cmd: 'chdir', dir: later })
  app.signal()
  await app.waitEvent('snapshot-event')
  assert.equal(snapshotFiles(later).length, 1)
  assertAllFixtureSnapshots(later)
})

test('a failed signal snapshot says why on stderr, and the next one works', async (t) => {
  const base = tempDir(t)
  const dir = path.join(base, 'snaps')
  fs.mkdirSync(dir)
  const { app } = await appWithRheapdump(t, { env: { RHEAPDUMP_DIR: dir } })
  fs.rmSync(dir, { recursive: true })
  app.signal()
  const failure = await app.waitEvent('snapshot-error-event')
  assert.equal(failure.code, 'ENOENT')
  assert.equal(failure.path, dir)
  await waitFor(() => app.stderr.includes('rheapdump: heap snapshot failed: ENOENT'), { what: 'stderr failure line' })
  assert.ok(app.stderr.includes(`ENOENT ${dir} (no such file or directory)`), app.stderr)
  fs.mkdirSync(dir)
  app.signal()
  await app.waitEvent('snapshot-event')
  assert.equal(snapshotFiles(dir).length, 1)
  assertAllFixtureSnapshots(dir)
})

test('RHEAPDUMP_QUIET=1 silences the stderr line but not the event', async (t) => {
  const { app } = await appWithRheapdump(t, { env: { RHEAPDUMP_QUIET: '1' } })
  app.signal()
  await app.waitEvent('snapshot-event')
  await app.command({ cmd: 'status' })
  assert.equal(app.stderr, '')
  assertFixtureSnapshot(app.events.find((e) => e.event === 'snapshot-event').path)
})

test('two copies of the package in one process still write one snapshot per signal', async (t) => {
  const cwd = tempDir(t)
  const copies = ['a', 'b'].map((name) => {
    const dir = path.join(cwd, name, 'node_modules', 'rheapdump')
    fs.mkdirSync(dir, { recursive: true })
    for (const entry of ['index.js', 'package.json', 'lib', ...fs.readdirSync(ROOT).filter((f) => f.endsWith('.node'))]) {
      fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true })
    }
    return dir
  })
  const app = await startApp(t, { cwd })
  for (const copy of copies) await app.command({ cmd: 'require', path: copy })
  app.signal()
  await app.waitEvent('snapshot-event')
  await waitFor(() => app.stderr.includes('rheapdump: wrote'), { what: 'stderr line' })
  app.signal()
  await waitFor(() => snapshotFiles(cwd).length >= 2, { what: 'second snapshot' })
  await app.command({ cmd: 'status' })
  assert.equal(snapshotFiles(cwd).length, 2)
  assert.equal(app.stderr.split('\n').filter((l) => l.startsWith('rheapdump: wrote')).length, 2)
  assertAllFixtureSnapshots(cwd)
})

test('rheapdump loaded in Workers works there and never snapshots twice per signal', async (t) => {
  const cwd = tempDir(t)
  const source = `
    const { Worker } = require('node:worker_threads')
    const rheapdump = require(${JSON.stringify(ROOT)})
    class MainOnly {}
    globalThis.keep = Array.from({ length: 123 }, () => new MainOnly())
    const code = \`
      const { parentPort } = require('node:worker_threads')
      const r = require(${JSON.stringify(ROOT)})
      class WorkerOnly {}
      globalThis.keep = Array.from({ length: 321 }, () => new WorkerOnly())
      r.writeSnapshot('worker.heapsnapshot', (err, file) => parentPort.postMessage(err ? err.message : file))
      parentPort.on('message', () => process.exit(0))
    \`
    const workers = [0, 1].map(() => new Worker(code, { eval: true }))
    let files = 0
    rheapdump.on('snapshot', () => {
      console.log('signal-snapshot')
      for (const w of workers) w.postMessage('exit')
    })
    for (const w of workers) w.on('message', (m) => { console.log('worker', m); if (++files === 2) process.kill(process.pid, 'SIGUSR2') })
  `
  const result = runScript(source, { cwd })
  assert.equal(result.status, 0, result.stderr)
  assert.equal(result.stdout.match(/worker worker\.heapsnapshot/g).length, 2)
  assert.equal(result.stdout.match(/signal-snapshot/g).length, 1)
  const defaults = snapshotFiles(cwd).filter((f) => DEFAULT_NAME.test(path.basename(f)))
  assert.equal(defaults.length, 1)
  const main = validateFile(defaults[0]).snap
  assert.equal(countObjectsByName(main, 'MainOnly'), 123, 'the signal snapshots the main thread')
  assert.equal(countObjectsByName(main, 'WorkerOnly'), 0)
  const { snap } = validateFile(path.join(cwd, 'worker.heapsnapshot'))
  assert.equal(countObjectsByName(snap, 'WorkerOnly'), 321)
})

test('require exits by itself at once with status 0, on the main thread and in a Worker', () => {
  const main = runScript(`require(${JSON.stringify(ROOT)})`, { timeout: 15000 })
  assert.deepEqual([main.status, main.signal, main.stderr], [0, null, ''])
  const worker = runScript(
    `const { Worker } = require('node:worker_threads')
     new Worker('require(${JSON.stringify(ROOT)})', { eval: true }).on('exit', (c) => console.log('worker exit', c))`,
    { timeout: 15000 },
  )
  assert.deepEqual([worker.status, worker.signal, worker.stdout.trim()], [0, null, 'worker exit 0'])
})
