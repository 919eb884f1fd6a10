// @ts-check
'use strict'

// monitor(): GC activity, leaks and memory pressure inside the process, snapshots taken
// automatically when memory crosses a threshold, and sampling heap profiles when a leak shows.
//
// GC data comes from v8.GCProfiler, which records each collection's type, pause and the heap
// before and after it; the monitor drains it at least once a second. That gives the exact heap
// after each full GC, which the leak rule needs, at a cost of microseconds per drain; timers are
// unref'd so a monitor never keeps a process alive.

const EventEmitter = require('node:events')
const v8 = require('node:v8')

const KINDS = {
  Scavenge: 'scavenge',
  MinorMarkSweep: 'minor-mark-sweep',
  MinorMarkCompact: 'minor-mark-sweep',
  MarkSweepCompact: 'mark-compact',
  IncrementalMarking: 'incremental-marking',
  ProcessWeakCallbacks: 'weak-callbacks',
}

const DEFAULTS = {
  interval: 10000,
  window: 60000,
  pressure: 0.1,
  leakGrowths: 5,
  // Measured: a steady workload's heap after full GCs creeps by a few hundred bytes to a few KB
  // per GC while code warms up, which made the bare rule fire; a leak grows by far more.
  leakMinGrowth: 32 * 1024,
}

const SNAPSHOT_DEFAULTS = { max: 3, minInterval: 60000 }
// A profile costs a full GC, not a snapshot's freeze: more of them, still rate-limited.
const PROFILE_DEFAULTS = { max: 10, minInterval: 60000 }

class Monitor extends EventEmitter {
  #options
  #hooks
  #profiler = new v8.GCProfiler()
  #started = Date.now()
  #sampleTimer
  #statsTimer
  #recent = [] // { at, pauseMs } within the window
  #counts = {} // kind → { count, pauseMs } since the last 'stats'
  #streak = [] // { at, heapUsed } after consecutive growing full GCs
  /** @type {{ at: number, heapUsed: number } | null} */
  #lastFullGc = null
  #automatic = { taken: 0, last: -Infinity }
  #profiles = { taken: 0, last: -Infinity }

  constructor(options, hooks) {
    super()
    this.#options = options
    this.#hooks = hooks
    this.#profiler.start()
    const sample = Math.min(options.interval, 1000)
    this.#sampleTimer = setInterval(() => this.#sample(), sample).unref()
    this.#statsTimer = setInterval(() => this.#stats(), options.interval).unref()
  }

  /** Stops monitoring; no event is emitted afterwards. */
  stop() {
    clearInterval(this.#sampleTimer)
    clearInterval(this.#statsTimer)
    this.#profiler.stop()
    this.#sampleTimer = null
  }

  get running() {
    return this.#sampleTimer !== null
  }

  #drain() {
    const data = this.#profiler.stop()
    this.#profiler.start()
    const { statistics, startTime, endTime } = data
    statistics.forEach((entry, i) => {
      // GCProfiler gives the period, not each GC's time: spread them over it.
      const at = startTime + ((i + 1) / statistics.length) * (endTime - startTime)
      const kind = KINDS[entry.gcType] || entry.gcType
      const pauseMs = entry.cost / 1000
      const heapUsedBefore = entry.beforeGC.heapStatistics.usedHeapSize
      const heapUsedAfter = entry.afterGC.heapStatistics.usedHeapSize
      const count = (this.#counts[kind] ??= { count: 0, pauseMs: 0 })
      count.count++
      count.pauseMs += pauseMs
      this.#recent.push({ at, pauseMs })
      this.emit('gc', { kind, pauseMs, heapUsedBefore, heapUsedAfter })
      if (kind === 'mark-compact') this.#fullGc(at, heapUsedAfter, entry.afterGC.heapSpaceStatistics)
    })
  }

  // memwatch's rule: the heap after full GCs grew N times in a row (each time by at least
  // leakMinGrowth bytes).
  #fullGc(at, heapUsed, spaceStatistics = []) {
    this.#lastFullGc = { at, heapUsed }
    const spaces = Object.fromEntries(spaceStatistics.map((space) => [space.spaceName, space.spaceUsedSize]))
    const previous = this.#streak.at(-1)
    if (previous && heapUsed - previous.heapUsed < this.#options.leakMinGrowth) this.#streak = []
    this.#streak.push({ at, heapUsed, spaces })
    if (this.#streak.length > this.#options.leakGrowths) {
      const first = this.#streak[0]
      const growth = heapUsed - first.heapUsed
      const periodMs = at - first.at
      const ratePerHour = periodMs > 0 ? (growth / periodMs) * 3600000 : null
      this.emit('leak', {
        growth,
        periodMs,
        ratePerHour,
        heapUsed,
        samples: this.#streak.map((s) => s.heapUsed),
        spaces: spaceGrowth(first.spaces, spaces),
      })
      this.#streak = [{ at, heapUsed, spaces }]
      const profiles = this.#options.profiles
      if (profiles && allowed(this.#profiles, profiles)) {
        this.#hooks.leakProfile({ dir: profiles.dir, reason: `heap after full GCs grew ${mib(growth)} in ${this.#options.leakGrowths} GCs` })
      }
    }
  }

  #gcShare(now) {
    const since = now - this.#options.window
    this.#recent = this.#recent.filter((r) => r.at >= since)
    const span = Math.min(this.#options.window, now - this.#started)
    const pauseMs = this.#recent.reduce((sum, r) => sum + r.pauseMs, 0)
    return { share: span > 0 ? Math.min(1, pauseMs / span) : 0, pauseMs, windowMs: span }
  }

  #sample() {
    this.#drain()
    const snapshots = this.#options.snapshots
    if (snapshots) this.#maybeSnapshot(snapshots)
  }

  #maybeSnapshot({ heapUsed, rss, max, minInterval, dir }) {
    if (!allowed(this.#automatic, { max, minInterval }, false)) return
    const memory = this.#hooks.memoryUsage()
    /** @type {string | null} */
    let reason = null
    if (heapUsed !== undefined && memory.heapUsed > heapUsed) reason = `heap used ${mib(memory.heapUsed)} > ${mib(heapUsed)}`
    else if (rss !== undefined && memory.rss > rss) reason = `RSS ${mib(memory.rss)} > ${mib(rss)}`
    if (!reason) return
    allowed(this.#automatic, { max, minInterval })
    this.#hooks.automaticSnapshot({ dir, reason })
    // From the end of this snapshot: a long one must not eat into the interval.
    this.#automatic.last = Date.now()
  }

  #stats() {
    this.#drain()
    const now = Date.now()
    const { share, pauseMs, windowMs } = this.#gcShare(now)
    const memory = this.#hooks.memoryUsage()
    this.emit('stats', {
      intervalMs: this.#options.interval,
      gc: this.#counts,
      gcShare: share,
      gcPauseMs: pauseMs,
      windowMs,
      heapUsedAfterLastFullGc: this.#lastFullGc ? this.#lastFullGc.heapUsed : null,
      heapUsed: memory.heapUsed,
      heapLimit: memory.heapLimit,
      rss: memory.rss,
    })
    this.#counts = {}
    if (share > this.#options.pressure) {
      this.emit('pressure', { share, threshold: this.#options.pressure, windowMs, gcPauseMs: pauseMs })
    }
  }
}

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`

/**
 * What grew, by V8 heap space, largest first: `{ old_space: bytes, … }`, only spaces that grew.
 * @param {Record<string, number>} before
 * @param {Record<string, number>} after
 */
function spaceGrowth(before, after) {
  const grown = Object.entries(after)
    .map(([name, used]) => /** @type {[string, number]} */ ([name, used - (before[name] ?? 0)]))
    .filter(([, growth]) => growth > 0)
    .sort((a, b) => b[1] - a[1])
  return Object.fromEntries(grown)
}

/** Rate limit: at most `max` in all, `minInterval` ms apart; `take` counts this one if allowed. */
function allowed(state, { max, minInterval }, take = true) {
  const now = Date.now()
  if (state.taken >= max || now - state.last < minInterval) return false
  if (take) {
    state.taken++
    state.last = now
  }
  return true
}

module.exports = { Monitor, DEFAULTS, SNAPSHOT_DEFAULTS, PROFILE_DEFAULTS }
