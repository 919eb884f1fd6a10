'use strict'

// Runs: in a container node is pid 1 in every run, so what is keyed by pid alone mixes runs.
// Real processes as pid 1 of their own pid namespace (`unshare --pid`, as root), each run
// snapshotting itself on SIGUSR2: `keep` prunes only the run's own files, and `leaks DIR`
// picks the newest run's snapshots, says which, and never mixes in an earlier run's.

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { test } = require('node:test')

const { ROOT, tempDir, snapshotFiles, needsAddon } = require('./helpers/proc')

const CLI = path.join(ROOT, 'bin', 'rheapdump')
const NAME = /^heapdump-\d{8}T\d{6}\.\d{6}Z-(\d+)-([0-9a-z]{6})-\d+\.heapsnapshot$/

// unshare(1) makes a pid namespace only as root (or with user namespaces, which containers
// often forbid): say so rather than pass without testing.
const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'])
const noNamespace = probe.status === 0 ? false : `unshare --pid is not permitted here (${(probe.stderr || '').toString().trim() || probe.error}): needs root`

/**
 * One run of a service as pid 1: it keeps `keep` snapshots and sends itself SIGUSR2 `signals`
 * times, growing a leak between them. Returns the run's pid (inside its namespace), its run id
 * and the files it wrote.
 */
function runAsPid1(dir, { signals, keep }) {
  const app = `
    const rheapdump = require(${JSON.stringify(ROOT)})
    rheapdump.configure({ keep: ${keep}, quiet: true })
    class Session { constructor(i) { this.i = i; this.payload = 'session ' + i } }
    globalThis.sessions = []
    const written = []
    let left = ${signals}
    const next = () => {
      for (let i = 0; i < 2000; i++) globalThis.sessions.push(new Session(i))
      process.kill(process.pid, 'SIGUSR2')
    }
    rheapdump.on('snapshot', (info) => {
      written.push(info.path)
      if (--left > 0) {
        setTimeout(next, 100) // after the request is done: a signal meanwhile would be coalesced
        return
      }
      clearInterval(alive)
      console.log(JSON.stringify({ pid: process.pid, run: require(${JSON.stringify(path.join(ROOT, 'lib', 'binding'))}).binding.runId(), written }))
    })
    // The signal is handled off the main thread: keep the loop alive until the last snapshot.
    const alive = setInterval(() => {}, 1000)
    next()
  `
  const result = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '-e', app], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, RHEAPDUMP_DIR: dir },
  })
  assert.equal(result.status, 0, result.stderr)
  const report = result.stdout.trim().split('\n').at(-1)
  assert.ok(report, `no report from the run; stderr: ${result.stderr}`)
  return JSON.parse(report)
}

const leaks = (...args) => spawnSync(CLI, ['leaks', ...args], { encoding: 'utf8' })

test('pid 1 restarted: keep prunes only this run\'s snapshots, and leaks DIR takes the newest run\'s, never a mix', { skip: noNamespace || needsAddon('has no pid-1 difference to test') }, (t) => {
  const dir = tempDir(t)
  const first = runAsPid1(dir, { signals: 3, keep: 2 })
  assert.equal(first.pid, 1)
  assert.equal(snapshotFiles(dir).length, 2, 'keep 2: the first run pruned its own first snapshot')

  // The restarted service: pid 1 again, another run. Its snapshots leave the first run's alone.
  const second = runAsPid1(dir, { signals: 2, keep: 2 })
  assert.equal(second.pid, 1)
  assert.notEqual(second.run, first.run)
  const files = snapshotFiles(dir).map((file) => path.basename(file))
  assert.equal(files.length, 4, files.join(', '))
  for (const [run, count] of [[first.run, 2], [second.run, 2]]) {
    assert.equal(files.filter((name) => NAME.exec(name)?.[2] === run).length, count, `run ${run}: ${files.join(', ')}`)
  }
  assert.ok(files.every((name) => NAME.exec(name)?.[1] === '1'), files.join(', '))

  // The newest run wrote two: leaks refuses rather than mixing in the first run's.
  const refused = leaks(dir)
  assert.equal(refused.status, 2, refused.stderr)
  assert.match(refused.stderr, new RegExp(`from pid 1, run ${second.run}, which wrote 2 .*3 are needed .*left out: 1 other run of pid 1`))

  // A third run with three snapshots: leaks takes exactly those, says which, and finds the leak.
  const third = runAsPid1(dir, { signals: 3, keep: 3 })
  const found = leaks(dir)
  assert.equal(found.status, 0, found.stderr)
  assert.match(found.stderr, new RegExp(`the newest 3 snapshots of pid 1, run ${third.run}: `))
  assert.match(found.stderr, /left out: 2 other runs of pid 1/)
  const picked = found.stderr.split(`run ${third.run}: `)[1].split(' (left out')[0].split(', ')
  assert.deepEqual(picked, third.written)
  assert.doesNotMatch(found.stderr, /different runs|different processes/)
  assert.match(found.stdout, /Session/)
  // Given explicitly, files of two runs are compared by structure, saying why; matched by
  // ids, with a warning that names the runs.
  const mixed = leaks(first.written[1], second.written[0], second.written[1], '--match', 'ids')
  assert.match(mixed.stderr, new RegExp(`different runs of pid 1 \\(runs ${first.run} and ${second.run}`))
  const structural = leaks(first.written[1], second.written[0], second.written[1])
  assert.match(structural.stderr, /matched by structure .*different runs of pid 1/)
})
