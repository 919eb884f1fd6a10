'use strict'

// Loads a .heapsnapshot with Chrome DevTools' own heap snapshot worker code
// (bundled by scripts/peers.js) and reports load time and graph size. Run by bench/analysis.js,
// the parity test (crates/analysis/tests/parity.rs) and __test__/fork.test.js.
// Usage: node tools/peers/devtools.js FILE [AFTER] [--dump OUT]
// With AFTER, also loads AFTER and computes the Comparison view of AFTER against FILE.
// stdout: one JSON line {"tool":"devtools","file","load_ms","nodes","edges"}
// --dump OUT writes per-node arrays (ids, retained, self, distance,
// dominator_id), the Summary view's class aggregates and total_size to OUT.

const fs = require('node:fs')
const path = require('node:path')
const { MessageChannel } = require('node:worker_threads')

const { parseArgs, writeJson } = require('./common')

const bundlePath = path.join(__dirname, '..', '..', '.cache', 'peers', 'devtools-heap-snapshot.cjs')

function loadBundle() {
  try {
    return require(bundlePath)
  } catch (err) {
    if (err.code === 'MODULE_NOT_FOUND' && !fs.existsSync(bundlePath)) {
      throw new Error(`${path.relative(process.cwd(), bundlePath)} is missing; run: node scripts/peers.js`, { cause: err })
    }
    throw err
  }
}

async function load(devtools, file) {
  // The loader reports progress through the worker dispatcher; we don't need it.
  const dispatcher = { sendEvent() {} }
  const loader = new devtools.HeapSnapshotLoader(dispatcher)
  const stream = fs.createReadStream(file, { encoding: 'utf8' })
  for await (const chunk of stream) loader.write(chunk)
  loader.close()
  // DevTools splits initialization across two workers; the secondary side
  // (retainers, dominators, retained sizes) talks to us over a MessageChannel,
  // exactly like createJSHeapSnapshotForTesting().
  const channel = new MessageChannel()
  try {
    new devtools.SecondaryInitManager(channel.port2)
    return await loader.buildSnapshot(channel.port1)
  } finally {
    channel.port1.close()
    channel.port2.close()
  }
}

function dump(devtools, snapshot, out) {
  const { nodes, nodeFieldCount, nodeIdOffset, nodeSelfSizeOffset, nodeCount } = snapshot
  const id = (ordinal) => nodes.getValue(ordinal * nodeFieldCount + nodeIdOffset)
  const retained = snapshot.retainedSizes
  const distances = snapshot.nodeDistances
  const dominators = snapshot.dominatorsTree

  // An empty NodeFilter means "all objects": the default Summary view.
  const aggregates = snapshot.aggregatesWithFilter(new devtools.NodeFilter())
  const classes = Object.keys(aggregates).sort().map((key) => {
    const a = aggregates[key]
    return { name: a.name, key, count: a.count, self_size: a.self, retained_size: a.maxRet, distance: a.distance }
  })

  writeJson(out, [
    ['ids', nodeCount, id],
    ['retained', nodeCount, (i) => retained[i]],
    ['self', nodeCount, (i) => nodes.getValue(i * nodeFieldCount + nodeSelfSizeOffset)],
    ['distance', nodeCount, (i) => distances[i]],
    ['dominator_id', nodeCount, (i) => id(dominators[i])],
    ['classes', classes],
    ['total_size', snapshot.rootNode().retainedSize()],
  ])
}

async function main() {
  const { file, other, dumpPath } = parseArgs(__filename)
  const devtools = loadBundle()
  const started = process.hrtime.bigint()
  const snapshot = await load(devtools, file)
  let diffClasses
  if (other) {
    // The Comparison view: both snapshots loaded, AFTER compared against FILE.
    const after = await load(devtools, other)
    const base = snapshot.aggregatesForDiff(after.interfaceDefinitions())
    diffClasses = Object.keys(after.calculateSnapshotDiff(1, base)).length
  }
  const loadMs = Number(process.hrtime.bigint() - started) / 1e6
  const edges = snapshot.containmentEdges.length / snapshot.edgeFieldsCount
  process.stdout.write(JSON.stringify({
    tool: 'devtools',
    file,
    load_ms: Math.round(loadMs * 10) / 10,
    nodes: snapshot.nodeCount,
    edges,
    ...(other ? { diff_classes: diffClasses } : {}),
    max_rss: process.resourceUsage().maxRSS * 1024,
  }) + '\n')
  if (dumpPath) dump(devtools, snapshot, dumpPath)
}

main().catch((err) => {
  process.stderr.write(`devtools: ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})
