'use strict'

// Calibrates and checks the snapshot guard's estimator: for each Node major, heap shape and size,
// the real extra peak RSS and file size of a snapshot against the estimate.
//   node bench/guard.js   (RHEAPDUMP_NODE_MAJORS=20,26 to choose; RHEAPDUMP_BENCH_HEAP_MB=25,100;
//                          RHEAPDUMP_BENCH_RUNS=1: rows per shape and size; see bench/settings.js)

const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { nodeBinaries } = require('../scripts/node-versions')
const { settings } = require('./settings')

const { heapMb: sizes, runs } = settings({ heapMb: [25, 100], runs: 1 })
const shapes = ['objects', 'mixed', 'strings', 'arrays']
const mb = (b) => (b / 1048576).toFixed(0)

let estimate = null
try {
  estimate = require('../lib/binding').binding.estimateSnapshotCost
} catch {
  // not built: the table then shows no estimates
}

for (const node of nodeBinaries({ install: true })) {
  console.log(`\n${node.version}`)
  console.log('| shape | heap used MB | extra peak RSS MB | per heap MB | estimate MB | error | file MB | per heap MB | estimate MB |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const shape of shapes) {
    for (const size of sizes) {
      for (let run = 0; run < runs; run++) {
        const child = spawnSync(node.path, [path.join(__dirname, 'guard-child.js'), shape, String(size)], { encoding: 'utf8', timeout: 600000 })
        if (child.status !== 0) {
          console.log(`| ${shape} | ${size} | failed: ${child.stderr.split('\n')[0]} |`)
          continue
        }
        const r = JSON.parse(child.stdout)
        const est = estimate ? estimate(node.major, r.heapUsed) : null
        const error = est ? `${(((est.extraMemory - r.extra) / r.extra) * 100).toFixed(0)}%` : '-'
        console.log(
          `| ${shape} | ${mb(r.heapUsed)} | ${mb(r.extra)} | ${(r.extra / r.heapUsed).toFixed(1)} | ${est ? mb(est.extraMemory) : '-'} | ${error} | ${mb(r.bytes)} | ${(r.bytes / r.heapUsed).toFixed(2)} | ${est ? mb(est.fileSize) : '-'} |`,
        )
      }
    }
  }
}
