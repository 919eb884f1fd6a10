'use strict'

// The linux-arm64 build for real, under qemu-user: the packed tarball installed by the official
// Node arm64 binary with no Rust toolchain, then SIGUSR2 idle and during a stuck loop, object ids
// across snapshots, the file rules, and the arm64 command-line program against the x64 one.
// binfmt_misc is not assumed: every arm64 program runs through `qemu-aarch64 -L <sysroot>`.
// `npm test` runs this file once (scripts/test.js), not once per Node major. The tests share one
// installed package and one app, in order; emulation is slow, so the heap is small.

const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { after, before, test } = require('node:test')

const { ROOT, waitFor, startApp, snapshotFiles } = require('./helpers/proc')
const { validateFile, idsOfObjectsNamed } = require('../tools/heapsnapshot')
const { arm64Node } = require('../scripts/node-versions')
const { missingToolchain, TARGETS } = require('../scripts/build')

const QEMU = 'qemu-aarch64'
const SYSROOT = '/usr/aarch64-linux-gnu'
const ADDON = 'rheapdump.linux-arm64-gnu.node'
const PROGRAM = path.join('bin', 'rheapdump-cli-linux-arm64')
const DEFAULT_NAME = /^heapdump-\d{8}T\d{6}\.\d{6}Z-(\d+)-[0-9a-z]{6}-\d+\.heapsnapshot$/
const FIXTURE_COUNT = 500

/** Why the arm64 build cannot be tested here (no emulator, or no arm64 build and no way to make one), or null. */
function absent() {
  if (spawnSync(QEMU, ['--version']).status !== 0) return `${QEMU} is not installed (apt-get install qemu-user)`
  if (!fs.existsSync(path.join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) return `no arm64 sysroot in ${SYSROOT} (apt-get install libc6-arm64-cross)`
  // Not built yet (a fresh checkout builds for its own machine only): packing builds it.
  if ([ADDON, PROGRAM].every((file) => fs.existsSync(path.join(ROOT, file)))) return null
  const triple = Object.keys(TARGETS).find((t) => TARGETS[t].platform === 'linux' && TARGETS[t].arch === 'arm64')
  const missing = missingToolchain(triple)
  return missing.length ? `${ADDON} is not built, and building it needs ${missing.join(' and ')}` : null
}

const reason = absent()
// In CI the arm64 build is part of the package: its absence fails instead of skipping.
const skip = reason && !process.env.CI ? `the linux-arm64 build cannot be tested here: ${reason}` : false

/** Fails at once, naming the earlier test, when what it left for this one is missing. */
function needs(key, from) {
  if (state[key] === undefined) throw new Error(`needs ${from}, which failed`)
}

/** argv running an arm64 program under the emulator. */
const emulated = (...argv) => [QEMU, '-L', SYSROOT, ...argv]

function run(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 120000, ...options })
  if (result.error) throw result.error
  return result
}

const state = {}
// What outlives one test (the work directory, the app): undone after the last.
const cleanups = []
const shared = { after: (fn) => cleanups.push(fn) }

before(() => {
  if (skip) return
  assert.equal(reason, null, `CI is set, so the linux-arm64 build must be testable: ${reason}`)
  state.node = arm64Node({ install: true })
  state.work = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-arm64-'))
  cleanups.push(() => fs.rmSync(state.work, { recursive: true, force: true }))
})

after(() => {
  for (const cleanup of cleanups.reverse()) cleanup()
})

test('the packed tarball installs on linux-arm64 with no Rust toolchain, keeping the prebuilt addon and program', { skip }, () => {
  const { node, work } = state
  const pack = execFileSync('npm', ['pack', '--json', '--loglevel=error', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const [{ filename }] = JSON.parse(pack)
  state.app = path.join(work, 'app')
  fs.mkdirSync(state.app)
  fs.writeFileSync(path.join(state.app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}')
  // npm's scripts run `node` from PATH: there, the arm64 node under the emulator. The only cargo
  // on PATH records that it was called; the Rust toolchain's own directory is left out.
  const tools = path.join(work, 'tools')
  fs.mkdirSync(tools)
  const called = path.join(work, 'cargo-was-called')
  fs.writeFileSync(path.join(tools, 'node'), `#!/bin/sh\nexec ${emulated(node).join(' ')} "$@"\n`, { mode: 0o755 })
  fs.writeFileSync(path.join(tools, 'cargo'), `#!/bin/sh\necho "$@" > ${called}\nexit 1\n`, { mode: 0o755 })
  const npmCli = path.join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm', 'bin', 'npm-cli.js')
  const env = { ...process.env, PATH: `${tools}:/usr/bin:/bin`, CARGO: undefined, RHEAPDUMP_FALLBACK: undefined }
  const install = run(emulated(node, npmCli, 'install', '--foreground-scripts', '--no-audit', '--no-fund', '--loglevel=error', path.join(work, filename)), { cwd: state.app, env, timeout: 180000 })
  assert.equal(install.status, 0, install.stderr)
  assert.ok(!fs.existsSync(called), 'cargo was not called')
  assert.deepEqual(install.stderr.split('\n').filter((line) => line.startsWith('rheapdump:')), [], 'the install says nothing: no build, no fallback')
  state.pkg = path.join(state.app, 'node_modules', 'rheapdump')
})

test('under arm64 Node the native addon, the uploader and the analysis module load, not the fallback, and fork snapshots say they are unavailable', { skip }, () => {
  needs('pkg', 'the install')
  const script = `
    const rheapdump = require('rheapdump')
    const { file, uploader, analyzer } = require(${JSON.stringify(path.join(state.pkg, 'lib', 'binding.js'))})
    const upload = typeof uploader().uploadFile
    const analysis = typeof analyzer().analyze
    rheapdump.snapshot({ fork: true }).catch((err) => console.log(JSON.stringify({ file, upload, analysis, arch: process.arch, watchdog: rheapdump.signalStatus().watchdog, fork: err.code })))
  `
  const result = run(emulated(state.node, '-e', script), { cwd: state.app })
  assert.deepEqual(JSON.parse(result.stdout), { file: path.join(state.pkg, ADDON), upload: 'function', analysis: 'function', arch: 'arm64', watchdog: true, fork: 'ERR_RHEAPDUMP_FORK_UNAVAILABLE' }, result.stderr)
})

test('SIGUSR2 on an idle arm64 process writes a sound, private snapshot with the default name, and nothing else', { skip }, async () => {
  needs('pkg', 'the install')
  const cwd = path.join(state.work, 'snapshots')
  fs.mkdirSync(cwd)
  state.cwd = cwd
  state.appProcess = await startApp(shared, { cwd, node: emulated(state.node), env: { FIXTURE_COUNT: String(FIXTURE_COUNT) } })
  const app = state.appProcess
  await app.command({ cmd: 'require', path: state.pkg }, 60000)
  for (const n of [1, 2]) {
    app.signal()
    await waitFor(() => app.events.filter((e) => e.event === 'snapshot-event').length === n, { timeout: 60000, what: `snapshot ${n}` })
  }
  const names = fs.readdirSync(cwd).sort()
  assert.equal(names.length, 2, `only the snapshots, no temporary file: ${names}`)
  for (const name of names) {
    assert.equal(Number(DEFAULT_NAME.exec(name)?.[1]), app.child.pid, `default name with the pid: ${name}`)
    assert.equal(fs.statSync(path.join(cwd, name)).mode & 0o777, 0o600)
    validateFile(path.join(cwd, name))
  }
  state.idle = names.map((name) => path.join(cwd, name))
})

test('SIGUSR2 during a stuck loop on arm64 writes a complete snapshot while the loop is still stuck', { skip }, async (t) => {
  needs('idle', 'the idle snapshots')
  const app = state.appProcess
  app.send({ cmd: 'busy', ms: 120000 })
  await app.waitEvent('busy-start', 30000)
  app.signal()
  const signalled = Date.now()
  const file = await waitFor(() => snapshotFiles(state.cwd).find((f) => !state.idle.includes(f)), { timeout: 90000, what: 'snapshot during the busy loop' })
  const appeared = Date.now()
  assert.ok(!app.events.some((e) => e.event === 'busy-end'), 'written while the loop was still stuck')
  assert.equal(fs.readdirSync(state.cwd).length, 3, 'no temporary file left')
  validateFile(file)
  state.stuck = file
  app.child.kill('SIGKILL')
  t.diagnostic(`stuck-loop snapshot complete ${appeared - signalled} ms after the signal`)
})

test('objects keep their ids across two arm64 snapshots of the same objects', { skip }, () => {
  needs('stuck', 'the stuck-loop snapshot')
  const [first] = state.idle
  const ids = (file) => idsOfObjectsNamed(validateFile(file).snap, 'FixtureLeak')
  const earlier = ids(first)
  assert.equal(earlier.length, FIXTURE_COUNT)
  assert.deepEqual(ids(state.stuck), earlier)
})

test('the arm64 program summarises, diffs and finds leaks in the arm64 snapshots exactly as the x64 one does', { skip }, () => {
  needs('stuck', 'the stuck-loop snapshot')
  const x64 = path.join(ROOT, 'bin', 'rheapdump')
  const arm64 = emulated(path.join(state.pkg, PROGRAM))
  const [first, second] = state.idle
  for (const args of [['summary', state.stuck], ['diff', first, state.stuck], ['leaks', first, second, state.stuck]]) {
    const native = run([x64, ...args, '--json'])
    assert.equal(native.status, 0, native.stderr)
    const emulatedRun = run([...arm64, ...args, '--json'])
    assert.equal(emulatedRun.status, 0, emulatedRun.stderr)
    assert.equal(emulatedRun.stdout, native.stdout, `rheapdump ${args[0]} --json`)
    JSON.parse(native.stdout)
  }
})
