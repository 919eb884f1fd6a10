'use strict'

// Files made to hurt the reader: a snapshot whose every name is one 32 MB string, devices and
// FIFOs given as profiles, a profile nested deeper than any stack, snapshots whose structure
// points nowhere. Each is answered at once, in bounded memory, with a code and the reason.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const NATIVE = path.join(ROOT, 'bin', `rheapdump-cli-${process.platform}-${process.arch}`)
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8', timeout: 60000 })

const META = {
  node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'detachedness'],
  node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string'], 'string', 'number', 'number', 'number', 'number'],
  edge_fields: ['type', 'name_or_index', 'to_node'],
  edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'], 'string_or_number', 'node'],
  location_fields: ['object_index', 'script_id', 'line', 'column'],
}
const NAME_BYTES = 32 << 20

/**
 * A 37 MB snapshot of `count` nodes: the root holds node 1, which holds the others (objects,
 * closures, natives, strings, arrays and system nodes in turn), every node and every edge named
 * by string 0: one 32 MB string. Ids start at `firstId`, so that two such files have new
 * objects for diff and leaks.
 */
function stringBomb(file, { count = 200000, firstId = 1 } = {}) {
  const types = [3, 5, 8, 2, 1, 0]
  const nodes = ['9,0,1,0,1,0']
  const edges = ['2,0,6']
  for (let i = 1; i < count; i++) {
    const held = i === 1 ? count - 2 : 0
    nodes.push(`${types[i % types.length]},0,${2 * (firstId + i) + 1},${16 + (i % 7)},${held},0`)
    if (i > 1) edges.push(`2,0,${i * 6}`)
  }
  const header = JSON.stringify({ meta: META, node_count: count, edge_count: count - 1 })
  const fd = fs.openSync(file, 'w')
  fs.writeSync(fd, `{"snapshot":${header},"nodes":[${nodes.join(',')}],"edges":[${edges.join(',')}],"locations":[],"strings":["`)
  fs.writeSync(fd, 'A'.repeat(NAME_BYTES))
  fs.writeSync(fd, '"]}')
  fs.closeSync(fd)
}

test('a snapshot whose every name is one 32 MB string: every report is small, names cut with their length, within 600 MB', { skip: !fs.existsSync(NATIVE) && 'no native program for this platform' }, (t) => {
  const dir = tempDir(t)
  const [bomb, earlier] = [path.join(dir, 'bomb.heapsnapshot'), path.join(dir, 'earlier.heapsnapshot')]
  stringBomb(bomb)
  stringBomb(earlier, { count: 1000 })
  assert.ok(fs.statSync(bomb).size > 35e6)
  // Address space, not just resident memory: a report that copied the name per node or per
  // row would fail to allocate.
  const limited = (...args) => spawnSync('prlimit', [`--as=${600 << 20}`, NATIVE, ...args], { encoding: 'utf8', timeout: 120000, maxBuffer: 1 << 20 })
  const runs = [
    ['summary', bomb],
    ['summary', bomb, '--top', '0', '--json'],
    ['summary', bomb, '--class', 'Function', '--json'],
    ['diff', earlier, bomb, '--json'],
    ['leaks', earlier, bomb, bomb, '--json'],
    ['leaks', earlier, bomb, bomb, '--by-path'],
    ['path', bomb, '@1003', '--json'],
    ['check', earlier, bomb, '--max-growth', '1GB', '--json'],
  ]
  for (const args of runs) {
    const result = limited(...args)
    const what = args.join(' ')
    assert.equal(result.status, 0, `${what}: ${result.stderr}`)
    assert.ok(result.stdout.length < 64 << 10, `${what} printed ${result.stdout.length} bytes`)
    assert.ok(!result.stdout.includes('A'.repeat(300)), what)
  }
  const summary = JSON.parse(limited('summary', bomb, '--json').stdout)
  const cut = `${'A'.repeat(299)}… (${NAME_BYTES} bytes)`
  assert.ok(summary.classes.some((row) => row.name === cut), JSON.stringify(summary.classes.map((r) => r.name.slice(-30))))
  assert.ok(summary.largest.every((o) => o.name.length <= 100), 'objects are named in 80 characters')
  const paths = JSON.parse(limited('path', bomb, '@1003', '--json').stdout)
  assert.ok(JSON.stringify(paths).includes(cut), 'edge names are cut too')
})

test('profile commands refuse /dev/zero and a FIFO at once, as the snapshot commands do', (t) => {
  const dir = tempDir(t)
  const fifo = path.join(dir, 'profile.fifo')
  execFileSync('mkfifo', [fifo])
  const cases = [
    [['profile', 'top', '/dev/zero'], '/dev/zero', 'a device'],
    [['profile', 'top', fifo], fifo, 'a pipe or FIFO'],
    [['profile', 'diff', fifo, '/dev/zero'], fifo, 'a pipe or FIFO'],
    [['profile', 'convert', '/dev/zero', '--to', 'folded'], '/dev/zero', 'a device'],
    [['summary', fifo], fifo, 'a pipe or FIFO'],
  ]
  for (const [args, file, kind] of cases) {
    // A read of /dev/zero never ends and a FIFO waits for a writer: the timeout only guards
    // the test run; an answer comes before any read.
    const result = cli(...args)
    assert.equal(result.status, 1, `${args.join(' ')}: ${result.error || result.stderr}`)
    assert.match(result.stderr, new RegExp(`^rheapdump: ${file}: ERR_SNAPSHOT_NOT_A_FILE: ${kind}, not a regular file`))
  }
})

test('a profile whose call tree is 200,000 frames deep is refused, not a stack overflow, by the native and the portable program', (t) => {
  const file = path.join(tempDir(t), 'deep.heapprofile')
  const frames = 200000
  const node = (id) => `{"callFrame":{"functionName":"f${id}","scriptId":"1","url":"file:///a.js","lineNumber":1,"columnNumber":0},"selfSize":1,"id":${id},"children":[`
  fs.writeFileSync(file, `{"head":${Array.from({ length: frames }, (_, i) => node(i + 1)).join('')}${']}'.repeat(frames)},"samples":[]}`)
  for (const env of [{}, { RHEAPDUMP_PORTABLE: '1' }]) {
    const result = spawnSync(CLI, ['profile', 'top', file], { encoding: 'utf8', timeout: 60000, env: { ...process.env, ...env } })
    assert.equal(result.status, 1, `${JSON.stringify(env)}: ${result.error || result.stderr}`)
    assert.match(result.stderr, /ERR_PROFILE_SYNTAX: not a sampling heap profile: nested 400001 levels deep/)
  }
})

test('validate calls unsound the edges to the root, a root_index or a location that is not a node', (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'real.heapsnapshot')
  const made = spawnSync(process.execPath, ['-e', "class Probe {}; globalThis.p = [new Probe()]; require('node:v8').writeHeapSnapshot(process.argv[1])", file], { encoding: 'utf8' })
  assert.equal(made.status, 0, made.stderr)
  assert.equal(cli('validate', file).status, 0)
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8'))
  const nf = snapshot.snapshot.meta.node_fields.length
  const ef = snapshot.snapshot.meta.edge_fields.length
  const to = snapshot.snapshot.meta.edge_fields.indexOf('to_node')
  const lf = snapshot.snapshot.meta.location_fields.length
  assert.ok(snapshot.locations.length >= 2 * lf, 'the snapshot has locations')
  const variants = {
    'every edge to node 0': [(s) => { for (let i = to; i < s.edges.length; i += ef) s.edges[i] = 0 }, 'edge 0: to_node 0 points at the root, which nothing retains'],
    'root_index 1e9': [(s) => { s.snapshot.root_index = 1e9 }, 'root_index 1000000000 is not in "nodes"'],
    'root_index inside a node': [(s) => { s.snapshot.root_index = 1 }, 'root_index 1 is not where a node starts'],
    'root_index at node 1': [(s) => { s.snapshot.root_index = nf }, `root_index ${nf} is not node 0, where V8 writes the root`],
    'location out of range': [(s) => { s.locations[lf] = s.nodes.length }, `location 1: object_index ${snapshot.nodes.length} is not a node`],
    'location inside a node': [(s) => { s.locations[0] = 1 }, 'location 0: object_index 1 is not a node'],
    'locations cut short': [(s) => { s.locations.pop() }, `"locations" ends inside a record: its length is not a multiple of ${lf} fields`],
  }
  for (const [name, [change, reason]] of Object.entries(variants)) {
    const copy = structuredClone(snapshot)
    change(copy)
    const bad = path.join(dir, 'bad.heapsnapshot')
    fs.writeFileSync(bad, JSON.stringify(copy))
    const result = cli('validate', bad, '--json')
    assert.equal(result.status, 1, name)
    assert.deepEqual(JSON.parse(result.stdout), { file: bad, valid: false, code: 'ERR_SNAPSHOT_UNSOUND', error: reason }, name)
  }
})
