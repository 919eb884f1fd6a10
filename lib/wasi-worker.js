// @ts-check
'use strict'

// One analysis by the portable program, on a worker thread of lib/wasi.js's: its output goes to
// two private files in a fresh directory, whose text goes back to the caller. A worker per
// analysis, because WebAssembly memory only grows: when the worker ends, so does the memory.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { parentPort, workerData } = require('node:worker_threads')

const { run } = require('./wasi')

const { program, args, cwd } = workerData
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-'))
try {
  const [stdout, stderr] = ['stdout', 'stderr'].map((name) => fs.openSync(path.join(dir, name), 'wx', 0o600))
  const { status } = run(args, { stdout, stderr, module: program, cwd })
  fs.closeSync(stdout)
  fs.closeSync(stderr)
  const text = (/** @type {string} */ name) => fs.readFileSync(path.join(dir, name), 'utf8')
  parentPort?.postMessage({ status, stdout: text('stdout'), stderr: text('stderr') })
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
