'use strict'

// Loads a .heapsnapshot with @memlab/core the way @memlab/heap-analysis'
// getFullHeapFromFile() does (parse + preparePathFinder, which computes shortest
// paths, dominators and retained sizes) and reports load time and graph size.
// Usage: node bench/peers/memlab.js FILE [AFTER] [--dump OUT]
// stdout: one JSON line {"tool":"memlab","file","load_ms","nodes","edges"}
// --dump OUT writes {"ids":[...],"retained":[...]} for every node, in node order.

const fs = require('node:fs')
const path = require('node:path')

const modulesDir = path.join(__dirname, '..', '..', '.cache', 'peers', 'node_modules')

function parseArgs() {
  const args = process.argv.slice(2)
  let file = null
  let other = null
  let dumpPath = null
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dump') dumpPath = args[++i]
    else if (file === null) file = args[i]
    else if (other === null) other = args[i]
    else file = undefined
  }
  if (!file || dumpPath === undefined) {
    process.stderr.write(`usage: node ${path.relative(process.cwd(), __filename)} FILE [AFTER] [--dump OUT]\n`)
    process.exit(2)
  }
  return { file, other, dumpPath }
}

// Writes a JSON object to `out` without materializing large arrays as strings.
// fields: [key, length, (i) => number] for numeric arrays, [key, value] otherwise.
function writeJson(out, fields) {
  const fd = fs.openSync(out, 'w')
  try {
    fields.forEach((field, n) => {
      fs.writeSync(fd, `${n ? ',' : '{'}${JSON.stringify(field[0])}:`)
      if (field.length === 2) {
        fs.writeSync(fd, JSON.stringify(field[1]))
        return
      }
      const [, length, get] = field
      const CHUNK = 65536
      fs.writeSync(fd, '[')
      for (let start = 0; start < length; start += CHUNK) {
        const end = Math.min(length, start + CHUNK)
        const parts = new Array(end - start)
        for (let i = start; i < end; i++) parts[i - start] = get(i)
        fs.writeSync(fd, (start ? ',' : '') + parts.join(','))
      }
      fs.writeSync(fd, ']')
    })
    fs.writeSync(fd, '}\n')
  } finally {
    fs.closeSync(fd)
  }
}

// memlab prints progress ("parsing ...", "calculating dominators ...") via
// console.log / process.stdout. Keep stdout for our single JSON line.
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
  const { file, other, dumpPath } = parseArgs()
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
