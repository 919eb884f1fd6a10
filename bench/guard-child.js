'use strict'

// One process for bench/guard.js: builds a heap of one shape, writes a snapshot with Node's own
// writer, and reports used heap, extra peak RSS and file size. argv: shape, MB.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')

const [shape, mb] = [process.argv[2], Number(process.argv[3])]
const status = (key) => Number(/(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key)))[1]) * 1024

const shapes = {
  // many small objects: the most snapshot nodes per MB, the worst case
  objects: (n) => Array.from({ length: n * 20000 }, (_, i) => ({ i, next: null })),
  // long strings: few nodes per MB
  strings: (n) => Array.from({ length: n * 10 }, (_, i) => `${i}`.padEnd(100000, 'x')),
  // numeric arrays: large backing stores, few nodes
  arrays: (n) => Array.from({ length: n * 4 }, () => Array.from({ length: 30000 }, (_, i) => i + 0.5)),
  // a mix, as a service holds: maps of records with strings and closures
  mixed: (n) => {
    const m = new Map()
    for (let i = 0; i < n * 4000; i++) m.set(`k${i}`, { id: i, name: `user-${i}`, tags: [i, i + 1], f: () => i })
    return m
  },
}

globalThis.heap = shapes[shape](mb)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-guard-'))
const heapUsed = process.memoryUsage().heapUsed
const before = status('VmRSS:')
const hwmBefore = status('VmHWM:')
const file = v8.writeHeapSnapshot(path.join(dir, 's.heapsnapshot'))
const peak = status('VmHWM:')
const bytes = fs.statSync(file).size
fs.rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ shape, mb, heapUsed, before, peak: Math.max(peak, hwmBefore), extra: peak - before, bytes }))
