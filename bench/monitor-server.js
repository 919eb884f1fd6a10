'use strict'

// An HTTP service for bench/monitor.js: each request builds, serialises and parses a small
// document, allocating as a JSON API does. argv: `monitor` runs rheapdump.monitor() in it,
// `sampling` the sampling heap profiler (512 KiB), `none` neither.

const http = require('node:http')

const mode = process.argv[2] || 'none'
if (mode === 'monitor') {
  const rheapdump = require('..')
  const monitor = rheapdump.monitor({ interval: 1000 })
  monitor.on('gc', () => {}) // the busiest event, listened to
}
if (mode === 'sampling') require('..').configure({ sampling: true })

const server = http.createServer((req, res) => {
  const items = Array.from({ length: 50 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', String(i)] }))
  const body = JSON.stringify({ url: req.url, items })
  JSON.parse(body)
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(body)
})
server.listen(0, '127.0.0.1', () => process.send(server.address().port))
