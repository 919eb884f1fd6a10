'use strict'

// Loads a .heapsnapshot with @memlab/core the way @memlab/heap-analysis'
// getFullHeapFromFile() does (parse + preparePathFinder, which computes shortest
// paths, dominators and retained sizes) and reports load time and graph size. Run by
// bench/analysis.js and the parity test (crates/analysis/tests/parity.rs).
// Usage: node tools/peers/memlab.js FILE [AFTER] [--dump OUT]
// stdout: one JSON line {"tool":"memlab","file","load_ms","nodes","edges"}
// --dump OUT writes {"ids":[...],"retained":[...]} for every node, in node order.

const path = require('node:path')

const { parseArgs, writeJson } = require('./common')

const modulesDir = path.join(__dirname, '..', '..', '.cache', 'peers', 'node_modules')

function withStdoutOnStderr(fn) {
  const write = process.stdout.write
  process.stdout.write = process.stderr.write.bind(process.stderr)
  const restore = () => { process.stdout.write = write }
  return Promise.resolve().then(fn).then((v) => { restore(); return v }, (e) => { restore(); throw e })
}

function loadMemlab() {
  try {
    return require(path.join(modulesDir, '@memlab', 'core'))
  } catch (err) {
    if (err.code === 'MODULE_NOT_FOUND') {
      throw new Error(`@memlab/core is not installed in ${path.relative(process.cwd(), modulesDir)}; run: node scripts/peers.js`, { cause: err })
    }
    throw err
  }
}

async function main() {
  const { file, other, dumpPath } = parseArgs(__filename)
  const memlab = await withStdoutOnStderr(loadMemlab)
  memlab.config.muteConsole = true
  memlab.config.verbose = false
  // Default is to print (muted) and process.exit(1) on parse errors; throw instead
  // so the reason reaches stderr.
  memlab.config.errorHandling = memlab.ErrorHandling.Throw

  const started = process.hrtime.bigint()
  const loadOne = (name) => withStdoutOnStderr(async () => {
    // Equivalent of @memlab/heap-analysis getFullHeapFromFile(file).
    const snapshot = await memlab.utils.getSnapshotFromFile(name, { buildNodeIdIndex: true })
    if (!snapshot) throw new Error(`memlab could not parse ${name}`)
    memlab.analysis.preparePathFinder(snapshot) // shortest paths, dominators, retained sizes
    memlab.info.flush()
    return snapshot
  })
  const heap = await loadOne(file)
  // A comparison needs both heaps (memlab has no Comparison view of its own).
  const after = other ? await loadOne(other) : null
  const loadMs = Number(process.hrtime.bigint() - started) / 1e6

  process.stdout.write(JSON.stringify({
    tool: 'memlab',
    file,
    load_ms: Math.round(loadMs * 10) / 10,
    nodes: heap.nodes.length,
    edges: heap.edges.length,
    ...(after ? { after_nodes: after.nodes.length } : {}),
    max_rss: process.resourceUsage().maxRSS * 1024,
  }) + '\n')

  if (dumpPath) {
    const { nodes } = heap
    const n = nodes.length
    writeJson(dumpPath, [
      ['ids', n, (i) => nodes.get(i).id],
      ['retained', n, (i) => nodes.get(i).retainedSize],
    ])
  }
}

main().catch((err) => {
  process.stderr.write(`memlab: ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})
