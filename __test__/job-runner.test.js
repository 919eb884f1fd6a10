'use strict'

// What a new user hit hunting two leaks reported upstream in popular packages, through the
// command line on snapshots of a real process (fixtures/job-runner): a scheduler keeping every
// stopped task in `global.scheduledTasks`, a logger keeping every instance in a registry, and
// an older copy of that logger in a dependency's node_modules with the same class name. The
// snapshots are asked for with SIGUSR2 with sampling on, as in production: each signal writes a
// sampling heap profile too (one sample per 8 KiB, so that each holds many).

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const APP = path.join(__dirname, 'fixtures', 'job-runner')
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
const json = (...args) => {
  const run = cli(...args, '--json')
  assert.equal(run.status, 0, run.stderr)
  return JSON.parse(run.stdout)
}

// Jobs before the baseline, between baseline and target, and between target and final: each
// leaks one ScheduledTask (with its pollJob closure) and one Logger.
const [WARMUP, TARGET, FINAL] = [200, 600, 200]
const NEW = path.join(APP, 'node_modules', 'quill-log') + path.sep
const OLD = path.join('legacy-client', 'node_modules', 'quill-log') + path.sep

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-jobs-'))
let files

before(() => {
  const run = spawnSync(process.execPath, [path.join(APP, 'app.js'), ROOT, WARMUP, TARGET, FINAL].map(String), {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, RHEAPDUMP_SAMPLING: '8192' },
  })
  assert.equal(run.status, 0, run.stderr)
  files = JSON.parse(run.stdout).files
  assert.equal(files.length, 3)
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

test('leaks names each owner by the path that holds it, growth since the target first, and where the code that holds it is', () => {
  const report = json('leaks', dir)
  const tasks = report.owners.find((o) => o.name === 'global.scheduledTasks')
  const loggers = report.owners.find((o) => o.name === 'loggers in the scope of setLevel()')
  assert.ok(tasks && loggers, JSON.stringify(report.owners.map((o) => o.name)))
  assert.deepEqual(report.owners.slice(0, 2).map((o) => o.name).sort(), [tasks.name, loggers.name].sort(), 'the two leaks come first')
  assert.equal(tasks.class, 'Map')
  assert.equal(loggers.class, 'Array')
  assert.equal(tasks.classes.find((c) => c.name === 'ScheduledTask').count, TARGET)
  assert.equal(loggers.classes.find((c) => c.name === 'Logger').count, TARGET)
  assert.ok(loggers.classes.find((c) => c.name === 'Logger').source.startsWith(NEW), 'the leaking copy, not the old one')
  for (const owner of [tasks, loggers]) assert.ok(owner.growth_count > 0 && owner.growth_size > 0, owner.name)

  // The Map has no source of its own and nothing on its way from the global object has one:
  // none is made up (queueMicrotask's, the global's).
  assert.equal(tasks.source, null)
  assert.match(tasks.path.at(-2).node, /^global\b/)
  assert.deepEqual(tasks.path.slice(-2).map((s) => s.edge), ['scheduledTasks', null])
  // The registry array has none either: the function whose scope holds it does, named as such.
  assert.equal(loggers.source_of, 'setLevel')
  assert.match(loggers.source, new RegExp(`^${NEW.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}index\\.js:\\d+:\\d+$`))
  // Its path starts at the module, not at the global object's way to require.cache.
  assert.equal(loggers.path[0].node, 'module "quill-log/index.js"')
  assert.equal(loggers.path[0].source, undefined, "not the location of Node's Module class")
  assert.deepEqual(loggers.path.slice(-2).map((s) => s.edge), ['loggers', null])

  const human = cli('leaks', dir, '--top', '2')
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /\n[12]\. global\.scheduledTasks \(Map @\d+\): \+\d+ since the target \([\d.]+ KiB\); \d+ new objects from baseline to target, retaining [\d.]+ KiB\n/)
  assert.match(human.stdout, /\n[12]\. loggers in the scope of setLevel\(\) \(Array @\d+\): \+\d+ since the target .*\n {2}held by setLevel \(\S+quill-log\/index\.js:\d+:\d+\)\n/)
  assert.match(human.stdout, /\n {2}retained by\n {4}module "quill-log\/index\.js" @\d+ --exports-->\n/)
})

test("rheapdump's own objects are no owners: left out, and counted in a footer", () => {
  const report = json('leaks', dir, '--top', '0')
  const lib = path.join(ROOT, 'lib') + path.sep
  for (const owner of report.owners) {
    assert.ok(!(owner.source ?? '').startsWith(lib), `${owner.name} at ${owner.source}`)
    assert.ok(!owner.path.some((s) => /rheapdump/.test(s.edge ?? '')), `${owner.name}: ${JSON.stringify(owner.path)}`)
  }
  // The app's once('snapshot') listeners sit in rheapdump's emitter, on `process`.
  assert.ok(report.hidden_owners >= 1 && report.hidden_size > 0, JSON.stringify([report.hidden_owners, report.hidden_size]))
  const human = cli('leaks', dir, '--top', '0')
  assert.match(human.stdout, new RegExp(`\\nleft out: ${report.hidden_owners} owners? held by rheapdump's own code, retaining [\\d.]+ (B|KiB)\\n$`))
})

test('closures: DevTools\' class Function in summary and diff, each function as pollJob() in leaks and --by-path, and --class takes both', () => {
  const { owners, groups } = json('leaks', dir, '--top', '0')
  const tasks = owners.find((o) => o.name === 'global.scheduledTasks')
  const poll = tasks.classes.find((c) => c.name === 'pollJob()')
  assert.equal(poll.class, 'Function')
  assert.equal(poll.count, TARGET)
  const grouped = groups.find((g) => g.name === 'pollJob()')
  assert.ok(grouped, JSON.stringify(groups.map((g) => g.name)))
  assert.equal(grouped.class, 'Function')
  assert.equal(grouped.count, TARGET, 'closures of one function are one group, apart from other functions')

  const diff = json('diff', files[0], files[2], '--top', '0')
  assert.ok(diff.classes.find((c) => c.name === 'Function').new_count >= TARGET + FINAL)
  assert.ok(!diff.classes.some((c) => c.name === 'pollJob()'), 'the Comparison stays as DevTools has it')
  const added = json('diff', files[0], files[2], '--class', 'pollJob()', '--top', '0')
  assert.equal(added.count, TARGET + FINAL)
  const all = json('summary', files[2], '--class', 'pollJob', '--top', '1')
  assert.equal(all.count, WARMUP + TARGET + FINAL)
})

test('--source keeps one copy of a package whose classes share their names', () => {
  const mixed = json('summary', files[2], '--class', 'Logger', '--top', '0')
  const copies = new Set(mixed.instances.map((o) => o.source.replace(/:\d+:\d+$/, '')))
  assert.equal(copies.size, 2, [...copies].join(', '))

  const leaking = json('summary', files[2], '--class', 'Logger', '--source', NEW, '--top', '3')
  // The base logger and one child per job; V8 names the class's prototype after it too.
  assert.ok([1, 2].includes(leaking.count - (WARMUP + TARGET + FINAL)), `${leaking.count} Logger objects`)
  assert.equal(leaking.instances.length, 3)
  for (const o of leaking.instances) assert.ok(o.source.startsWith(NEW), o.source)
  const old = json('summary', files[2], '--class', 'Logger', '--source', OLD, '--top', '0')
  assert.ok([40, 41].includes(old.count), `${old.count}: one per endpoint the old client called`)
  for (const o of old.instances) assert.ok(o.source.includes(OLD), o.source)

  const summary = json('summary', files[2], '--source', OLD, '--top', '0')
  assert.deepEqual(summary.classes.map((c) => c.name), ['Logger'])
  const diff = json('diff', files[0], files[2], '--source', 'cron-lite/', '--top', '0')
  assert.deepEqual(diff.classes.map((c) => c.name), ['ScheduledTask'])
  const leaks = json('leaks', dir, '--source', NEW, '--top', '0')
  assert.deepEqual(leaks.owners.map((o) => o.name), ['loggers in the scope of setLevel()'])
  const human = cli('summary', files[2], '--source', OLD)
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /\n Logger +4[01] /)
})

test('profile top|diff take a directory and say which files they read', () => {
  const profiles = fs.readdirSync(dir).filter((f) => f.endsWith('.heapprofile')).sort().map((f) => path.join(dir, f))
  assert.equal(profiles.length, 3)
  const top = cli('profile', 'top', dir, '--json')
  assert.equal(top.status, 0, top.stderr)
  assert.equal(JSON.parse(top.stdout).file, profiles[2])
  assert.equal(top.stderr, `rheapdump: ${dir}: the newest profile: ${profiles[2]}\n`)
  const diff = cli('profile', 'diff', dir, '--json')
  assert.equal(diff.status, 0, diff.stderr)
  const report = JSON.parse(diff.stdout)
  assert.deepEqual([report.before, report.after], profiles.slice(1))
  assert.equal(diff.stderr, `rheapdump: ${dir}: the newest profiles: ${profiles.slice(1).join(', ')}\n`)
  const empty = fs.mkdtempSync(path.join(dir, 'empty-'))
  const none = cli('profile', 'diff', empty)
  assert.equal(none.status, 2)
  assert.match(none.stderr, /0 \.heapprofile files here; 2 are needed/)
})

test('a profile given to summary, and a snapshot given to profile top, are named for what they are', () => {
  const profile = fs.readdirSync(dir).find((f) => f.endsWith('.heapprofile'))
  const summary = cli('summary', path.join(dir, profile))
  assert.equal(summary.status, 1)
  assert.match(summary.stderr, /a sampling heap profile \(\.heapprofile\), not a heap snapshot: read it with `rheapdump profile top FILE`/)

  // A snapshot's head followed by garbage, then 16 GiB of holes: refused from the head, so
  // neither the garbage nor the size is ever met.
  const head = fs.readFileSync(files[0]).subarray(0, 4096)
  const big = path.join(dir, 'big.heapsnapshot')
  fs.writeFileSync(big, Buffer.concat([head, Buffer.from('\0garbage, not JSON')]))
  fs.truncateSync(big, 16 * 2 ** 30)
  const refused = cli('profile', 'top', big)
  assert.equal(refused.status, 1)
  assert.equal(refused.stderr, `rheapdump: ${big}: ERR_PROFILE_SYNTAX: a heap snapshot, not a sampling heap profile: read it with \`rheapdump summary ${big}\`\n`)
  fs.rmSync(big)
})
