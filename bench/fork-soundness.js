'use strict'

// npm run bench:fork-soundness: are fork snapshots sound often enough to be a default? Many
// fork snapshots in a row, per Node major and per load on the service, every file checked with
// `rheapdump validate` (then deleted); counts of sound files, failures by code and retries.
//
//   RHEAPDUMP_BENCH_RUNS=100 RHEAPDUMP_BENCH_HEAP_MB=10 RHEAPDUMP_NODE_MAJORS=20,22,24,26 node bench/fork-soundness.js
//
// Loads: `idle` (a 1 ms timer), `busy` (the heap churning every 5 ms, pbkdf2 on the libuv pool,
// a Worker burning CPU in bursts: the threads a fork can catch running; and an HTTP server
// that this script asks every 10 ms for its pid, so that a request lost, failed or answered by
// a child shows). The host's 1-minute load average is read at every fork: the other
// processes' load, which starves the nice-19 child and lengthens the pause. Each line of
// progress, and each row of the table when it is done, goes to stderr as it happens, so that a
// run cut short still says what it counted. RHEAPDUMP_BENCH_LOADS=idle (or busy) runs one load.

const http = require('node:http')
const os = require('node:os')

const { root, runService, buildHeap, validate, pct, table } = require('./fork-runs')

const LOADS = ['idle', 'busy']
const HEADER = ['node', 'load', 'heap', 'fork snapshots', 'sound', 'failed (code × n)', 'retried', 'pause p50/p99', 'child s p50/p99', 'host load avg p50 (min–max)', 'HTTP answered by the service, slowest']

if (process.argv[2] === '--child') {
  child(Number(process.argv[3]), Number(process.argv[4]), process.argv[5])
} else {
  main()
}

async function main() {
  const { settings } = require('./settings')
  const { nodeBinaries } = require('../scripts/node-versions')
  const { heapMb: heaps, runs, loads } = settings({ heapMb: [10], runs: 100, loads: LOADS })
  const unknown = loads.filter((load) => !LOADS.includes(load))
  if (unknown.length) throw new Error(`RHEAPDUMP_BENCH_LOADS: unknown ${unknown.join(', ')}; known: ${LOADS.join(', ')}`)
  const rows = []
  const total = { forks: 0, sound: 0 }
  for (const node of nodeBinaries({ install: true })) {
    for (const load of loads) {
      for (const mb of heaps) {
        // The service prints its port first (busy), its results last; it stops serving 1 s later.
        let requests = null
        let answered = null
        const onLine = (line) => {
          const message = JSON.parse(line)
          if ('port' in message) requests = ask(message.port)
          else answered = requests?.stop(message.pid) ?? null
        }
        const result = await runService(node, __filename, [mb, runs, load], { what: `node ${node.version}, ${load}, ${mb} MB`, timeout: 6 * 3600 * 1000, stderr: 'inherit', onLine })
        total.forks += result.forks.length
        total.sound += result.forks.filter((f) => f.sound).length
        rows.push(row(node.version, load, result, await answered))
        process.stderr.write(`  row: ${table(HEADER, [rows.at(-1)]).split('\n').pop()}\n`)
      }
    }
  }
  console.log(table(HEADER, rows))
  console.log(`\n${total.sound} of ${total.forks} sound`)
}

/**
 * Asks the service at `port` for its pid, one request at a time, 10 ms apart, until `stop(pid)`:
 * then the tally — sent, answered by `pid`, the slowest answer, and what else came back
 * (another pid: a fork child answered; an error code: the request failed), counted.
 */
function ask(port) {
  const tally = { sent: 0, answered: 0, slowestMs: 0, other: {} }
  const count = (what) => (tally.other[what] = (tally.other[what] ?? 0) + 1)
  let stopped = false
  const one = () => new Promise((resolve) => {
    const started = performance.now()
    tally.sent++
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 30000 }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk))
      res.on('end', () => {
        tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started)
        count(`pid ${body}`)
        resolve()
      })
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (err) => {
      count(err.code ?? err.message)
      resolve()
    })
  })
  const done = (async () => {
    while (!stopped) {
      await one()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  return {
    async stop(pid) {
      stopped = true
      await done
      tally.answered = tally.other[`pid ${pid}`] ?? 0
      delete tally.other[`pid ${pid}`]
      return tally
    },
  }
}

function row(version, load, { heapUsed, forks }, requests) {
  const ok = forks.filter((f) => f.path)
  const failed = {}
  for (const f of forks.filter((f) => !f.path)) failed[f.code] = (failed[f.code] ?? 0) + 1
  const unsound = ok.filter((f) => !f.sound).length
  if (unsound) failed.unsound = unsound
  const pause = ok.map((f) => f.pauseMs)
  const childS = ok.map((f) => f.childMs / 1000)
  const loadAvg = forks.map((f) => f.loadAvg)
  const served = requests
    ? `${requests.answered}/${requests.sent}, ${requests.slowestMs.toFixed(0)} ms${Object.entries(requests.other).map(([what, n]) => `; ${what} × ${n}`).join('')}`
    : '–'
  return [
    version,
    load,
    `${(heapUsed / 2 ** 20).toFixed(0)} MB`,
    String(forks.length),
    String(forks.filter((f) => f.sound).length),
    Object.entries(failed).map(([code, n]) => `${code} × ${n}`).join(', ') || '–',
    String(ok.filter((f) => f.attempts > 1).length),
    `${pct(pause, 50).toFixed(1)} / ${pct(pause, 99).toFixed(1)} ms`,
    `${pct(childS, 50).toFixed(2)} / ${pct(childS, 99).toFixed(2)}`,
    `${pct(loadAvg, 50).toFixed(1)} (${Math.min(...loadAvg).toFixed(1)}–${Math.max(...loadAvg).toFixed(1)})`,
    served,
  ]
}

/** The measured service: `mb` MB of small objects under `load`, `runs` fork snapshots in a row. */
async function child(mb, runs, load) {
  const rheapdump = require(root)
  const v8 = require('node:v8')
  buildHeap(mb)
  const stops = [setInterval(() => {}, 1)]
  let worker = null
  let server = null
  let pool = true
  if (load === 'busy') {
    const crypto = require('node:crypto')
    const { Worker } = require('node:worker_threads')
    stops.push(setInterval(() => { globalThis.benchChurn = Array.from({ length: 2000 }, (_, i) => ({ i, s: `c${i}` })) }, 5))
    const hash = () => crypto.pbkdf2('secret', 'salt', 5000, 32, 'sha256', () => { if (pool) setTimeout(hash, 10) })
    for (let i = 0; i < 2; i++) hash()
    worker = new Worker('setInterval(() => { const t = Date.now() + 2; while (Date.now() < t) {} }, 10)', { eval: true })
    server = http.createServer((req, res) => res.end(String(process.pid)))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
  }
  const forks = []
  for (let i = 0; i < runs; i++) {
    const loadAvg = os.loadavg()[0]
    try {
      // force: the guard's turn is host-wide here, and other processes' snapshots (the pause
      // benchmark's, a test's) would refuse these; soundness is what is counted.
      const info = await rheapdump.snapshot({ fork: true, force: true })
      const sound = await validate(info.path)
      forks.push({ path: info.path, sound, attempts: info.attempts, pauseMs: info.pauseMs, childMs: info.childMs, loadAvg })
    } catch (err) {
      forks.push({ code: err.code, message: err.message, loadAvg })
    }
    const last = forks.at(-1)
    if (!last.sound || (i + 1) % 10 === 0) {
      const sound = forks.filter((f) => f.sound).length
      process.stderr.write(`  node ${process.version} ${load}: ${i + 1}/${runs}, ${sound} sound${last.sound ? '' : `; #${i + 1}: ${last.code ?? 'unsound'} ${last.message ?? last.path}`}\n`)
    }
  }
  pool = false
  for (const timer of stops) clearInterval(timer)
  await worker?.terminate()
  const heapUsed = v8.getHeapStatistics().used_heap_size
  process.stdout.write(`${JSON.stringify({ heapUsed, pid: process.pid, forks })}\n`)
  // The script stops asking when it reads that line; a request already sent still gets its answer.
  if (server) setTimeout(() => server.close(), 1000)
}
