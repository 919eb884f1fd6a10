'use strict'

// memlab's find-leaks on three snapshots, as `memlab find-leaks --baseline B --target T
// --final F` and @memlab/api's findLeaksBySnapshotFilePaths() run it: memlab's default leak
// filter, its trace clustering. For the side-by-side in bench/README.md with `rheapdump leaks`.
// Usage: node tools/peers/memlab-leaks.js BASELINE TARGET FINAL [--trace-all-objects]
// --trace-all-objects: as memlab's option of that name, every leaked object counts, not only
// what its browser-oriented filters (detached DOM, unmounted React fibers) pick out.
// stdout: one JSON line {"tool":"memlab","clusters","ms","traces":[[node names root → leak]…]}

const path = require('node:path')

const modulesDir = path.join(__dirname, '..', '..', '.cache', 'peers', 'node_modules')

async function main() {
  const files = process.argv.slice(2).filter((a) => a !== '--trace-all-objects')
  const traceAll = process.argv.includes('--trace-all-objects')
  if (files.length !== 3) {
    process.stderr.write('usage: node tools/peers/memlab-leaks.js BASELINE TARGET FINAL [--trace-all-objects]\n')
    process.exit(2)
  }
  const write = process.stdout.write
  // memlab prints progress on stdout; keep stdout for the result.
  process.stdout.write = process.stderr.write.bind(process.stderr)
  const memlab = require(path.join(modulesDir, '@memlab', 'core'))
  memlab.config.muteConsole = true
  memlab.config.errorHandling = memlab.ErrorHandling.Throw
  memlab.config.useExternalSnapshot = true
  memlab.config.externalSnapshotFilePaths = files
  memlab.config.chaseWeakMapEdge = false
  if (traceAll) {
    memlab.config.oversizeObjectAsLeak = true
    memlab.config.oversizeThreshold = 0
  }
  const started = process.hrtime.bigint()
  const traces = await memlab.analysis.checkLeak()
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  process.stdout.write = write
  // A trace alternates nodes and edges from a root to the leaked object; keep the nodes' names.
  // Each trace is an object whose keys are its steps, root first:
  // "3:   --_events (property)--->  [Object](object) @44923 $retained-size:584 …".
  const step = /^\d+:\s+(?:--(.*?) \(\w+\)--->\s+)?\[(.*?)\]\((\w+)\) @(\d+)/
  const names = traces.map((trace) =>
    Object.keys(trace)
      .map((key) => key.match(step))
      .filter(Boolean)
      .map(([, edge, name, , id]) => `${edge ? `--${edge}--> ` : ''}${name} @${id}`),
  )
  process.stdout.write(`${JSON.stringify({ tool: 'memlab', clusters: traces.length, ms: Math.round(ms), traces: names })}\n`)
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`)
  process.exit(1)
})
