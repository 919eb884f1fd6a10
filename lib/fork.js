// @ts-check
'use strict'

// Fork snapshots (experimental, opt-in): the snapshot is written by a fork()ed child, so the
// service pauses for the fork, milliseconds, instead of for the whole snapshot. The recipe and
// why it is safe are in crates/addon/src/fork/; what users should know is in docs/fork.md. Nothing here
// runs unless `fork` is asked for (snapshot({ fork }), configure({ fork }), RHEAPDUMP_FORK).
//
// The parent: forks on the main thread (inside the V8 interrupt of a signal when the loop is
// stuck, else on the loop), never waits on the child synchronously (a native thread waits and
// commits the file; this side polls for the outcome), and retries a child that crashed, hung or
// timed out when its target can be rewound (the native side says). Whether a child is still
// running is the native side's count, not this side's promise: with the loop stuck, the promise
// of a snapshot already committed does not settle, and must not hold up the next signal's.
// Taking the snapshot in-process after all when asked (`fork: { fallback: true }`, 'auto') is
// lib/capture.js's.
// The child: runs childWrite() and _exit()s; it never returns to the event loop.

const fs = require('node:fs')

const { binding: native } = require('./binding')
const { fileError } = require('./errors')
const facts = require('./facts')
const { checkBudget, memoryNeeded, reserveSync } = require('./guard')
const { v8 } = require('./memory')
const { writeStderr } = require('./report')
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
// The mappings read ahead on a thread (crates/addon/src/fork/): waited for this long at most.
const PREFETCH_WAIT_MS = 1000

// One child at a time: API calls queue behind it, signals that arrive meanwhile are merged
// into it (counted, and said in one line).
/** @type {Promise<any> | null} */
let inFlight = null
/** Releases the reservation of the snapshot in flight (its child may have ended, its promise not). */
let releaseInFlight = noop
/** Snapshots waiting to fork (for the mappings read ahead, quiet threads, or between two
 * attempts): no child running, one coming. A signal served inside an interrupt forks
 * synchronously and is never counted here (its promise may not settle while the loop is stuck). */
let waiting = 0
/** Requests merged into the child running (the first one was said on stderr at once). */
let merged = 0

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
 * A fork snapshot; resolves like snapshot() with `via: 'fork'`, `pauseMs`, `childMs`. The
 * process's mappings are read on a thread first while the loop runs on (half of the pause
 * otherwise), then the fork happens when the threads are quiet. `blocking` (a signal served
 * inside a V8 interrupt: no timer fires there) forks synchronously in this call instead, and
 * makes busy-thread retries wait synchronously too. The memory `reservation` (lib/guard.js, made
 * by lib/capture.js) covers the child and the pages the parent dirties while it runs: it is
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
  if (inFlight && busy()) {
    const previous = inFlight
    return previous.then(noop, noop).then(() => take({ dir, filename, trigger, force, compress, reservation }))
  }
  // The previous child is done (committed, natively) though its promise has not settled: the
  // loop is stuck. Its reservation is over.
  releaseInFlight()
  sayMerged()
  const started = process.hrtime.bigint()
  let turn = reservation
  // A closure: TypeScript does not narrow `turn` to null here, as it would at the call sites.
  const release = () => turn?.release()
  const run = () => {
    addon.forkPrefetch()
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
    if (inFlight === done) {
      inFlight = null
      releaseInFlight = noop
      sayMerged()
    }
  })
  inFlight = done
  releaseInFlight = release
  return done
}

/** Forks (retrying a crashed or stalled child) until a child writes the file. */
async function attempts(file, where, { blocking, trigger, started, before }) {
  let pauseMs = 0
  let pauseSplit
  for (let attempt = 1; ; attempt++) {
    // Blocking, the fork has happened by the time `await` yields.
    const start = await (attempt === 1 && blocking ? forkNow(file, true) : waitToFork(file, attempt))
    if (start.pauseMs >= pauseMs) {
      pauseMs = start.pauseMs
      pauseSplit = start.pauseSplit
    }
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
        pauseSplit,
        childMs: end.childMs,
        childPeakRss: end.childPeakRss,
        attempts: attempt,
        rss: { before: before.rss, peak: Math.max(before.rss, after.rss), after: after.rss },
      }
    }
    if (!end.retry || attempt > RETRIES) throw childError(end, file, attempt)
  }
}

/** A fork from the loop: once the mappings are read ahead; a retry also after any other
 * snapshot's child (one a signal started meanwhile) has ended. Counted in `waiting`. */
async function waitToFork(file, attempt) {
  waiting++
  try {
    while (attempt > 1 && addon.forkSnapshotsRunning() > 0) await sleep(POLL_MS)
    await mappingsRead()
    return await (attempt === 1 ? forkNow(file, false) : forkWhenQuiet(file))
  } finally {
    waiting--
  }
}

/** Until the thread reading the process's mappings is done (the loop turning meanwhile). */
async function mappingsRead() {
  addon.forkPrefetch()
  const deadline = Date.now() + PREFETCH_WAIT_MS
  while (!addon.forkPrefetched() && Date.now() < deadline) await sleep(2)
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
  if (start.child) childWrite(start.writerPath, file.filename ?? file.dir)
  return start
}

/** In the child: write, mark, _exit. Never returns. */
function childWrite(writerPath, shown) {
  try {
    v8().writeHeapSnapshot(writerPath)
  } catch (err) {
    // V8 names the path it was handed (/proc/self/fd/N): the user's is the one to act on.
    const message = String(err.message).split(writerPath).join(shown)
    try {
      fs.writeSync(2, `rheapdump (fork child): V8's writer failed: ${message}\n`)
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

/** Whether a child is still writing, or about to be retried: a snapshot nobody awaits is merged into it then (lib/capture.js). */
function busy() {
  return waiting > 0 || (!('fallback' in native) && addon.forkSnapshotsRunning() > 0)
}

/** A request nobody awaits that came while busy(): said at once the first time, then counted. */
function mergeRequest() {
  merged++
  if (merged === 1) writeStderr('rheapdump: heap snapshot skipped: a fork snapshot is still being written (requests until it ends are merged into it)')
}

function sayMerged() {
  if (merged > 1) writeStderr(`rheapdump: ${merged} snapshot requests came while a fork snapshot was being written and were merged into it`)
  merged = 0
}

function noop() {}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

module.exports = { takeForkSnapshot: take, busy, mergeRequest }
