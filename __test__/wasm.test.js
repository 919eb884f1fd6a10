'use strict'

// The portable command-line program (bin/rheapdump-cli.wasm run by node:wasi, lib/wasi.js):
// what it prints is the native program's, byte for byte, through the command and the JS API.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')
const { before, after, test } = require('node:test')

const { ROOT, runScript } = require('./helpers/proc')
const { makeLeakyInputs } = require('./helpers/inputs')

const NATIVE = path.join(ROOT, 'bin', `rheapdump-cli-${process.platform}-${process.arch}`)
const LAUNCHER = path.join(ROOT, 'bin', 'rheapdump')
const run = (command, args, { cwd = dir, env = {} } = {}) => {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}
const native = (args, options) => run(NATIVE, args, options)
// The launcher under the Node running the tests, told to take the portable program.
const portable = (args, { launcher = LAUNCHER, ...options } = {}) => run(process.execPath, [launcher, ...args], { ...options, env: { RHEAPDUMP_PORTABLE: '1' } })

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-wasm-'))
const snap = (name) => path.join(dir, `${name}.heapsnapshot`)

before(() => {
  makeLeakyInputs(dir)
})
after(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A leaking object's id, from the native program. */
function leakId() {
  const leaks = JSON.parse(native(['leaks', snap('baseline'), snap('target'), snap('final'), '--json']).stdout)
  return String(leaks.owners[0].examples?.[0]?.id ?? leaks.owners[0].id)
}

test('every command prints the same bytes, exit status and stderr as the native program, as text and as JSON', () => {
  const commands = [
    ['summary', 'final.heapsnapshot', '--top', '5'],
    ['summary', snap('final'), '--class', 'Leak', '--top', '3'],
    ['diff', 'baseline.heapsnapshot', 'target.heapsnapshot'],
    ['diff', snap('baseline'), snap('final'), '--class', 'Leak', '--top', '2'],
    ['leaks', 'baseline.heapsnapshot', 'target.heapsnapshot', 'final.heapsnapshot'],
    ['leaks', 'target.heapsnapshot', 'baseline.heapsnapshot', 'final.heapsnapshot', '--by-path'],
    ['path', 'final.heapsnapshot', `@${leakId()}`, '--max', '2'],
    ['validate', 'final.heapsnapshot'],
    ['profile', 'top', 'after.heapprofile', '--top', '5'],
    ['profile', 'diff', 'before.heapprofile', 'after.heapprofile'],
    ['validate', 'missing.heapsnapshot'],
    ['path', 'final.heapsnapshot', '999999999'],
  ]
  for (const [i, command] of commands.entries()) {
    for (const args of [command, [...command, '--json']]) {
      const expected = native(args)
      assert.equal(expected.status, i < 10 ? 0 : 1, `${args.join(' ')}: ${expected.stderr}`)
      assert.deepEqual(portable(args), expected, args.join(' '))
    }
  }
  // Binary output too, and the usage errors.
  for (const args of [['profile', 'convert', 'after.heapprofile', '--to', 'folded'], ['frobnicate'], ['summary'], ['--version']]) {
    assert.deepEqual(portable(args), native(args), args.join(' '))
  }
})

test('in a copy of the package without its native program, `rheapdump` answers summary and leaks as the native program does', (t) => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-package-'))
  t.after(() => fs.rmSync(copy, { recursive: true, force: true }))
  const [{ files }] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: ROOT, encoding: 'utf8' }))
  for (const { path: file } of files) {
    fs.mkdirSync(path.join(copy, path.dirname(file)), { recursive: true })
    fs.copyFileSync(path.join(ROOT, file), path.join(copy, file))
  }
  fs.chmodSync(path.join(copy, 'bin', 'rheapdump'), 0o755)
  const programs = fs.readdirSync(path.join(copy, 'bin')).filter((name) => name.startsWith('rheapdump-cli'))
  assert.ok(programs.includes('rheapdump-cli.wasm'), 'the package carries the portable program')
  for (const name of programs.filter((name) => name !== 'rheapdump-cli.wasm')) fs.rmSync(path.join(copy, 'bin', name))
  for (const args of [['summary', 'final.heapsnapshot'], ['leaks', 'baseline.heapsnapshot', 'target.heapsnapshot', 'final.heapsnapshot', '--json']]) {
    // Run as npm runs it: the launcher itself, by its shebang.
    assert.deepEqual(run(path.join(copy, 'bin', 'rheapdump'), args), native(args), args.join(' '))
  }
})

test('with RHEAPDUMP_FALLBACK=1 the analysis resolves to the objects the addon resolves to, and rejects with the same codes', { skip: process.env.RHEAPDUMP_FALLBACK === '1' && 'compares with the addon' }, async () => {
  const { analysis } = require(ROOT)
  const id = Number(leakId())
  const calls = [
    ['summary', [snap('final'), { top: 4 }]],
    ['diff', [snap('baseline'), snap('target'), { top: 3 }]],
    ['leaks', [snap('baseline'), snap('target'), snap('final')]],
    ['path', [snap('final'), id, { max: 2 }]],
    ['validate', [snap('final')]],
    ['validate', [path.join(dir, 'missing.heapsnapshot')]],
    ['summary', [path.join(dir, 'after.heapprofile')]],
    ['path', [snap('final'), 999999999]],
  ]
  const settle = (promise) => promise.then((value) => ({ value }), (err) => ({ code: err.code, message: err.message, path: err.path }))
  const expected = []
  for (const [name, args] of calls) expected.push(await settle(analysis[name](...args)))
  const fallback = runScript(
    `const { analysis } = require(${JSON.stringify(ROOT)})
     const settle = ${settle.toString()}
     ;(async () => {
       const out = []
       for (const [name, args] of ${JSON.stringify(calls)}) out.push(await settle(analysis[name](...args)))
       console.log(JSON.stringify(out))
     })()`,
    { env: { RHEAPDUMP_FALLBACK: '1', RHEAPDUMP_SIGNAL: '0' } },
  )
  assert.equal(fallback.status, 0, fallback.stderr)
  assert.deepEqual(JSON.parse(fallback.stdout), JSON.parse(JSON.stringify(expected)))
  assert.deepEqual(expected.slice(5).map((r) => r.code), ['ENOENT', 'ERR_SNAPSHOT_SYNTAX', 'ERR_NODE_NOT_FOUND'])
})

test('a file over the portable limit is refused up front with ERR_RHEAPDUMP_WASM_TOO_LARGE, naming the native program, by the command and the API', (t) => {
  const large = path.join(dir, 'large.heapsnapshot')
  fs.closeSync(fs.openSync(large, 'w'))
  t.after(() => fs.rmSync(large, { force: true }))
  fs.truncateSync(large, 3 * 2 ** 30 + 1) // sparse: no disk used
  const refused = portable(['summary', large])
  assert.equal(refused.status, 1, refused.stderr)
  assert.equal(refused.stdout, '')
  assert.match(refused.stderr, new RegExp(`^rheapdump: ${large}: ERR_RHEAPDUMP_WASM_TOO_LARGE: 3221225473 bytes; the portable analysis .* reads files up to 3221225472 bytes; analyse it with the native program, on linux-x64 or linux-arm64 with glibc\\n$`))
  const api = runScript(
    `require(${JSON.stringify(ROOT)}).analysis.leaks(${[snap('baseline'), snap('target'), large].map((f) => JSON.stringify(f)).join(', ')})
       .catch((err) => console.log(JSON.stringify({ code: err.code, path: err.path, message: err.message })))`,
    { env: { RHEAPDUMP_FALLBACK: '1', RHEAPDUMP_SIGNAL: '0' } },
  )
  assert.equal(api.status, 0, api.stderr)
  const error = JSON.parse(api.stdout)
  assert.equal(error.code, 'ERR_RHEAPDUMP_WASM_TOO_LARGE')
  assert.equal(error.path, large)
  assert.match(error.message, /native program/)
})

test('without any program, the command says how to build one', (t) => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-bare-'))
  t.after(() => fs.rmSync(copy, { recursive: true, force: true }))
  fs.cpSync(path.join(ROOT, 'lib'), path.join(copy, 'lib'), { recursive: true })
  fs.mkdirSync(path.join(copy, 'bin'))
  fs.copyFileSync(LAUNCHER, path.join(copy, 'bin', 'rheapdump'))
  const result = run(process.execPath, [path.join(copy, 'bin', 'rheapdump'), 'summary', 'x'])
  assert.equal(result.status, 1)
  assert.equal(result.stdout, '')
  assert.match(result.stderr, /^rheapdump: the command-line program is not built here .*; run `npm rebuild rheapdump`\n$/)
})

test('when memory runs out all the same, the program stops with ERR_RHEAPDUMP_WASM_MEMORY, not a trap, in the command and the API', () => {
  // V8's cap on WebAssembly memory (80 pages of 64 KiB) stands in for the 4 GiB.
  const cap = '--wasm-max-mem-pages=80'
  const result = run(process.execPath, [cap, LAUNCHER, 'summary', snap('final')], { env: { RHEAPDUMP_PORTABLE: '1' } })
  assert.equal(result.status, 1, result.stderr)
  assert.equal(result.stdout, '')
  assert.equal(result.stderr, `rheapdump: ${snap('final')}: ERR_RHEAPDUMP_WASM_MEMORY: the portable analysis (WebAssembly) ran out of its 4 GiB of memory; analyse it with the native program, on linux-x64 or linux-arm64 with glibc\n`)
  const api = runScript(
    `require(${JSON.stringify(ROOT)}).analysis.summary(${JSON.stringify(snap('final'))})
       .catch((err) => console.log(JSON.stringify({ code: err.code, path: err.path })))`,
    { args: [cap], env: { RHEAPDUMP_FALLBACK: '1', RHEAPDUMP_SIGNAL: '0' } },
  )
  assert.equal(api.status, 0, api.stderr)
  assert.deepEqual(JSON.parse(api.stdout), { code: 'ERR_RHEAPDUMP_WASM_MEMORY', path: snap('final') })
})

test('a FIFO is refused at once with ERR_SNAPSHOT_NOT_A_FILE, though WASI cannot open it without waiting', (t) => {
  const fifo = path.join(dir, 'pipe')
  spawnSync('mkfifo', [fifo])
  t.after(() => fs.rmSync(fifo, { force: true }))
  const command = spawnSync(process.execPath, [LAUNCHER, 'validate', fifo], { encoding: 'utf8', timeout: 20000, env: { ...process.env, RHEAPDUMP_PORTABLE: '1' } })
  assert.equal(command.status, 1, `${command.signal ?? ''} ${command.stderr}`)
  assert.match(command.stderr, /ERR_SNAPSHOT_NOT_A_FILE: a device or special file, not a regular file/)
  // In a child: a FIFO that never settles would keep this test's own process alive.
  const api = runScript(
    `require(${JSON.stringify(ROOT)}).analysis.summary(${JSON.stringify(fifo)}).catch((err) => console.log(err.code))`,
    { env: { RHEAPDUMP_FALLBACK: '1', RHEAPDUMP_SIGNAL: '0' }, timeout: 20000 },
  )
  assert.equal(api.stdout.trim(), 'ERR_SNAPSHOT_NOT_A_FILE', `${api.signal ?? ''} ${api.stderr}`)
})

test('with the addon but without the analysis module beside it, the analyses run on the portable program, with the same report', { skip: process.env.RHEAPDUMP_FALLBACK === '1' && 'compares with the analysis module' }, async (t) => {
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-no-analysis-'))
  t.after(() => fs.rmSync(pkg, { recursive: true, force: true }))
  for (const part of ['index.js', 'package.json', 'lib', path.join('bin', 'rheapdump-cli.wasm')]) fs.cpSync(path.join(ROOT, part), path.join(pkg, part), { recursive: true })
  for (const name of fs.readdirSync(ROOT).filter((n) => /^rheapdump\.[^.]+\.node$/.test(n))) fs.copyFileSync(path.join(ROOT, name), path.join(pkg, name))
  const expected = await require(ROOT).analysis.summary(snap('final'), { top: 4 })
  const result = runScript(
    `require(${JSON.stringify(pkg)}).analysis.summary(${JSON.stringify(snap('final'))}, { top: 4 }).then((report) => console.log(JSON.stringify(report)))`,
    { env: { RHEAPDUMP_SIGNAL: '0' } },
  )
  assert.equal(result.status, 0, result.stderr)
  assert.deepEqual(JSON.parse(result.stdout), JSON.parse(JSON.stringify(expected)))
})
