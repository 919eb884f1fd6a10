'use strict'

// npm run bench:compress (part of npm run bench): what compressing a snapshot as V8 writes it
// (compress: 'gzip' | 'zstd') costs and saves, per Node major, heap size and heap shape, against
// the plain snapshot of the same process: the service's pause (snapshot() from call to the file
// durable under its name, the main thread blocked throughout), the process's CPU time (all
// threads: V8's writer on the main thread, the compressor on its own), the file size and the
// compressed bytes per byte of used heap (what the guard's disk estimate must cover).
// Each figure is min / median over RHEAPDUMP_BENCH_RUNS processes (bench/settings.js).
//
//   RHEAPDUMP_BENCH_HEAP_MB=25,100 RHEAPDUMP_BENCH_RUNS=3 RHEAPDUMP_NODE_MAJORS=20,26 node bench/compress.js

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const FORMATS = ['off', 'gzip', 'zstd']
// Small objects: the most objects per MB, the largest snapshot per MB of heap. Strings: random
// ones, which compress worst.
const SHAPES = ['objects', 'strings']

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4]), process.argv[5])
} else {
  main()
}

/** One measured process: builds the heap, takes one snapshot, prints one JSON line. */
function child(shape, heapMb, compress) {
  if (shape === 'objects') {
    globalThis.benchHeap = Array.from({ length: heapMb * 20000 }, (_, i) => ({ i, next: null }))
  } else {
    // 100 random base64 characters each, like tokens and hashes: the worst case for compression.
    const crypto = require('node:crypto')
    globalThis.benchHeap = Array.from({ length: heapMb * 7000 }, () => crypto.randomBytes(75).toString('base64'))
  }
  const rheapdump = require(root)
  const heapUsed = process.memoryUsage().heapUsed
  const cpu = process.cpuUsage()
  rheapdump.snapshot({ dir: process.cwd(), compress, force: true }).then((info) => {
    const used = process.cpuUsage(cpu)
    process.stdout.write(`${JSON.stringify({
      pauseMs: info.durationMs,
      cpuMs: (used.user + used.system) / 1000,
      bytes: info.bytes,
      plainBytes: info.plainBytes ?? info.bytes,
      heapUsed,
    })}\n`)
  })
}

function main() {
  const { nodeBinaries } = require('../scripts/node-versions')
  const { settings } = require('./settings')
  const { runs, heapMb: heaps } = settings({ runs: 3, heapMb: [25, 100] })
  const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1)
  const once = (node, shape, heap, compress) => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-bench-'))
    const run = spawnSync(node.path, [__filename, '--child', shape, String(heap), compress], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, RHEAPDUMP_QUIET: '1', RHEAPDUMP_SIGNAL: '0' },
      timeout: 600000,
    })
    fs.rmSync(cwd, { recursive: true, force: true })
    if (run.status !== 0) throw new Error(`${node.version} ${shape} ${heap} MB ${compress} failed: ${run.stderr}`)
    return JSON.parse(run.stdout.trim().split('\n').pop())
  }
  // The formats take turns within each run (off, gzip, zstd, off, …), so a change in the
  // machine's load during a row's runs falls on every format alike.
  const measure = (node, shape, heap) => {
    const results = Object.fromEntries(FORMATS.map((compress) => [compress, []]))
    for (let i = 0; i < runs; i++) {
      for (const compress of FORMATS) results[compress].push(once(node, shape, heap, compress))
    }
    return results
  }
  const stat = (results, key) => {
    const values = results.map((r) => r[key]).sort((a, b) => a - b)
    return { min: values[0], median: values[Math.floor(values.length / 2)] }
  }
  console.log(`${os.cpus().length} × ${os.cpus()[0].model}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${runs} runs each, formats taking turns (min / median)\n`)
  const header = ['node', 'heap', 'compress', 'pause s', 'pause vs off', 'CPU s', 'file MB', 'ratio', 'file bytes per heap byte']
  // Rows print as they are measured (a full run takes a while): fixed widths.
  const widths = [8, 28, 8, 13, 12, 13, 7, 5, 24]
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const node of nodeBinaries({ install: true })) {
    for (const shape of SHAPES) {
      for (const heap of heaps) {
        const measured = measure(node, shape, heap)
        let plain = null
        for (const compress of FORMATS) {
          const r = measured[compress]
          const pause = stat(r, 'pauseMs')
          const cpu = stat(r, 'cpuMs')
          plain ??= pause.median
          const bytes = stat(r, 'bytes').median
          console.log(line([
            node.version,
            `${heap} MB ${shape} (${mb(stat(r, 'heapUsed').median)} used)`,
            compress,
            `${(pause.min / 1000).toFixed(2)} / ${(pause.median / 1000).toFixed(2)}`,
            `${(pause.median / plain).toFixed(2)}×`,
            `${(cpu.min / 1000).toFixed(2)} / ${(cpu.median / 1000).toFixed(2)}`,
            mb(bytes),
            `${(stat(r, 'plainBytes').median / bytes).toFixed(1)}×`,
            (bytes / stat(r, 'heapUsed').median).toFixed(2),
          ]))
        }
      }
    }
  }
  console.log('\nPause: snapshot() from the call to the file durable under its name; the main thread is blocked throughout.')
  console.log('CPU: the whole process during the snapshot, every thread (the compressor runs on its own).')
  console.log(`Load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
}
