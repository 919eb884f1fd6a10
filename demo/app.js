'use strict'

// The demo's app: a service that keeps some state, loads rheapdump, and at times gets stuck in
// synchronous work. The demo (demo.js) snapshots it by signal in both states.

const rheapdump = require('..')

class Session {
  constructor(id) {
    this.id = id
    this.user = `user-${id}`
    this.token = `secret-token-${id}` // why snapshot files are created mode 0600
  }
}
const sessions = (globalThis.sessions = new Map()) // global: a local nobody refers to would be collected
for (let id = 0; id < 20000; id++) sessions.set(id, new Session(id))

rheapdump.on('snapshot', (info) => process.send({ event: 'snapshot', info }))
process.on('message', (message) => {
  if (message === 'stuck') {
    process.send({ event: 'stuck' })
    const end = Date.now() + 8000
    // eight seconds of synchronous work: the event loop is frozen
    while (Date.now() < end) {
      // busy
    }
    process.send({ event: 'unstuck' })
  } else if (message === 'exit') {
    process.exit(0)
  }
})
process.send({ event: 'ready', memory: rheapdump.memoryUsage() })
