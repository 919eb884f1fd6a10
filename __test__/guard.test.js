'use strict'

// The guard: a snapshot that would likely exhaust memory or disk is refused, with the figures,
// a distinct code and no file; `force` overrides it.

const assert = require('node:assert/strict')
const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, tmpfs, startApp, snapshotFiles, runScript, waitFor } = require('./helpers/proc')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

const HEAP = `
  const rheapdump = require(${JSON.stringify(ROOT)})
  class FixtureLeak { constructor(i) { this.i = i } }
  globalThis.keep = Array.from({ length: 200000 }, (_, i) => new FixtureLeak(i))
  const out = (value) => console.log(JSON.stringify(value))
  const settle = (p) => p.then((info) => ({ ok: info.path }), (err) => ({ code: err.code, needed: err.needed, available: err.available, path: err.path, message: err.message }))
`

function run(body, { cwd, env } = {}) {
  const result = runScript(HEAP + body, { cwd, env: { RHEAPDUMP_SIGNAL: '0', ...env } })
  assert.equal(result.status, 0, result.stderr)
  return { results: result.stdout.trim().split('\n').map((l) => JSON.parse(l)), stderr: result.stderr }
}

/** A memory cgroup of our own (v1 or v2), or null where none can be made; removed after the test. */
function memoryCgroup(t, name) {
  const v1 = '/sys/fs/cgroup/memory'
  const base = fs.existsSync(path.join(v1, 'memory.limit_in_bytes')) ? v1 : fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : null
  const dir = base && path.join(base, `${name}-${process.pid}`)
  const file = (v1name, v2name) => path.join(dir, base === v1 ? v1name : v2name)
  try {
    fs.mkdirSync(dir)
  } catch (err) {
    t.skip(`cannot create a memory cgroup here: ${err.code || err.message}`)
    return null
  }
  const pids = () => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
  t.after(async () => {
    for (const pid of pids()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    await waitFor(() => pids().length === 0, { what: 'the cgroup to empty' })
    fs.rmdirSync(dir)
  })
  return {
    dir,
    setLimit: (bytes) => fs.writeFileSync(file('memory.limit_in_bytes', 'memory.max'), String(bytes)),
    usage: () => Number(fs.readFileSync(file('memory.usage_in_bytes', 'memory.current'), 'utf8')),
    oomKills: () => Number(/oom_kill (\d+)/.exec(fs.readFileSync(file('memory.oom_control', 'memory.events'), 'utf8'))?.[1] ?? 0),
    pids,
  }
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

test('a real cgroup memory limit is read, and the snapshot is refused inside it — by the addon and by the pure-JS fallback', (t) => {
  const group = memoryCgroup(t, 'rheapdump-test')
  if (!group) return
  group.setLimit(200 * 1024 * 1024)
  for (const fallback of ['0', '1']) {
    const dir = tempDir(t)
    const script = HEAP + `settle(rheapdump.snapshot({ dir: ${JSON.stringify(dir)} })).then(out)`
    const output = execFileSync('sh', ['-c', `echo $$ > ${group.dir}/cgroup.procs && exec "$0" -e "$1"`, process.execPath, script], {
      encoding: 'utf8',
      env: { ...process.env, RHEAPDUMP_SIGNAL: '0', RHEAPDUMP_FALLBACK: fallback },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const result = JSON.parse(output.trim())
    assert.equal(result.code, 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY', `fallback=${fallback}: ${output}`)
    assert.ok(result.available < 200 * 1024 * 1024, `fallback=${fallback}: ${output}`)
    assert.match(result.message, /cgroup .*limit 200 MiB/, `fallback=${fallback}: the refusal names the cgroup`)
    assert.deepEqual(fs.readdirSync(dir), [])
  }
})

const CLUSTER = `
  const cluster = require('node:cluster')
  const fs = require('node:fs')
  require(${JSON.stringify(ROOT)})
  class FixtureLeak { constructor(i) { this.i = i; this.name = 'leak-' + i } }
  globalThis.keep = Array.from({ length: 200000 }, (_, i) => new FixtureLeak(i))
  const line = (value) => fs.writeSync(1, JSON.stringify(value) + '\\n')
  if (cluster.isPrimary) {
    let ready = 0
    cluster.on('exit', (worker, code, signal) => line({ exit: worker.process.pid, code, signal }))
    cluster.on('message', (worker, message) => { if (++ready === 4) line({ ready: process.memoryUsage().heapUsed }) })
    for (let i = 0; i < 4; i++) cluster.fork()
  } else {
    process.send('ready')
  }
  setInterval(() => {}, 1000)
`

test('a cluster signalled as a group in a cgroup with room for one snapshot: no OOM kill, the others wait for the memory', async (t) => {
  const group = memoryCgroup(t, 'rheapdump-cluster')
  if (!group) return
  const dir = tempDir(t)
  const script = path.join(dir, 'cluster.js')
  fs.writeFileSync(script, CLUSTER)
  // Detached: the primary leads a process group of its own, which its workers join.
  const primary = spawn('sh', ['-c', `echo $$ > ${group.dir}/cgroup.procs && exec "$0" "$1"`, process.execPath, script], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  primary.stdout.on('data', (chunk) => (stdout += chunk))
  primary.stderr.on('data', (chunk) => (stderr += chunk))
  const events = () => stdout.split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l))
  const ready = await waitFor(() => events().find((e) => e.ready), { what: `the cluster; ${stderr}` })
  // Room for one snapshot by the guard's own (worst-case) estimate, not for two real ones.
  const { extraMemory } = require('../lib/binding').binding.estimateSnapshotCost(Number(process.versions.node.split('.')[0]), ready.ready)
  group.setLimit(Math.round(group.usage() + 1.15 * extraMemory))
  process.kill(-primary.pid, 'SIGUSR2')
  const outcomes = () => stderr.split('\n').filter((l) => /^rheapdump: (wrote|heap snapshot failed)/.test(l))
  const over = () => outcomes().length === 5 || events().some((e) => e.exit) || primary.exitCode !== null || primary.signalCode !== null || group.oomKills() > 0
  await waitFor(over, { timeout: 120000, what: 'all 5 outcomes or a death' })
  assert.equal(group.oomKills(), 0, `OOM kills; ${stderr}`)
  assert.deepEqual(events().filter((e) => e.exit), [], `no worker died; ${stderr}`)
  assert.equal(outcomes().length, 5, stderr)
  const written = snapshotFiles(dir)
  assert.ok(written.length >= 1, stderr)
  assert.equal(outcomes().filter((l) => l.startsWith('rheapdump: wrote')).length, written.length)
  for (const line of outcomes().filter((l) => l.includes('failed'))) {
    assert.match(line, /failed: (ERR_RHEAPDUMP_BUSY .*left too little .* in its memory budget|ERR_RHEAPDUMP_INSUFFICIENT_MEMORY)/)
  }
  for (const file of written) assert.equal(countObjectsByName(validateFile(file).snap, 'FixtureLeak'), 200000)
  assert.equal(group.pids().length, 5)
})

// A service with `OBJECTS` small objects that ticks on stdout every 20 ms.
const TICKING = `
  const fs = require('node:fs')
  require(${JSON.stringify(ROOT)})
  const line = (value) => fs.writeSync(1, JSON.stringify(value) + '\\n')
  globalThis.keep = Array.from({ length: Number(process.env.OBJECTS) }, (_, i) => ({ i, name: 'o' + i }))
  setInterval(() => line({ event: 'tick', at: Date.now() }), 20)
  line({ event: 'ready', heapUsed: require('node:v8').getHeapStatistics().used_heap_size })
`

test('two services in a cgroup with room for one snapshot: the second waits with its loop running, names the first, and writes after it', async (t) => {
  const group = memoryCgroup(t, 'rheapdump-two')
  if (!group) return
  const dir = tempDir(t)
  const script = path.join(dir, 'service.js')
  fs.writeFileSync(script, TICKING)
  const inGroup = ['sh', '-c', `echo $$ > ${group.dir}/cgroup.procs && exec "$0" "$@"`, process.execPath]
  const first = await startApp(t, { cwd: dir, node: inGroup, script, env: { OBJECTS: '200000', RHEAPDUMP_DIR: dir } })
  const second = await startApp(t, { cwd: dir, node: inGroup, script, env: { OBJECTS: '50000', RHEAPDUMP_DIR: dir } })
  const { estimateSnapshotCost } = require('../lib/binding').binding
  const major = Number(process.versions.node.split('.')[0])
  const cost = (app) => estimateSnapshotCost(major, app.events.find((e) => e.event === 'ready').heapUsed).extraMemory
  // Room for the first snapshot and half the second, by the guard's own estimates.
  group.setLimit(Math.round(group.usage() + cost(first) + cost(second) / 2))
  first.signal()
  await waitFor(() => fs.readdirSync(process.env.RHEAPDUMP_LOCK_DIR).some((name) => name.endsWith('.reservation')), { what: `the first reservation; ${first.stderr}` })
  second.signal()
  await waitFor(() => /heap snapshot queued/.test(second.stderr) || /rheapdump: wrote/.test(second.stderr), { timeout: 60000, what: `the second's outcome; ${second.stderr}` })
  assert.match(second.stderr, new RegExp(`heap snapshot queued: .*pid ${first.child.pid} \\(reserved ~`), 'the second waits and names the first')
  const queuedAt = Date.now()
  await waitFor(() => /rheapdump: (wrote|heap snapshot failed)/.test(second.stderr), { timeout: 120000, what: `the second snapshot; ${second.stderr}` })
  assert.match(first.stderr, /rheapdump: wrote/, 'the first was written before the second')
  assert.match(second.stderr, /rheapdump: wrote/)
  const wroteAt = Date.now()
  const ticks = second.events.filter((e) => e.event === 'tick' && e.at > queuedAt && e.at < wroteAt).length
  assert.ok(ticks > 0, 'the second ticked while it waited')
  assert.equal(group.oomKills(), 0)
  assert.equal(snapshotFiles(dir).length, 2)
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
