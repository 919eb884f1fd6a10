'use strict'

// npm run bench:fork-soundness: are fork snapshots sound often enough to be a default? Many
// fork snapshots in a row, per Node major and per load on the service, every file checked with
// `rheapdump validate` (then deleted); counts of sound files, failures by code and retries.
//
//   RHEAPDUMP_BENCH_RUNS=100 RHEAPDUMP_BENCH_HEAP_MB=10 RHEAPDUMP_NODE_MAJORS=20,22,24,26 node bench/fork-soundness.js
//
// Loads: `idle` (a 1 ms timer), `busy` (the heap churning every 5 ms, pbkdf2 on the libuv pool,
// a Worker burning CPU in bursts: the threads a fork can catch running). Each line of progress
// goes to stderr as it happens, so that a run cut short still says what it counted.

const { root, runService, buildHeap, validate, pct, table } = require('./fork-runs')

const LOADS = ['idle', 'busy']

if (process.argv[2] === '--child') {
  child(Number(process.argv[3]), Number(process.argv[4]), process.argv[5])
} else {
  main()
}

async function main() {
  const { settings } = require('./settings')
  const { nodeBinaries } = require('../scripts/node-versions')
  const { heapMb: heaps, runs } = settings({ heapMb: [10], runs: 100 })
  const rows = []
  const total = { forks: 0, sound: 0 }
  for (const node of nodeBinaries({ install: true })) {
    for (const load of LOADS) {
      for (const mb of heaps) {
        const result = await runService(node, __filename, [mb, runs, load], { what: `node ${node.version}, ${load}, ${mb} MB`, timeout: 6 * 3600 * 1000, stderr: 'inherit' })
        total.forks += result.forks.length
        total.sound += result.forks.filter((f) => f.sound).length
        rows.push(row(node.version, load, result))
      }
    }
  }
  const header = ['node', 'load', 'heap', 'fork snapshots', 'sound', 'failed (code × n)', 'retried', 'pause p50/p99', 'child s p50']
  console.log(table(header, rows))
  console.log(`\n${total.sound} of ${total.forks} sound`)
}

function row(version, load, { heapUsed, forks }) {
  const ok = forks.filter((f) => f.path)
  const failed = {}
  for (const f of forks.filter((f) => !f.path)) failed[f.code] = (failed[f.code] ?? 0) + 1
  const unsound = ok.filter((f) => !f.sound).length
  if (unsound) failed.unsound = unsound
  const pause = ok.map((f) => f.pauseMs)
  return [
    version,
    load,
    `${(heapUsed / 2 ** 20).toFixed(0)} MB`,
    String(forks.length),
    String(forks.filter((f) => f.sound).length),
    Object.entries(failed).map(([code, n]) => `${code} × ${n}`).join(', ') || '–',
    String(ok.filter((f) => f.attempts > 1).length),
    `${pct(pause, 50).toFixed(1)} / ${pct(pause, 99).toFixed(1)} ms`,
    (pct(ok.map((f) => f.childMs), 50) / 1000).toFixed(2),
  ]
}

/** The measured service: `mb` MB of small objects under `load`, `runs` fork snapshots in a row. */
async function child(mb, runs, load) {
  const rheapdump = require(root)
  const v8 = require('node:v8')
  buildHeap(mb)
  const stops = [setInterval(() => {}, 1)]
  let worker = null
  let pool = true
  if (load === 'busy') {
    const crypto = require('node:crypto')
    const { Worker } = require('node:worker_threads')
    stops.push(setInterval(() => { globalThis.benchChurn = Array.from({ length: 2000 }, (_, i) => ({ i, s: `c${i}` })) }, 5))
    const hash = () => crypto.pbkdf2('secret', 'salt', 5000, 32, 'sha256', () => { if (pool) setTimeout(hash, 10) })
    for (let i = 0; i < 2; i++) hash()
    worker = new Worker('setInterval(() => { const t = Date.now() + 2; while (Date.now() < t) {} }, 10)', { eval: true })
  }
  const forks = []
  for (let i = 0; i < runs; i++) {
    try {
      // force: the guard's turn is host-wide here, and other processes' snapshots (the pause
      // benchmark's, a test's) would refuse these; soundness is what is counted.
      const info = await rheapdump.snapshot({ fork: true, force: true })
      const sound = await validate(info.path)
      forks.push({ path: info.path, sound, attempts: info.attempts, pauseMs: info.pauseMs, childMs: info.childMs })
    } catch (err) {
      forks.push({ code: err.code, message: err.message })
    }
    const last = forks.at(-1)
    if (!last.sound || (i + 1) % 10 === 0) {
      const sound = forks.filter((f) => f.sound).length
      process.stderr.write(`  node ${process.version} ${load}: ${i + 1}/${runs}, ${sound} sound${last.sound ? '' : `; #${i + 1}: ${last.code ?? 'unsound'} ${last.message ?? last.path}`}\n`)
    }
  }
  pool = false
  for (const timer of stops) clearInterval(timer)
  await worker?.terminate()
  const heapUsed = v8.getHeapStatistics().used_heap_size
  process.stdout.write(`${JSON.stringify({ heapUsed, forks })}\n`)
}
