'use strict'

// Child processes for the tests: start the fixture app, send it commands, wait for what it says.
// Everything that waits polls against a deadline; nothing sleeps a fixed time.

const { execFileSync, spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..', '..')

// Guarded snapshots reserve their memory in a ledger shared with every process on the host that
// has no cgroup limit (see docs/guard.md); node --test runs test files in parallel, so each
// file's processes get a ledger directory of their own and never wait for another file's
// snapshot storms.
if (!process.env.RHEAPDUMP_LOCK_DIR) {
  const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-locks-'))
  process.env.RHEAPDUMP_LOCK_DIR = lockDir
  process.on('exit', () => fs.rmSync(lockDir, { recursive: true, force: true }))
}
const APP = path.join(__dirname, '..', 'fixtures', 'app.js')

function tempDir(t, prefix = 'rheapdump-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function waitFor(check, { timeout = 20000, interval = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

/**
 * Starts the fixture app (or `script`) and returns a handle to drive it. `node` is the argv that
 * runs Node: another binary, or one under an emulator (signals to the emulator reach it).
 */
async function startApp(t, { cwd, env = {}, args = [], script = APP, execArgv = [], node = [process.execPath] } = {}) {
  const child = spawn(node[0], [...node.slice(1), ...execArgv, script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const app = {
    child,
    events: [],
    stderr: '',
    exited: null,
    send(command) {
      child.stdin.write(`${JSON.stringify(command)}\n`)
    },
    async command(command, timeout) {
      const seen = app.events.length
      app.send(command)
      await app.waitEvent((e, i) => i >= seen && e.event === 'done' && e.cmd === command.cmd, timeout)
    },
    waitEvent(match, timeout = 20000) {
      const predicate = typeof match === 'string' ? (e) => e.event === match : match
      return waitFor(() => app.events.find(predicate), { timeout, what: `event ${match}; stderr: ${app.stderr}` })
    },
    waitExit(timeout = 20000) {
      return waitFor(() => app.exited, { timeout, what: 'exit' })
    },
    signal(name = 'SIGUSR2') {
      process.kill(child.pid, name)
    },
  }
  let buffered = ''
  child.stdout.on('data', (chunk) => {
    buffered += chunk
    let newline
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      const event = JSON.parse(line)
      event.at = Date.now()
      app.events.push(event)
    }
  })
  child.stderr.on('data', (chunk) => (app.stderr += chunk))
  child.on('exit', (code, signal) => (app.exited = { code, signal }))
  t.after(() => {
    if (!app.exited) child.kill('SIGKILL')
  })
  await app.waitEvent('ready')
  return app
}

/**
 * A 1 MB tmpfs mounted on a new temporary directory (options: e.g. 'ro'), unmounted after the
 * test; null, with the test skipped, where mounting is not allowed (not root).
 */
function tmpfs(t, options = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-tmpfs-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', [options, 'size=1m'].filter(Boolean).join(','), 'tmpfs', dir], { stdio: 'ignore' })
  } catch {
    fs.rmdirSync(dir)
    t.skip('mounting a tmpfs needs root')
    return null
  }
  t.after(() => {
    execFileSync('umount', [dir])
    fs.rmdirSync(dir)
  })
  return dir
}

/**
 * A memory cgroup (v1, or v2 where v1 is absent) limited to `bytes`, removed after the test;
 * null, with the test skipped, where none can be made. Returns the argv that runs `node -e script`
 * inside it.
 */
function memoryCgroup(t, bytes) {
  const v1 = '/sys/fs/cgroup/memory'
  const base = fs.existsSync(path.join(v1, 'memory.limit_in_bytes')) ? v1 : fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : null
  const group = base && path.join(base, `rheapdump-test-${process.pid}-${bytes}`)
  try {
    fs.mkdirSync(group)
    fs.writeFileSync(path.join(group, base === v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(bytes))
  } catch (err) {
    t.skip(`cannot create a memory cgroup here: ${err.code || err.message}`)
    return null
  }
  t.after(() => fs.rmdirSync(group))
  return (script) => ['sh', ['-c', `echo $$ > ${group}/cgroup.procs && exec "$0" -e "$1"`, process.execPath, script]]
}

function snapshotFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.heapsnapshot'))
    .sort()
    .map((name) => path.join(dir, name))
}

/** Runs a short script in a child process; returns { status, signal, stdout, stderr }. */
function runScript(source, { cwd, env = {}, args = [], timeout = 60000, execPath = process.execPath } = {}) {
  const result = spawnSync(execPath, [...args, '-e', source], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout,
  })
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr }
}

/**
 * The test's `skip` option: under RHEAPDUMP_FALLBACK=1 (the pure-JS fallback, lib/fallback.js)
 * a test of what only the addon does is skipped with the reason; otherwise false.
 */
function needsAddon(why) {
  return process.env.RHEAPDUMP_FALLBACK === '1' ? `the pure-JS fallback ${why}` : false
}

module.exports = { ROOT, APP, tempDir, tmpfs, memoryCgroup, waitFor, startApp, snapshotFiles, runScript, needsAddon }
