'use strict'

// Writes three in-process snapshots (baseline, target, final) of a process with one planted
// leak of a common kind, among objects that come and go and objects that stay:
//
//   node tools/leak-zoo.js SCENARIO DIR [REQUESTS]
//
// Scenarios (each leaks one object graph per "request"; the culprit is what `leaks` should name):
//   map-cache   a Map keyed by request id, never evicted          culprit: global.cache (Map)
//   closures    handlers registered per request, never removed    culprit: the `handlers` array in a module scope
//   timers      an interval per request, never cleared             culprit: the timer list
//   records     an array of request records, never trimmed         culprit: global.audit.records (Array)
//   registry    a debug registry of every Connection (a Set)       culprit: Connection.instances (Set)
//   in-flight   a listener per request on a feed, never removed; a request in flight during the
//               target snapshot holds the feed by a shorter path   culprit: the feed's listener array
//
// Between the snapshots REQUESTS requests (default 300) run, then REQUESTS / 3 more before the
// final one. Every request also allocates garbage and touches a fixed-size LRU that does not
// leak, so the culprit must stand out from noise. Used by __test__/structure.test.js and
// bench/structure.js to compare the id-free report with the id-based one.

const { EventEmitter } = require('node:events')
const path = require('node:path')
const v8 = require('node:v8')

const [scenario, dir, requests = '300'] = process.argv.slice(2)
const SCENARIOS = ['map-cache', 'closures', 'timers', 'records', 'registry', 'in-flight']
if (!SCENARIOS.includes(scenario) || !dir) {
  process.stderr.write(`usage: node tools/leak-zoo.js ${SCENARIOS.join('|')} DIR [REQUESTS]\n`)
  process.exit(2)
}

class Payload {
  constructor(n) {
    this.id = `req-${n}`
    this.body = { user: `user-${n % 97}`, items: [n, n + 1, n + 2] }
    this.at = 1_700_000_000_000 + n
  }
}

// Not a leak: at most 64 entries, the oldest dropped.
const lru = new Map()
function touchLru(n) {
  lru.set(`k${n}`, new Payload(n))
  if (lru.size > 64) lru.delete(lru.keys().next().value)
}

globalThis.cache = new Map()
globalThis.audit = { records: [] }
const handlers = []
function register(payload) {
  handlers.push(() => payload.id.length)
}
class Connection {
  static instances = new Set()
  constructor(n) {
    this.payload = new Payload(n)
    this.open = true
    Connection.instances.add(this)
  }
}

// A market-data feed that every open request listens to, held deep in the service.
class RateFeed extends EventEmitter {}
const feed = new RateFeed()
feed.setMaxListeners(0)

// What a service's modules export: reachable from the global object, as a required module's
// exports are (a main script's own scope is reachable from V8's roots only).
globalThis.app = { register, Connection, lru, services: { pricing: { market: { feed } } } }

const leakOne = {
  'map-cache': (n) => globalThis.cache.set(`req-${n}`, new Payload(n)),
  closures: (n) => register(new Payload(n)),
  timers: (n) => {
    const payload = new Payload(n)
    setInterval(() => payload.at++, 3_600_000).unref()
  },
  records: (n) => globalThis.audit.records.push(new Payload(n)),
  registry: (n) => new Connection(n),
  'in-flight': (n) => {
    const payload = new Payload(n)
    feed.on('rates', () => payload.at)
  },
}[scenario]

let n = 0
function serve(count) {
  for (let i = 0; i < count; i++, n++) {
    leakOne(n)
    touchLru(n)
    // Garbage: gone by the next snapshot.
    JSON.stringify({ n, list: Array.from({ length: 20 }, (_, k) => ({ k })) })
  }
}

// The structures a leak lands in exist before the baseline, as in a service that has served.
serve(100)
const total = Number(requests)
const files = []
for (const [name, count] of [['baseline', 0], ['target', total], ['final', Math.ceil(total / 3)]]) {
  serve(count)
  const file = path.join(dir, `${name}.heapsnapshot`)
  // A request being served while the target snapshot is written holds the feed by a shorter
  // path than the service does (global.request.feed): for that snapshot alone, every listener
  // is reached another way, as when a fork snapshot catches a service mid-request.
  if (scenario === 'in-flight' && name === 'target') globalThis.request = { feed }
  v8.writeHeapSnapshot(file)
  delete globalThis.request
  files.push(file)
}
process.stdout.write(`${JSON.stringify({ files })}\n`)
