// @ts-check
'use strict'

// V8's sampling heap profiler, read through an inspector session on this thread.
//
// Why this shape:
// - One session, connected on first use and never disconnected. Disconnecting a session
//   disables its HeapProfiler agent, which clears V8's heap object ids: every later snapshot
//   would renumber every object and no comparison of two snapshots would hold. A same-thread
//   session left connected does not keep the process alive and exits cleanly.
// - A same-thread session's `post` runs its callback before returning, so a profile can be read
//   anywhere JavaScript runs, including inside the V8 interrupt that serves SIGUSR2 while the
//   event loop is stuck.
// - V8 has one sampler per isolate. A second startSampling keeps the first interval and any
//   session's stopSampling stops it for all. So rheapdump never starts over a sampler someone
//   else runs, never stops one it did not start, and says so once.
// - includeObjectsCollectedByMajorGC/MinorGC are never set: with them the samples grow without
//   bound. Without them a profile holds live objects only, which is what a leak hunt wants.

const fs = require('node:fs')

const { samplingError } = require('./errors')
const { current } = require('./shared')

const NOT_STARTED = /not started/i

/** The sampler of this thread; `state` lives in the thread's shared rheapdump state. */
function createSampler(state, { quiet }) {
  /** @type {import('node:inspector').Session | null} */
  let session = null

  function post(method, params) {
    session ??= connect()
    /** @type {{ err: Error | null, result: any }[]} */
    const outcomes = []
    session.post(method, params, (err, result) => {
      outcomes.push({ err, result })
    })
    const outcome = outcomes[0]
    if (!outcome) throw samplingError('ERR_RHEAPDUMP_SAMPLING', `${method} did not answer synchronously`)
    if (outcome.err) throw outcome.err
    return outcome.result
  }

  function connect() {
    const { Session } = require('node:inspector')
    const connected = new Session()
    connected.connect()
    return connected
  }

  function note(line) {
    if (quiet()) return
    try {
      fs.writeSync(2, `rheapdump: ${line}\n`)
    } catch {
      // stderr closed
    }
  }

  /** Whether V8's sampler runs (started by anyone); reading it forces a full GC when it does. */
  function runningElsewhere() {
    try {
      post('HeapProfiler.getSamplingProfile')
      return true
    } catch (err) {
      if (NOT_STARTED.test(err.message)) return false
      throw err
    }
  }

  return {
    /** Samples every `interval` bytes from now on; `null` stops rheapdump's own sampler. */
    set(interval) {
      if (interval === null) {
        if (state.owner === 'rheapdump') post('HeapProfiler.stopSampling')
        Object.assign(state, { owner: null, interval: null, startedAt: null })
        return
      }
      if (state.owner === 'rheapdump' && state.interval === interval) return
      if (state.owner === 'rheapdump') {
        post('HeapProfiler.stopSampling')
      } else if (runningElsewhere()) {
        if (!state.borrowNoted) {
          state.borrowNoted = true
          note('the sampling heap profiler was already running (another inspector session started it); ' +
            `profiles read it as it is, at its own interval, not ${interval} bytes, and rheapdump never stops it`)
        }
        Object.assign(state, { owner: 'other', interval: null, startedAt: state.startedAt ?? new Date() })
        return
      }
      post('HeapProfiler.startSampling', { samplingInterval: interval })
      Object.assign(state, { owner: 'rheapdump', interval, startedAt: new Date() })
    },

    /** The profile of the objects sampled and still alive (V8 runs a full GC first). */
    read() {
      if (!state.owner) {
        throw samplingError('ERR_RHEAPDUMP_SAMPLING_OFF',
          'the sampling heap profiler is off: turn it on with configure({ sampling: true }) or RHEAPDUMP_SAMPLING=1 ' +
            '(nothing allocated before it starts is sampled)')
      }
      try {
        return post('HeapProfiler.getSamplingProfile').profile
      } catch (err) {
        if (!NOT_STARTED.test(err.message)) throw err
        Object.assign(state, { owner: null, interval: null, startedAt: null })
        throw samplingError('ERR_RHEAPDUMP_SAMPLING_STOPPED',
          'the sampling heap profiler was stopped by another inspector session (V8 has one per process); ' +
            'configure({ sampling: true }) starts it again')
      }
    },
  }
}

/** @type {ReturnType<typeof createSampler> | null} */
let samplerOfThread = null

/** This thread's sampler, with its state in the shared state (one sampler whatever the copies). */
function sampler() {
  const shared = current()
  samplerOfThread ??= createSampler(shared.sampling, { quiet: () => shared.config.quiet })
  return samplerOfThread
}

const EXTERNAL_FRAME = { functionName: '(external)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }

/**
 * The file's content: V8's profile as DevTools loads it (`head`, `samples`), with memory outside
 * the JS heap as an `(external)` child of the root that no sample points at (the sampler cannot
 * see it), and rheapdump's metadata under a key DevTools ignores.
 */
function profileDocument(profile, { interval, startedAt, memory, trigger }) {
  let maxId = 0
  const stack = [profile.head]
  while (stack.length) {
    const node = stack.pop()
    if (node.id > maxId) maxId = node.id
    for (const child of node.children) stack.push(child)
  }
  // Node counts ArrayBuffers (Buffers included) inside `external`: it is the whole off-heap total.
  const external = { callFrame: EXTERNAL_FRAME, selfSize: memory.external, id: maxId + 1, children: [] }
  profile.head.children.push(external)
  return {
    head: profile.head,
    samples: profile.samples,
    rheapdump: {
      version: 1,
      interval,
      samplingSince: startedAt ? startedAt.toISOString() : null,
      writtenAt: new Date().toISOString(),
      trigger,
      pid: process.pid,
      node: process.version,
      external: { nodeId: external.id, bytes: memory.external, arrayBuffers: memory.arrayBuffers },
      heapUsed: memory.heapUsed,
    },
  }
}

module.exports = { createSampler, sampler, profileDocument }
