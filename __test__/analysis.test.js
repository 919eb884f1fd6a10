'use strict'

// summary, diff, leaks and path on snapshots of a real process with known contents
// (fixtures/leaky-app.js), through the CLI and the JS API, on the Node version running the test.

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
  assert.equal(run.stderr, '')
  return JSON.parse(run.stdout)
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-analysis-'))
const snap = (name) => path.join(dir, `${name}.heapsnapshot`)
const keys = (object) => Object.keys(object).sort()

before(() => {
  const made = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'leaky-app.js'), dir], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

test('summary: exact class counts, DevTools ordering, the JSON contract and an aligned table', () => {
  const report = json('summary', snap('final'), '--top', '0')
  assert.deepEqual(keys(report), ['classes', 'edges', 'file', 'largest', 'nodes', 'packages', 'total_size'])
  const row = (name) => report.classes.find((c) => c.name === name)
  assert.equal(row('Session').count, 250)
  assert.equal(row('Leak').count, 1500)
  assert.equal(row('Temp'), undefined, 'the Temp objects were dropped before the final snapshot')
  for (const c of report.classes) {
    assert.deepEqual(keys(c).filter((k) => k !== 'location' && k !== 'source'), ['count', 'distance', 'name', 'package', 'retained_size', 'shallow_size'])
    assert.ok(c.retained_size >= c.shallow_size, c.name)
    assert.ok(c.retained_size <= report.total_size, c.name)
  }
  const retained = report.classes.map((c) => c.retained_size)
  assert.deepEqual(retained, [...retained].sort((a, b) => b - a), 'classes by retained size, largest first')
  // The user roots (the global object; on Node 26 its native context) are at distance 1.
  assert.ok(report.classes.some((c) => c.distance === 1))
  assert.ok(row('Leak').distance >= 2 && row('Leak').distance < 100, `Leak distance ${row('Leak').distance}`)
  // Each Leak retains at least its own size; all of them together are held by `registry`.
  assert.ok(row('Leak').retained_size >= row('Leak').shallow_size)
  assert.equal(report.largest.length, 20, '--top 0 lists every class but the default 20 largest objects')
  for (const o of report.largest) assert.deepEqual(keys(o).filter((k) => k !== 'source'), ['id', 'name', 'package', 'retained_size', 'self_size', 'type'])
  const largest = report.largest.map((o) => o.retained_size)
  assert.deepEqual(largest, [...largest].sort((a, b) => b - a))
  assert.equal(report.largest[0].retained_size, Math.max(...report.largest.map((o) => o.retained_size)))

  const top = json('summary', snap('final'), '--top', '3')
  assert.equal(top.classes.length, 3)
  assert.equal(top.largest.length, 3)

  const human = cli('summary', snap('final'), '--top', '5')
  assert.equal(human.status, 0, human.stderr)
  const lines = human.stdout.split('\n')
  assert.match(lines[0], /: \d+ nodes, \d+ edges, [\d.]+ MiB in all$/)
  const header = lines.find((l) => l.includes('Class'))
  assert.match(header, /Class +Count +Shallow +Retained +Distance/)
  const rows = lines.slice(lines.indexOf(header) + 2, lines.indexOf(header) + 7)
  assert.equal(rows.length, 5)
  // Right-aligned numbers: every row's distance ends where the header's does; the source after
  // it is left-aligned.
  const end = header.indexOf('Distance') + 'Distance'.length
  for (const r of rows) assert.match(r.slice(0, end + 1), /[\d-] ?$/, r)
})

test('summary: a chain of 40 closures shows as one path of context links', async () => {
  const { analysis } = require(ROOT)
  const raw = JSON.parse(fs.readFileSync(snap('baseline'), 'utf8'))
  const fields = raw.snapshot.meta.node_fields
  const types = raw.snapshot.meta.node_types[0]
  const [type, name, id] = ['type', 'name', 'id'].map((f) => fields.indexOf(f))
  const chain = []
  for (let i = 0; i < raw.nodes.length; i += fields.length) {
    if (types[raw.nodes[i + type]] === 'closure' && raw.strings[raw.nodes[i + name]] === 'next') chain.push(raw.nodes[i + id])
  }
  assert.ok(chain.length >= 41, `${chain.length} closures named next`)
  const found = await Promise.all(chain.map((nodeId) => analysis.path(snap('baseline'), nodeId, { max: 1 })))
  const deepest = found.reduce((a, b) => (b.distance > a.distance ? b : a))
  assert.ok(deepest.distance >= 80, `deepest closure at distance ${deepest.distance}`)
  const steps = deepest.paths[0]
  const holder = steps.findIndex((s) => s.edge === 'closures')
  assert.match(steps[holder].node, /^global/, JSON.stringify(steps))
  assert.ok(holder <= 1, 'the global object is a user root or just below its native context (Node 26)')
  // closure → its context → the closure it captured (`inner`) → its context → …
  assert.ok(steps.filter((s) => s.node === 'system / Context').length >= 40, JSON.stringify(steps))
  assert.ok(steps.filter((s) => s.node === 'next' && s.edge === '{context}').length >= 40)
  assert.equal(steps.at(-1).id, deepest.id)
})

test('diff: the leaking class tops the Comparison, with exact new and deleted counts', () => {
  const report = json('diff', snap('baseline'), snap('final'))
  assert.deepEqual(keys(report), ['after', 'before', 'classes', 'matched_by', 'objects', 'owners', 'packages', 'warnings'])
  assert.equal(report.matched_by, 'ids', 'one process, ids intact: matched by id')
  assert.deepEqual(report.warnings, [])
  assert.equal(report.before, snap('baseline'))
  const [first] = report.classes
  assert.deepEqual(keys(first).filter((k) => k !== 'source'), ['alloc_size', 'deleted_count', 'delta_count', 'freed_size', 'name', 'new_count', 'package', 'size_delta'])
  assert.equal(first.name, 'Leak')
  assert.equal(first.new_count, 1500)
  assert.equal(first.deleted_count, 0)
  assert.equal(first.delta_count, 1500)
  assert.equal(first.size_delta, first.alloc_size - first.freed_size)
  const deltas = report.classes.map((c) => c.size_delta)
  assert.deepEqual(deltas, [...deltas].sort((a, b) => b - a), 'sorted by size delta')
  const summary = json('summary', snap('final'), '--top', '0')
  assert.equal(first.alloc_size, summary.classes.find((c) => c.name === 'Leak').shallow_size)

  const dropped = json('diff', snap('target'), snap('final'), '--top', '0')
  const temp = dropped.classes.find((c) => c.name === 'Temp')
  assert.deepEqual([temp.new_count, temp.deleted_count, temp.delta_count], [0, 300, -300])
  assert.equal(dropped.classes.find((c) => c.name === 'Leak').new_count, 500)

  const human = cli('diff', snap('baseline'), snap('final'), '--top', '3')
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /# New +# Deleted +# Delta +Alloc\. Size +Freed Size +Size Delta/)
  assert.match(human.stdout, /\n Leak +1500 +0 +\+1500 /)
})

test('leaks: exactly the objects allocated after baseline and alive in final, grouped with their path', () => {
  const report = json('leaks', snap('baseline'), snap('target'), snap('final'))
  assert.ok(Array.isArray(report.groups))
  const [top] = report.groups
  assert.deepEqual(keys(top), ['class', 'count', 'name', 'package', 'path', 'retained_size'])
  assert.equal(top.name, 'Leak')
  assert.equal(top.count, 1000, 'the 1000 Leak objects of the target phase; not the 500 made after it')
  assert.ok(top.retained_size > 0)
  const holder = top.path.find((s) => s.edge === 'registry')
  assert.match(holder.node, /^global/, JSON.stringify(top.path))
  assert.equal(top.path.at(-1).node, 'Leak')
  assert.equal(top.path.at(-1).edge, null)
  for (const step of top.path) assert.deepEqual(keys(step).filter((k) => k !== 'source'), ['edge', 'id', 'node'])
  assert.match(top.path.at(-1).source, /fixtures\/leaky-app\.js:\d+:\d+$/, 'where class Leak is written')
  assert.ok(!report.groups.some((g) => g.name === 'Temp'), 'Temp objects were freed before final')
  assert.ok(!report.groups.some((g) => g.name === 'Session'), 'Sessions predate the baseline')
  const sizes = report.groups.map((g) => g.retained_size)
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a))

  const [owner] = report.owners
  assert.equal(owner.class, 'Map', 'the registry, which was in the baseline, holds the leak')
  assert.equal(owner.path.at(-2).edge, 'registry')
  assert.equal(owner.count, report.objects - report.owners.slice(1).reduce((sum, o) => sum + o.count, 0))
  assert.deepEqual(owner.classes.find((c) => c.name === 'Leak').count, 1000)
  assert.equal(owner.growth_count >= 500, true, 'the 500 Leak objects made after the target')

  const byOwner = cli('leaks', snap('baseline'), snap('target'), snap('final'), '--top', '1')
  assert.equal(byOwner.status, 0, byOwner.stderr)
  assert.match(byOwner.stdout, /\n1\. .*\(Map @\d+\): \+\d+ since the target \([\d.]+ (B|KiB|MiB)\); \d+ new objects from baseline to target, retaining [\d.]+ (KiB|MiB)\n/)
  const human = cli('leaks', snap('baseline'), snap('target'), snap('final'), '--top', '1', '--by-path')
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /1\. 1000 × Leak, retaining [\d.]+ (KiB|MiB)\n( {4}.* --\S+-->\n)? {4}global[^@\n]* @\d+ --registry-->\n {4}Map @\d+/)
})

test('path: every shortest path from the roots to a leaked object goes through its holder', () => {
  const leak = json('leaks', snap('baseline'), snap('target'), snap('final')).groups[0].path.at(-1)
  const report = json('path', snap('final'), String(leak.id), '--max', '3')
  assert.deepEqual(keys(report), ['distance', 'file', 'id', 'name', 'paths'])
  assert.equal(report.id, leak.id)
  assert.equal(report.name, 'Leak')
  assert.ok(report.paths.length >= 1)
  for (const p of report.paths) {
    assert.equal(p.length, report.distance, 'a shortest path has one step per edge from the root')
    assert.ok(p.some((s) => s.edge === 'registry'), JSON.stringify(p))
    assert.equal(p.at(-1).id, leak.id)
  }
  const human = cli('path', snap('final'), `@${leak.id}`)
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, new RegExp(`^Leak @${leak.id}, distance \\d+\\n\\npath 1:\\n( {4}.* --\\S+-->\\n)? {4}global[^@\\n]* @\\d+ --registry-->`))
})

test('bad input: a clear error naming the file, exit 1, nothing on stdout, no crash', () => {
  const good = fs.readFileSync(snap('baseline'))
  const text = good.toString('utf8')
  const bad = {
    truncated: good.subarray(0, Math.floor(good.length / 2)),
    empty: Buffer.alloc(0),
    'not-json': Buffer.from('hello'),
    'not-a-snapshot': Buffer.from('{"nodes":[1,2,3]}'),
    'absurd-counts': Buffer.from(text.replace(/"node_count":\d+/, '"node_count":999999999999')),
    'bad-edge': Buffer.from(text.replace(/"edges":\[(\d+),(\d+),(\d+)/, '"edges":[$1,$2,4294967295')),
  }
  for (const [name, content] of Object.entries(bad)) fs.writeFileSync(path.join(dir, `${name}.bad`), content)
  const runs = []
  for (const name of [...Object.keys(bad), 'missing']) {
    const file = path.join(dir, `${name}.bad`)
    runs.push([name, file, cli('summary', file)])
    runs.push([name, file, cli('path', file, '1')])
    runs.push([name, file, cli('diff', snap('baseline'), file)])
    runs.push([name, file, cli('leaks', file, snap('target'), snap('final'))])
  }
  for (const [name, file, run] of runs) {
    assert.equal(run.status, 1, `${name}: ${run.stderr}`)
    assert.equal(run.stdout, '', name)
    assert.ok(run.stderr.startsWith(`rheapdump: ${file}: `), `${name}: ${run.stderr}`)
    assert.doesNotMatch(run.stderr, /panicked|\n +at /, name)
  }
  const byName = Object.fromEntries(runs.map(([name, , run]) => [name, run.stderr]))
  assert.match(byName.missing, /ENOENT/)
  assert.match(byName['absurd-counts'], /ERR_SNAPSHOT_SYNTAX: .*claims 999999999999 nodes/)
  assert.match(byName.truncated, /ERR_SNAPSHOT_SYNTAX: at byte \d+: .*truncated/)
  assert.match(byName['bad-edge'], /ERR_SNAPSHOT_SYNTAX: .*edge 0 points at 4294967295/)

  const unknown = cli('path', snap('final'), '4294967295')
  assert.equal(unknown.status, 1)
  assert.match(unknown.stderr, /ERR_NODE_NOT_FOUND: no node has id 4294967295/)
})

test('usage errors exit 2 with the usage of the command', () => {
  for (const args of [['summary'], ['diff', 'a'], ['leaks', 'a', 'b'], ['path', 'a'], ['path', 'a', 'x1'], ['summary', 'a', '--top', 'many'], ['frobnicate', 'a']]) {
    const run = cli(...args)
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`)
    assert.match(run.stderr, /^rheapdump: /)
  }
})

test('a progress bar on stderr when it is a terminal and the file is large; none otherwise', () => {
  // 100 units of tools/heap-app.js: a ~22 MB snapshot, over the 16 MiB threshold.
  const big = path.join(dir, 'big.heapsnapshot')
  const made = spawnSync(process.execPath, [path.join(ROOT, 'tools', 'heap-app.js'), big, '100'], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  assert.ok(fs.statSync(big).size > 16 * 2 ** 20)
  const piped = cli('summary', big, '--top', '1')
  assert.equal(piped.status, 0, piped.stderr)
  assert.equal(piped.stderr, '', 'no bar when stderr is not a terminal')
  // util-linux `script` runs the CLI on a pseudo-terminal and records what it drew.
  const command = [CLI, 'summary', big, '--top', '1'].map((a) => `'${a}'`).join(' ')
  const tty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', maxBuffer: 64 << 20 })
  assert.equal(tty.status, 0, tty.stdout + tty.stderr)
  assert.match(tty.stdout, /big\.heapsnapshot \[[=> ]{30}\] [\d.]+ [KM]iB\/[\d.]+ MiB reading/)
  assert.match(tty.stdout, /Class +Count +Shallow +Retained +Distance/)
})

/** The interfaces of lib/reports.d.ts (generated one field a line): name → field → { type, optional }. */
function reportTypes() {
  const text = fs.readFileSync(path.join(ROOT, 'lib', 'reports.d.ts'), 'utf8')
  const interfaces = new Map()
  for (const [, name, body] of text.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const fields = new Map()
    for (const [, field, optional, type] of body.matchAll(/^ {2}(\w+)(\??): (.+)$/gm)) fields.set(field, { type, optional: optional === '?' })
    interfaces.set(name, fields)
  }
  // Enums of strings: `export type MatchedBy = "ids" | "structure";`, as the values they allow.
  for (const [, name, values] of text.matchAll(/^export type (\w+) = (.+);$/gm)) interfaces.set(name, values.split(' | ').map((v) => JSON.parse(v)))
  return interfaces
}

/** Fails unless `value` has exactly the fields lib/reports.d.ts gives `type`, of their types, all the way down. */
function assertShape(value, type, where, interfaces = reportTypes()) {
  const nullable = /^(.+) \| null$/.exec(type)
  if (nullable) return value === null || assertShape(value, nullable[1], where, interfaces)
  const array = /^Array<(.+)>$/.exec(type)
  if (array) {
    assert.ok(Array.isArray(value), `${where}: an array`)
    return value.forEach((item, i) => assertShape(item, array[1], `${where}[${i}]`, interfaces))
  }
  if (type === 'number' || type === 'string') return assert.equal(typeof value, type, where)
  if (type === 'true') return assert.equal(value, true, where)
  const fields = interfaces.get(type)
  assert.ok(fields, `${where}: lib/reports.d.ts declares ${type}`)
  if (Array.isArray(fields)) return assert.ok(fields.includes(value), `${where}: ${value} is one of ${fields.join(', ')}`)
  for (const key of Object.keys(value)) assert.ok(fields.has(key), `${where}.${key} is not in ${type}`)
  for (const [key, field] of fields) {
    if (field.optional && !(key in value)) continue
    assert.ok(key in value, `${where}.${key} (${type}) is missing`)
    assertShape(value[key], field.type, `${where}.${key}`, interfaces)
  }
}

test('the JS API resolves to the same reports, of the generated types, and rejects with code and path', async () => {
  const { analysis } = require(ROOT)
  const [baseline, target, final] = ['baseline', 'target', 'final'].map(snap)
  const id = json('leaks', baseline, target, final).groups[0].path.at(-1).id
  // One JSON shape per report: the CLI's --json output equals what the JS API resolves to.
  const pairs = {
    summary: [json('summary', final, '--top', '5'), await analysis.summary(final, { top: 5 })],
    diff: [json('diff', baseline, final, '--top', '5'), await analysis.diff(baseline, final, { top: 5 })],
    leaks: [json('leaks', baseline, target, final, '--top', '3'), await analysis.leaks(baseline, target, final, { top: 3 })],
    path: [json('path', final, String(id), '--max', '2'), await analysis.path(final, id, { max: 2 })],
    validate: [json('validate', final), await analysis.validate(final)],
  }
  for (const [name, [fromCli, fromApi]] of Object.entries(pairs)) assert.deepEqual(fromApi, fromCli, name)
  const types = { summary: 'SnapshotSummary', diff: 'SnapshotDiff', leaks: 'LeakReport', path: 'RetainingPaths', validate: 'SnapshotValidity' }
  for (const [name, [, fromApi]] of Object.entries(pairs)) assertShape(fromApi, types[name], name)
  assert.deepEqual(keys(pairs.validate[1]), ['edges', 'file', 'nodes', 'strings', 'valid'])
  assert.equal(pairs.validate[1].valid, true)
  assert.equal(pairs.validate[1].file, final)
  const missing = path.join(dir, 'nope.heapsnapshot')
  await assert.rejects(analysis.summary(missing), { code: 'ENOENT', path: missing })
  await assert.rejects(analysis.diff(snap('final'), missing), { code: 'ENOENT', path: missing })
  await assert.rejects(analysis.path(snap('final'), 4294967295), { code: 'ERR_NODE_NOT_FOUND', path: snap('final') })
  await assert.rejects(analysis.path(snap('final'), -1), { code: 'ERR_INVALID_ARG_VALUE' })
  await assert.rejects(analysis.summary(snap('final'), { top: 1.5 }), { code: 'ERR_INVALID_ARG_VALUE' })
  await assert.rejects(analysis.leaks(snap('final')), { code: 'ERR_INVALID_ARG_VALUE' })
})
