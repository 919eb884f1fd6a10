'use strict'

// What the sampling heap profiler costs a busy HTTP service, and what evidence it gives for a leak.
//
//   node bench/sampling.js [cost|evidence [INTERVAL...]]   (both by default; RHEAPDUMP_BENCH_RUNS, RHEAPDUMP_BENCH_SECONDS)
//
// cost: bench/sampling-server.js (an Express-shaped JSON service) under wrk's load, with sampling
// off, at 512 KiB and at 64 KiB per sample: one fresh server per run, the three interleaved and
// rotated in every round so that what the shared machine does meanwhile falls on all of them
// alike. Per run: wrk's requests/s and latency percentiles, and the server's own CPU time per
// request (/proc/PID/stat: far less sensitive to the machine's other work than time is).
//
// evidence: the quote service (tools/quote-service, which leaks a listener and a
// cache entry per request) sampled at each interval: a profile once warm, then requests until
// its heap holds 20 MB more, a second profile; `rheapdump profile top` and `profile diff` on them.
// How many samples land on the service's own code, and whether its functions lead both reports.

const { execFileSync, fork } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { settings } = require('./settings')

const { seconds, runs } = settings({ seconds: 5, runs: 10 })
const CONNECTIONS = 16
const WARMUP_SECONDS = 2
const CLOCK_TICKS = 100 // USER_HZ on Linux
const MODES = [
  { name: 'off', env: '0' },
  { name: '512 KiB', env: '512k' },
  { name: '64 KiB', env: '64k' },
]
const root = path.join(__dirname, '..')

/** User + system CPU seconds of `pid` so far. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat). */
function machineSeconds() {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
  const values = ticks.map(Number)
  const idle = values[3] + values[4]
  const total = values.reduce((sum, value) => sum + value, 0)
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS }
}

const UNITS = { us: 1e-3, ms: 1, s: 1e3, m: 60e3 }

/** wrk's report → { rate, p50, p99 } (ms). */
function parseWrk(output) {
  if (/Non-2xx|Socket errors/.test(output)) throw new Error(`wrk saw failed requests:\n${output}`)
  const latency = (percent) => {
    const match = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output)
    if (!match) throw new Error(`no ${percent}% latency in wrk's report:\n${output}`)
    return Number(match[1]) * UNITS[match[2]]
  }
  return { rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)[1]), requests: Number(/(\d+) requests in/.exec(output)[1]), p50: latency(50), p99: latency(99) }
}

function wrk(port, duration) {
  return execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${duration}s`, '--latency', '-s', path.join(__dirname, 'sampling.lua'), `http://127.0.0.1:${port}`], { encoding: 'utf8' })
}

async function costRun(mode) {
  const server = fork(path.join(__dirname, 'sampling-server.js'), { env: { ...process.env, RHEAPDUMP_SIGNAL: '0', RHEAPDUMP_SAMPLING: mode.env } })
  try {
    const port = await new Promise((resolve, reject) => server.once('message', resolve).once('exit', (code) => reject(new Error(`the server exited (${code})`))))
    wrk(port, WARMUP_SECONDS)
    const cpuBefore = cpuSeconds(server.pid)
    const machineBefore = machineSeconds()
    const result = parseWrk(wrk(port, seconds))
    const serverCpu = cpuSeconds(server.pid) - cpuBefore
    const machineAfter = machineSeconds()
    const busy = machineAfter.busy - machineBefore.busy
    const wall = (machineAfter.total - machineBefore.total) / os.cpus().length
    return { ...result, cpuUs: (serverCpu / result.requests) * 1e6, othersCpu: (busy - serverCpu) / wall, load: os.loadavg()[0] }
  } finally {
    server.kill()
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length / 2
  return sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2
}
const quartiles = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q) => sorted[Math.round(q * (sorted.length - 1))]
  return [at(0.25), at(0.75)]
}
const percent = (value) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`

async function cost() {
  /** @type {Record<string, any[]>} */
  const results = Object.fromEntries(MODES.map((mode) => [mode.name, []]))
  for (let round = 0; round < runs; round++) {
    // Rotated each round: every mode runs first, second and third equally often.
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length])
    for (const mode of order) results[mode.name].push(await costRun(mode))
    process.stderr.write(`round ${round + 1}/${runs}: ${order.map((mode) => `${mode.name} ${results[mode.name][round].rate.toFixed(0)}/s`).join(', ')}\n`)
  }
  const off = results.off
  const all = Object.values(results).flat()
  console.log(`node ${process.version}, ${os.cpus().length} CPUs; ${runs} rounds of off / 512 KiB / 64 KiB interleaved (order rotated each round), a fresh server per run, ${WARMUP_SECONDS} s warm-up + ${seconds} s measured; wrk -t1 -c${CONNECTIONS} over loopback`)
  console.log(`machine: 1-min load ${Math.min(...all.map((r) => r.load)).toFixed(1)}–${Math.max(...all.map((r) => r.load)).toFixed(1)}; CPU used by everything but the server (wrk included) ${(Math.min(...all.map((r) => r.othersCpu)) * 100).toFixed(0)}–${(Math.max(...all.map((r) => r.othersCpu)) * 100).toFixed(0)}% of the machine`)
  console.log('')
  console.log('| sampling | requests/s median (min–max) | p50 ms median (min–max) | p99 ms median (min–max) | server CPU µs/request median (min–max) |')
  console.log('|---|---|---|---|---|')
  const cell = (rows, key, digits) => {
    const values = rows.map((row) => row[key])
    return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
  }
  for (const mode of MODES) {
    const rows = results[mode.name]
    console.log(`| ${mode.name} | ${cell(rows, 'rate', 0)} | ${cell(rows, 'p50', 2)} | ${cell(rows, 'p99', 2)} | ${cell(rows, 'cpuUs', 1)} |`)
  }
  console.log('')
  console.log('Against off in the same round (paired): median change [interquartile range]; off against itself is the noise (each off run against the median off run).')
  console.log('')
  console.log('| sampling | requests/s | p99 | CPU per request |')
  console.log('|---|---|---|---|')
  const change = (rows, key) => {
    const ratios = rows.map((row, i) => row[key] / off[i][key] - 1)
    const [low, high] = quartiles(ratios)
    return `${percent(median(ratios))} [${percent(low)}, ${percent(high)}]`
  }
  const noise = (key) => {
    const middle = median(off.map((row) => row[key]))
    const ratios = off.map((row) => row[key] / middle - 1)
    const [low, high] = quartiles(ratios)
    return `[${percent(low)}, ${percent(high)}]`
  }
  console.log(`| off (noise) | ${noise('rate')} | ${noise('p99')} | ${noise('cpuUs')} |`)
  for (const mode of MODES.slice(1)) {
    const rows = results[mode.name]
    console.log(`| ${mode.name} | ${change(rows, 'rate')} | ${change(rows, 'p99')} | ${change(rows, 'cpuUs')} |`)
  }
}

/**
 * The sampler's own CPU cost on the service's allocation work (bench/sampling-alloc-child.js):
 * per process, the least CPU time of many chunks per mode; the ratio to off in the same process.
 */
function allocationCost() {
  const intervals = ['512k', '128k', '64k', '32k']
  const ratios = Object.fromEntries(intervals.map((interval) => [interval, []]))
  let offUs = []
  for (let run = 0; run < runs; run++) {
    const output = execFileSync(process.execPath, [path.join(__dirname, 'sampling-alloc-child.js'), '30', ...intervals], {
      encoding: 'utf8',
      env: { ...process.env, RHEAPDUMP_SIGNAL: '0', RHEAPDUMP_QUIET: '1' },
    })
    const least = JSON.parse(output)
    offUs.push(least.off / least.requestsPerChunk)
    for (const interval of intervals) ratios[interval].push(least[interval] / least.off - 1)
  }
  offUs = offUs.sort((a, b) => a - b)
  console.log('')
  console.log(`The sampler alone: the service's allocation work (${offUs[0].toFixed(1)}–${offUs[offUs.length - 1].toFixed(1)} µs of CPU per request with sampling off) in 30 chunks per mode, modes switched chunk by chunk in one process, the least CPU time per mode; ${runs} processes`)
  console.log('')
  console.log('| sampling | CPU against off in the same process: median (min–max) |')
  console.log('|---|---|')
  for (const interval of intervals) {
    const values = ratios[interval]
    console.log(`| ${interval.replace('k', ' KiB')} | ${percent(median(values))} (${percent(Math.min(...values))} – ${percent(Math.max(...values))}) |`)
  }
}

async function main() {
  const part = process.argv[2]
  if (part === undefined || part === 'cost') {
    await cost()
    allocationCost()
  }
  if (part === undefined || part === 'evidence') {
    const intervals = part === 'evidence' && process.argv.length > 3 ? process.argv.slice(3) : undefined
    await require('./sampling-evidence').evidence({ runs: Math.min(runs, 3), root, intervals })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
