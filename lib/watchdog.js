'use strict'

// The watchdog Worker: it receives SIGUSR2 from the signal thread on its own event loop, which
// is free even when the main loop is stuck, and makes the main thread write the snapshot through
// an inspector session. V8 dispatches such messages inside an interrupt, between two JS
// instructions of whatever the main thread is running, so the snapshot is taken within moments
// of the signal instead of after the loop frees up.
//
// The session is connected only while it is needed: Node prints "Waiting for the debugger to
// disconnect..." when a process exits with one connected. It is disconnected once the main
// thread has answered a message, that is, once the main loop has turned again: disconnecting
// while the main thread is still stuck can abort the process (NOTES.md), and so can exiting this
// Worker then, so it never exits on its own.
//
// It must stay tiny: running out of its 16 MB heap aborts the whole process on Node 20-24 (only
// the Worker dies on 26), so it only relays; nothing here ever reads a snapshot.
//
// Other hazards measured: a pending session.post does not keep a Worker alive, so the ref'd
// parentPort listener below does (the main thread unref()s the Worker itself); console.* from
// here would wait for the main loop, so this writes to fd 2 directly.

const fs = require('node:fs')
const { Session } = require('node:inspector')
const { parentPort, workerData } = require('node:worker_threads')

const native = require(workerData.binding)

const shared = `process[Symbol.for(${JSON.stringify(workerData.sharedKey)})]`
let session = null
let inFlight = 0

native.registerWatchdog(() => {
  const reason = native.claimSignal()
  if (!reason) return // the main thread was free and took it
  const expression = `${shared}.onRequest('watchdog', ${reason})`
  if (!session) {
    session = new Session()
    session.connectToMainThread()
  }
  inFlight++
  session.post('Runtime.evaluate', { expression, silent: true }, (err, result) => {
    inFlight--
    const failure = err ? err.message : result.exceptionDetails && result.exceptionDetails.text
    if (failure) {
      fs.writeSync(2, `rheapdump: the watchdog could not reach the main thread: ${failure}\n`)
      native.signalDone()
    }
    parentPort.postMessage('written')
  })
})

parentPort.on('message', (message) => {
  if (message === 'loop-turned' && session && inFlight === 0) {
    session.disconnect()
    session = null
  }
})
