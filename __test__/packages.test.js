'use strict'

// Memory by npm package: an application whose objects come from its own code, from a scoped
// package, from a package nested in another's node_modules, and from Node. Three snapshots
// written by Node's own writer; each package's objects are counted where their constructor or
// closure is written, and --package (and the JS API's `package`) keep one package's rows.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
const json = (...args) => {
  const run = cli(...args, '--json')
  assert.equal(run.status, 0, run.stderr)
  return JSON.parse(run.stdout)
}

// Objects made per unit of work, and units before the baseline, before the target, before the final.
const WORK = [100, 2000, 500]

/** The application and its packages, as files under an app directory. */
const FILES = {
  'node_modules/@acme/store/package.json': '{"name":"@acme/store","main":"index.js"}',
  'node_modules/@acme/store/index.js': `'use strict'
class StoreEntry { constructor(key, value) { this.key = key; this.value = value; this.at = Date.now() } }
exports.createStore = function createStore() {
  const entries = new Map()
  return { put(key, value) { entries.set(key, new StoreEntry(key, value)) } }
}
`,
  'node_modules/tiny-bus/package.json': '{"name":"tiny-bus","main":"index.js"}',
  'node_modules/tiny-bus/index.js': `'use strict'
const { ListNode } = require('inner-list')
const handlers = []
exports.on = function on(id) { handlers.push(new ListNode(id, function handler() { return id })) }
`,
  'node_modules/tiny-bus/node_modules/inner-list/package.json': '{"name":"inner-list","main":"index.js"}',
  'node_modules/tiny-bus/node_modules/inner-list/index.js': `'use strict'
class ListNode { constructor(id, fn) { this.id = id; this.fn = fn } }
exports.ListNode = ListNode
`,
  'app.js': `'use strict'
const path = require('node:path')
const v8 = require('node:v8')
const { createStore } = require('@acme/store')
const bus = require('tiny-bus')
class Session { constructor(id) { this.id = id; this.name = 'session-' + id } }
const sessions = []
const store = createStore()
globalThis.app = { sessions, store }
let next = 0
function work(count) {
  for (let i = 0; i < count; i++, next++) {
    sessions.push(new Session(next))
    store.put('k' + next, { n: next })
    bus.on(next)
  }
}
const [dir, ...counts] = process.argv.slice(2)
const files = counts.map((count, i) => {
  work(Number(count))
  return v8.writeHeapSnapshot(path.join(dir, (i + 1) + '.heapsnapshot'))
})
process.stdout.write(JSON.stringify(files))
`,
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-packages-'))
let files

before(() => {
  const app = path.join(dir, 'app')
  for (const [name, text] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(app, name)), { recursive: true })
    fs.writeFileSync(path.join(app, name), text)
  }
  const run = spawnSync(process.execPath, [path.join(app, 'app.js'), dir, ...WORK.map(String)], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  files = JSON.parse(run.stdout)
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

const total = WORK.reduce((a, b) => a + b, 0)
const row = (rows, name) => rows.find((r) => r.name === name)

test('summary counts objects under the package that defines their constructor or closure: scoped, nested (the innermost node_modules), the app, Node', () => {
  const report = json('summary', files[2], '--top', '0')
  const names = report.packages.map((p) => p.name)
  for (const name of ['@acme/store', 'inner-list', 'tiny-bus', '(app)', '(node)', '(unknown)']) assert.ok(names.includes(name), `${name} in ${names}`)
  // StoreEntry objects (one per unit) are @acme/store's; ListNode objects are inner-list's, not tiny-bus's.
  assert.ok(row(report.packages, '@acme/store').count >= total, JSON.stringify(row(report.packages, '@acme/store')))
  assert.ok(row(report.packages, 'inner-list').count >= total)
  // tiny-bus's closures: one handler per unit.
  assert.ok(row(report.packages, 'tiny-bus').count >= total)
  assert.equal(row(report.classes, 'StoreEntry').package, '@acme/store')
  assert.equal(row(report.classes, 'ListNode').package, 'inner-list')
  assert.equal(row(report.classes, 'Session').package, '(app)')
  for (const p of report.packages) assert.ok(p.retained_size >= p.shallow_size, JSON.stringify(p))
  const sizes = report.packages.map((p) => p.retained_size)
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a), 'largest retained size first')

  const human = cli('summary', files[2])
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /\nMemory by package\n/)
  assert.match(human.stdout, /\n @acme\/store +\d+ +[\d.]+ \w?i?B +[\d.]+ \w?i?B/)
})

test('--package keeps one package\'s rows in summary, diff and leaks', () => {
  const summary = json('summary', files[2], '--package', '@acme/store', '--top', '0')
  assert.deepEqual([...new Set(summary.classes.map((c) => c.package))], ['@acme/store'])
  assert.ok(summary.classes.some((c) => c.name === 'StoreEntry'))
  assert.deepEqual(summary.packages.map((p) => p.name), ['@acme/store'])

  const diff = json('diff', files[0], files[2], '--package', 'inner-list')
  assert.deepEqual(diff.classes.map((c) => c.name), ['ListNode'])
  assert.equal(row(diff.classes, 'ListNode').new_count, WORK[1] + WORK[2])
  assert.deepEqual(diff.packages.map((p) => p.name), ['inner-list'])

  const leaks = json('leaks', ...files, '--package', '(app)', '--top', '0')
  assert.ok(leaks.owners.length > 0)
  for (const owner of leaks.owners) assert.ok(owner.package === '(app)' || owner.classes.every((c) => c.package === '(app)'), JSON.stringify(owner))
  assert.deepEqual(leaks.packages.map((p) => p.name), ['(app)'])
})

test('diff and leaks count by package: every new object of a package, closures included', () => {
  const diff = json('diff', files[0], files[2])
  // One handler closure and one ListNode per unit: tiny-bus's closures are in no class row.
  assert.ok(row(diff.packages, 'tiny-bus').new_count >= WORK[1] + WORK[2], JSON.stringify(row(diff.packages, 'tiny-bus')))
  assert.ok(row(diff.packages, '@acme/store').new_count >= WORK[1] + WORK[2])
  const deltas = diff.packages.map((p) => p.size_delta)
  assert.deepEqual(deltas, [...deltas].sort((a, b) => b - a))

  const leaks = json('leaks', ...files, '--top', '0')
  // Leaked: allocated between baseline and target, still alive.
  assert.equal(row(leaks.packages, '@acme/store').count >= WORK[1], true)
  assert.equal(row(leaks.packages, 'inner-list').count, WORK[1])
  const sessions = leaks.owners.find((o) => o.classes.some((c) => c.name === 'Session'))
  assert.equal(sessions.classes.find((c) => c.name === 'Session').package, '(app)')
  const human = cli('leaks', ...files)
  assert.match(human.stdout, /\nLeaked objects by package\n/)
})

test('the JS API takes `package` in summary, diff and leaks, with the CLI\'s answer', async () => {
  const { analysis } = require(ROOT)
  assert.deepEqual(await analysis.summary(files[2], { package: 'inner-list', top: 5 }), json('summary', files[2], '--package', 'inner-list', '--top', '5'))
  assert.deepEqual(await analysis.diff(files[0], files[2], { package: '@acme/store' }), json('diff', files[0], files[2], '--package', '@acme/store'))
  assert.deepEqual(await analysis.leaks(...files, { package: '(app)' }), json('leaks', ...files, '--package', '(app)'))
  await assert.rejects(analysis.summary(files[2], { package: 5 }), { code: 'ERR_INVALID_ARG_VALUE' })
})
