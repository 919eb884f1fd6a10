'use strict'

// The leak hunt on a service that looks like production code (tools/quote-service: HTTP, a
// logger, a memoizing cache, an event bus) with two planted leaks: a listener added per request
// and never removed, and a cache keyed by customer. Three snapshots are taken in the service
// with rheapdump's writeSnapshot().

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const SERVICE = path.join(__dirname, '..', 'tools', 'quote-service')
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
const json = (...args) => {
  const run = cli(...args, '--json')
  assert.equal(run.status, 0, run.stderr)
  return JSON.parse(run.stdout)
}

// Requests before the baseline, between baseline and target, and between target and final.
const WARMUP = 40
const TARGET = 250
const FINAL = 80

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-hunt-'))
let files

/** Runs the service in `cwd` and returns its three snapshots' names and its pid. */
function hunt(cwd, counts = [WARMUP, TARGET, FINAL], env = {}) {
  fs.mkdirSync(cwd, { recursive: true })
  const run = spawnSync(process.execPath, [path.join(SERVICE, 'hunt.js'), ROOT, ...counts.map(String)], { cwd, encoding: 'utf8', env: { ...process.env, ...env } })
  assert.equal(run.status, 0, run.stderr)
  return JSON.parse(run.stdout)
}

/** `file:line:` of the first line of `file` in the service that contains `text`. */
function lineOf(file, text) {
  const full = path.join(SERVICE, file)
  const line = fs.readFileSync(full, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1
  assert.ok(line > 0, `${text} in ${file}`)
  return `${full}:${line}:`
}

before(() => {
  files = hunt(path.join(dir, 'one')).files
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

test('leaks names both accumulation points first, with file:line, exact counts and few classes', () => {
  const report = json('leaks', ...files)
  const [first, second] = report.owners
  const listeners = [first, second].find((o) => o.class === 'Array')
  const cache = [first, second].find((o) => o.class !== 'Array')
  assert.ok(listeners && cache, JSON.stringify(report.owners.slice(0, 3).map((o) => [o.name, o.source])))

  // The listener array of RateFeed._events.rates, located at the class that holds it.
  assert.deepEqual(listeners.path.slice(-3).map((s) => s.edge), ['_events', 'rates', null])
  assert.ok(listeners.source.startsWith(lineOf('rate-feed.js', 'constructor(')), listeners.source)
  assert.equal(listeners.source_of, 'RateFeed')
  const byName = (owner, pattern) => owner.classes.find((c) => pattern.test(c.name))
  assert.equal(byName(listeners, /^QuoteRequest$/).count, TARGET, 'one QuoteRequest per request after the baseline')
  assert.ok(byName(listeners, /^QuoteRequest$/).source.startsWith(lineOf('quotes.js', 'constructor(')))
  // The listeners themselves: bound functions, named and located by the function they bind.
  assert.equal(byName(listeners, /^bound onRates\(\)$/).count, TARGET)
  assert.equal(byName(listeners, /^bound onRates\(\)$/).class, 'Function', "DevTools' class, as diff names it")
  assert.ok(byName(listeners, /^bound onRates\(\)$/).source.startsWith(lineOf('quotes.js', 'onRates(rates)')))

  // The cache of the memoized function, located at the closure whose context holds it.
  assert.equal(cache.path.at(-2).edge, 'cache')
  assert.ok(cache.source.startsWith(lineOf('memoize.js', 'return function memoized')), cache.source)
  assert.equal(cache.source_of, 'memoized')
  assert.equal(byName(cache, /exempt/).count, TARGET, 'one tax rate per new customer')

  for (const owner of [listeners, cache]) {
    const top3 = owner.classes.slice(0, 3).reduce((sum, c) => sum + c.retained_size, 0)
    assert.ok(top3 >= 0.8 * owner.retained_size, `${owner.name}: ${top3} of ${owner.retained_size}`)
    assert.ok(owner.growth_count > 0, 'both leaks went on growing after the target')
    assert.ok(owner.count <= report.objects)
  }
  const sizes = report.owners.map((o) => o.retained_size)
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a))

  const human = cli('leaks', ...files, '--top', '2')
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /\n[12]\. (Array @\d+|.+ \(Array @\d+\)): \+\d+ since the target .*; \d+ new objects from baseline to target, .*\n {2}held by RateFeed \(\S+rate-feed\.js:\d+:\d+\)\n/)
  assert.match(human.stdout, /\n[12]\. (Object @\d+|.+ \(Object @\d+\)): \+\d+ since the target .*\n {2}held by memoized \(\S+memoize\.js:\d+:\d+\)\n/)
  assert.match(human.stdout, /\n {5}QuoteRequest +250 +[\d.]+ KiB +@\d+ +\S+quotes\.js:\d+:\d+\n/)
})

test('the whole hunt through the defaults: three SIGUSR2 snapshots of the service (one while stuck), then leaks DIR names both leaks exactly', () => {
  const cwd = path.join(dir, 'signals')
  const { files: signalled, pid } = hunt(cwd, undefined, { HUNT_BY: 'signal' })
  assert.equal(signalled.length, 3)
  for (const file of signalled) assert.match(path.relative(cwd, file), new RegExp(`^heapdump-\\d{8}T\\d{6}\\.\\d{6}Z-${pid}-[0-9a-z]{6}-\\d+\\.heapsnapshot$`))
  const run = cli('leaks', cwd, '--json')
  assert.equal(run.status, 0, run.stderr)
  const report = JSON.parse(run.stdout)
  assert.deepEqual(report.warnings, [], 'ids kept across the signal snapshots: nothing looks renumbered')
  const [first, second] = report.owners
  const listeners = [first, second].find((o) => o.class === 'Array')
  const cache = [first, second].find((o) => o.class !== 'Array')
  assert.ok(listeners && cache, JSON.stringify(report.owners.slice(0, 3).map((o) => [o.name, o.source])))
  assert.equal(listeners.classes.find((c) => c.name === 'QuoteRequest').count, TARGET)
  assert.equal(cache.classes.find((c) => /exempt/.test(c.name)).count, TARGET)
})

test('leaks --by-path: the keys of a dictionary-mode cache do not split its group', () => {
  const report = json('leaks', ...files, '--top', '0')
  const cached = report.groups.filter((g) => /exempt/.test(g.name))
  assert.equal(cached.length, 1, JSON.stringify(cached.map((g) => g.path.at(-2))))
  assert.equal(cached[0].count, TARGET)
  assert.ok(report.groups.length < 100, `${report.groups.length} groups`)
  const human = cli('leaks', ...files, '--by-path', '--top', '3')
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /\n1\. \d+ × .+, retaining /)
})

test('summary: classes written in the service carry file:line:column, 1-based, in JSON and table', () => {
  const report = json('summary', files[2], '--top', '0')
  const row = (name) => report.classes.find((c) => c.name === name)
  // `constructor(` is where V8 places a class's function; columns count from 1 as in editors.
  const at = (file, text) => {
    const source = fs.readFileSync(path.join(SERVICE, file), 'utf8').split('\n')
    const line = source.findIndex((l) => l.includes(text))
    return `${path.join(SERVICE, file)}:${line + 1}:${source[line].indexOf(text) + text.length}`
  }
  assert.equal(row('RateFeed').source, at('rate-feed.js', 'constructor('))
  assert.equal(row('QuoteRequest').source, at('quotes.js', 'constructor('))
  assert.equal(row('Logger').source, at('logger.js', 'constructor('))
  assert.match(row('QuoteRequest').location, /^\d+:\d+:\d+$/, 'the DevTools location stays as it was')
  const human = cli('summary', files[2], '--top', '0')
  assert.match(human.stdout, /\n QuoteRequest +\d+ .* +\S+quotes\.js:\d+:\d+ *\n/)
  const diff = json('diff', files[0], files[2], '--top', '0')
  assert.equal(diff.classes.find((c) => c.name === 'QuoteRequest').source, at('quotes.js', 'constructor('))
})

test('path: distinct retaining paths, shortest first, none through rheapdump while others exist', () => {
  const { owners } = json('leaks', ...files)
  const listeners = owners.find((o) => o.class === 'Array')
  // The rate feed is held by its own timer and by the server that created it.
  const feed = listeners.path.find((s) => s.node === 'RateFeed')
  const report = json('path', files[2], String(feed.id), '--max', '5')
  assert.ok(report.paths.length >= 2, JSON.stringify(report.paths))
  const lengths = report.paths.map((p) => p.length)
  assert.deepEqual(lengths, [...lengths].sort((a, b) => a - b))
  assert.equal(lengths[0], report.distance, 'the first path is a shortest one')
  const retainers = report.paths.map((p) => p.at(-2).id)
  assert.equal(new Set(retainers).size, retainers.length, `each through another retainer: ${retainers}`)
  for (const p of report.paths) {
    assert.equal(p.at(-1).id, feed.id)
    assert.ok(!p.some((s) => /rheapdump/.test(s.edge)), JSON.stringify(p))
  }
  // A leaked object with one retainer: one path, not the same path again and again.
  const quote = listeners.classes.find((c) => c.name === 'QuoteRequest')
  const single = json('path', files[2], String(quote.example), '--max', '5')
  assert.equal(single.paths.length, 1, JSON.stringify(single.paths.map((p) => p.map((s) => s.edge))))
  assert.equal(single.paths[0].at(-2).edge, '{bound_this}', 'held by its bound listener')
})

test('summary --class lists instances whose ids path accepts; diff --class the new ones', () => {
  const all = json('summary', files[2], '--class', 'QuoteRequest', '--top', '0')
  assert.equal(all.class, 'QuoteRequest')
  // Every request leaked its QuoteRequest; V8 names the class's prototype after it too.
  assert.ok([0, 1].includes(all.count - (WARMUP + TARGET + FINAL)), `${all.count} QuoteRequest objects`)
  assert.equal(all.instances.length, all.count)
  const sizes = all.instances.map((o) => o.retained_size)
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a))
  for (const o of all.instances.slice(0, 3)) {
    assert.ok(o.retained_size >= o.self_size && o.self_size > 0)
    assert.match(o.source, /quotes\.js:\d+:\d+$/)
    const paths = json('path', files[2], String(o.id))
    assert.equal(paths.id, o.id)
    assert.equal(paths.paths[0].at(-1).id, o.id)
  }
  const added = json('diff', files[0], files[2], '--class', 'QuoteRequest', '--top', '5')
  assert.equal(added.before, files[0])
  assert.equal(added.count, TARGET + FINAL, 'the ones made after the baseline')
  assert.equal(added.instances.length, 5)
  const baselineIds = new Set(json('summary', files[0], '--class', 'QuoteRequest', '--top', '0').instances.map((o) => o.id))
  for (const o of added.instances) assert.ok(!baselineIds.has(o.id))
  const human = cli('summary', files[2], '--class', 'memoized')
  assert.match(human.stdout, /^1 memoized objects in .*\n\n Id +Name +Shallow +Retained +Distance +Source *\n.*\n @\d+ +memoized +\d+ B +[\d.]+ KiB +\d+ +\S+memoize\.js:\d+:\d+ *\n$/)
})

test('guard rails: warnings for swapped and mixed-process files, none on a correct run; a directory', () => {
  const quiet = [cli('leaks', ...files, '--json'), cli('diff', files[0], files[2], '--json'), cli('diff', files[0], files[2], '--class', 'Logger', '--json')]
  for (const run of quiet) {
    assert.equal(run.status, 0, run.stderr)
    assert.equal(run.stderr, '', 'no warning on a correct run')
    assert.deepEqual(JSON.parse(run.stdout).warnings, [])
  }

  const swapped = cli('leaks', files[1], files[0], files[2], '--json')
  assert.equal(swapped.status, 0, swapped.stderr)
  const [warning] = JSON.parse(swapped.stdout).warnings
  assert.match(warning, /^\S+-1\.heapsnapshot was taken after \S+-0\.heapsnapshot: give the snapshots oldest first$/)
  assert.equal(swapped.stderr, `rheapdump: warning: ${warning}\n`)

  // A second process of the same service, writing into the same directory.
  const other = hunt(path.join(dir, 'one'), [5, 5, 5])
  assert.notEqual(other.pid, path.basename(files[0]).split('-')[2])
  const mixed = cli('diff', files[0], other.files[1], '--match', 'ids', '--json')
  const warnings = JSON.parse(mixed.stdout).warnings
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0], new RegExp(`come from different processes \\(pid \\d+ and pid ${other.pid}\\)`))
  assert.match(mixed.stderr, /rheapdump: warning: .*different processes/)
  // Left to choose, diff matches two processes by structure, and says why.
  const structural = JSON.parse(cli('diff', files[0], other.files[1], '--json').stdout)
  assert.equal(structural.matched_by, 'structure')
  assert.match(structural.warnings[0], /matched by structure .*come from different processes/)

  // The directory now holds both runs: the newest process's three snapshots are taken.
  const newest = cli('leaks', path.join(dir, 'one'), '--json')
  assert.equal(newest.status, 0, newest.stderr)
  const report = JSON.parse(newest.stdout)
  assert.deepEqual([report.baseline, report.target, report.final], other.files)
  const run = /-([0-9a-z]{6})-\d+\.heapsnapshot$/.exec(other.files[0])[1]
  assert.equal(newest.stderr, `rheapdump: ${path.join(dir, 'one')}: the newest 3 snapshots of pid ${other.pid}, run ${run}: ${other.files.join(', ')}\n`)
  const pair = cli('diff', path.join(dir, 'one'), '--json')
  assert.deepEqual([JSON.parse(pair.stdout).before, JSON.parse(pair.stdout).after], other.files.slice(1))
  const empty = cli('leaks', path.join(dir, 'none-here'))
  assert.equal(empty.status, 2)
  const lonely = path.join(dir, 'lonely')
  fs.mkdirSync(lonely)
  const none = cli('diff', lonely)
  assert.equal(none.status, 2)
  assert.match(none.stderr, /no process wrote 2 snapshots/)
  fs.copyFileSync(other.files[2], path.join(lonely, path.basename(other.files[2])))
  const few = cli('leaks', lonely)
  assert.equal(few.status, 2)
  assert.match(few.stderr, new RegExp(`the newest snapshot there is from pid ${other.pid}, run ${run}, which wrote 1 .*; 3 are needed`))
})

test('guard rails: renumbered ids are named as such', () => {
  // What a disconnected inspector session does to V8's ids, done by hand: every heap object
  // of the final snapshot gets a new id, in a file without rheapdump's default name.
  const snapshot = JSON.parse(fs.readFileSync(files[2], 'utf8'))
  const fields = snapshot.snapshot.meta.node_fields
  const id = fields.indexOf('id')
  let next = 0x40000001
  for (let i = id; i < snapshot.nodes.length; i += fields.length) {
    if (snapshot.nodes[i] % 2 === 1) snapshot.nodes[i] = next += 2
  }
  const renumbered = path.join(dir, 'renumbered.heapsnapshot')
  fs.writeFileSync(renumbered, JSON.stringify(snapshot))
  const run = cli('diff', files[1], renumbered, '--match', 'ids', '--json')
  assert.equal(run.status, 0, run.stderr)
  const { warnings } = JSON.parse(run.stdout)
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0], /have only \d+% of their node ids in common: different processes, or ids renumbered/)
  // Left to choose, diff matches them by structure.
  const structural = JSON.parse(cli('diff', files[1], renumbered, '--json').stdout)
  assert.equal(structural.matched_by, 'structure')
  assert.match(structural.warnings[0], /matched by structure .*only \d+% of their node ids in common/)
})

test('path: a path through rheapdump\'s own objects comes after one that avoids them, even a longer one', () => {
  // A snapshotError handler (held in rheapdump's state on `process`) closes over an object
  // that the application holds too, twelve links deep.
  const script = `
    const rheapdump = require(${JSON.stringify(ROOT)})
    class Precious { constructor() { this.data = 'x'.repeat(100) } }
    const precious = new Precious()
    rheapdump.on('snapshotError', (err) => console.error('snapshot failed', err, precious))
    let chain = { precious }
    for (let i = 0; i < 12; i++) chain = { next: chain }
    globalThis.longWay = chain
    rheapdump.writeSnapshot(process.argv[2])`
  const file = path.join(dir, 'precious.heapsnapshot')
  // A module, so that `precious` lives in its function's context, not in the global scope.
  const module = path.join(dir, 'precious.js')
  fs.writeFileSync(module, script)
  const made = spawnSync(process.execPath, [module, file], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  const [precious] = json('summary', file, '--class', 'Precious').instances
  const report = json('path', file, String(precious.id), '--max', '3')
  const throughRheapdump = (p) => p.some((s) => /rheapdump/.test(s.edge ?? ''))
  assert.ok(report.paths[0].some((s) => s.edge === 'longWay'), JSON.stringify(report.paths[0]))
  assert.ok(!throughRheapdump(report.paths[0]))
  assert.ok(report.paths[0].length > report.distance, 'the shortest path is the one through rheapdump')
  assert.ok(report.paths.slice(1).some(throughRheapdump), 'and it is still shown, after')
})

test('leaks: an owner\'s path avoids rheapdump\'s objects where the application holds it too', () => {
  // A cache that a snapshotError handler closes over (held by rheapdump's state on
  // `process`) and that the application holds twelve links deep.
  const script = `
    const path = require('node:path')
    const rheapdump = require(${JSON.stringify(ROOT)})
    class Entry { constructor(i) { this.i = i } }
    const cache = []
    rheapdump.on('snapshotError', (err) => console.error('snapshot failed with', cache.length, 'entries', err))
    let chain = { cache }
    for (let i = 0; i < 12; i++) chain = { next: chain }
    globalThis.longWay = chain
    for (const [name, count] of [['baseline', 10], ['target', 300], ['final', 100]]) {
      for (let i = 0; i < count; i++) cache.push(new Entry(i))
      rheapdump.writeSnapshot(path.join(process.argv[2], name + '.heapsnapshot'))
    }`
  const where = path.join(dir, 'entries')
  fs.mkdirSync(where)
  fs.writeFileSync(path.join(where, 'entries.js'), script)
  const made = spawnSync(process.execPath, [path.join(where, 'entries.js'), where], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  const snaps = ['baseline', 'target', 'final'].map((n) => path.join(where, `${n}.heapsnapshot`))
  const [owner] = json('leaks', ...snaps).owners
  assert.equal(owner.class, 'Array')
  assert.equal(owner.classes[0].name, 'Entry')
  assert.equal(owner.classes[0].count, 300)
  assert.ok(owner.path.some((s) => s.edge === 'longWay'), JSON.stringify(owner.path))
  assert.ok(!owner.path.some((s) => /rheapdump|snapshotError/.test(s.edge ?? '')), JSON.stringify(owner.path))
  assert.equal(owner.source, null, 'nothing on the application\'s path to it has a source')
})
