'use strict'

// How well the comparison by structure (leaks/diff --match structure, which needs no object ids)
// agrees with the id-based one, and what it costs: on in-process snapshots, where both can run
// on the same three files, of each planted leak of tools/leak-zoo.js (a Map cache, closures,
// timers, an array of records, a registry of instances, listeners on a feed that a request in
// flight holds by a shorter path during the target snapshot), and of the quote service
// (tools/quote-service/hunt.js: listeners and a memoize cache, two culprits).
//
//   npm run bench:structure   (RHEAPDUMP_BENCH_RUNS=N runs per scenario, default 3)
//
// Per scenario and in all: how often the top owner is the same object, how often it is the same
// culprit (the same object, or one holds the other on its retaining path, as the timer list and
// the first timer in it), how many of the id-based top 3 owners are among the structural top 3
// (rank agreement), and the wall time of each `leaks` (whole process: parse, dominators,
// report).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { settings } = require('./settings')

const ROOT = path.join(__dirname, '..')
const CLI = path.join(ROOT, 'bin', 'rheapdump')
const { runs: RUNS } = settings({ runs: 3 })
const SCENARIOS = ['map-cache', 'closures', 'timers', 'records', 'registry', 'in-flight', 'quote-service']

function snapshots(scenario, dir) {
  const run =
    scenario === 'quote-service'
      ? spawnSync(process.execPath, [path.join(ROOT, 'tools', 'quote-service', 'hunt.js'), ROOT, '40', '250', '80'], { cwd: dir, encoding: 'utf8' })
      : spawnSync(process.execPath, [path.join(ROOT, 'tools', 'leak-zoo.js'), scenario, dir], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`${scenario}: ${run.stderr}`)
  return JSON.parse(run.stdout).files
}

function leaks(files, match) {
  const start = process.hrtime.bigint()
  const run = spawnSync(CLI, ['leaks', ...files, '--match', match, '--top', '10', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (run.status !== 0) throw new Error(run.stderr)
  return { report: JSON.parse(run.stdout), ms }
}

const sameCulprit = (a, b) => Boolean(a && b) && (a.id === b.id || a.path.some((s) => s.id === b.id) || b.path.some((s) => s.id === a.id))

const rows = []
for (const scenario of SCENARIOS) {
  const row = { scenario, runs: 0, sameObject: 0, sameCulprit: 0, top3: 0, top3Of: 0, idsMs: [], structureMs: [] }
  for (let i = 0; i < RUNS; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-structure-'))
    try {
      const files = snapshots(scenario, dir)
      const ids = leaks(files, 'ids')
      const structure = leaks(files, 'structure')
      row.runs++
      row.idsMs.push(ids.ms)
      row.structureMs.push(structure.ms)
      const [top] = ids.report.owners
      const [found] = structure.report.owners
      if (top && found && top.id === found.id) row.sameObject++
      if (sameCulprit(top, found)) row.sameCulprit++
      // Of the id-based top 3 owners, how many are among the structural top 3.
      const want = ids.report.owners.slice(0, 3)
      const got = structure.report.owners.slice(0, 3)
      row.top3Of += want.length
      row.top3 += want.filter((owner) => got.some((o) => sameCulprit(o, owner))).length
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  rows.push(row)
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
console.log(`leaks by structure against leaks by ids, ${RUNS} run(s) per scenario, Node ${process.version}\n`)
console.log('scenario        runs  top owner: same object  same culprit  culprits in top 3  leaks ids (median)  structure (median)')
const total = { runs: 0, sameObject: 0, sameCulprit: 0, top3: 0, top3Of: 0 }
for (const row of rows) {
  for (const key of Object.keys(total)) total[key] += row[key]
  console.log(
    `${row.scenario.padEnd(15)} ${String(row.runs).padStart(4)}  ${`${row.sameObject}/${row.runs}`.padStart(22)}  ${`${row.sameCulprit}/${row.runs}`.padStart(12)}  ${`${row.top3}/${row.top3Of}`.padStart(17)}  ${`${median(row.idsMs).toFixed(0)} ms`.padStart(18)}  ${`${median(row.structureMs).toFixed(0)} ms`.padStart(18)}`,
  )
}
console.log(
  `${'all'.padEnd(15)} ${String(total.runs).padStart(4)}  ${`${total.sameObject}/${total.runs}`.padStart(22)}  ${`${total.sameCulprit}/${total.runs}`.padStart(12)}  ${`${total.top3}/${total.top3Of}`.padStart(17)}`,
)
