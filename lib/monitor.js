// @ts-check
'use strict'

// monitor(): GC activity, leaks and memory pressure inside the process, snapshots taken
// automatically when memory crosses a threshold, and sampling heap profiles when a leak shows.
//
// GC data comes from v8.GCProfiler, which records each collection's type, pause and the heap
// before and after it; the monitor drains it at least once a second. That gives the exact heap
// after each GC, which the two leak rules need, at a cost of microseconds per drain; timers are
// unref'd so a monitor never keeps a process alive.
//
// Two rules raise 'leak'. memwatch's ('full-gcs'): the heap after full GCs grew leakGrowths times
// in a row. It needs full GCs, and a fast leak gets few: V8 grows the old generation's limit with
// the heap, so a heap growing ~100 MB/s saw 3 full GCs in 20 s. The growth rule ('growth') reads
// the heap after every GC, scavenges included: what survives a scavenge is either live or
// garbage promoted to the old generation, which a steady workload promotes at a few MB/s at most
// (measured: 0.7 MB/s for a rolling cache of 400,000 objects) and which the next full GC takes
// back. So: the heap after GCs rose by leakFastGrowth within leakWindow and is still at its
// highest. A full GC that lands within leakFastGrowth / 2 of the low point refutes the rise (the
// rule starts over); one that keeps at least half of the rise confirms it, and the event says so. A workload whose full GCs
// have refuted a large rise in the last REFUTED_MEMORY windows promotes garbage in bulk: there the
// rule waits for a confirming full GC.

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
  leakWindow: 10000,
  leakFastGrowth: 64 * 1024 * 1024,
}

// The growth rule's samples: the heap after each GC within leakWindow.
const MIN_GROWTH_SAMPLES = 3
// How many windows a refuted rise makes the growth rule wait for a full GC's confirmation.
const REFUTED_MEMORY = 6

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
  /** @type {{ at: number, heapUsed: number, full: boolean, confirms: boolean, spaces: Record<string, number> }[]} */
  #growth = [] // the heap after every GC, for the growth rule
  #growthQuietUntil = -Infinity // one growth alarm per leakWindow
  #refutedAt = -Infinity // when a full GC last took back a rise of leakFastGrowth / 2
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
      const spaces = spaceSizes(entry.afterGC.heapSpaceStatistics)
      if (kind === 'mark-compact') this.#fullGc(at, heapUsedAfter, spaces)
      this.#afterGc(at, heapUsedAfter, kind === 'mark-compact', spaces)
    })
  }

  // The growth rule: see the top of this file.
  #afterGc(at, heapUsed, full, spaces) {
    const { leakWindow, leakFastGrowth } = this.#options
    let samples = this.#growth.filter((s) => s.at >= at - leakWindow)
    const sample = { at, heapUsed, full, confirms: false, spaces }
    if (full && samples.length) {
      const low = samples[lowest(samples)].heapUsed
      const high = Math.max(...samples.map((s) => s.heapUsed))
      if (heapUsed - low < leakFastGrowth / 2) {
        // Refuted: the rise was garbage. A workload that promotes that much garbage between full
        // GCs makes the rule wait for a full GC's word before it raises the next alarm.
        if (high - low >= leakFastGrowth / 2) this.#refutedAt = at
        samples = []
      } else sample.confirms = true
    }
    samples.push(sample)
    this.#growth = samples
    const low = lowest(samples)
    const start = samples[low]
    const since = samples.slice(low)
    const growth = heapUsed - start.heapUsed
    if (growth < leakFastGrowth || since.length < MIN_GROWTH_SAMPLES || since.some((s) => s.heapUsed > heapUsed)) return
    // Confirmed: a full GC since the low point kept at least half of the rise.
    const confirmed = since.some((s) => s.confirms && s.heapUsed - start.heapUsed >= growth / 2)
    if (!confirmed && at - this.#refutedAt < REFUTED_MEMORY * leakWindow) return
    if (at < this.#growthQuietUntil) return
    const periodMs = at - start.at
    this.#leak({
      rule: 'growth',
      confirmed,
      growth,
      periodMs,
      heapUsed,
      samples: since.map((s) => s.heapUsed),
      spaces: spaceGrowth(start.spaces, spaces),
      reason: `heap after GCs grew ${mib(growth)} in ${(periodMs / 1000).toFixed(1)} s`,
    })
    // The next alarm needs a new rise of leakFastGrowth from here, and a window's quiet.
    this.#growth = [sample]
    this.#growthQuietUntil = at + leakWindow
  }

  // memwatch's rule: the heap after full GCs grew N times in a row (each time by at least
  // leakMinGrowth bytes).
  #fullGc(at, heapUsed, spaces) {
    this.#lastFullGc = { at, heapUsed }
    const previous = this.#streak.at(-1)
    if (previous && heapUsed - previous.heapUsed < this.#options.leakMinGrowth) this.#streak = []
    this.#streak.push({ at, heapUsed, spaces })
    if (this.#streak.length > this.#options.leakGrowths) {
      const first = this.#streak[0]
      const growth = heapUsed - first.heapUsed
      this.#leak({
        rule: 'full-gcs',
        confirmed: true,
        growth,
        periodMs: at - first.at,
        heapUsed,
        samples: this.#streak.map((s) => s.heapUsed),
        spaces: spaceGrowth(first.spaces, spaces),
        reason: `heap after full GCs grew ${mib(growth)} in ${this.#options.leakGrowths} GCs`,
      })
      this.#streak = [{ at, heapUsed, spaces }]
    }
  }

  #leak({ reason, ...event }) {
    const ratePerHour = event.periodMs > 0 ? (event.growth / event.periodMs) * 3600000 : null
    this.emit('leak', { ...event, ratePerHour })
    const profiles = this.#options.profiles
    if (profiles && allowed(this.#profiles, profiles)) this.#hooks.leakProfile({ dir: profiles.dir, reason })
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
    // Judged over a whole window only: over the first interval alone, one start-up pause is a
    // large share (measured: a 4 ms scavenge on Node 26 in the first 100 ms, and 13 ms for a full GC
    // of 100,000 objects), and a machine that preempts the process makes it larger.
    if (windowMs >= this.#options.window && share > this.#options.pressure) {
      this.emit('pressure', { share, threshold: this.#options.pressure, windowMs, gcPauseMs: pauseMs })
    }
  }
}

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`

/** @param {{ spaceName: string, spaceUsedSize: number }[]} statistics */
const spaceSizes = (statistics = []) => Object.fromEntries(statistics.map((space) => [space.spaceName, space.spaceUsedSize]))

/** The index of the lowest heap in `samples`, the latest of equals. */
function lowest(samples) {
  let low = 0
  samples.forEach((s, i) => {
    if (s.heapUsed <= samples[low].heapUsed) low = i
  })
  return low
}

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
