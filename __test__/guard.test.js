'use strict'

// The guard: a snapshot that would likely exhaust memory or disk is refused, with the figures,
// a distinct code and no file; `force` overrides it.

const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, tmpfs, memoryCgroup, startApp, snapshotFiles, runScript, waitFor } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('./helpers/heapsnapshot')

const HEAP = `
  const rheapdump = require(${JSON.stringify(ROOT)})
  class FixtureLeak { constructor(i) { this.i = i } }
  globalThis.keep = Array.from({ length: 200000 }, (_, i) => new FixtureLeak(i))
  const out = (value) => console.log(JSON.stringify(value))
  const settle = (p) => p.then((info) => ({ ok: info.path }), (err) => ({ code: err.code, needed: err.needed, available: err.available, path: err.path }))
`

function run(body, { cwd, env } = {}) {
  const result = runScript(HEAP + body, { cwd, env: { RHEAPDUMP_SIGNAL: '0', ...env } })
  assert.equal(result.status, 0, result.stderr)
  return { results: result.stdout.trim().split('\n').map((l) => JSON.parse(l)), stderr: result.stderr }
}

test('under a low memoryLimit a snapshot is refused with the figures, and force takes it anyway', (t) => {
  const dir = tempDir(t)
  const { results, stderr } = run(
    `;(async () => {
       rheapdump.configure({ memoryLimit: rheapdump.memoryUsage().rss + 20 * 1024 * 1024 })
       out(await settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)} })))
       out(rheapdump.writeSnapshot(${JSON.stringify(path.join(dir, 'compat.heapsnapshot'))}, (err) => out(err.message)))
       out(await settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)}, force: true })))
       rheapdump.configure({ memoryLimit: null })
       out(await settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)} })))
     })()`,
  )
  const [refused, compatMessage, compatReturned, forced, normal] = results
  assert.equal(refused.code, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  assert.equal(refused.path, dir)
  assert.ok(refused.needed > refused.available && refused.available <= 20 * 1024 * 1024, JSON.stringify(refused))
  assert.equal(compatMessage, 'heapdump write error ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  assert.equal(compatReturned, false)
  assert.match(stderr, /^rheapdump: heap snapshot refused: it would need ~[\d.]+ MiB more memory and [\d.]+ MiB is available \(memoryLimit/m)
  assert.ok(forced.ok && normal.ok)
  assert.deepEqual(snapshotFiles(dir), [forced.ok, normal.ok].sort())
  for (const file of snapshotFiles(dir)) assert.equal(countObjectsByName(validateFile(file).snap, 'FixtureLeak'), 200000)
})

test('a signal snapshot refused by the guard says why on stderr and leaves no file', async (t) => {
  const cwd = tempDir(t)
  const app = await startApp(t, { cwd })
  await app.command({ cmd: 'require', path: ROOT })
  await app.command({ cmd: 'configure', options: { memoryLimit: 1 } })
  app.signal()
  const failure = await app.waitEvent('snapshot-error-event')
  assert.equal(failure.code, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY')
  await waitFor(() => /heap snapshot failed: ERR_RHEAPDUMP_INSUFFICIENT_MEMORY .*\(it would need ~.* more memory and 0 B is available/.test(app.stderr), { what: app.stderr })
  assert.deepEqual(fs.readdirSync(cwd), [])
  assert.equal(app.exited, null)
})

test('RHEAPDUMP_GUARD=0 turns the guard off', (t) => {
  const dir = tempDir(t)
  const { results } = run(
    `rheapdump.configure({ memoryLimit: 1 })
     settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)} })).then(out)`,
    { env: { RHEAPDUMP_GUARD: '0' } },
  )
  assert.ok(results[0].ok, JSON.stringify(results[0]))
})

test('a real cgroup memory limit is read, and the snapshot is refused inside it', (t) => {
  const inCgroup = memoryCgroup(t, 200 * 1024 * 1024)
  if (!inCgroup) return
  const dir = tempDir(t)
  const script = HEAP + `settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)} })).then(out)`
  const output = execFileSync(...inCgroup(script), {
    encoding: 'utf8',
    env: { ...process.env, RHEAPDUMP_SIGNAL: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const result = JSON.parse(output.trim())
  assert.equal(result.code, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', output)
  assert.ok(result.available < 200 * 1024 * 1024)
  assert.deepEqual(fs.readdirSync(dir), [])
})

test('a snapshot that would not fit on the disk is refused; forced, it fails with ENOSPC and leaves nothing', (t) => {
  const dir = tmpfs(t)
  if (!dir) return
  const { results } = run(
    `;(async () => {
       out(await settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)} })))
       out(await settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)}, force: true })))
       out(await settle(rheapdump.snapshot({ filename: ${JSON.stringify(path.join(dir, 'x.heapsnapshot'))}, force: true })))
     })()`,
  )
  assert.equal(results[0].code, 'ERR_RHEAPDUMP_INSUFFICIENT_DISK')
  assert.ok(results[0].needed > results[0].available)
  assert.deepEqual(results.slice(1).map((r) => [r.code, r.path]), [['ENOSPC', dir], ['ENOSPC', path.join(dir, 'x.heapsnapshot')]])
  assert.deepEqual(fs.readdirSync(dir), [])
})
