'use strict'

// Inputs the analysis tests share, made fresh in a test's directory.

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const { runScript } = require('./proc')

/**
 * In `dir`: the three snapshots of __test__/fixtures/leaky-app.js (baseline, target and final
 * .heapsnapshot), and before.heapprofile and after.heapprofile, two sampling heap profiles of
 * one sampler run taken through the inspector (independent of rheapdump).
 */
function makeLeakyInputs(dir) {
  const made = spawnSync(process.execPath, [path.join(__dirname, '..', 'fixtures', 'leaky-app.js'), dir], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  const profiled = runScript(`
    const { Session } = require('node:inspector'); const fs = require('node:fs')
    const session = new Session(); session.connect()
    const post = (method, params) => { let out; session.post(method, params, (err, result) => { if (err) throw err; out = result }); return out }
    post('HeapProfiler.startSampling', { samplingInterval: 256 })
    globalThis.keep = Array.from({ length: 2000 }, (_, i) => ({ i, s: 'x'.repeat(i % 50) }))
    fs.writeFileSync('before.heapprofile', JSON.stringify(post('HeapProfiler.getSamplingProfile').profile))
    globalThis.more = Array.from({ length: 4000 }, (_, i) => [i, String(i)])
    fs.writeFileSync('after.heapprofile', JSON.stringify(post('HeapProfiler.stopSampling').profile))`, { cwd: dir })
  assert.equal(profiled.status, 0, profiled.stderr)
}

module.exports = { makeLeakyInputs }
