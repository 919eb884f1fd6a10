'use strict'

// The cost of monitor() on a busy HTTP service: requests per second over loopback, without and
// with monitor(), alternating runs.
//   RHEAPDUMP_BENCH_SECONDS=5 RHEAPDUMP_BENCH_RUNS=5 node bench/monitor.js   (bench/settings.js)
// `node bench/monitor.js sampling` measures the sampling heap profiler (512 KiB) instead.

const { fork } = require('node:child_process')
const http = require('node:http')
const path = require('node:path')

const { settings } = require('./settings')

const { seconds, runs } = settings({ seconds: 5, runs: 5 })
const concurrency = 16
const feature = process.argv[2] === 'sampling' ? { mode: 'sampling', name: 'sampling' } : { mode: 'monitor', name: 'monitor()' }

async function load(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const end = Date.now() + seconds * 1000
  let done = 0
  const worker = async () => {
    while (Date.now() < end) {
      await new Promise((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: `/r/${done}`, agent }, (res) => {
          res.resume()
          res.on('end', resolve)
        }).on('error', reject)
      })
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  agent.destroy()
  return done / seconds
}

async function measure(monitor) {
  const server = fork(path.join(__dirname, 'monitor-server.js'), [monitor ? feature.mode : 'none'], { env: { ...process.env, RHEAPDUMP_SIGNAL: '0' } })
  const port = await new Promise((resolve) => server.once('message', resolve))
  await load(port) // warm-up
  const rate = await load(port)
  server.kill()
  return rate
}

async function main() {
  const results = { without: [], with: [] }
  // ABBA order, so that drift over the run (heat, caches) does not favour either side.
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false]
    for (const monitor of order) results[monitor ? 'with' : 'without'].push(await measure(monitor))
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const a = median(results.without)
  const b = median(results.with)
  console.log(`node ${process.version}, ${runs} ABBA-ordered runs of ${seconds} s, ${concurrency} keep-alive connections over loopback`)
  console.log('| | requests/s (median) | all runs |')
  console.log('|---|---|---|')
  console.log(`| without ${feature.name} | ${a.toFixed(0)} | ${results.without.map((r) => r.toFixed(0)).join(', ')} |`)
  console.log(`| with ${feature.name} | ${b.toFixed(0)} | ${results.with.map((r) => r.toFixed(0)).join(', ')} |`)
  console.log(`| difference | ${(((b - a) / a) * 100).toFixed(1)}% | |`)
}

main()
