'use strict'

// One measured process for bench/snapshot.js. argv: method, heap MB. Prints one JSON line.

const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')

const [method, heapMb] = [process.argv[2], Number(process.argv[3] || 0)]
const root = path.join(__dirname, '..')
const status = (key) => Number(/(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key)))[1]) * 1024
const threads = () => fs.readdirSync('/proc/self/task').length
// How long the *-stuck methods keep the event loop busy after the signal.
const STUCK_MS = 3000
const report = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`)

function fillHeap(mb) {
  // ~48 bytes per small object plus the array slot: about 20,000 objects per MB.
  const perMb = 20000
  globalThis.benchHeap = Array.from({ length: mb * perMb }, (_, i) => ({ i, next: null }))
}

function waitForFile(dir, then) {
  const poll = setInterval(() => {
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'))
    if (file) {
      clearInterval(poll)
      then(path.join(dir, file))
    }
  }, 5)
}

function afterSnapshot(started, file) {
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6
  const peak = status('VmHWM:')
  setTimeout(() => {
    report({ durationMs, bytes: fs.statSync(file).size, rssBefore, peak, rssAfter: status('VmRSS:') })
    process.exit(0)
  }, 1000)
}

/** Context switches of every thread so far: each one is a wake-up of some thread. */
function switches() {
  let total = 0
  for (const task of fs.readdirSync('/proc/self/task')) {
    const text = fs.readFileSync(`/proc/self/task/${task}/status`, 'utf8')
    for (const key of ['voluntary_ctxt_switches', 'nonvoluntary_ctxt_switches']) {
      total += Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)[1])
    }
  }
  return total
}

if (method === 'idle') {
  const variant = process.argv[3]
  // What a service has loaded anyway before it requires rheapdump: the cost measured is ours alone.
  require('node:os')
  require('node:worker_threads')
  if (process.argv[4] === 'app') {
    // Two files of the app's own, as any app has loaded before its dependencies. From its second
    // file on, Node's module loader is hot enough for V8's first Maglev compile (Node 24/26),
    // which costs a process 2.2–2.8 MB once: two empty modules alone cost that. A bare process
    // would charge it to whatever package it loads first.
    require('./settings')
    require('../package.json')
  }
  if (process.argv[4] === 'warm') {
    // A hot function, as in any running service: V8 has tiered code up (Maglev) before the
    // require. The first Maglev compile of a process costs ~3 MB of RSS (Node 24/26), which a
    // bare process would otherwise charge to whatever makes its loader hot first.
    const work = (n) => {
      let s = 0
      for (let i = 0; i < n; i++) s += i % 7
      return s
    }
    for (let i = 0; i < 2000; i++) work(1000)
  }
  const started = process.hrtime.bigint()
  if (variant !== 'none') require(root)
  const requireMs = Number(process.hrtime.bigint() - started) / 1e6
  // Settle, then count wake-ups over 5 idle seconds (one timer: this process's own share is 1).
  setTimeout(() => {
    const before = switches()
    setTimeout(() => {
      const wakeupsPerSecond = (switches() - before) / 5
      report({ requireMs, rss: status('VmRSS:'), threads: threads(), wakeupsPerSecond })
    }, 5000)
  }, 1500)
  return
}

fillHeap(heapMb)
const dir = process.cwd()
const rssBefore = status('VmRSS:')
const heapUsed = process.memoryUsage().heapUsed

if (method === 'v8') {
  const started = process.hrtime.bigint()
  v8.writeHeapSnapshot(path.join(dir, 'v8.heapsnapshot'))
  afterSnapshot(started, path.join(dir, 'v8.heapsnapshot'))
} else if (method === 'heapdump') {
  const heapdump = require(path.join(root, '.cache', 'bench', 'node_modules', 'heapdump'))
  const started = process.hrtime.bigint()
  heapdump.writeSnapshot(path.join(dir, 'heapdump.heapsnapshot'))
  afterSnapshot(started, path.join(dir, 'heapdump.heapsnapshot'))
} else if (method === 'api') {
  const rheapdump = require(root)
  const started = process.hrtime.bigint()
  rheapdump.writeSnapshot(path.join(dir, 'api.heapsnapshot'))
  afterSnapshot(started, path.join(dir, 'api.heapsnapshot'))
} else if (method === 'node-signal-idle' || method === 'node-signal-stuck') {
  // Node's own --heapsnapshot-signal (the parent passes the flag): its handler runs on the event
  // loop and writes on the main thread, so the poll below first runs once the file is complete.
  setTimeout(() => {
    const started = process.hrtime.bigint()
    process.kill(process.pid, 'SIGUSR2')
    if (method === 'node-signal-stuck') {
      const end = Date.now() + STUCK_MS
      while (Date.now() < end) {
        // synchronous work: Node's handler waits for it
      }
    }
    waitForFile(dir, (file) => afterSnapshot(started, file))
  }, 300)
} else if (method === 'signal-idle' || method === 'signal-stuck') {
  require(root)
  setTimeout(() => {
    const started = process.hrtime.bigint()
    process.kill(process.pid, 'SIGUSR2')
    if (method === 'signal-stuck') {
      // The loop stays stuck until the file is complete: only the interrupt can write it.
      for (;;) {
        const file = fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'))
        if (file) return afterSnapshot(started, path.join(dir, file))
      }
    }
    waitForFile(dir, (file) => afterSnapshot(started, file))
  }, 300)
}
void heapUsed
