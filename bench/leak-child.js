'use strict'

// One workload under monitor() for bench/leak-alarm.js. argv: the workload and its length in
// seconds. Prints one JSON line: when each leak rule first fired, how many times each fired, and
// how many GCs of each kind ran.
//   fast   a leak of 20,000 small objects every 20 ms (~100 MB/s): how soon does 'leak' come?
//   gc     a steady workload that forces a full GC every 10 ms (hundreds of full GCs): false alarms
//   cache  a steady rolling cache of up to 400,000 entries, dropped and rebuilt: false alarms
//   ring   a steady ring of 100 batches of 20,000 objects, each batch living 2 s (~50 MB/s
//          promoted, all of it garbage by the next full GC): the growth rule's worst case
//   http   a steady JSON service (bench/monitor-server.js) under load from the parent

const rheapdump = require('..')

const [workload, seconds] = [process.argv[2], Number(process.argv[3])]
const started = Date.now()
const result = { workload, first: {}, alarms: {}, gcs: {}, heapAtFirst: {} }
const monitor = rheapdump.monitor({ interval: 1000 })
monitor.on('gc', ({ kind }) => (result.gcs[kind] = (result.gcs[kind] || 0) + 1))
monitor.on('leak', (event) => {
  result.alarms[event.rule] = (result.alarms[event.rule] || 0) + 1
  if (!(event.rule in result.first)) {
    result.first[event.rule] = Date.now() - started
    result.heapAtFirst[event.rule] = event.heapUsed
  }
})

let timer
const kept = []
let cache = new Map()
if (workload === 'fast') {
  timer = setInterval(() => {
    for (let i = 0; i < 20000; i++) kept.push({ i, s: `leak${i}` })
  }, 20)
} else if (workload === 'gc') {
  globalThis.state = Array.from({ length: 50000 }, (_, i) => ({ i }))
  timer = setInterval(() => {
    const garbage = []
    for (let i = 0; i < 20000; i++) garbage.push({ i, s: `x${i}` })
    rheapdump.gc()
  }, 10)
} else if (workload === 'cache') {
  timer = setInterval(() => {
    const base = Date.now() * 100000
    for (let i = 0; i < 20000; i++) cache.set((base + i) % 2000000, { i, s: `x${i}`, list: [i] })
    if (cache.size > 400000) cache = new Map()
  }, 20)
} else if (workload === 'ring') {
  const ring = new Array(100)
  let next = 0
  timer = setInterval(() => {
    ring[next++ % ring.length] = Array.from({ length: 20000 }, (_, i) => ({ i, s: `r${i}` }))
  }, 20)
} else if (workload === 'http') {
  // bench/monitor-server.js's JSON service, monitored here; it sends the parent its port.
  require('./monitor-server')
} else {
  throw new Error(`unknown workload ${workload}`)
}

setTimeout(() => {
  clearInterval(timer)
  monitor.stop()
  result.seconds = (Date.now() - started) / 1000
  console.log(JSON.stringify(result))
  process.exit(0)
}, seconds * 1000)
