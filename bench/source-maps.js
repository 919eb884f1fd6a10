'use strict'

// What source maps cost the analyses: the service-like heap of tools/heap-app.js, run as it is
// (scripts without maps: the cost of looking for them) and compiled by tsc with a source map
// beside each script (every class and closure of the heap is then in a mapped script), each
// analysed with source maps (the default) and with --no-source-maps, by the native program.
//
//   npm run bench:source-maps   (RHEAPDUMP_BENCH_RUNS=N, default 3; RHEAPDUMP_BENCH_SNAPSHOT_MB=160;
//                                RHEAPDUMP_BENCH_TASKS=summary,leaks; see bench/settings.js)
//
// Each figure is a whole process, started fresh per run, alternating the two settings: wall time
// from spawn to exit.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync, execFileSync } = require('node:child_process')
const { settings } = require('./settings')

const ROOT = path.join(__dirname, '..')
const DIR = path.join(ROOT, '.cache', 'bench', 'source-maps')
const { runs: RUNS, snapshotMb: SIZES, tasks: TASKS } = settings({ runs: 3, snapshotMb: [160], tasks: ['summary', 'leaks'] })
const NATIVE = path.join(ROOT, 'bin', `rheapdump-cli-${process.platform}-${process.arch}`)
const UNITS_PER_MB = 850 / 171

/** The heap app as it is, and compiled with a map beside it: the script each runs. */
function apps() {
  const plain = path.join(DIR, 'plain', 'heap-app.js')
  const mapped = path.join(DIR, 'mapped', 'heap-app.js')
  if (!fs.existsSync(mapped)) {
    fs.mkdirSync(path.dirname(plain), { recursive: true })
    fs.copyFileSync(path.join(ROOT, 'tools', 'heap-app.js'), plain)
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    execFileSync(process.execPath, [tsc, '--ignoreConfig', '--allowJs', '--sourceMap', '--target', 'es2022', '--module', 'commonjs', '--outDir', path.dirname(mapped), plain], { stdio: 'inherit', cwd: DIR })
  }
  return { plain, mapped }
}

/** Three snapshots of `script` (baseline, target, final), written once. */
function snapshots(script, mb) {
  const files = ['1', '2', '3'].map((n) => path.join(path.dirname(script), `${mb}mb-${n}.heapsnapshot`))
  if (!files.every((f) => fs.existsSync(f))) {
    process.stderr.write(`writing three ~${mb} MB snapshots of ${path.relative(ROOT, script)}…\n`)
    const units = Math.round(mb * UNITS_PER_MB)
    execFileSync(process.execPath, [script, files[0], String(units - 100), files[1], '50', files[2], '50'], { stdio: 'inherit' })
  }
  return files
}

function time(args) {
  const started = process.hrtime.bigint()
  const run = spawnSync(NATIVE, [...args, '--json'], { encoding: 'utf8', maxBuffer: 256 << 20 })
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed:\n${run.stderr}`)
  return Number(process.hrtime.bigint() - started) / 1e6
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const s = (ms) => `${(ms / 1000).toFixed(2)} s`

function main() {
  const scripts = apps()
  const lines = [['heap', 'task', 'snapshot', 'with maps (median)', 'without (median)', 'with / without', 'runs with', 'runs without']]
  for (const mb of SIZES) {
    for (const [kind, script] of Object.entries(scripts)) {
      const files = snapshots(script, mb)
      for (const task of TASKS) {
        const args = task === 'summary' ? ['summary', files[2]] : ['leaks', ...files]
        const with_ = []
        const without = []
        for (let i = 0; i < RUNS; i++) {
          with_.push(time(args))
          without.push(time([...args, '--no-source-maps']))
        }
        process.stderr.write(`  ${kind} ${task}: ${with_.map(s).join(', ')} / ${without.map(s).join(', ')}\n`)
        const size = `${(fs.statSync(files[2]).size / 2 ** 20).toFixed(0)} MiB`
        lines.push([kind === 'plain' ? 'no maps' : 'tsc, .map beside', task, size, s(median(with_)), s(median(without)), (median(with_) / median(without)).toFixed(2), with_.map(s).join(' '), without.map(s).join(' ')])
      }
    }
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)))
  const row = (l) => `| ${l.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`
  console.log([row(lines[0]), row(widths.map((w) => '-'.repeat(w))), ...lines.slice(1).map(row)].join('\n'))
}

main()
