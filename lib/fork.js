// @ts-check
'use strict'

// Fork snapshots (experimental, opt-in): the snapshot is written by a fork()ed child, so the
// service pauses for the fork, milliseconds, instead of for the whole snapshot. The recipe and
// why it is safe are in src/fork/; what users should know is in docs/fork.md. Nothing here
// runs unless `fork` is asked for (snapshot({ fork }), configure({ fork }), RHEAPDUMP_FORK).
//
// The parent: forks on the main thread (inside the V8 interrupt of a signal when the loop is
// stuck, else on the loop), never waits on the child synchronously (a native thread waits and
// commits the file; this side polls for the outcome), retries a child that crashed or stalled,
// and — only if asked, `fork: { fallback: true }` — takes the snapshot in-process after all.
// The child: runs childWrite() and _exit()s; it never returns to the event loop.

const fs = require('node:fs')
const path = require('node:path')

const { checkOptions } = require('./options')

// A busy thread at the fork: poll this long, then retry this much later, this many times, then
// fork anyway (the child is guarded: patched locks, stall check, alarm).
const QUIET_WAIT_MS = 5
const QUIET_RETRY_MS = 20
const QUIET_TRIES = 10
// Children that crashed or stalled are retried this many times.
const RETRIES = 3
const POLL_MS = 50
// crates/core/src/fork.rs, exit::WRITER_FAILED.
const EXIT_WRITER_FAILED = 70

/** The `fork` setting as given (boolean or { fallback }) → false or { fallback }. */
function forkMode(value) {
  if (!value) return false
  return { fallback: typeof value === 'object' && value.fallback === true }
}

/**
 * `fork` as given to snapshot() or configure(): a boolean or `{ fallback }`.
 * @param {unknown} value
 * @param {string} fn the public function, for the error
 * @returns {boolean | { fallback: boolean }}
 */
function checkFork(value, fn) {
  if (value === null || typeof value !== 'object') return value === true
  return { fallback: checkOptions(value, { fallback: 'boolean' }, `${fn}(fork)`).fallback === true }
}

/**
 * @param {object} ctx what lib/snapshot.js shares with fork snapshots
 * @param {any} ctx.native
 * @param {() => typeof import('node:v8')} ctx.v8
 * @param {import('./shared').Shared} ctx.shared
 * @param {(dir: string | undefined) => string} ctx.resolveDir
 * @param {() => string} ctx.currentDir
 * @param {(filename: string) => void} ctx.checkFilename
 * @param {(target: string) => boolean} ctx.checkWritePermission
 * @param {(dir: string, trigger: string) => { release(): void } | null} ctx.waitForTurn
 * @param {(dir: string, rss: number, trigger: string, heap: { used_heap_size: number, total_heap_size: number }) => void} ctx.checkBudget
 * @param {(dir: string, current: string) => void} ctx.prune
 * @param {(line: string) => void} ctx.writeStderr
 * @param {(bytes: number) => string} ctx.formatBytes
 * @param {(err: any, info?: any) => void} ctx.announce
 * @param {(failure: any) => Error} ctx.fileError
 * @param {(options: any) => any} ctx.takeSnapshot
 */
function createForkSnapshots(ctx) {
  const { native, v8, shared } = ctx
  // One child at a time: API calls queue behind it, signals that arrive meanwhile are dropped.
  /** @type {Promise<any> | null} */
  let inFlight = null

  function unavailable() {
    if (native.fallback || typeof native.forkUnavailable !== 'function') {
      return `the pure-JS fallback cannot fork (${native.reason ?? 'no native addon'})`
    }
    // A child forked from a Worker would die with that Worker's thread (PR_SET_PDEATHSIG).
    if (!native.isMainThread()) return 'fork snapshots are taken from the main thread only'
    return native.forkUnavailable()
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
   * too (inside an interrupt no timer fires).
   * @param {{ dir?: string, filename?: string, trigger: string, force?: boolean, mode: { fallback: boolean }, blocking?: boolean }} request
   * @returns {Promise<any>}
   */
  function take({ dir, filename, trigger, force = false, mode, blocking = false }) {
    const reason = unavailable()
    if (reason) {
      const err = unavailableError(reason, filename ?? ctx.resolveDir(dir))
      if (mode.fallback) return inProcess({ dir, filename, trigger, force }, err)
      return Promise.reject(err)
    }
    if (inFlight) {
      const previous = inFlight
      return previous.then(noop, noop).then(() => take({ dir, filename, trigger, force, mode }))
    }
    const started = process.hrtime.bigint()
    /** @type {{ release(): void } | null} */
    let turn = null
    // A closure: TypeScript does not narrow `turn` to null here, as it would at the call sites.
    const release = () => turn?.release()
    const run = () => {
      if (filename !== undefined) ctx.checkFilename(filename)
      const finalPath = filename === undefined ? null : path.resolve(ctx.currentDir(), filename)
      const targetDir = finalPath === null ? ctx.resolveDir(dir) : path.dirname(finalPath)
      const guarded = shared.config.guard && !force
      turn = guarded ? ctx.waitForTurn(targetDir, trigger) : null
      const before = native.processMemory()
      const heap = v8().getHeapStatistics()
      if (guarded) ctx.checkBudget(targetDir, before.rss, trigger, heap)
      const byName = ctx.checkWritePermission(finalPath ?? targetDir)
      const file = { dir: finalPath === null ? targetDir : null, filename: finalPath, byName, heapUsed: heap.used_heap_size }
      return attempts(file, { blocking, trigger, started, before, targetDir })
    }
    let promise
    try {
      promise = run()
    } catch (err) {
      release()
      if (mode.fallback && isForkFailure(err)) return inProcess({ dir, filename, trigger, force }, err)
      return Promise.reject(err)
    }
    const done = promise.finally(() => {
      release()
      if (inFlight === done) inFlight = null
    })
    inFlight = done
    if (!mode.fallback) return done
    return done.catch((err) => (isForkFailure(err) ? inProcess({ dir, filename, trigger, force }, err) : Promise.reject(err)))
  }

  /** Forks (retrying a crashed or stalled child) until a child writes the file. */
  async function attempts(file, { blocking, trigger, started, before, targetDir }) {
    let pauseMs = 0
    for (let attempt = 1; ; attempt++) {
      const start = await (attempt === 1 ? forkNow(file, blocking) : forkWhenQuiet(file))
      pauseMs = Math.max(pauseMs, start.pauseMs)
      const end = await waitFor(start.pid)
      if (end.ok) {
        if (file.filename === null && shared.config.keep !== null) ctx.prune(targetDir, end.path)
        const after = native.processMemory()
        return {
          path: end.path,
          bytes: end.bytes,
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
    const start = native.forkSnapshotStart(file.dir, file.filename, file.byName, file.heapUsed, QUIET_WAIT_MS, force)
    if ('code' in start) throw ctx.fileError(start)
    if (start.child) childWrite(start.writerPath)
    return start
  }

  /** In the child: write, mark, _exit. Never returns. */
  function childWrite(writerPath) {
    let code = EXIT_WRITER_FAILED
    try {
      v8().writeHeapSnapshot(writerPath)
      code = 0
    } catch (err) {
      try {
        fs.writeSync(2, `rheapdump (fork child): V8's writer failed: ${err.message}\n`)
      } catch {
        // stderr closed: the exit code says it
      }
    }
    if (code === 0) native.forkChildFinish(writerPath)
    native.forkChildExit(code)
  }

  function waitFor(pid) {
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const end = native.forkSnapshotPoll(pid)
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

  /** The in-process snapshot the user asked for when the fork fails; guarded as usual. */
  function inProcess(options, forkError) {
    return new Promise((resolve) => setImmediate(resolve)).then(() => {
      const info = ctx.takeSnapshot(options)
      info.via = 'in-process'
      info.forkError = { code: forkError.code, description: forkError.description }
      return info
    })
  }

  /**
   * A fork snapshot nobody awaits (signal, automatic): one stderr line for its outcome, and
   * the events. Served inside a V8 interrupt (`via`), the fork happens there and then.
   * @param {{ trigger: string, via?: string, dir?: string, note?: string | null, mode: { fallback: boolean } }} request
   */
  function reported({ trigger, via, dir, note, mode }) {
    if (inFlight) {
      ctx.writeStderr(`rheapdump: heap snapshot skipped: a fork snapshot is still being written`)
      return
    }
    take({ dir, trigger, mode, blocking: via === 'interrupt' }).then(
      (info) => {
        if (via) info.delivery = via
        if (note) info.reason = note
        if (!shared.config.quiet) {
          const why = note ? `, ${note}` : ''
          const how = info.via === 'fork' ? ` by a fork child in ${(info.childMs / 1000).toFixed(2)} s, the service paused ${info.pauseMs.toFixed(1)} ms` : ` in-process after the fork failed (${info.forkError.code})`
          ctx.writeStderr(`rheapdump: wrote ${info.path} (${ctx.formatBytes(info.bytes)})${how}${why}`)
        }
        ctx.announce(null, info)
      },
      (err) => {
        ctx.writeStderr(`rheapdump: heap snapshot failed: ${err.code} ${err.path} (${err.description})`)
        ctx.announce(err)
      },
    )
  }

  return { take, reported }
}

function noop() {}

/** A failure of the fork itself (ERR_RHEAPDUMP_FORK_*), not of the file or the guard. */
function isForkFailure(/** @type {any} */ err) {
  return /^ERR_RHEAPDUMP_FORK_/.test(err?.code ?? '')
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

module.exports = { createForkSnapshots, forkMode, checkFork }
