'use strict'

// npm run bench (part): fork snapshots (experimental, docs/fork.md) against the in-process
// snapshot of the same heap, per Node major: how long the service pauses (p50 / p99 of the
// fork's pause, the event loop's worst delay while each snapshot is taken), how long the child
// takes and its peak RSS, and whether every file is sound (`rheapdump validate`); and where the
// pause goes (`pauseSplit`, p50 of each part, and the parts of the longest pause).
//
//   RHEAPDUMP_BENCH_HEAP_MB=50,200 RHEAPDUMP_BENCH_RUNS=10 RHEAPDUMP_NODE_MAJORS=20,26 node bench/fork.js
//
// p99 is nearest-rank: with fewer than 100 runs it is the worst run.

const { root, runService, buildHeap, validate, pct, table } = require('./fork-runs')

if (process.argv[2] === '--child') {
  child(Number(process.argv[3]), Number(process.argv[4]))
} else {
  main()
}

async function main() {
  const { settings } = require('./settings')
  const { nodeBinaries } = require('../scripts/node-versions')
  const { heapMb: heaps, runs } = settings({ heapMb: [50, 200], runs: 10 })
  const rows = []
  for (const node of nodeBinaries({ install: true })) {
    for (const mb of heaps) {
      const result = await runService(node, __filename, [mb, runs], { what: `node ${node.version}, ${mb} MB`, timeout: 3600000 })
      const sound = result.forks.filter((f) => f.sound).length
      rows.push(row(node.version, mb, result, sound))
      console.error(`  done: node ${node.version}, ${mb} MB`)
    }
  }
  const header = ['node', 'heap', 'fork pause p50/p99', 'loop delay p50/p99', 'idle delay', 'child s p50', 'child peak RSS', 'sound', 'in-process pause', 'its loop delay']
  console.log(table(header, rows.map((r) => r.main)))
  console.log('\nWhere the pause went, ms: prepare (quiet threads, the file) / mappings (smaps, MADV_DOFORK) / fork() / restore')
  console.log(table(['node', 'heap', 'p50 of each part', 'the longest pause'], rows.map((r) => r.split)))
}

function row(version, mb, { heapUsed, idleDelayMs, forks, inProcess }, sound) {
  const ok = forks.filter((f) => f.path)
  const pause = ok.map((f) => f.pauseMs)
  const delay = ok.map((f) => f.loopDelayMs)
  const parts = ['prepareMs', 'mappingsMs', 'forkMs', 'restoreMs']
  const longest = ok.reduce((a, b) => (b.pauseMs > (a?.pauseMs ?? -1) ? b : a), null)
  const split = [
    version,
    `${(heapUsed / 2 ** 20).toFixed(0)} MB`,
    parts.map((part) => pct(ok.map((f) => f.pauseSplit[part]), 50).toFixed(1)).join(' / '),
    longest ? `${parts.map((part) => longest.pauseSplit[part].toFixed(1)).join(' / ')} = ${longest.pauseMs.toFixed(1)}` : '–',
  ]
  const main = [
    version,
    `${(heapUsed / 2 ** 20).toFixed(0)} MB`,
    `${pct(pause, 50).toFixed(1)} / ${pct(pause, 99).toFixed(1)} ms`,
    `${pct(delay, 50).toFixed(1)} / ${pct(delay, 99).toFixed(1)} ms`,
    `${idleDelayMs.toFixed(1)} ms`,
    (pct(ok.map((f) => f.childMs), 50) / 1000).toFixed(1),
    `${(pct(ok.map((f) => f.childPeakRss), 50) / 2 ** 20).toFixed(0)} MB`,
    `${sound}/${forks.length}`,
    `${(inProcess.durationMs / 1000).toFixed(2)} s`,
    `${(inProcess.loopDelayMs / 1000).toFixed(2)} s`,
  ]
  return { main, split }
}

/** The measured service: a heap of `mb` MB of small objects, a 1 ms timer to see the loop stall. */
async function child(mb, runs) {
  const rheapdump = require(root)
  const v8 = require('node:v8')
  buildHeap(mb)
  let last = performance.now()
  let worst = 0
  const tick = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last - 1)
    last = now
  }, 1)
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200))
  // The control: the worst delay over 2 s with no snapshot at all (a shared, busy host shows here).
  worst = 0
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const idleDelayMs = worst
  const forks = []
  for (let i = 0; i < runs; i++) {
    await settle()
    worst = 0
    try {
      const info = await rheapdump.snapshot({ fork: true })
      const loopDelayMs = worst
      forks.push({ path: info.path, pauseMs: info.pauseMs, pauseSplit: info.pauseSplit, childMs: info.childMs, childPeakRss: info.childPeakRss, loopDelayMs, sound: await validate(info.path) })
    } catch (err) {
      forks.push({ code: err.code, message: err.message })
    }
  }
  await settle()
  worst = 0
  const inProcess = await rheapdump.snapshot({ fork: false })
  await settle()
  clearInterval(tick)
  const heapUsed = v8.getHeapStatistics().used_heap_size
  process.stdout.write(`${JSON.stringify({ heapUsed, idleDelayMs, forks, inProcess: { durationMs: inProcess.durationMs, loopDelayMs: worst } })}\n`)
}
