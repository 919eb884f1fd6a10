'use strict'

// Snapshot analysis, rheapdump's native and portable programs against each other and against
// Chrome DevTools' heap-snapshot worker and memlab, on the
// same files: a ~160 MB and a ~400 MB snapshot of a service-like heap (tools/heap-app.js), and a
// before/after pair of each size for the comparison.
//
//   npm run bench:analysis   (RHEAPDUMP_BENCH_RUNS=N, default 3; RHEAPDUMP_BENCH_SNAPSHOT_MB=160,400;
//                             RHEAPDUMP_BENCH_TASKS=summary,diff;
//                             RHEAPDUMP_BENCH_TOOLS=rheapdump,portable,devtools,memlab; see bench/settings.js)
//
// Each figure is a whole process, started fresh per run: wall time from spawn to exit, and its
// peak RSS (maxRSS, taken by GNU time). What each tool does:
//   rheapdump  `summary FILE --json` / `diff BEFORE AFTER --json` by the native program
//              (bin/rheapdump-cli-<platform>-<arch>), which `npx rheapdump` runs where it fits
//   portable   the same by `npx rheapdump` where no native program fits: bin/rheapdump under
//              this Node with RHEAPDUMP_PORTABLE=1, running bin/rheapdump-cli.wasm with
//              node:wasi in its own process (so the peak RSS is Node's and the wasm's together)
//   devtools   load the file as DevTools does (retained sizes, distances, classes: what its Summary
//              view needs); for diff, load both and compute its Comparison view
//   memlab     getFullHeapFromFile (parse, paths, dominators, retained sizes); for diff, both files
// The peers come from `node scripts/peers.js` (.cache/peers).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')
const { settings } = require('./settings')

const ROOT = path.join(__dirname, '..')
const DIR = path.join(ROOT, '.cache', 'bench', 'analysis')
const { runs: RUNS, snapshotMb: SIZES, tasks: TASKS, tools: ANALYZERS } = settings({
  runs: 3,
  snapshotMb: [160, 400],
  tasks: ['summary', 'diff'],
  tools: ['rheapdump', 'portable', 'devtools', 'memlab'],
})
// The heap the tests use too; units of it per snapshot MB (about 190 KB a unit).
const HEAP_APP = path.join(ROOT, 'tools', 'heap-app.js')
const UNITS_PER_MB = 850 / 171

function snapshotFile(mb, suffix = '') {
  return path.join(DIR, `service-${mb}mb${suffix}.heapsnapshot`)
}

/** Writes the snapshots once; later runs reuse them. */
function prepare() {
  if (!fs.existsSync(TIME)) throw new Error(`${TIME} (GNU time) measures peak RSS here: apt-get install time`)
  fs.mkdirSync(DIR, { recursive: true })
  for (const mb of SIZES) {
    if (fs.existsSync(snapshotFile(mb))) continue
    process.stderr.write(`writing a ~${mb} MB snapshot…\n`)
    const units = String(Math.round(mb * UNITS_PER_MB))
    execFileSync(process.execPath, [HEAP_APP, snapshotFile(mb), units], { stdio: 'inherit' })
  }
  for (const mb of SIZES) {
    if (fs.existsSync(snapshotFile(mb, '-after'))) continue
    process.stderr.write(`writing a ~${mb} MB before/after pair…\n`)
    const units = Math.round(mb * UNITS_PER_MB)
    execFileSync(
      process.execPath,
      [HEAP_APP, snapshotFile(mb, '-before'), String(units - 50), snapshotFile(mb, '-after'), '50'],
      { stdio: 'inherit' },
    )
  }
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'peers.js')], { stdio: 'inherit' })
}

// GNU time measures every tool alike, from outside: the whole process's peak RSS (wait4's
// ru_maxrss), the native CLI and the Node peers the same way.
const TIME = '/usr/bin/time'

function measure(command, args, env = {}) {
  const rssFile = path.join(os.tmpdir(), `rheapdump-bench-${process.pid}.rss`)
  const started = process.hrtime.bigint()
  const result = spawnSync(TIME, ['-f', '%M', '-o', rssFile, command, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, env: { ...process.env, ...env } })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`)
  const kib = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop())
  fs.rmSync(rssFile, { force: true })
  return { ms, rss: kib * 1024 }
}

const NATIVE = path.join(ROOT, 'bin', `rheapdump-cli-${process.platform}-${process.arch}`)
const portable = (...args) => measure(process.execPath, [path.join(ROOT, 'bin', 'rheapdump'), ...args], { RHEAPDUMP_PORTABLE: '1' })
const peer = (name, ...args) => measure(process.execPath, [path.join(ROOT, 'tools', 'peers', `${name}.js`), ...args])

const TOOLS = {
  summary: {
    rheapdump: (file) => measure(NATIVE, ['summary', file, '--json']),
    portable: (file) => portable('summary', file, '--json'),
    devtools: (file) => peer('devtools', file),
    memlab: (file) => peer('memlab', file),
  },
  diff: {
    rheapdump: (a, b) => measure(NATIVE, ['diff', a, b, '--json']),
    portable: (a, b) => portable('diff', a, b, '--json'),
    devtools: (a, b) => peer('devtools', a, b),
    memlab: (a, b) => peer('memlab', a, b),
  },
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const min = (xs) => Math.min(...xs)
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`
const s = (ms) => `${(ms / 1000).toFixed(2)} s`

function bench(task, files) {
  const size = files.reduce((sum, f) => sum + fs.statSync(f).size, 0)
  const rows = {}
  for (const [tool, run] of Object.entries(TOOLS[task]).filter(([tool]) => tool === 'rheapdump' || ANALYZERS.includes(tool))) {
    const runs = []
    for (let i = 0; i < RUNS; i++) runs.push(run(...files))
    rows[tool] = { ms: runs.map((r) => r.ms), rss: runs.map((r) => r.rss) }
    process.stderr.write(`  ${task} ${mb(size)} ${tool}: ${runs.map((r) => s(r.ms)).join(', ')}\n`)
  }
  return { task, size, rows }
}

function print(results) {
  const header = ['task', 'input', 'tool', 'time ×', 'RSS ×', 'time min', 'time median', 'peak RSS median', 'RSS / input']
  const lines = [header]
  for (const { task, size, rows } of results) {
    const base = rows.rheapdump
    for (const [tool, r] of Object.entries(rows)) {
      lines.push([
        task,
        mb(size),
        tool,
        tool === 'rheapdump' ? '1' : `${(median(r.ms) / median(base.ms)).toFixed(1)}`,
        tool === 'rheapdump' ? '1' : `${(median(r.rss) / median(base.rss)).toFixed(1)}`,
        s(min(r.ms)),
        s(median(r.ms)),
        mb(median(r.rss)),
        (median(r.rss) / size).toFixed(2),
      ])
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)))
  const row = (l) => `| ${l.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`
  console.log(row(lines[0]))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const l of lines.slice(1)) console.log(row(l))
}

function main() {
  prepare()
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  console.log(`rheapdump analysis benchmark: Node ${process.version}, ${os.cpus().length} × ${cpu}, ${mb(os.totalmem())} RAM, ${RUNS} runs each`)
  console.log('time × and RSS ×: the median over the native program\'s (rheapdump); for the portable program the target is ≤ 2 and ≤ 1.5\n')
  const results = []
  if (TASKS.includes('summary')) for (const size of SIZES) results.push(bench('summary', [snapshotFile(size)]))
  if (TASKS.includes('diff')) {
    for (const size of SIZES) results.push(bench('diff', [snapshotFile(size, '-before'), snapshotFile(size, '-after')]))
  }
  print(results)
}

main()
