'use strict'

// The layout the code keeps (in-process, reading files): index.js is start-up plus exports, no
// module in lib/ or src/ grows past ~400 lines, lib/ modules never require each other in a
// cycle, and what a process that never snapshots does not need is loaded on first use.

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT } = require('./helpers/proc')

const lines = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1
const listed = (dir, ext) => fs.readdirSync(path.join(ROOT, dir), { recursive: true }).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f))

test('index.js is start-up plus exports; lib/ and src/ modules stay small', () => {
  assert.ok(lines('index.js') <= 100, `index.js has ${lines('index.js')} lines`)
  for (const file of [...listed('lib', '.js'), ...listed('src', '.rs')]) {
    assert.ok(lines(file) <= 400, `${file} has ${lines(file)} lines`)
  }
})

test('lib/ modules require each other without a cycle', () => {
  const requires = new Map()
  for (const file of listed('lib', '.js')) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
    const local = [...text.matchAll(/require\('\.\/([\w-]+)'\)/g)].map((m) => `lib/${m[1]}.js`)
    requires.set(file, local)
  }
  const state = new Map() // file → 'visiting' | 'done'
  const visit = (file, trail) => {
    if (state.get(file) === 'done') return
    assert.notEqual(state.get(file), 'visiting', `cycle: ${[...trail, file].join(' → ')}`)
    state.set(file, 'visiting')
    for (const next of requires.get(file) ?? []) visit(next, [...trail, file])
    state.set(file, 'done')
  }
  for (const file of requires.keys()) visit(file, [])
})

test('require() loads neither node:v8, node:vm, node:inspector nor lib/monitor.js or lib/analysis.js', () => {
  const script = `
    require(${JSON.stringify(ROOT)})
    const loaded = Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(ROOT)}, f))
    console.log(JSON.stringify({ builtins: process.moduleLoadList.filter((m) => /^NativeModule (v8|vm|inspector)$/.test(m)), loaded }))`
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RHEAPDUMP_SIGNAL: '0' } })
  assert.equal(result.status, 0, result.stderr)
  const { builtins, loaded } = JSON.parse(result.stdout)
  assert.deepEqual(builtins, [])
  assert.ok(loaded.includes('lib/snapshot.js'), loaded.join(', '))
  for (const lazy of ['lib/monitor.js', 'lib/analysis.js']) assert.ok(!loaded.includes(lazy), `${lazy} loaded at require`)
})
