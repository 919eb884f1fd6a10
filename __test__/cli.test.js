'use strict'

// The rheapdump command line, on snapshots made by real Node processes.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { test } = require('node:test')

const { ROOT, tempDir, runScript } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const cli = (...args) => spawnSync(CLI, args, { encoding: 'utf8' })

function realSnapshot(t) {
  const dir = tempDir(t)
  const file = path.join(dir, 'real.heapsnapshot')
  const made = runScript(`globalThis.keep = Array.from({ length: 500 }, (_, i) => ({ i })); require('node:v8').writeHeapSnapshot(${JSON.stringify(file)})`)
  assert.equal(made.status, 0, made.stderr)
  return { dir, file }
}

test('validate accepts a snapshot from this Node version and reports its counts', (t) => {
  const { file } = realSnapshot(t)
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'))
  const json = cli('validate', file, '--json')
  assert.equal(json.status, 0, json.stderr)
  assert.deepEqual(JSON.parse(json.stdout), {
    file,
    valid: true,
    nodes: snap.snapshot.node_count,
    edges: snap.snapshot.edge_count,
    strings: snap.strings.length,
  })
  const human = cli('validate', file)
  assert.equal(human.stdout, `${file}: sound heap snapshot: ${snap.snapshot.node_count} nodes, ${snap.snapshot.edge_count} edges, ${snap.strings.length} strings\n`)
})

test('validate refuses truncated, corrupted, empty and missing files with the file and the reason', (t) => {
  const { dir, file } = realSnapshot(t)
  const bytes = fs.readFileSync(file)
  const cases = {
    truncated: [bytes.subarray(0, Math.floor(bytes.length * 0.7)), /ERR_SNAPSHOT_SYNTAX: .*truncated|ERR_SNAPSHOT_SYNTAX: at byte \d+/],
    empty: [Buffer.alloc(0), /ERR_SNAPSHOT_SYNTAX: at byte 0: expected '\{', found the end of the file/],
    'not-a-snapshot': [Buffer.from('{"hello": "world"}'), /expected the "snapshot" header first/],
    'bad-edge': [Buffer.from(bytes.toString('utf8').replace(/"edges":\[(\d+),(\d+),(\d+)/, '"edges":[$1,$2,4294967295')), /ERR_SNAPSHOT_UNSOUND: edge 0: to_node 4294967295 is not a node/],
  }
  for (const [name, [content, pattern]] of Object.entries(cases)) {
    const bad = path.join(dir, `${name}.heapsnapshot`)
    fs.writeFileSync(bad, content)
    const result = cli('validate', bad)
    assert.equal(result.status, 1, name)
    assert.ok(result.stderr.startsWith(`rheapdump: ${bad}: `), result.stderr)
    assert.match(result.stderr, pattern, name)
    const json = JSON.parse(cli('validate', bad, '--json').stdout)
    assert.equal(json.valid, false)
  }
  const missing = cli('validate', path.join(dir, 'nope.heapsnapshot'))
  assert.equal(missing.status, 1)
  assert.match(missing.stderr, /ENOENT: no such file or directory/)
})

test('usage errors exit 2 with the usage text', () => {
  for (const args of [[], ['frobnicate'], ['validate'], ['validate', '--bogus', 'x']]) {
    const result = cli(...args)
    assert.equal(result.status, 2, args.join(' '))
    assert.equal(result.stdout, '', args.join(' '))
    assert.match(result.stderr, args.length < 2 ? /Usage: rheapdump <command>|Usage: rheapdump validate <FILE>/ : /Usage: rheapdump validate/)
  }
  const help = cli('--help')
  assert.equal(help.status, 0)
  for (const command of ['summary', 'diff', 'leaks', 'path', 'validate', 'profile']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'))
  assert.match(help.stdout, /\nHunting a leak: three snapshots of one process[^]*\n {2}rheapdump leaks DIR /)
})

test('each command documents every argument, and all but validate show an example', () => {
  const args = { summary: ['FILE'], diff: ['BEFORE', 'AFTER'], leaks: ['BASELINE', 'TARGET', 'FINAL'], path: ['FILE', 'ID'], validate: ['FILE'] }
  for (const [command, names] of Object.entries(args)) {
    const help = cli(command, '--help')
    assert.equal(help.status, 0, command)
    for (const name of names) assert.match(help.stdout, new RegExp(`^  [<\\[]${name}[>\\]] +\\S`, 'm'), `${command} ${name}`)
    if (command !== 'validate') assert.match(help.stdout, new RegExp(`\\n  rheapdump ${command} `), command)
  }
})

test('a pipe or FIFO is refused at once with ERR_SNAPSHOT_NOT_A_FILE, by the CLI and the JS API', async (t) => {
  const { dir, file } = realSnapshot(t)
  const piped = spawnSync('bash', ['-c', `"$0" summary <(cat "$1")`, CLI, file], { encoding: 'utf8', timeout: 20000 })
  assert.equal(piped.status, 1, piped.stderr)
  assert.match(piped.stderr, /ERR_SNAPSHOT_NOT_A_FILE: a pipe or FIFO, not a regular file: .*save the snapshot to a file first/)
  const fifo = path.join(dir, 'pipe')
  spawnSync('mkfifo', [fifo])
  const fromCli = spawnSync(CLI, ['validate', fifo], { encoding: 'utf8', timeout: 20000 })
  assert.equal(fromCli.status, 1, `${fromCli.signal ?? ''} ${fromCli.stderr}`)
  // In a child: a FIFO that never settles would keep this test's own process alive.
  const fromApi = runScript(
    `const { analysis } = require(${JSON.stringify(ROOT)})
     Promise.allSettled([analysis.summary(${JSON.stringify(fifo)}), analysis.validate(${JSON.stringify(fifo)})])
       .then((results) => console.log(JSON.stringify(results.map((r) => [r.reason.code, r.reason.path]))))`,
    { env: { RHEAPDUMP_SIGNAL: '0' }, timeout: 20000 },
  )
  assert.equal(fromApi.status, 0, `${fromApi.signal ?? ''} ${fromApi.stderr}`)
  assert.deepEqual(JSON.parse(fromApi.stdout), [['ERR_SNAPSHOT_NOT_A_FILE', fifo], ['ERR_SNAPSHOT_NOT_A_FILE', fifo]])
})
