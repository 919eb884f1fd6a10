'use strict'

// How long a sampling heap profile stops the main thread, against a full GC and a snapshot of
// the same heap:
//   RHEAPDUMP_BENCH_HEAP_MB=64,1024 node --max-old-space-size=4096 bench/profile-pause.js
// Grows a heap of small objects with sampling on (512 KiB) to each size in turn, then times
// RHEAPDUMP_BENCH_RUNS (3) of each (bench/settings.js). The snapshot is taken only up to
// SNAPSHOT_MAX_MIB: on a bigger heap it takes minutes and 20-30x the heap in memory
// (docs/guard.md).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const rheapdump = require('..')
const { settings } = require('./settings')

const { heapMb, runs } = settings({ heapMb: [64, 1024], runs: 3 })
const SNAPSHOT_MAX_MIB = 256
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-bench-'))
rheapdump.configure({ sampling: true, signal: false })

const kept = []
function grow(mib) {
  // ~100 bytes per entry: an object and its string.
  while (process.memoryUsage().heapUsed < mib * 1024 * 1024) {
    for (let i = 0; i < 100000; i++) kept.push({ id: kept.length, name: `entry-${kept.length}` })
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`

function measure(label, take) {
  const times = Array.from({ length: runs }, () => take())
  console.log(`| ${label} | ${seconds(median(times))} | ${times.map(seconds).join(', ')} |`)
}

console.log(`node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`)
console.log(`| at heapUsed | main thread stopped (median of ${runs}) | runs |`)
console.log('|---|---|---|')
// Smallest first: the heap only grows.
for (const mib of [...heapMb].sort((a, b) => a - b)) {
  grow(mib)
  const used = `${Math.round(process.memoryUsage().heapUsed / 1048576)} MiB`
  measure(`${used}: full GC (rheapdump.gc())`, () => rheapdump.gc().durationMs)
  let last = null
  measure(`${used}: sampling heap profile`, () => {
    last = rheapdump.writeHeapProfile(path.join(dir, 'p.heapprofile'))
    return last.durationMs
  })
  console.log(`| ${used}: profile file | ${(last.bytes / 1024).toFixed(0)} KiB, ${last.samples} samples | |`)
  if (mib <= SNAPSHOT_MAX_MIB) {
    measure(`${used}: heap snapshot`, () => {
      const started = performance.now()
      rheapdump.writeSnapshot(path.join(dir, 's.heapsnapshot'))
      return performance.now() - started
    })
  }
}
fs.rmSync(dir, { recursive: true, force: true })
