'use strict'

// heapdump 0.3.15's own test suite, unchanged, against rheapdump: its test files run from a
// package directory whose index.js is rheapdump, as `require('../')` finds it. The files and
// their libraries (tap, shelljs) come from the npm registry (scripts/peers.js).

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const { ensureInstalled, modulesDir } = require('../scripts/peers')
const { ROOT, tempDir } = require('./helpers/proc')

ensureInstalled()
const suite = path.join(modulesDir, 'heapdump', 'test')

for (const file of fs.readdirSync(suite).filter((name) => name.endsWith('.js')).sort()) {
  test(`heapdump's ${file} passes against rheapdump`, (t) => {
    const pkg = path.join(tempDir(t), 'heapdump')
    fs.mkdirSync(path.join(pkg, 'test'), { recursive: true })
    fs.copyFileSync(path.join(suite, file), path.join(pkg, 'test', file))
    fs.writeFileSync(path.join(pkg, 'index.js'), `module.exports = require(${JSON.stringify(ROOT)})\n`)
    const run = spawnSync(process.execPath, [path.join(pkg, 'test', file)], {
      cwd: pkg,
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: modulesDir },
      timeout: 60000,
    })
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`)
    assert.doesNotMatch(run.stdout, /^not ok/m)
    const planned = /^1\.\.(\d+)$/m.exec(run.stdout)
    if (planned) assert.equal((run.stdout.match(/^ok /gm) || []).length, Number(planned[1]), run.stdout)
  })
}
