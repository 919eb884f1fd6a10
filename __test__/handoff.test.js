'use strict'

// The hand-off from a signal to the main thread in the states where JavaScript cannot simply
// run: near the stack limit, paused in a debugger, loaded first in a Worker, exiting.

const assert = require('node:assert/strict')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, runScript, snapshotFiles } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

test('a signal that interrupts code at its stack limit is taken when the loop turns, with the cause on stderr', (t) => {
  const cwd = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    class Marker {}
    globalThis.keep = Array.from({ length: 1000 }, () => new Marker())
    const alive = setInterval(() => {}, 1000)
    let state = 'diving'
    let signalledAt = 0
    // Spins where the stack has (almost) no room left: each level that overflows catches and
    // spins one frame higher, until spinning fits.
    function spinAtTheLimit() {
      if (state === 'diving') { process.kill(process.pid, 'SIGUSR2'); signalledAt = Date.now(); state = 'spinning' }
      while (Date.now() < signalledAt + 1500) {}
      state = 'done'
    }
    function dive() { try { dive() } catch { if (state !== 'done') spinAtTheLimit() } }
    rheapdump.on('snapshot', (info) => {
      console.log(JSON.stringify({ via: info.via, path: info.path, afterSpin: Date.now() - signalledAt >= 1500 }))
      clearInterval(alive)
    })
    rheapdump.on('snapshotError', (err) => { console.log(JSON.stringify({ error: err.message })); clearInterval(alive) })
    dive()
  `, { cwd, timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const report = JSON.parse(run.stdout)
  assert.deepEqual([report.via, report.afterSpin], ['loop', true], run.stdout)
  assert.match(run.stderr, /^rheapdump: could not take the snapshot inside the running JavaScript \(RangeError: Maximum call stack size exceeded\); it will be taken when the event loop turns$/m)
  assert.equal(countObjectsByName(validateFile(report.path).snap, 'Marker'), 1000)
})

test('a signal while a debugger holds the main thread paused is taken after the resume; the process lives on', (t) => {
  const cwd = tempDir(t)
  // The debugger is an inspector session in a Worker, as a DevTools client would be from outside.
  const run = runScript(`
    const { Worker } = require('node:worker_threads')
    const rheapdump = require(${JSON.stringify(ROOT)})
    class Marker {}
    globalThis.keep = Array.from({ length: 1000 }, () => new Marker())
    const alive = setInterval(() => {}, 1000)
    const debuggerCode = \`
      const { Session } = require('node:inspector')
      const { parentPort } = require('node:worker_threads')
      const session = new Session()
      session.connectToMainThread()
      session.post('Debugger.enable', () => {
        session.post('Debugger.pause', () => parentPort.postMessage('pause-requested'))
      })
      session.on('Debugger.paused', () => {
        process.kill(process.pid, 'SIGUSR2')
        setTimeout(() => session.post('Debugger.resume', () => parentPort.postMessage('resumed')), 1000)
      })
      parentPort.on('message', () => { session.disconnect(); process.exit(0) })
    \`
    const debuggerWorker = new Worker(debuggerCode, { eval: true })
    let resumed = false
    debuggerWorker.on('message', (m) => {
      if (m === 'pause-requested') setImmediate(() => { let x = 0; for (let i = 0; i < 10; i++) x += i })
      if (m === 'resumed') resumed = true
    })
    rheapdump.on('snapshot', (info) => {
      console.log(JSON.stringify({ path: info.path, resumed }))
      debuggerWorker.postMessage('stop')
      clearInterval(alive)
    })
  `, { cwd, timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const report = JSON.parse(run.stdout)
  assert.equal(report.resumed, true, 'taken once the debugger resumed')
  assert.equal(countObjectsByName(validateFile(report.path).snap, 'Marker'), 1000)
  assert.doesNotMatch(run.stderr, /Assertion|Aborted|FATAL|could not take/)
})

test('rheapdump loaded first in a Worker, then on the main thread: signals snapshot the main heap, and the Worker exits cleanly', (t) => {
  const cwd = tempDir(t)
  const run = runScript(`
    const { Worker } = require('node:worker_threads')
    class MainOnly {}
    globalThis.keep = Array.from({ length: 77 }, () => new MainOnly())
    const worker = new Worker('require(${JSON.stringify(ROOT)}); require("node:worker_threads").parentPort.postMessage("loaded")', { eval: true })
    worker.once('message', () => {
      const rheapdump = require(${JSON.stringify(ROOT)})
      worker.on('exit', (code) => {
        rheapdump.once('snapshot', (info) => console.log(JSON.stringify({ code, path: info.path })))
        process.kill(process.pid, 'SIGUSR2')
        const end = Date.now() + 1000
        while (Date.now() < end) {}
      })
    })
    setTimeout(() => {}, 5000)
  `, { cwd, timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const report = JSON.parse(run.stdout)
  assert.equal(report.code, 0)
  assert.equal(countObjectsByName(validateFile(report.path).snap, 'MainOnly'), 77)
  assert.equal(snapshotFiles(cwd).length, 1)
})

test('a snapshot taken in an exit handler, with a signal pending, exits cleanly', (t) => {
  const cwd = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    process.on('exit', () => {
      process.kill(process.pid, 'SIGUSR2')
      rheapdump.writeSnapshot(${JSON.stringify(path.join(cwd, 'at-exit.heapsnapshot'))})
      const end = Date.now() + 300
      while (Date.now() < end) {}
    })
  `, { cwd, timeout: 60000 })
  assert.deepEqual([run.status, run.signal], [0, null], run.stderr)
  assert.doesNotMatch(run.stderr, /Waiting for the debugger|Assertion|Aborted|FATAL/)
  for (const file of snapshotFiles(cwd)) validateFile(file)
  assert.ok(snapshotFiles(cwd).includes(path.join(cwd, 'at-exit.heapsnapshot')))
})

test('under the permission model, a signal while the loop is stuck is served inside the loop, where --allow-fs-write allows', (t) => {
  // The watchdog's connectToMainThread() aborted here (`parent_handle_ != nullptr`) on 20-24.
  const cwd = tempDir(t)
  const permission = process.versions.node.startsWith('20.') ? '--experimental-permission' : '--permission'
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    rheapdump.on('snapshot', (info) => console.log(JSON.stringify({ via: info.via })))
    rheapdump.on('snapshotError', (err) => console.log(JSON.stringify({ code: err.code })))
    setTimeout(() => {
      process.kill(process.pid, 'SIGUSR2')
      const end = Date.now() + 1500
      while (Date.now() < end) {}
      setTimeout(() => {}, 300)
    }, 100)
  `, { cwd, args: [permission, '--allow-addons', '--allow-worker', '--allow-fs-read=*', `--allow-fs-write=${cwd}`], timeout: 60000 })
  assert.deepEqual([run.status, run.signal], [0, null], run.stderr)
  assert.doesNotMatch(run.stderr, /Assertion|Aborted|FATAL/)
  assert.deepEqual(JSON.parse(run.stdout), { via: 'interrupt' })
  assert.equal(snapshotFiles(cwd).length, 1)
  validateFile(snapshotFiles(cwd)[0])
})
