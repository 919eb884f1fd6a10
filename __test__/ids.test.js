'use strict'

// Object ids: every comparison of two snapshots (DevTools' Comparison view, `rheapdump diff`,
// `rheapdump leaks`) matches objects by id, so every way of taking a snapshot must leave V8's
// ids alone.

const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir, runScript } = require('./helpers/proc')
const { validateFile, idsOfObjectsNamed } = require('../tools/heapsnapshot')

const CLI = path.join(ROOT, 'bin', 'rheapdump')

// Takes five snapshots of one process, in order: API, SIGUSR2 while idle, SIGUSR2 while the loop
// is stuck for 3 s, near the heap limit (in the middle of a synchronous allocation loop), API.
const EVERY_TRIGGER = `
  const rheapdump = require(${JSON.stringify(ROOT)})
  const fs = require('node:fs')
  class Kept { constructor(i) { this.i = i } }
  globalThis.kept = Array.from({ length: 20000 }, (_, i) => new Kept(i))
  const taken = []
  const next = () => new Promise((resolve) => rheapdump.once('snapshot', (info) => { taken.push(info); resolve() }))
  const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} }
  // The signal thread and the hand-off never keep a process alive: this does, until the end.
  const alive = setInterval(() => {}, 1000)
  ;(async () => {
    rheapdump.writeSnapshot('1-api.heapsnapshot')
    await next()
    let done = next()
    process.kill(process.pid, 'SIGUSR2')
    await done
    done = next()
    process.kill(process.pid, 'SIGUSR2')
    spin(3000)
    await done
    rheapdump.configure({ nearHeapLimit: 1 })
    done = next()
    // Grows 1 MiB at a time, synchronously, until the snapshot has been written inside the loop.
    let ballast = []
    const written = () => fs.readdirSync('.').filter((name) => name.endsWith('.heapsnapshot')).length
    while (written() < 4) ballast.push(new Array(1 << 17).fill(0.5))
    ballast = null
    await done
    rheapdump.writeSnapshot('5-api.heapsnapshot')
    await next()
    console.log(JSON.stringify(taken.map(({ path, trigger, via }) => ({ path, trigger, via }))))
    clearInterval(alive)
  })()
`

test('20,000 unchanged objects keep their ids across snapshots by API, SIGUSR2 idle and stuck, and near the heap limit', (t) => {
  const cwd = tempDir(t)
  const run = runScript(EVERY_TRIGGER, { cwd, args: ['--max-old-space-size=48'], timeout: 120000 })
  assert.equal(run.status, 0, run.stderr)
  const taken = JSON.parse(run.stdout)
  assert.deepEqual(taken.map(({ trigger }) => trigger), ['api', 'signal', 'signal', 'near-heap-limit', 'api'])
  // While idle, whichever notification runs first serves the signal; while stuck, only the interrupt can.
  assert.deepEqual([taken[2].via, taken[3].via], ['interrupt', 'interrupt'])
  const idSets = taken.map(({ path: file }) => idsOfObjectsNamed(validateFile(path.resolve(cwd, file)).snap, 'Kept'))
  assert.equal(idSets[0].length, 20000)
  const first = new Set(idSets[0])
  for (let i = 1; i < idSets.length; i++) {
    const kept = idSets[i].filter((id) => first.has(id)).length
    assert.equal(kept, 20000, `snapshot ${i + 1} (${taken[i].trigger} via ${taken[i].via ?? 'api'}): ${kept} of 20000 ids unchanged`)
  }
})

test('rheapdump diff of two signal snapshots reports exactly the objects allocated in between as new, and none deleted', (t) => {
  const cwd = tempDir(t)
  const run = runScript(`
    const rheapdump = require(${JSON.stringify(ROOT)})
    class Steady { constructor(i) { this.i = i } }
    class Added { constructor(i) { this.i = i } }
    globalThis.steady = Array.from({ length: 5000 }, (_, i) => new Steady(i))
    globalThis.added = []
    const files = []
    rheapdump.on('snapshot', (info) => {
      files.push(info.path)
      if (files.length === 1) {
        for (let i = 0; i < 1234; i++) globalThis.added.push(new Added(i))
        // stuck this time: the second snapshot comes through the interrupt
        process.kill(process.pid, 'SIGUSR2')
        const end = Date.now() + 2000
        while (Date.now() < end) {}
      } else {
        console.log(JSON.stringify(files))
      }
    })
    process.kill(process.pid, 'SIGUSR2')
    const keepAlive = setInterval(() => { if (files.length === 2) clearInterval(keepAlive) }, 50)
  `, { cwd, timeout: 60000 })
  assert.equal(run.status, 0, run.stderr)
  const [before, after] = JSON.parse(run.stdout)
  const diff = spawnSync(CLI, ['diff', before, after, '--json', '--top', '0'], { encoding: 'utf8' })
  assert.equal(diff.status, 0, diff.stderr)
  const rows = JSON.parse(diff.stdout).classes
  const counts = (name) => {
    const row = rows.find((r) => r.name === name)
    return row ? [row.new_count, row.deleted_count] : [0, 0]
  }
  assert.deepEqual(counts('Added'), [1234, 0])
  assert.deepEqual(counts('Steady'), [0, 0], 'unchanged objects are neither new nor deleted')
})
