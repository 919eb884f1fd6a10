'use strict'

// Comparison by structure (crates/analysis/src/report/shape.rs): diff and leaks of snapshots
// whose object ids cannot be matched — fork snapshots, two processes of one service — by
// retaining path and class. Proven against the id-based report on in-process snapshots of
// every kind of leak the fixtures plant, then end to end through fork snapshots of a service
// that a client keeps polling.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir, waitFor, startApp, needsAddon } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const SERVICE = path.join(__dirname, '..', 'tools', 'quote-service')
const ZOO = path.join(ROOT, 'tools', 'leak-zoo.js')
const forkSkip = needsAddon('cannot fork') || (process.platform !== 'linux' || process.arch !== 'x64' ? 'fork snapshots are tested on x86-64 Linux only' : false)

const json = (...args) => {
  const run = spawnSync(CLI, [...args, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 })
  assert.equal(run.status, 0, run.stderr)
  return JSON.parse(run.stdout)
}

/** Whether two owners of reports on the same last snapshot are one culprit: the same object, or one holds the other on its path. */
const sameCulprit = (a, b) => a.id === b.id || a.path.some((s) => s.id === b.id) || b.path.some((s) => s.id === a.id)

/** The listener array and the memoize cache among the first `ranks` owners of a quote-service report. */
function quoteCulprits(report, ranks = 2) {
  const first = report.owners.slice(0, ranks)
  const listeners = first.find((o) => o.class === 'Array' && o.path.at(-2)?.edge === 'rates')
  const cache = first.find((o) => o.path.at(-2)?.edge === 'cache')
  assert.ok(listeners && cache, `${report.matched_by}: ${JSON.stringify(report.owners.slice(0, 3).map((o) => [o.name, o.class, o.retained_size]))}`)
  return { listeners, cache }
}

for (const scenario of ['map-cache', 'closures', 'timers', 'records', 'registry', 'in-flight']) {
  test(`${scenario}: the id-free report names the culprit the id-based one names first`, (t) => {
    const dir = tempDir(t)
    const made = spawnSync(process.execPath, [ZOO, scenario, dir], { encoding: 'utf8' })
    assert.equal(made.status, 0, made.stderr)
    const { files } = JSON.parse(made.stdout)
    const byIds = json('leaks', ...files, '--match', 'ids')
    const byStructure = json('leaks', ...files, '--match', 'structure')
    assert.equal(byIds.matched_by, 'ids')
    assert.equal(byStructure.matched_by, 'structure')
    assert.match(byStructure.warnings[0], /matched by structure .*: asked for/)
    const [top] = byIds.owners
    assert.ok(sameCulprit(byStructure.owners[0], top), `${byStructure.owners[0].name} vs ${top.name}`)
    // The culprit's growth is found whole: at least as many objects, about the same size.
    assert.ok(byStructure.owners[0].count >= top.count, `${byStructure.owners[0].count} < ${top.count}`)
    assert.ok(byStructure.owners[0].retained_size >= 0.9 * top.retained_size)
    const payload = byStructure.owners[0].classes.find((c) => c.name === 'Payload')
    assert.ok(payload && payload.count >= 300, JSON.stringify(byStructure.owners[0].classes))
    assert.match(payload.source, /leak-zoo\.js:\d+:\d+$/)
  })
}

test('the quote service: listeners and memoize cache are the first two owners by structure as by ids, and diff names them too', (t) => {
  const cwd = tempDir(t)
  const run = spawnSync(process.execPath, [path.join(SERVICE, 'hunt.js'), ROOT, '40', '250', '80'], { cwd, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  const { files } = JSON.parse(run.stdout)
  const byIds = quoteCulprits(json('leaks', ...files, '--match', 'ids'))
  const byStructure = quoteCulprits(json('leaks', ...files, '--match', 'structure'))
  assert.equal(byStructure.listeners.id, byIds.listeners.id)
  assert.equal(byStructure.cache.id, byIds.cache.id)
  for (const [owner, pattern] of [[byStructure.listeners, /^QuoteRequest$/], [byStructure.cache, /exempt/]]) {
    const row = owner.classes.find((c) => pattern.test(c.name))
    assert.equal(row.count, 250, `${owner.name}: ${JSON.stringify(row)}`)
    assert.ok(owner.growth_count > 0, 'both went on growing after the target')
  }
  const diff = json('diff', files[0], files[2], '--match', 'structure')
  assert.equal(diff.matched_by, 'structure')
  // Two snapshots cannot tell a one-off object from growth: on Node 22 `process.config`, made on
  // first use after the first snapshot (44 KB), can rank between the two.
  quoteCulprits(diff, 3)
  const quote = diff.classes.find((c) => c.name === 'QuoteRequest')
  assert.equal(quote.delta_count, 330, "DevTools' # Delta needs no ids")
  assert.equal(quote.new_count, null, 'new and deleted cannot be told apart without ids')
  const human = spawnSync(CLI, ['diff', files[0], files[2], '--match', 'structure'], { encoding: 'utf8' })
  assert.match(human.stdout, /matched by structure/)
  assert.match(human.stdout, /\n QuoteRequest +\+330 /)
  assert.match(human.stdout, /\n1\. .+: \d+ more objects, retaining /)
})

/** Requests the service every 10 ms, a new customer each time, until stopped; records each wait. */
function pollForever(port) {
  const client = { count: 0, waits: [], stopped: false, done: null }
  const once = () =>
    new Promise((resolve, reject) => {
      const start = process.hrtime.bigint()
      const query = `customer=C${200000 + client.count}&sku=SKU-${client.count % 7}&quantity=2&currency=GBP`
      http
        .get({ port, host: '127.0.0.1', path: `/quote?${query}`, agent: false }, (res) => {
          res.resume()
          res.on('end', () => {
            client.waits.push(Number(process.hrtime.bigint() - start) / 1e6)
            client.count++
            resolve()
          })
        })
        .on('error', reject)
    })
  client.done = (async () => {
    while (!client.stopped) {
      await once()
      // A client polling every 10 ms, not a load test: the leaks stay small.
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  return client
}

/**
 * Runs the service with RHEAPDUMP_FORK=1 in `cwd`, and SIGUSR2 after each of `phases` counts of
 * requests while a client keeps polling. Returns the snapshots and the client's waits.
 */
async function forkHunt(t, cwd, phases) {
  fs.mkdirSync(cwd, { recursive: true })
  const app = await startApp(t, { cwd, script: path.join(SERVICE, 'serve.js'), args: [ROOT], env: { RHEAPDUMP_FORK: '1', RHEAPDUMP_QUIET: '1' } })
  const { port } = app.events.find((e) => e.event === 'ready')
  const client = pollForever(port)
  const files = []
  let resent = 0
  try {
    for (const count of phases) {
      const from = client.count
      await waitFor(() => client.count >= from + count, { timeout: 60000, what: `${count} requests` })
      // A signal that comes while the last fork child is still being cleaned up is skipped
      // (one stderr line, after the 'snapshot' event): that one is sent again.
      const skips = () => app.stderr.split('skipped: a fork snapshot is still being written').length - 1
      let skipped = skips()
      app.signal('SIGUSR2')
      const written = await waitFor(
        () => {
          if (skips() > skipped) {
            skipped = skips()
            resent++
            app.signal('SIGUSR2')
          }
          return app.events.find((e) => (e.event === 'snapshot' || e.event === 'snapshotError') && !files.includes(e.path))
        },
        { timeout: 60000, interval: 100, what: `snapshot ${files.length}; stderr: ${app.stderr}` },
      )
      assert.equal(written.event, 'snapshot', JSON.stringify(written))
      assert.equal(written.via, 'fork')
      files.push(written.path)
    }
  } finally {
    client.stopped = true
    await client.done
  }
  app.signal('SIGTERM')
  await app.waitExit()
  return { files, client, resent }
}

test('the hunt through fork snapshots: three SIGUSR2 while a client polls, leaks DIR names both leaks, no request waited 150 ms', { skip: forkSkip }, async (t) => {
  const cwd = tempDir(t)
  const { files, client, resent } = await forkHunt(t, cwd, [40, 250, 80])
  assert.deepEqual(fs.readdirSync(cwd).filter((f) => f.endsWith('.heapsnapshot')).sort(), files.map((f) => path.basename(f)).sort())
  const slowest = Math.max(...client.waits)
  t.diagnostic(`${client.waits.length} requests, slowest ${slowest.toFixed(1)} ms; ${resent} signals sent again`)
  assert.ok(slowest < 150, `a request waited ${slowest.toFixed(1)} ms`)

  const report = json('leaks', cwd)
  assert.equal(report.matched_by, 'structure')
  assert.match(report.warnings[0], /is a fork snapshot, whose ids match no other snapshot's/)
  // Requests go on while the snapshots are written, so what the service holds for them at each
  // moment differs: once in CI (Node 24, a loaded machine) a 48 KB owner, `process` in the scope
  // of queueMicrotask(), ranked between the 109 KB listener array and the 35 KB cache. Both
  // culprits among the first three, then; the in-process hunt above keeps them first and second.
  const { listeners, cache } = quoteCulprits(report, 3)
  // At least the phase's count.
  const quotes = listeners.classes.find((c) => c.name === 'QuoteRequest').count
  assert.ok(quotes >= 250, `${quotes} QuoteRequests`)
  assert.ok(cache.classes.find((c) => /exempt/.test(c.name)).count >= 250)
  assert.ok(listeners.source.includes('rate-feed.js:'), listeners.source)
  assert.ok(cache.source.includes('memoize.js:'), cache.source)

  // Asked to match by ids, the same files are refused, as before.
  const refused = spawnSync(CLI, ['leaks', cwd, '--match', 'ids'], { encoding: 'utf8' })
  assert.notEqual(refused.status, 0)
  assert.match(refused.stderr, /ERR_SNAPSHOT_NOT_COMPARABLE/)
  // The JS API takes the same choice, and checks it.
  const { analysis } = require(ROOT)
  const byApi = await analysis.leaks(...files, { match: 'structure', top: 3 })
  assert.equal(byApi.matched_by, 'structure')
  assert.deepEqual(byApi.owners.map((o) => o.id), report.owners.slice(0, 3).map((o) => o.id))
  await assert.rejects(analysis.diff(files[0], files[1], { match: 'names' }), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('two processes of the service, one fork snapshot each: diff A B names both leaks by structure', { skip: forkSkip }, async (t) => {
  const dir = tempDir(t)
  const young = await forkHunt(t, path.join(dir, 'young'), [100])
  const old = await forkHunt(t, path.join(dir, 'old'), [700])
  const [before, after] = [young.files[0], old.files[0]]
  const diff = json('diff', before, after)
  assert.equal(diff.matched_by, 'structure')
  const { listeners, cache } = quoteCulprits(diff, 3)
  const quotes = listeners.classes.find((c) => c.name === 'QuoteRequest').count
  assert.ok(quotes >= 550, `${quotes} QuoteRequests more`)
  assert.ok(cache.count > 0)
  const row = diff.classes.find((c) => c.name === 'QuoteRequest')
  assert.equal(row.delta_count, quotes)
})
