'use strict'

// Fork snapshots where the world is slow or stuck (docs/fork.md): a reader that stops reading,
// a target that cannot be rewound, a child killed half-way, signals while the event loop is
// stuck, a burst of signals, a device that is full, and `fork: 'auto'`. Real processes, real
// FIFOs and signals; every file and every stream parsed.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir, waitFor, runScript, needsAddon } = require('./helpers/proc')
const { validateFile } = require('../tools/heapsnapshot')

const skip = needsAddon('cannot fork') || (process.platform !== 'linux' || process.arch !== 'x64' ? 'fork snapshots are tested on x86-64 Linux only' : false)

/** A Node process running `source`, its output collected; killed when the test ends. */
function startService(t, source, { cwd, env = {} }) {
  const proc = spawn(process.execPath, ['-e', source], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'))
  const out = { stdout: '', stderr: '' }
  proc.stdout.on('data', (chunk) => (out.stdout += chunk))
  proc.stderr.on('data', (chunk) => (out.stderr += chunk))
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
  /** The first stdout line that parses as JSON and has `key`. */
  const line = (key, timeout = 60000) => waitFor(() => {
    for (const text of out.stdout.split('\n')) {
      try {
        const value = JSON.parse(text)
        if (key in value) return value
      } catch {
        // not a whole line yet
      }
    }
    return null
  }, { timeout, interval: 20, what: `'${key}' from the service; stderr: ${out.stderr}` })
  return { proc, out, exited, line }
}

/** The fork child of `pid` (named rheapdump-fork), or null. */
function forkChildOf(pid) {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const name = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim()
      if (fields[1] === String(pid) && name === 'rheapdump-fork' && fields[0] !== 'Z') return Number(entry)
    } catch {
      // gone meanwhile
    }
  }
  return null
}

/** Bytes the process `pid` has written so far (/proc/<pid>/io, wchar). */
function written(pid) {
  try {
    return Number(/wchar: (\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))[1])
  } catch {
    return 0
  }
}

/**
 * A reader of `fifo` in its own process: reads `first` bytes, says so, reads nothing for
 * `pauseMs` (the writer blocks: a full pipe), then reads to the end into `out`.
 */
function slowReader(t, { fifo, out, first, pauseMs }) {
  const source = `
    const fs = require('node:fs')
    const fd = fs.openSync(${JSON.stringify(fifo)}, 'r')
    const chunks = []
    let total = 0
    const buffer = Buffer.alloc(65536)
    while (total < ${first}) {
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, ${first} - total))
      if (n === 0) break
      chunks.push(Buffer.from(buffer.subarray(0, n)))
      total += n
    }
    console.log(JSON.stringify({ paused: total }))
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${pauseMs})
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length)
      if (n === 0) break
      chunks.push(Buffer.from(buffer.subarray(0, n)))
    }
    fs.writeFileSync(${JSON.stringify(out)}, Buffer.concat(chunks))
    console.log(JSON.stringify({ done: Buffer.concat(chunks).length }))
  `
  return startService(t, source, { cwd: path.dirname(out) })
}

function mkfifo(file) {
  const made = spawnSync('mkfifo', ['-m', '600', file])
  assert.equal(made.status, 0, String(made.stderr))
}

const HEAP = `globalThis.kept = Array.from({ length: 100000 }, (_, i) => ({ i, s: 'kept ' + i }))`

test('a child blocked writing to a reader that pauses 8 s is slow, not stalled: one whole snapshot, one attempt', { skip }, async (t) => {
  const cwd = tempDir(t)
  const fifo = path.join(cwd, 'snapshot.fifo')
  const out = path.join(cwd, 'received.heapsnapshot')
  mkfifo(fifo)
  // The reader first: the writer's end of a FIFO opens only while someone reads.
  const reader = slowReader(t, { fifo, out, first: 65536, pauseMs: 8000 })
  const service = startService(t, `
    const rheapdump = require(${JSON.stringify(ROOT)})
    ${HEAP}
    // The reader's open() waits for a writer; this one waits for the reader to be there.
    const fs = require('node:fs')
    const deadline = Date.now() + 10000
    const tryOnce = () => rheapdump.snapshot({ fork: true, filename: ${JSON.stringify(fifo)} })
    ;(async () => {
      for (;;) {
        try {
          const info = await tryOnce()
          console.log(JSON.stringify({ info }))
          return
        } catch (err) {
          if (err.code !== 'ENXIO' || Date.now() > deadline) {
            console.log(JSON.stringify({ error: { code: err.code, message: err.message, attempts: err.attempts } }))
            return
          }
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    })()
  `, { cwd })
  const { paused } = await reader.line('paused', 30000)
  assert.equal(paused, 65536)
  const outcome = await service.line('info', 120000).catch(() => service.line('error', 1))
  assert.ok(outcome.info, `the call failed: ${JSON.stringify(outcome.error)}; stderr: ${service.out.stderr}`)
  assert.equal(outcome.info.attempts, 1, 'not judged stalled, not retried')
  const { done } = await reader.line('done', 30000)
  // One snapshot, whole: a second one after part of the first would not parse.
  const { nodeCount } = validateFile(out)
  assert.ok(nodeCount > 100000, `${nodeCount} nodes`)
  assert.equal(fs.statSync(out).size, done)
  assert.doesNotMatch(service.out.stderr, /STALLED|stopped making progress/)
})

test('a child that dies writing into a FIFO is not retried: the reader gets the one partial stream, the call rejects after 1 attempt', { skip }, async (t) => {
  const cwd = tempDir(t)
  const fifo = path.join(cwd, 'snapshot.fifo')
  const out = path.join(cwd, 'received')
  mkfifo(fifo)
  const reader = slowReader(t, { fifo, out, first: 65536, pauseMs: 1000 })
  const service = startService(t, `
    const rheapdump = require(${JSON.stringify(ROOT)})
    ${HEAP}
    const deadline = Date.now() + 10000
    ;(async () => {
      for (;;) {
        try {
          const info = await rheapdump.snapshot({ fork: true, filename: ${JSON.stringify(fifo)} })
          console.log(JSON.stringify({ outcome: { attempts: info.attempts } }))
          return
        } catch (err) {
          if (err.code === 'ENXIO' && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 50))
            continue
          }
          console.log(JSON.stringify({ outcome: { code: err.code, path: err.path, attempts: err.attempts, message: err.message } }))
          return
        }
      }
    })()
  `, { cwd })
  await reader.line('paused', 30000)
  // The child is blocked on the full pipe now: a crash there is the crash retried before.
  const child = await waitFor(() => forkChildOf(service.proc.pid), { timeout: 10000, what: 'the fork child' })
  process.kill(child, 'SIGSEGV')
  const { outcome } = await service.line('outcome', 60000)
  assert.equal(outcome.code, 'ERR_RHEAPDUMP_FORK_CRASHED', JSON.stringify(outcome))
  assert.equal(outcome.attempts, 1)
  assert.equal(outcome.path, fifo)
  await reader.line('done', 30000)
  const received = fs.readFileSync(out, 'latin1')
  assert.ok(received.startsWith('{"snapshot":{'))
  assert.equal(received.split('{"snapshot":{').length, 2, 'one stream begun, none appended after it')
  assert.throws(() => JSON.parse(received), 'the partial stream is left as it is, for the reader to see it is cut')
})

test('a child killed half-way through a file is retried into a new file: the snapshot is whole, nothing appended', { skip }, async (t) => {
  const cwd = tempDir(t)
  const service = startService(t, `
    const rheapdump = require(${JSON.stringify(ROOT)})
    globalThis.kept = Array.from({ length: 400000 }, (_, i) => ({ i, s: 'kept ' + i }))
    rheapdump.snapshot({ fork: true, filename: 'one.heapsnapshot' }).then(
      (info) => console.log(JSON.stringify({ outcome: { path: info.path, attempts: info.attempts } })),
      (err) => console.log(JSON.stringify({ outcome: { code: err.code, message: err.message } })),
    )
  `, { cwd })
  const child = await waitFor(() => forkChildOf(service.proc.pid), { timeout: 20000, interval: 5, what: 'the fork child' })
  // Once it has written part of the snapshot (V8 writes in 64 KiB pieces).
  await waitFor(() => written(child) > 1 << 20 || !forkChildOf(service.proc.pid), { timeout: 60000, interval: 5, what: 'the child to write 1 MiB' })
  assert.equal(forkChildOf(service.proc.pid), child, 'the child was still writing when killed')
  process.kill(child, 'SIGSEGV')
  const { outcome } = await service.line('outcome', 120000)
  assert.equal(outcome.attempts, 2, JSON.stringify(outcome))
  const { snap } = validateFile(path.join(cwd, 'one.heapsnapshot'))
  assert.equal(snap.snapshot.rheapdump.via, 'fork')
  assert.deepEqual(fs.readdirSync(cwd), ['one.heapsnapshot'], 'no temporary file left')
})

test('two SIGUSR2 during one stuck event loop give two files, both while it is still stuck', { skip }, async (t) => {
  const cwd = tempDir(t)
  const service = startService(t, `
    const rheapdump = require(${JSON.stringify(ROOT)})
    const fs = require('node:fs')
    ${HEAP}
    const events = []
    rheapdump.on('snapshot', (info) => events.push(info.path))
    console.log(JSON.stringify({ stuck: process.pid }))
    // Stuck until the test says so (or 120 s), looking every 10 ms: the child needs a CPU.
    const deadline = Date.now() + 120000
    const pause = new Int32Array(new SharedArrayBuffer(4))
    while (Date.now() < deadline && !fs.existsSync('release')) Atomics.wait(pause, 0, 0, 10)
    setTimeout(() => console.log(JSON.stringify({ events })), 500)
  `, { cwd, env: { RHEAPDUMP_FORK: '1' } })
  await service.line('stuck')
  const snapshots = () => fs.readdirSync(cwd).filter((name) => name.endsWith('.heapsnapshot'))
  service.proc.kill('SIGUSR2')
  await waitFor(() => snapshots().length === 1, { timeout: 60000, what: 'the first file' })
  // The first child is reaped and its file named; the loop has not turned since.
  await waitFor(() => !forkChildOf(service.proc.pid), { timeout: 10000, what: 'the first child to be gone' })
  service.proc.kill('SIGUSR2')
  await waitFor(() => snapshots().length === 2, { timeout: 60000, what: `the second file; stderr: ${service.out.stderr}` })
  fs.writeFileSync(path.join(cwd, 'release'), '')
  const { events } = await service.line('events')
  assert.equal(events.length, 2, service.out.stderr)
  for (const file of snapshots()) validateFile(path.join(cwd, file))
  assert.doesNotMatch(service.out.stderr, /skipped/)
  assert.equal(service.out.stderr.match(/rheapdump: wrote .* by a fork child/g).length, 2, service.out.stderr)
})

test('500 SIGUSR2 while a child writes: one line at once, one line counting them when it ends, one file', { skip }, async (t) => {
  const cwd = tempDir(t)
  const service = startService(t, `
    const rheapdump = require(${JSON.stringify(ROOT)})
    globalThis.kept = Array.from({ length: 400000 }, (_, i) => ({ i, s: 'kept ' + i }))
    rheapdump.on('snapshot', (info) => console.log(JSON.stringify({ written: info.path })))
    console.log(JSON.stringify({ ready: process.pid }))
    setInterval(() => {}, 1000)
  `, { cwd, env: { RHEAPDUMP_FORK: '1' } })
  await service.line('ready')
  service.proc.kill('SIGUSR2')
  const child = await waitFor(() => forkChildOf(service.proc.pid), { timeout: 20000, interval: 5, what: 'the fork child' })
  for (let i = 0; i < 500; i++) {
    service.proc.kill('SIGUSR2')
    // A breath every 50 signals, so that the service's loop turns and serves some of them.
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const stillWriting = forkChildOf(service.proc.pid) === child
  await service.line('written', 120000)
  await waitFor(() => /were merged into it/.test(service.out.stderr), { timeout: 5000, what: `the merged line; stderr: ${service.out.stderr}` })
  service.proc.kill('SIGKILL')
  const lines = service.out.stderr.split('\n')
  assert.ok(stillWriting, 'the burst came while the first child was writing')
  assert.equal(lines.filter((line) => /skipped: a fork snapshot is still being written/.test(line)).length, 1, service.out.stderr)
  const merged = lines.filter((line) => /snapshot requests came while a fork snapshot was being written and were merged into it/.test(line))
  assert.equal(merged.length, 1, service.out.stderr)
  const count = Number(/(\d+) snapshot requests/.exec(merged[0])[1])
  assert.ok(count >= 2 && count <= 500, merged[0])
  t.diagnostic(`500 signals: ${count} requests reached the main thread and were merged`)
  assert.equal(fs.readdirSync(cwd).filter((name) => name.endsWith('.heapsnapshot')).length, 1)
})

test("a full device as the target: the error names the user's path, never /proc/self/fd/N", { skip: skip || (process.getuid?.() !== 0 ? 'mknod needs root' : false) }, (t) => {
  const cwd = tempDir(t)
  // A clone of /dev/full in the test's own directory: never the real device.
  const full = path.join(cwd, 'full')
  const made = spawnSync('mknod', [full, 'c', '1', '7'])
  if (made.status !== 0) return t.skip(`mknod failed: ${made.stderr}`)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    ${HEAP}
    rheapdump.snapshot({ fork: true, filename: ${JSON.stringify(full)}, force: true }).then(
      () => console.log('{"written":true}'),
      (err) => console.log(JSON.stringify({ code: err.code, path: err.path, message: err.message, attempts: err.attempts })),
    )
  `, { cwd })
  assert.equal(run.status, 0, run.stderr)
  const outcome = JSON.parse(run.stdout)
  assert.equal(outcome.code, 'ERR_RHEAPDUMP_FORK_WRITE', run.stderr)
  assert.equal(outcome.path, full)
  assert.equal(outcome.attempts, 1)
  assert.match(run.stderr, /fork child\): V8's writer failed: .*ENOSPC/)
  assert.ok(run.stderr.includes(full), run.stderr)
  assert.doesNotMatch(`${run.stderr}${outcome.message}`, /\/proc\/self\/fd/)
  assert.ok(fs.statSync(full).isCharacterDevice(), 'the device is still a device')
})

test("fork: 'auto' forks only when the estimated in-process pause exceeds forkAbove", { skip }, (t) => {
  const cwd = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    ${HEAP}
    const out = { initial: rheapdump.getConfig().fork, forkAbove: rheapdump.getConfig().forkAbove }
    try { rheapdump.configure({ fork: 'always' }) } catch (err) { out.bad = err.code }
    ;(async () => {
      // A few MB of heap: ~0.1 s per MB is well under 3 s.
      const small = await rheapdump.snapshot()
      out.small = { via: small.via ?? 'in-process', estimatedPauseMs: small.estimatedPauseMs }
      rheapdump.configure({ forkAbove: 0 })
      const large = await rheapdump.snapshot()
      out.large = { via: large.via, estimatedPauseMs: large.estimatedPauseMs }
      console.log(JSON.stringify(out))
    })()
  `, { cwd, env: { RHEAPDUMP_FORK: 'auto' } })
  assert.equal(run.status, 0, run.stderr)
  const out = JSON.parse(run.stdout)
  assert.equal(out.initial, 'auto')
  assert.equal(out.forkAbove, 3000)
  assert.equal(out.bad, 'ERR_INVALID_ARG_VALUE')
  assert.equal(out.small.via, 'in-process')
  assert.equal(out.small.estimatedPauseMs, undefined, 'no fork considered worth it, no estimate said')
  assert.equal(out.large.via, 'fork')
  assert.ok(out.large.estimatedPauseMs > 0 && out.large.estimatedPauseMs < 3000, String(out.large.estimatedPauseMs))
  const env = runScript(`console.log(JSON.stringify(require(${JSON.stringify(ROOT)}).getConfig().forkAbove))`, { cwd, env: { RHEAPDUMP_FORK_ABOVE: '500' } })
  assert.equal(env.stdout.trim(), '500')
})
