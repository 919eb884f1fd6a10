'use strict'

// One evidence run for bench/sampling.js: the quote service (tools/quote-service)
// sampled at RHEAPDUMP_SAMPLING (set by the driver), warmed up, a profile, then requests until
// its live heap holds LEAK_MB more, a second profile. argv: LEAK_MB DIR. Prints
// {"before", "after", "leakedBytes", "requests"} on stdout.

const http = require('node:http')
const path = require('node:path')

const rheapdump = require('..')
const { createService } = require('../tools/quote-service/server')

const leakBytes = Number(process.argv[2]) * 1024 * 1024
const dir = process.argv[3]
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
let customer = 0

function quote(port) {
  customer++
  const query = `customer=C${100000 + customer}&sku=SKU-${customer % 7}&quantity=2&currency=GBP`
  return new Promise((resolve, reject) => {
    http.get({ port, host: '127.0.0.1', path: `/quote?${query}`, agent }, (res) => res.resume().on('end', resolve)).on('error', reject)
  })
}

async function requests(port, count) {
  let sent = 0
  const worker = async () => {
    while (sent < count) {
      sent++
      await quote(port)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
}

function liveHeap() {
  rheapdump.gc()
  return process.memoryUsage().heapUsed
}

async function main() {
  const server = createService()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await requests(port, 2000)
  const before = rheapdump.writeHeapProfile(path.join(dir, 'before.heapprofile')).path
  const base = liveHeap()
  const first = customer
  while (liveHeap() - base < leakBytes) await requests(port, 2000)
  const leakedBytes = liveHeap() - base
  const after = rheapdump.writeHeapProfile(path.join(dir, 'after.heapprofile')).path
  agent.destroy()
  server.close()
  process.stdout.write(`${JSON.stringify({ before, after, leakedBytes, requests: customer - first })}\n`)
}

main()
