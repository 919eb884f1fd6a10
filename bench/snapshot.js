'use strict'

// npm run bench: rheapdump against Node's own writer (v8.writeHeapSnapshot and
// --heapsnapshot-signal) and heapdump 0.3.15 on the same heap, and the idle cost of
// require('rheapdump') on each supported Node major: time, RSS, threads, wake-ups per second.
// Each figure is min / median over RHEAPDUMP_BENCH_RUNS processes (bench/settings.js).
//
//   RHEAPDUMP_BENCH_HEAP_MB=50,200 RHEAPDUMP_BENCH_RUNS=3 node bench/snapshot.js
//   RHEAPDUMP_BENCH_TABLES=idle RHEAPDUMP_BENCH_RUNS=5 node bench/snapshot.js   (the idle table alone)
//
// heapdump is installed into .cache/bench on first use (it builds with node-gyp); if that
// fails its row says so.

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { nodeBinaries } = require('../scripts/node-versions')
const { settings } = require('./settings')

const root = path.join(__dirname, '..')
const TABLES = ['idle', 'snapshots']
const { runs, heapMb: heaps, tables } = settings({ runs: 3, heapMb: [50], tables: TABLES })
const unknown = tables.filter((name) => !TABLES.includes(name))
if (unknown.length) {
  process.stderr.write(`bench: RHEAPDUMP_BENCH_TABLES: no table ${unknown.join(', ')} here; known: ${TABLES.join(', ')} (see bench/README.md)\n`)
  process.exit(2)
}
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1)

function heapdumpAvailable() {
  const dir = path.join(root, '.cache', 'bench')
  if (fs.existsSync(path.join(dir, 'node_modules', 'heapdump', 'build'))) return true
  fs.mkdirSync(dir, { recursive: true })
  try {
    execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', 'heapdump@0.3.15'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function measure(args, env = {}, nodeFlags = [], node = process.execPath) {
  const results = []
  for (let i = 0; i < runs; i++) {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-bench-'))
    const child = spawnSync(node, [...nodeFlags, path.join(__dirname, 'child.js'), ...args], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, RHEAPDUMP_QUIET: '1', ...env },
      timeout: 600000,
    })
    fs.rmSync(cwd, { recursive: true, force: true })
    if (child.status !== 0) throw new Error(`${args.join(' ')} failed: ${child.stderr}`)
    results.push(JSON.parse(child.stdout.trim().split('\n').pop()))
  }
  return results
}

function stat(results, key) {
  const values = results.map((r) => r[key]).sort((a, b) => a - b)
  return { min: values[0], median: values[Math.floor(values.length / 2)] }
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of rows) console.log(line(row))
}

function main() {
  console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model}, ${mb(os.totalmem())} MB RAM, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${runs} runs each (min / median)\n`)
  if (tables.includes('idle')) idleTable()
  if (tables.includes('snapshots')) snapshotTables()
  console.log(`\nLoad average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
}

function idleTable() {
  console.log('Idle cost of require(\'rheapdump\'), per Node major')
  const rows = []
  for (const node of nodeBinaries({ install: true })) {
    const idle = [
      ['bare: no rheapdump', ['idle', 'none']],
      ['bare: rheapdump (default)', ['idle', 'default']],
      ['app: no rheapdump', ['idle', 'none', 'app']],
      ['app: rheapdump (default)', ['idle', 'default', 'app']],
      ['warmed up: no rheapdump', ['idle', 'none', 'warm']],
      ['warmed up: rheapdump (default)', ['idle', 'default', 'warm']],
    ].map(([name, args]) => [name, measure(args, {}, [], node.path)])
    for (const [index, [name, r]] of idle.entries()) {
      const baseline = idle[index - (index % 2)][1]
      const base = stat(baseline, 'rss').median
      const baseThreads = stat(baseline, 'threads').median
      const rss = stat(r, 'rss')
      const req = stat(r, 'requireMs')
      const wake = stat(r, 'wakeupsPerSecond')
      const threads = stat(r, 'threads').median
      rows.push([
        node.version,
        name,
        `${req.min.toFixed(1)} / ${req.median.toFixed(1)}`,
        `${mb(rss.median)}`,
        mb(rss.median - base),
        `${threads} (+${threads - baseThreads})`,
        `${wake.min.toFixed(1)} / ${wake.median.toFixed(1)}`,
      ])
    }
  }
  table(['node', '', 'require ms', 'RSS MB', 'RSS cost MB', 'threads', 'wake-ups/s idle'], rows)
  console.log('Bare: only the built-ins fs, path, os, v8 and worker_threads loaded. App: and two files of its own. Warmed up: a hot function has been tiered up by V8 before the require, as in any running service.')
}

function snapshotTables() {
  const withHeapdump = heapdumpAvailable()
  for (const heap of heaps) {
    console.log(`\nSnapshot of a ~${heap} MB heap of small objects`)
    const methods = [
      ['v8.writeHeapSnapshot', ['v8', heap]],
      ['heapdump 0.3.15 writeSnapshot', withHeapdump ? ['heapdump', heap] : null],
      ['rheapdump writeSnapshot', ['api', heap]],
      ['rheapdump SIGUSR2, loop idle', ['signal-idle', heap]],
      ['rheapdump SIGUSR2, loop stuck', ['signal-stuck', heap]],
      ['node --heapsnapshot-signal, loop idle', ['node-signal-idle', heap], ['--heapsnapshot-signal=SIGUSR2']],
      ['node --heapsnapshot-signal, loop stuck 3 s', ['node-signal-stuck', heap], ['--heapsnapshot-signal=SIGUSR2']],
    ]
    const rows = []
    let reference = null
    for (const [name, args, nodeFlags] of methods) {
      if (!args) {
        rows.push([name, 'not installable here', '', '', '', '', ''])
        continue
      }
      const r = measure(args, {}, nodeFlags)
      const time = stat(r, 'durationMs')
      reference ??= time.median
      rows.push([
        name,
        `${(time.median / reference).toFixed(2)}×`,
        `${(time.min / 1000).toFixed(2)} / ${(time.median / 1000).toFixed(2)}`,
        mb(stat(r, 'bytes').median),
        mb(stat(r, 'rssBefore').median),
        mb(stat(r, 'peak').median),
        mb(stat(r, 'rssAfter').median),
      ])
    }
    table(['', 'time vs v8', 'seconds', 'file MB', 'RSS before MB', 'peak RSS MB', 'RSS 1 s after MB'], rows)
  }
  console.log('\nTime runs from the call (or the signal) to the file being complete under its final name.')
  console.log('The "loop stuck" rows keep the event loop busy for 3 s after the signal; Node\'s handler waits for it.')
}

main()
