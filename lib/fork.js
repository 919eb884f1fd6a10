// @ts-check
'use strict'

// Fork snapshots (experimental, opt-in): the snapshot is written by a fork()ed child, so the
// service pauses for the fork, milliseconds, instead of for the whole snapshot. The recipe and
// why it is safe are in crates/addon/src/fork/; what users should know is in docs/fork.md. Nothing here
// runs unless `fork` is asked for (snapshot({ fork }), configure({ fork }), RHEAPDUMP_FORK).
//
// The parent: forks on the main thread (inside the V8 interrupt of a signal when the loop is
// stuck, else on the loop), never waits on the child synchronously (a native thread waits and
// commits the file; this side polls for the outcome), and retries a child that crashed or
// stalled. Taking the snapshot in-process after all when asked (`fork: { fallback: true }`) is
// lib/capture.js's.
// The child: runs childWrite() and _exit()s; it never returns to the event loop.

const fs = require('node:fs')

const { binding: native } = require('./binding')
const { fileError } = require('./errors')
const facts = require('./facts')
const { checkBudget, memoryNeeded, reserveSync } = require('./guard')
const { v8 } = require('./memory')
const { current } = require('./shared')
const writer = require('./writer')

const shared = current()
// Every function below but unavailable() runs only once it has found the addon.
const addon = /** @type {import('./binding').Addon} */ (/** @type {unknown} */ (native))

// A busy thread at the fork: poll this long, then retry this much later, this many times, then
// fork anyway (the child is guarded: patched locks, stall check, alarm).
const QUIET_WAIT_MS = 5
const QUIET_RETRY_MS = 20
const QUIET_TRIES = 10
// Children that crashed or stalled are retried this many times.
const RETRIES = 3
const POLL_MS = 50

// One child at a time: API calls queue behind it, signals that arrive meanwhile are dropped.
/** @type {Promise<any> | null} */
let inFlight = null

function unavailable() {
  if ('fallback' in native) return `the pure-JS fallback cannot fork (${native.reason ?? 'no native addon'})`
  // A child forked from a Worker would die with that Worker's thread (PR_SET_PDEATHSIG).
  if (!native.isMainThread()) return 'fork snapshots are taken from the main thread only'
  return addon.forkUnavailable()
}

function unavailableError(reason, target) {
  const err = new Error(`rheapdump: fork snapshots are unavailable here: ${reason}`)
  Object.assign(err, { code: 'ERR_RHEAPDUMP_FORK_UNAVAILABLE', path: target, description: reason })
  return err
}

/**
 * A fork snapshot; resolves like snapshot() with `via: 'fork'`, `pauseMs`, `childMs`. The fork
 * itself happens synchronously in this call when the threads are quiet (so a signal served
 * inside a V8 interrupt forks there); `blocking` makes busy-thread retries wait synchronously
 * too (inside an interrupt no timer fires). The memory `reservation` (lib/guard.js, made by
 * lib/capture.js) covers the child and the pages the parent dirties while it runs: it is
 * held until the child has exited, and released then, whatever the outcome.
 * @param {{ dir?: string, filename?: string, trigger: string, force?: boolean, blocking?: boolean, compress?: string, reservation?: { release(): void } | null }} request
 * @returns {Promise<any>}
 */
function take({ dir, filename, trigger, force = false, blocking = false, compress, reservation = null }) {
  const reason = unavailable()
  if (reason) {
    reservation?.release()
    return Promise.reject(unavailableError(reason, filename ?? writer.resolveDir(dir)))
  }
  if (inFlight) {
    const previous = inFlight
    return previous.then(noop, noop).then(() => take({ dir, filename, trigger, force, compress, reservation }))
  }
  const started = process.hrtime.bigint()
  let turn = reservation
  // A closure: TypeScript does not narrow `turn` to null here, as it would at the call sites.
  const release = () => turn?.release()
  const run = () => {
    const where = writer.place({ dir, filename, compress })
    const guarded = shared.config.guard && !force
    const before = native.processMemory()
    const heap = v8().getHeapStatistics()
    if (guarded && !turn) turn = reserveSync(where.dir, trigger, memoryNeeded(where.dir, before.rss, heap), shared.config.queueTimeout)
    if (guarded) checkBudget(where.dir, before.rss, trigger, shared.config.memoryLimit, heap, where.compress)
    const byName = writer.checkWritePermission(where)
    const file = { dir: where.finalPath === null ? where.dir : null, filename: where.finalPath, byName, heapUsed: heap.used_heap_size, compress: where.compress }
    return attempts(file, where, { blocking, trigger, started, before })
  }
  let promise
  try {
    promise = run()
  } catch (err) {
    release()
    return Promise.reject(err)
  }
  const done = promise.finally(() => {
    release()
    if (inFlight === done) inFlight = null
  })
  inFlight = done
  return done
}

/** Forks (retrying a crashed or stalled child) until a child writes the file. */
async function attempts(file, where, { blocking, trigger, started, before }) {
  let pauseMs = 0
  for (let attempt = 1; ; attempt++) {
    const start = await (attempt === 1 ? forkNow(file, blocking) : forkWhenQuiet(file))
    pauseMs = Math.max(pauseMs, start.pauseMs)
    const end = await waitFor(start.pid)
    if (end.ok) {
      writer.afterSnapshot(where, end.path)
      const after = native.processMemory()
      return {
        path: end.path,
        bytes: end.bytes,
        ...(where.compress ? { compress: where.compress } : {}),
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        trigger,
        via: 'fork',
        pauseMs,
        childMs: end.childMs,
        childPeakRss: end.childPeakRss,
        attempts: attempt,
        rss: { before: before.rss, peak: Math.max(before.rss, after.rss), after: after.rss },
      }
    }
    if (!end.retry || attempt > RETRIES) throw childError(end, file, attempt)
  }
}

/** The first try: synchronous, so that the fork happens in the caller's turn. */
function forkNow(file, blocking) {
  for (let tries = 1; ; tries++) {
    const start = startFork(file, tries >= QUIET_TRIES)
    if (!start.busy) return start
    if (!blocking) return forkWhenQuiet(file, tries)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, QUIET_RETRY_MS)
  }
}

async function forkWhenQuiet(file, tried = 0) {
  for (let tries = tried + 1; ; tries++) {
    if (tries > 1) await sleep(QUIET_RETRY_MS)
    const start = startFork(file, tries >= QUIET_TRIES)
    if (!start.busy) return start
  }
}

function startFork(file, force) {
  const start = addon.forkSnapshotStart(file.dir, file.filename, file.byName, file.heapUsed, QUIET_WAIT_MS, force, file.compress)
  if ('code' in start) throw fileError(start)
  if (start.child) childWrite(start.writerPath)
  return start
}

/** In the child: write, mark, _exit. Never returns. */
function childWrite(writerPath) {
  try {
    v8().writeHeapSnapshot(writerPath)
  } catch (err) {
    try {
      fs.writeSync(2, `rheapdump (fork child): V8's writer failed: ${err.message}\n`)
    } catch {
      // stderr closed: the exit code says it
    }
    addon.forkChildExit(facts.forkExit.writerFailed)
  }
  addon.forkChildFinish(writerPath)
  addon.forkChildExit(0)
}

function waitFor(pid) {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const end = addon.forkSnapshotPoll(pid)
      if (end) {
        clearInterval(timer)
        resolve(end)
      }
    }, POLL_MS)
  })
}

function childError(end, file, attempt) {
  const where = end.path ?? file.filename ?? file.dir
  const tries = attempt > 1 ? ` (${attempt} attempts)` : ''
  const err = new Error(`rheapdump: fork snapshot failed: ${end.code}: ${end.description}${tries}`)
  Object.assign(err, { code: end.code, path: where, syscall: end.syscall, description: `${end.description}${tries}`, attempts: attempt })
  return err
}

/** Whether a child is still writing: a snapshot nobody awaits is dropped then (lib/capture.js). */
function busy() {
  return inFlight !== null
}

function noop() {}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

module.exports = { takeForkSnapshot: take, busy }
