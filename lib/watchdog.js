'use strict'

// The watchdog Worker: it receives SIGUSR2 from the signal thread on its own event loop, which
// is free even when the main loop is stuck, and makes the main thread write the snapshot through
// an inspector session. V8 dispatches such messages inside an interrupt, between two JS
// instructions of whatever the main thread is running, so the snapshot is taken within moments
// of the signal instead of after the loop frees up.
//
// Hazards measured (NOTES.md): a pending session.post does not keep a Worker alive, so the ref'd
// parentPort listener below does (the main thread unref()s the Worker itself); disconnecting and
// exiting while the main thread is busy can abort the process, so this Worker never exits on its
// own; console.* from here would wait for the main loop, so it writes to fd 2 directly.

const fs = require('node:fs')
const { Session } = require('node:inspector')
const { parentPort, workerData } = require('node:worker_threads')

const native = require(workerData.binding)

const session = new Session()
session.connectToMainThread()

const expression = `process[Symbol.for(${JSON.stringify(workerData.sharedKey)})].onSignal('watchdog')`

native.registerWatchdog(() => {
  session.post('Runtime.evaluate', { expression, silent: true }, (err, result) => {
    const failure = err ? err.message : result.exceptionDetails && result.exceptionDetails.text
    if (failure) {
      fs.writeSync(2, `rheapdump: the watchdog could not reach the main thread: ${failure}\n`)
      native.signalDone()
    }
  })
})

parentPort.on('message', () => {})
parentPort.postMessage('ready')
