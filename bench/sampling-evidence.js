'use strict'

// The evidence part of bench/sampling.js: how many samples a 20 MB leak in the quote service gets
// at each interval, and how `rheapdump profile top` and `profile diff` name it.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const LEAK_MB = 20
const INTERVALS = ['512k', '128k', '64k']
const FIXTURE = `${path.sep}quote-service${path.sep}`

/** The report's rows of the service's own code (not node:http, not rheapdump). */
function serviceRows(report) {
  return report.functions.filter((row) => row.location.includes(FIXTURE))
}

/** 1-based rank of the first row of the service's code, or null. */
function firstRank(report) {
  const index = report.functions.findIndex((row) => row.location.includes(FIXTURE))
  return index < 0 ? null : index + 1
}

function cli(root, args) {
  return JSON.parse(execFileSync(path.join(root, 'bin', 'rheapdump'), [...args, '--json', '--top', '1000'], { encoding: 'utf8' }))
}

async function evidence({ runs, root, intervals = INTERVALS }) {
  console.log('')
  console.log(`The quote service leaking ${LEAK_MB} MiB of live heap (a listener and a cache entry per request) between two profiles, ${runs} fresh processes per interval; node ${process.version}`)
  console.log('')
  console.log('| interval | samples on the service\'s code in `top` (min–median–max) | leaked bytes the service\'s rows account for in `diff` (median) | `top`: rank of the first service row (worst) | `diff`: rank of the first service row (worst) | first row of `diff` |')
  console.log('|---|---|---|---|---|---|')
  for (const interval of intervals) {
    const rows = []
    for (let run = 0; run < runs; run++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-bench-evidence-'))
      try {
        const output = execFileSync(process.execPath, [path.join(__dirname, 'sampling-quote-child.js'), String(LEAK_MB), dir], {
          encoding: 'utf8',
          env: { ...process.env, RHEAPDUMP_SIGNAL: '0', RHEAPDUMP_SAMPLING: interval, RHEAPDUMP_QUIET: '1' },
        })
        const result = JSON.parse(output)
        const top = cli(root, ['profile', 'top', result.after])
        const diff = cli(root, ['profile', 'diff', result.before, result.after])
        rows.push({
          samples: serviceRows(top).reduce((sum, row) => sum + row.samples, 0),
          share: serviceRows(diff).reduce((sum, row) => sum + row.self_bytes, 0) / result.leakedBytes,
          topRank: firstRank(top),
          diffRank: firstRank(diff),
          diffFirst: diff.functions[0] ? `${diff.functions[0].function} ${diff.functions[0].location.split(path.sep).pop()}` : '(none)',
        })
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
    const samples = rows.map((row) => row.samples).sort((a, b) => a - b)
    const shares = rows.map((row) => row.share).sort((a, b) => a - b)
    const worst = (key) => (rows.some((row) => row[key] === null) ? 'absent' : Math.max(...rows.map((row) => row[key])))
    const firsts = [...new Set(rows.map((row) => row.diffFirst))].join('; ')
    console.log(`| ${interval} | ${samples[0]}–${samples[Math.floor(samples.length / 2)]}–${samples[samples.length - 1]} | ${(shares[Math.floor(shares.length / 2)] * 100).toFixed(0)}% | ${worst('topRank')} | ${worst('diffRank')} | ${firsts} |`)
  }
}

module.exports = { evidence }
