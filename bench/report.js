'use strict'

// `rheapdump report` on a big triple: how long the command takes to write the page, how large
// the page is, and how long Chromium takes to open it (navigation to the page drawn: data
// parsed, charts and the first page of the class table in place), offline, as tools/browser.js
// opens it for the tests.
//
//   npm run bench:report   (RHEAPDUMP_BENCH_RUNS=N opens, default 5; RHEAPDUMP_BENCH_SNAPSHOT_MB=150)
//   node bench/report.js --screenshot OUT.png PAGE.html   # the docs' picture of a page
//
// The triples, written once into .cache/bench/report: three snapshots of one process of
// tools/heap-app.js, the last of about the size asked for, 50 units (~10 MB) apart; and three of
// a process that defines 100,000 classes between the first two, for a class table of 100k rows.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')
const { settings } = require('./settings')
const { openOffline } = require('../tools/browser')

const ROOT = path.join(__dirname, '..')
const DIR = path.join(ROOT, '.cache', 'bench', 'report')
const HEAP_APP = path.join(ROOT, 'tools', 'heap-app.js')
// Units of tools/heap-app.js per snapshot MB, as bench/analysis.js measures them.
const UNITS_PER_MB = 850 / 171

async function screenshot(out, page) {
  const opened = await openOffline(path.resolve(page), { width: 1200, height: 1500 })
  try {
    await opened.page.screenshot({ path: out, type: 'png' })
  } finally {
    await opened.close()
  }
  process.stdout.write(`${out}: ${fs.statSync(out).size} bytes\n`)
}

// 100,000 classes, one object of each, defined after the first snapshot.
const MANY_CLASSES = `
  const v8 = require('node:v8')
  const [a, b, c] = process.argv.slice(1)
  const objects = []
  globalThis.objects = objects
  v8.writeHeapSnapshot(a)
  for (let i = 0; i < 100000; i++) objects.push(new (eval('(class Class' + i + ' { constructor(n) { this.n = n } })'))(i))
  v8.writeHeapSnapshot(b)
  for (let i = 0; i < 1000; i++) objects.push({ i })
  v8.writeHeapSnapshot(c)`

async function main() {
  const { runs: RUNS, snapshotMb: [MB] } = settings({ runs: 5, snapshotMb: [150] })
  fs.mkdirSync(DIR, { recursive: true })
  const triple = (name) => ['baseline', 'target', 'final'].map((which) => path.join(DIR, `${name}-${which}.heapsnapshot`))
  const big = triple(`${MB}mb`)
  if (!big.every((file) => fs.existsSync(file))) {
    process.stderr.write(`writing a ~${MB} MB triple…\n`)
    const units = Math.round(MB * UNITS_PER_MB)
    execFileSync(process.execPath, [HEAP_APP, big[0], String(units - 100), big[1], '50', big[2], '50'], { stdio: 'inherit' })
  }
  const many = triple('100k-classes')
  if (!many.every((file) => fs.existsSync(file))) {
    process.stderr.write('writing a triple of 100,000 classes…\n')
    execFileSync(process.execPath, ['-e', MANY_CLASSES, ...many], { stdio: 'inherit' })
  }
  process.stdout.write(`node ${process.version}, ${RUNS} opens each\n`)
  await measure(big, `${MB}mb`, RUNS)
  await measure(many, '100k-classes', RUNS)
}

async function measure(files, name, RUNS) {
  const page = path.join(DIR, `${name}.html`)
  const started = process.hrtime.bigint()
  const made = spawnSync(path.join(ROOT, 'bin', 'rheapdump'), ['report', ...files, '--out', page], { encoding: 'utf8' })
  if (made.status !== 0) throw new Error(made.stderr)
  const writeMs = Number(process.hrtime.bigint() - started) / 1e6
  const opens = []
  for (let run = 0; run < RUNS; run++) {
    const opened = await openOffline(page)
    opens.push(opened.openMs)
    if (opened.errors.length || opened.requests.length) throw new Error(JSON.stringify(opened))
    await opened.close()
  }
  opens.sort((a, b) => a - b)
  const mb = (file) => (fs.statSync(file).size / 1e6).toFixed(0)
  const rows = JSON.parse(/id="report-data">([^<]*)</.exec(fs.readFileSync(page, 'utf8'))[1]).diff.classes.length
  process.stdout.write(
    `${name}: triple ${files.map(mb).join(' + ')} MB; rheapdump report ${(writeMs / 1000).toFixed(1)} s, ` +
      `page ${(fs.statSync(page).size / 1e3).toFixed(0)} kB, ${rows} class rows; Chromium open (load → drawn): ` +
      `median ${opens[opens.length >> 1].toFixed(0)} ms, min ${opens[0].toFixed(0)} ms, max ${opens[opens.length - 1].toFixed(0)} ms\n`,
  )
}

const at = process.argv.indexOf('--screenshot')
const done = at >= 0 ? screenshot(process.argv[at + 1], process.argv[at + 2]) : main()
done.catch((err) => {
  process.stderr.write(`${err.stack}\n`)
  process.exitCode = 1
})
