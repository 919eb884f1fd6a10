'use strict'

// Writes a heap snapshot of a service-like heap: a session cache (Map of class instances with
// strings, arrays and nested plain objects), per-session metadata in a WeakMap, closures, request
// logs, and buffers.
//
//   node bench/heap-app.js OUT.heapsnapshot UNITS [LATER.heapsnapshot MORE_UNITS]
//
// With LATER, the process then grows by MORE_UNITS and writes a second snapshot (same process,
// so node ids match: a pair for `rheapdump diff`).
// UNITS scales the heap; about 1,000 units make a 160 MB snapshot. The contents are a pure
// function of UNITS, so two runs give snapshots of the same shape.

const v8 = require('node:v8')

const [out, units = '100', later, more = '0'] = process.argv.slice(2)
if (!out) {
  process.stderr.write('usage: node bench/heap-app.js OUT.heapsnapshot [UNITS]\n')
  process.exit(2)
}

class Session {
  constructor(id) {
    this.id = id
    this.user = `user-${id % 977}@example.com`
    this.createdAt = 1_700_000_000_000 + id
    this.roles = ['reader', id % 3 ? 'writer' : 'admin']
    this.prefs = { theme: id % 2 ? 'dark' : 'light', lang: 'en', tz: id % 24 }
    this.history = []
  }
}

class RequestLog {
  constructor(session, n) {
    this.session = session
    this.path = `/api/v1/items/${n}`
    this.status = n % 17 ? 200 : 500
    this.headers = { 'content-type': 'application/json', 'x-request-id': `req-${n}` }
  }
}

const sessions = new Map()
const seen = new WeakMap()
const handlers = []
const logs = []
let n = 0
function grow(count) {
  for (let unit = 0; unit < count; unit++) {
    for (let i = 0; i < 100; i++, n++) {
      const session = new Session(n)
      sessions.set(session.id, session)
      for (let j = 0; j < 3; j++) session.history.push(new RequestLog(session, n * 3 + j))
      if (n % 4 === 0) {
        const secret = `token-${n}`
        handlers.push(() => secret.length + session.id)
      }
      if (n % 10 === 0) logs.push(Buffer.alloc(256, n % 256))
      if (n % 5 === 0) seen.set(session, { at: n, hits: [n] })
    }
  }
}
globalThis.service = { sessions, seen, handlers, logs }

grow(Number(units))
v8.writeHeapSnapshot(out)
if (later) {
  grow(Number(more))
  v8.writeHeapSnapshot(later)
}
