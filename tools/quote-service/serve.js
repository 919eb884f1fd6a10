'use strict'

// Runs the quote service as in production, for a client in another process to poll:
//
//   node serve.js ROOT
//
// rheapdump is only required: snapshots are asked for with SIGUSR2 (with RHEAPDUMP_FORK=1, a
// fork child writes them while the service keeps serving). Prints {"event": "ready", "port": N}
// once listening, then {"event": "snapshot", "path": PATH, "via": ...} for each snapshot.

const rheapdump = require(process.argv[2])
const { createService } = require('./server')

const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)
rheapdump.on('snapshot', (info) => say({ event: 'snapshot', path: info.path, via: info.via, pauseMs: info.pauseMs }))
rheapdump.on('snapshotError', (err) => say({ event: 'snapshotError', code: err.code, message: err.message }))

const server = createService()
server.listen(0, '127.0.0.1', () => say({ event: 'ready', port: server.address().port, pid: process.pid }))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
