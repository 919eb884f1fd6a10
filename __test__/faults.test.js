'use strict'

// Faults on the way to disk: each gives a code and the path, leaves no file behind (partial or
// temporary), and the process goes on to take the next snapshot.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync, spawn } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir, tmpfs, startApp, runScript, snapshotFiles, waitFor } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

function attempt(target, { cwd, timeout } = {}) {
  const result = runScript(
    `const rheapdump = require(${JSON.stringify(ROOT)})
     class FixtureLeak {}
     globalThis.keep = Array.from({ length: 300 }, () => new FixtureLeak())
     rheapdump.snapshot(${JSON.stringify(target)}).then(
       (info) => console.log(JSON.stringify({ ok: info.path })),
       (err) => console.log(JSON.stringify({ code: err.code, path: err.path, message: err.message })))
       .then(() => rheapdump.snapshot({ dir: ${JSON.stringify(os.tmpdir())} }))
       .then((info) => { console.log(JSON.stringify({ next: info.path })); require('node:fs').unlinkSync(info.path) })`,
    { cwd, env: { RHEAPDUMP_SIGNAL: '0' }, timeout },
  )
  assert.equal(result.status, 0, `${result.signal ? `killed by ${result.signal} (hung)` : ''} ${result.stderr}`)
  const [outcome, next] = result.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.ok(next.next, 'the next snapshot works')
  return outcome
}

test('a read-only filesystem: EROFS with the directory, nothing written', (t) => {
  const dir = tmpfs(t, 'ro')
  if (!dir) return
  const outcome = attempt({ dir })
  assert.equal(outcome.code, 'EROFS')
  assert.equal(outcome.path, dir)
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('names with spaces, quotes, newlines and non-ASCII characters are written as given', (t) => {
  const dir = tempDir(t)
  for (const name of ['with space.heapsnapshot', 'quote\'"s.heapsnapshot', 'new\nline.heapsnapshot', 'ünïcødé-💾.heapsnapshot']) {
    const outcome = attempt({ filename: path.join(dir, name) })
    assert.equal(outcome.ok, path.join(dir, name))
    assert.equal(countObjectsByName(validateFile(outcome.ok).snap, 'FixtureLeak'), 300)
  }
  assert.equal(fs.readdirSync(dir).length, 4)
})

test('a name too long: ENAMETOOLONG with the path, nothing written', (t) => {
  const dir = tempDir(t)
  const target = path.join(dir, `${'x'.repeat(300)}.heapsnapshot`)
  const outcome = attempt({ filename: target })
  assert.deepEqual([outcome.code, outcome.path], ['ENAMETOOLONG', target])
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('a symlink planted at the explicit name is replaced; the file it points to is untouched', (t) => {
  const dir = tempDir(t)
  const victim = path.join(dir, 'victim.txt')
  fs.writeFileSync(victim, 'precious')
  const target = path.join(dir, 'snap.heapsnapshot')
  fs.symlinkSync(victim, target)
  const outcome = attempt({ filename: target })
  assert.equal(outcome.ok, target)
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious')
  assert.ok(fs.lstatSync(target).isFile())
  validateFile(target)
})

test('a symlink at the explicit name pointing at a device is replaced; the device is not written', (t) => {
  const dir = tempDir(t)
  const full = path.join(dir, 'full')
  execFileSync('mknod', [full, 'c', '1', '7']) // a private clone of /dev/full: writing to it fails
  const target = path.join(dir, 'snap.heapsnapshot')
  fs.symlinkSync(full, target)
  const outcome = attempt({ filename: target })
  assert.equal(outcome.ok, target, outcome.message)
  assert.ok(fs.lstatSync(target).isFile())
  assert.ok(fs.lstatSync(full).isCharacterDevice())
  validateFile(target)
})

test('a FIFO nobody reads: ENXIO at once instead of a hang, and the process goes on', (t) => {
  const dir = tempDir(t)
  const fifo = path.join(dir, 'pipe')
  execFileSync('mkfifo', [fifo])
  const started = Date.now()
  const outcome = attempt({ filename: fifo }, { timeout: 20000 })
  assert.deepEqual([outcome.code, outcome.path], ['ENXIO', fifo])
  assert.match(outcome.message, /no process has the FIFO open for reading/)
  assert.ok(Date.now() - started < 20000)
  assert.ok(fs.lstatSync(fifo).isFIFO())
})

test('a FIFO with a reader receives the whole snapshot', async (t) => {
  const dir = tempDir(t)
  const fifo = path.join(dir, 'pipe')
  const received = path.join(dir, 'received.heapsnapshot')
  execFileSync('mkfifo', [fifo])
  // 'r+' opens without waiting for a writer and never sees end-of-file: the test stops it.
  const reader = spawn(process.execPath, ['-e', `const fs = require('node:fs')
    const input = fs.openSync(${JSON.stringify(fifo)}, 'r+')
    const output = fs.openSync(${JSON.stringify(received)}, 'w')
    console.log('ready')
    const buffer = Buffer.alloc(65536)
    for (;;) fs.writeSync(output, buffer, 0, fs.readSync(input, buffer))`])
  t.after(() => reader.kill())
  await new Promise((resolve) => reader.stdout.once('data', resolve))
  const outcome = await new Promise((resolve) => setImmediate(() => resolve(attempt({ filename: fifo }, { timeout: 20000 }))))
  assert.equal(outcome.ok, fifo)
  await waitFor(() => fs.readFileSync(received, 'latin1').trimEnd().endsWith(']}'), { what: 'the whole snapshot' })
  assert.equal(countObjectsByName(validateFile(received).snap, 'FixtureLeak'), 300)
})

test('a deleted working directory: the signal snapshot fails with ENOENT, the process goes on', async (t) => {
  const base = tempDir(t)
  const cwd = path.join(base, 'doomed')
  fs.mkdirSync(cwd)
  const app = await startApp(t, { cwd })
  await app.command({ cmd: 'require', path: ROOT })
  fs.rmdirSync(cwd)
  app.signal()
  const failure = await app.waitEvent('snapshot-error-event')
  await waitFor(() => app.stderr.includes('heap snapshot failed'), { what: 'stderr line' })
  assert.equal(failure.code, 'ENOENT', app.stderr)
  await waitFor(() => app.stderr.includes('rheapdump: heap snapshot failed: ENOENT'), { what: 'stderr line' })
  const elsewhere = tempDir(t)
  await app.command({ cmd: 'chdir', dir: elsewhere })
  app.signal()
  await app.waitEvent('snapshot-event')
  assert.equal(snapshotFiles(elsewhere).length, 1)
  assert.equal(app.exited, null)
})
