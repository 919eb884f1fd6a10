// @ts-check
'use strict'

// The signal-request side of the hand-off: the main thread's receiver of the snapshot requests
// that the addon's signal thread and near-heap-limit callback make (crates/addon/src/handoff.rs), and the
// switches of the copy that owns the signal.
//
// The snapshot's path (lib/capture.js and what it requires: the guard, the writer) is loaded by
// the first request, not at `require`: a process that is never signalled never pays for it. When
// the loop is stuck, that first load runs inside the V8 interrupt like the snapshot itself; if the
// interrupted code left too little stack for it, the request is handed back to the loop as for any
// stack overflow there (crates/addon/src/handoff.rs).

const { binding: native } = require('./binding')
const facts = require('./facts')
// lib/report.js is loaded by the first line to tell, not at require.
/** @param {string} line */
const writeStderr = (line) => require('./report').writeStderr(line)
const { current } = require('./shared')

const shared = current()

/**
 * What a request asks for: the profile first (it is cheap, names the allocating functions, and
 * is still written when the guard refuses the snapshot), then the snapshot. Near the heap limit
 * both are wanted whatever the action.
 * @param {string} trigger
 * @param {{ signalAction: string, sampling: number | false }} config
 */
function planRequest(trigger, config) {
  const action = trigger === 'near-heap-limit' ? 'both' : config.signalAction
  const sampling = config.sampling !== false
  return {
    profile: sampling && action !== 'snapshot',
    snapshot: action !== 'profile',
    // Asked for a profile alone with nothing to read it from: said on stderr.
    samplingOff: !sampling && action === 'profile',
    note: trigger === 'near-heap-limit' ? 'near the heap limit' : null,
  }
}

/**
 * What the stderr line of a refused snapshot adds: where the evidence is, or how to get it next
 * time. `profile` is the profile this request wrote, if any.
 * @param {{ path: string } | null | undefined} profile
 * @param {{ signalAction: string, sampling: number | false }} config
 * @returns {string | null}
 */
function refusalHint(profile, config) {
  if (profile) return `the heap profile written just before names the code that allocated what stays: rheapdump profile top ${profile.path}`
  if (config.sampling === false) {
    const interval = `${facts.sampling.defaultInterval / 1024}k`
    return `for a heap profile instead (one full GC, no snapshot), sample from start-up: RHEAPDUMP_SAMPLING=${interval} ` +
      `or configure({ sampling: '${interval}' }); then each SIGUSR2 writes a profile first, even when the snapshot is refused`
  }
  if (config.signalAction === 'snapshot') return "sampling is on, but signalAction is 'snapshot': RHEAPDUMP_SIGNAL_ACTION=both or configure({ signalAction: 'both' }) writes a heap profile first"
  return null // the profile failed: its own line said why
}

/**
 * Called from the event loop (`via` 'loop') and from inside a V8 interrupt in the middle of
 * running JavaScript ('interrupt'); the first to claim the request writes it.
 * @param {string} [via]
 */
function receiveRequest(via = 'loop') {
  // Why the native side asked: the trigger's name (crates/core/src/request.rs, Reason::name).
  const trigger = native.claimRequest()
  if (trigger === null) return
  // A request that waited for memory off the main thread comes back with the outcome.
  const queued = native.takeQueued()
  let waiting = false
  // Inside an interrupt, an exception that escapes from here (the interrupted code was near its
  // stack limit) hands the request back: the native side lets the event loop serve it.
  let handedBack = via === 'interrupt'
  if ('fallback' in native && !shared.config.quiet && !shared.fallbackNoted) {
    shared.fallbackNoted = true
    writeStderr(`rheapdump: without its native addon (${native.reason}), SIGUSR2 snapshots wait for the event loop`)
  }
  try {
    const deferrable = via === 'interrupt'
    const plan = planRequest(trigger, shared.config)
    // Only asked for while sampling runs, which has loaded the sampler; lib/profile.js itself is
    // loaded here, the first time (in an interrupt too: a failure hands the request back).
    const profile = plan.profile && !queued ? require('./profile').reportedProfile({ trigger, via, deferrable }) : null
    if (plan.samplingOff && !queued) {
      writeStderr('rheapdump: SIGUSR2 asks for a heap profile (signalAction: profile), but sampling is off: configure({ sampling: true }) or RHEAPDUMP_SAMPLING=1')
    }
    const capture = plan.snapshot ? loadCapture(via) : null
    if (capture) waiting = capture.reportedSnapshot({ trigger, via, note: plan.note, deferrable, queue: true, queued, refusalHint: refusalHint(profile, shared.config) })
    else if (queued && !('reason' in queued)) queued.release() // signalAction changed while it waited
    handedBack = false
  } finally {
    if (!handedBack && !waiting) native.requestDone()
  }
}

/**
 * lib/capture.js, loaded by the first request for a snapshot; null when it cannot be loaded
 * (said on stderr: the request ends, the process runs on). Inside an interrupt a failure
 * escapes instead, and the event loop, with the whole stack, serves the request.
 * @param {string} via
 * @returns {typeof import('./capture') | null}
 */
function loadCapture(via) {
  try {
    return require('./capture')
  } catch (err) {
    if (via === 'interrupt') throw err
    writeStderr(`rheapdump: heap snapshot failed: ${/** @type {Error} */ (err).message}`)
    return null
  }
}

/**
 * The switches of the copy that owns the signal: the receiver, interrupts, the signal watcher
 * and near-heap-limit snapshots.
 * @returns {import('./shared').Controller}
 */
function createController() {
  let receiving = false
  let interruptible = false
  let nearHeapLimit = false

  return {
    apply(config) {
      const wanted = config.signal || nearHeapLimit
      if (wanted && !receiving) {
        interruptible = native.setMainReceiver(receiveRequest)
        receiving = true
      }
      native.setInterrupts(config.watchdog)
      if (config.signal) native.startSignalWatcher()
      else native.stopSignalWatcher()
    },
    armNearHeapLimit(count) {
      native.armNearHeapLimit(count)
      // Its snapshot comes when the heap is at its limit: no moment to compile the code that takes it.
      require('./capture')
      nearHeapLimit = true
      this.apply(shared.config)
    },
    /** Whether a request reaches a stuck main thread (the `watchdog` setting, where V8 allows). */
    get interrupts() {
      return receiving && interruptible && shared.config.watchdog
    },
  }
}

/**
 * Start-up of the first copy on the main thread: it owns the signal and near-heap-limit
 * snapshots. A part that cannot start is turned off and said on stderr; the app runs on.
 */
function takeOwnership() {
  if (shared.controller || !native.isMainThread()) return
  shared.controller = createController()
  if (shared.config.signal) {
    try {
      shared.controller.apply(shared.config)
    } catch (err) {
      writeStderr(`rheapdump: SIGUSR2 snapshots are off: ${err.message}`)
      shared.config.signal = false
    }
  }
  if (shared.config.nearHeapLimit) {
    try {
      shared.controller.armNearHeapLimit(shared.config.nearHeapLimit)
    } catch (err) {
      writeStderr(`rheapdump: near-heap-limit snapshots are off: ${err.message}`)
      shared.config.nearHeapLimit = 0
    }
  }
}

module.exports = { planRequest, refusalHint, receiveRequest, takeOwnership }
