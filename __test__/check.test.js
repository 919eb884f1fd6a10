'use strict'

// `rheapdump check`: memory budgets for CI, on snapshots of real processes. Exit 0 within the
// budgets, 1 beyond them (naming what grew), 2 on any error.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8' })

function leakySnapshots(t) {
  const dir = tempDir(t)
  const made = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'leaky-app.js'), dir], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  return { baseline: path.join(dir, 'baseline.heapsnapshot'), final: path.join(dir, 'final.heapsnapshot') }
}

// A service that does the same work in each run and keeps nothing of it: two runs, two processes.
const STEADY = `
class Session { constructor(i) { this.id = i; this.user = 'user-' + i } }
globalThis.sessions = Array.from({ length: 200 }, (_, i) => new Session(i))
let scratch = Array.from({ length: 5000 }, (_, i) => ({ i, text: 'request ' + i }))
scratch = null
require('node:v8').writeHeapSnapshot(process.argv[1])
`

test('check exits 1 naming the class and the owner that grew over their budgets', (t) => {
  const { baseline, final } = leakySnapshots(t)
  const text = cli('check', baseline, final, '--max-class-growth', 'Leak=64KiB', '--max-class-growth', 'Session=1KB', '--max-owner-growth', 'Map=100KB')
  assert.equal(text.status, 1, text.stderr)
  const [line] = text.stdout.split('\n')
  assert.match(line, /^rheapdump check: FAIL [+-][\d.]+ [KM]iB: class Leak \+[\d.]+ [KM]iB > 64.0 KiB, owner Map \+[\d.]+ [KM]iB > 97.7 KiB$/)
  assert.match(text.stdout, /^ class Session .* ok $/m)

  const json = cli('check', baseline, final, '--max-growth', '64KiB', '--max-class-growth', 'Leak=64k', '--max-owner-growth', 'Map=100KB', '--json')
  assert.equal(json.status, 1, json.stderr)
  const report = JSON.parse(json.stdout)
  assert.equal(report.passed, false)
  const [total, leak, map] = report.budgets
  assert.deepEqual([total.kind, total.passed], ['total', false])
  assert.ok(total.growth > 1500 * 300, `total grew by ${total.growth}`)
  assert.deepEqual([leak.kind, leak.name, leak.objects, leak.limit, leak.passed], ['class', 'Leak', 1500, 65536, false])
  assert.deepEqual([map.kind, map.name, map.passed], ['owner', 'Map', false])
  assert.ok(map.growth > leak.growth, 'the Map retains the Leak objects and their table')
  assert.equal(report.grew[0].name, 'Leak')
  assert.equal(report.grew[0].objects, 1500)
})

test('check exits 0 within its budgets, comparing snapshots of two processes', (t) => {
  const dir = tempDir(t)
  const [main, change] = ['main', 'change'].map((name) => {
    const file = path.join(dir, `${name}.heapsnapshot`)
    const made = spawnSync(process.execPath, ['-e', STEADY, file], { encoding: 'utf8' })
    assert.equal(made.status, 0, made.stderr)
    return file
  })
  const result = cli('check', main, change, '--max-growth', '1MB', '--max-class-growth', 'Session=1KB')
  assert.equal(result.status, 0, result.stdout + result.stderr)
  assert.match(result.stdout.split('\n')[0], /^rheapdump check: PASS [+-]?[\d.]+ (B|KiB) \(budget 976.6 KiB\)$/)
  const json = JSON.parse(cli('check', main, change, '--max-class-growth', 'Session=0', '--json').stdout)
  assert.deepEqual(json.budgets, [{ kind: 'class', name: 'Session', limit: 0, growth: 0, objects: 0, passed: true }])
})

test('a package budget counts the objects made by the constructors under node_modules/<package>', (t) => {
  const dir = tempDir(t)
  const pkg = path.join(dir, 'node_modules', '@acme', 'lru')
  fs.mkdirSync(pkg, { recursive: true })
  fs.writeFileSync(path.join(pkg, 'index.js'), 'module.exports = class CacheEntry { constructor(k) { this.key = k; this.at = Date.now() } }\n')
  const script = (count) => `
    const CacheEntry = require('@acme/lru')
    globalThis.cache = Array.from({ length: ${count} }, (_, i) => new CacheEntry(i))
    require('node:v8').writeHeapSnapshot(process.argv[1])`
  const files = [10, 3000].map((count) => {
    const file = path.join(dir, `${count}.heapsnapshot`)
    const made = spawnSync(process.execPath, ['-e', script(count), file], { cwd: dir, encoding: 'utf8' })
    assert.equal(made.status, 0, made.stderr)
    return file
  })
  const over = cli('check', ...files, '--max-package-growth', '@acme/lru=10KB', '--json')
  assert.equal(over.status, 1, over.stderr)
  const report = JSON.parse(over.stdout)
  assert.deepEqual(report.budgets.map((b) => [b.kind, b.name, b.objects, b.passed]), [['package', '@acme/lru', 2990, false]])
  assert.equal(report.grew.find((g) => g.name === 'CacheEntry').package, '@acme/lru')
  assert.equal(cli('check', ...files, '--max-package-growth', '@acme/lru=1MB').status, 0)
})

test('check exits 2 on a missing file, a size it cannot read, or no budget', (t) => {
  const { baseline } = leakySnapshots(t)
  const missing = path.join(path.dirname(baseline), 'nope.heapsnapshot')
  const gone = cli('check', baseline, missing, '--max-growth', '1MB')
  assert.equal(gone.status, 2)
  assert.equal(gone.stderr, `rheapdump: ${missing}: ENOENT: no such file or directory\n`)
  for (const args of [['--max-growth', '1XB'], ['--max-class-growth', 'Leak'], []]) {
    const usage = cli('check', baseline, baseline, ...args)
    assert.equal(usage.status, 2, args.join(' '))
    assert.equal(usage.stdout, '')
  }
})
