'use strict'

// The sampler's own cost, without the machine's noise: the request handler's allocation work of
// bench/sampling-server.js run in fixed chunks in one process, sampling switched between off and
// each interval chunk by chunk (configure()), CPU time per chunk from process.cpuUsage(). The
// least of many chunks is what the work costs when nothing else interferes (a preempted process
// uses no CPU, but shares caches). argv: CHUNKS INTERVAL... Prints {"off": µs, "<interval>": µs}.

const rheapdump = require('..')

const chunks = Number(process.argv[2])
const intervals = process.argv.slice(3)

// What one request of the service allocates: orders with lines, dates, a JSON body.
function request(userId) {
  const orders = []
  for (let i = 0; i < 10; i++) {
    const lines = []
    for (let j = 0; j <= (userId + i) % 4; j++) lines.push({ sku: `SKU-${(userId * 17 + i * 101 + j * 7).toString(36)}`, name: `Product ${j}`, quantity: 1 + ((i + j) % 3), unitCents: 199 + j })
    orders.push({ orderId: `${userId}-${i}`, placedAt: new Date(Date.now() - i * 86400000).toISOString(), lines, totalCents: lines.length * 199, currency: 'GBP' })
  }
  return JSON.stringify({ user: 'user-1', orders, requestId: `${userId}` }).length
}

let sink = 0
function chunk() {
  const before = process.cpuUsage()
  for (let i = 0; i < 2000; i++) sink += request(i)
  const used = process.cpuUsage(before)
  return used.user + used.system
}

const modes = ['off', ...intervals]
const least = Object.fromEntries(modes.map((mode) => [mode, Infinity]))
for (let i = 0; i < 20; i++) chunk() // warm-up: optimized code before measuring
for (let round = 0; round < chunks; round++) {
  for (let k = 0; k < modes.length; k++) {
    const mode = modes[(k + round) % modes.length]
    rheapdump.configure({ sampling: mode === 'off' ? false : mode })
    least[mode] = Math.min(least[mode], chunk())
  }
}
process.stdout.write(`${JSON.stringify({ ...least, requestsPerChunk: 2000, sink: sink > 0 })}\n`)
