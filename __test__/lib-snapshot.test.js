'use strict'

// lib/snapshot.js and lib/writer.js in-process: a snapshot of this very test process, written by
// the same path the API and signals take, where files go, and pruning to `keep`. Settings are
// this process's shared state.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

require('./helpers/proc') // a lock directory of this file's own for snapshot turns
const { current } = require('../lib/shared')
const { takeSnapshot } = require('../lib/snapshot')
const { prune, resolveDir, place } = require('../lib/writer')
const { binding } = require('../lib/binding')

const shared = current()

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-lib-snapshot-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const DEFAULT_NAME = new RegExp(`^heapdump-\\d{8}T\\d{6}\\.\\d{6}Z-${process.pid}-[0-9a-z]{6}-\\d+\\.heapsnapshot$`)

test('takeSnapshot writes a complete, private, default-named snapshot and says what it cost', (t) => {
  const dir = tempDir(t)
  const info = takeSnapshot({ dir, trigger: 'api' })
  assert.equal(path.dirname(info.path), dir)
  assert.match(path.basename(info.path), DEFAULT_NAME)
  const stat = fs.statSync(info.path)
  assert.equal(stat.size, info.bytes)
  assert.equal(stat.mode & 0o777, 0o600)
  assert.equal(info.trigger, 'api')
  assert.ok(info.durationMs > 0)
  assert.ok(info.rss.before > 0 && info.rss.after > 0)
  assert.ok(info.rss.peak >= Math.max(info.rss.before, info.rss.after), JSON.stringify(info.rss))
  const text = fs.readFileSync(info.path, 'utf8')
  assert.ok(text.startsWith('{"snapshot":{"meta":'), 'a V8 heap snapshot')
  JSON.parse(text) // complete: the file got its name only once written
  assert.deepEqual(fs.readdirSync(dir), [path.basename(info.path)], 'no temporary file left')
})

test('takeSnapshot at an explicit filename; a name ending in / or a missing directory fails with code and path', (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'named.heapsnapshot')
  assert.equal(takeSnapshot({ filename: file, trigger: 'api' }).path, file)
  assert.throws(() => takeSnapshot({ filename: `${dir}/`, trigger: 'api' }), { code: 'EISDIR' })
  const missing = path.join(dir, 'missing', 'x.heapsnapshot')
  assert.throws(() => takeSnapshot({ filename: missing, trigger: 'api', force: true }), (err) => err.code === 'ENOENT' && err.path.startsWith(path.join(dir, 'missing')))
})

test('the guard refuses through takeSnapshot unless forced', (t) => {
  const dir = tempDir(t)
  const saved = shared.config.memoryLimit
  shared.config.memoryLimit = 1
  t.after(() => (shared.config.memoryLimit = saved))
  assert.throws(() => takeSnapshot({ dir, trigger: 'signal' }), { code: 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', path: dir })
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written')
  assert.match(path.basename(takeSnapshot({ dir, trigger: 'api', force: true }).path), DEFAULT_NAME)
})

test('keep: only this run\'s default-named snapshots beyond keep go, oldest first, never the current one', (t) => {
  const dir = tempDir(t)
  const run = binding.runId()
  const name = (n, pid = process.pid, of = run) => `heapdump-20260101T0000${String(n).padStart(2, '0')}.000000Z-${pid}-${of}-${n}.heapsnapshot`
  const ours = [1, 2, 3, 4].map((n) => name(n))
  // Another pid's, and this pid's in an earlier run (a restarted container's pid 1) or from before runs.
  const legacy = `heapdump-20250101T000000.000000Z-${process.pid}-0.heapsnapshot`
  const others = [name(0, process.pid + 1), name(0, process.pid, run === 'zzzzzz' ? 'yyyyyy' : 'zzzzzz'), legacy, 'heapdump-manual.heapsnapshot', 'notes.txt']
  for (const file of [...ours, ...others]) fs.writeFileSync(path.join(dir, file), '')
  prune(dir, path.join(dir, ours[3]), 2)
  assert.deepEqual(fs.readdirSync(dir).sort(), [...others, ours[2], ours[3]].sort())
  // The current file is kept even when it sorts first.
  prune(dir, path.join(dir, ours[2]), 1)
  assert.ok(fs.existsSync(path.join(dir, ours[2])))
})

test('keep through takeSnapshot: the third snapshot with keep 2 removes the first', (t) => {
  const dir = tempDir(t)
  const saved = shared.config.keep
  shared.config.keep = 2
  t.after(() => (shared.config.keep = saved))
  const written = [1, 2, 3].map(() => takeSnapshot({ dir, trigger: 'api', force: true }).path)
  assert.deepEqual(fs.readdirSync(dir).sort(), written.slice(1).map((file) => path.basename(file)).sort())
})

test('resolveDir: the call\'s dir, then configure({ dir }), then --diagnostic-dir, then the working directory', (t) => {
  const saved = { dir: shared.config.dir, diagnosticDir: shared.diagnosticDir }
  t.after(() => Object.assign(shared.config, { dir: saved.dir }) && (shared.diagnosticDir = saved.diagnosticDir))
  shared.config.dir = null
  shared.diagnosticDir = null
  assert.equal(resolveDir(undefined), process.cwd())
  shared.diagnosticDir = 'diag'
  assert.equal(resolveDir(undefined), path.join(process.cwd(), 'diag'))
  shared.config.dir = '/configured'
  assert.equal(resolveDir(undefined), '/configured')
  assert.equal(resolveDir('given'), path.join(process.cwd(), 'given'))
})

test('place: a default name goes into the resolved directory; an explicit one keeps the name as given beside its resolved path', () => {
  assert.deepEqual(place({ dir: '/snapshots' }), { dir: '/snapshots', given: null, finalPath: null, compress: null })
  assert.deepEqual(place({ filename: 'x.heapsnapshot' }), { dir: process.cwd(), given: 'x.heapsnapshot', finalPath: path.join(process.cwd(), 'x.heapsnapshot'), compress: null })
  assert.throws(() => place({ filename: 'dir/' }), { code: 'EISDIR' })
})

test('place: the configured compression applies to default names; an explicit name only when the request asks', () => {
  shared.config.compress = 'zstd'
  try {
    assert.equal(place({ dir: '/snapshots' }).compress, 'zstd')
    assert.equal(place({ dir: '/snapshots', compress: 'off' }).compress, null)
    assert.equal(place({ filename: 'x.heapsnapshot' }).compress, null)
    assert.equal(place({ filename: 'x.heapsnapshot', compress: 'gzip' }).compress, 'gzip')
  } finally {
    shared.config.compress = 'off'
  }
})
