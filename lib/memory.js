// @ts-check
'use strict'

// memoryUsage() and gc(), and node:v8 loaded on first use for the whole of lib/.

const { binding: native } = require('./binding')

/** @type {typeof import('node:v8') | null} */
let v8Module = null
/** node:v8, loaded on first use: it alone costs ~2 MB of RSS in a process that never snapshots. */
const v8 = () => (v8Module ??= require('node:v8'))

/** Process and V8 heap memory, in bytes. */
function memoryUsage() {
  const proc = native.processMemory()
  const usage = process.memoryUsage()
  const heap = v8().getHeapStatistics()
  /** @type {Record<string, { size: number, used: number, available: number, physical: number }>} */
  const spaces = {}
  for (const space of v8().getHeapSpaceStatistics()) {
    spaces[space.space_name] = {
      size: space.space_size,
      used: space.space_used_size,
      available: space.space_available_size,
      physical: space.physical_space_size,
    }
  }
  return {
    rss: proc.rss,
    // The fallback cannot know VSZ and leaves it out.
    ...(proc.vsz === undefined ? {} : { vsz: proc.vsz }),
    peakRss: proc.peakRss ?? null,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    heapLimit: heap.heap_size_limit,
    mallocedMemory: heap.malloced_memory,
    spaces,
  }
}

/** @type {(() => void) | null} */
let fullGc = null

/**
 * Runs a full (mark-compact) collection without --expose-gc and without leaving a global `gc`.
 * Returns `{ before, after, freed, durationMs }` of V8's used heap.
 */
function gc() {
  fullGc ??= obtainGc()
  const before = process.memoryUsage().heapUsed
  const started = process.hrtime.bigint()
  fullGc() // no argument: on Node 20, gc({ type: 'major' }) silently runs a minor GC
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6
  const after = process.memoryUsage().heapUsed
  return { before, after, freed: Math.max(0, before - after), durationMs }
}

/** @returns {() => void} */
function obtainGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc
  // --expose-gc only installs `gc` in contexts created while it is set: create one, take its
  // gc, and turn the flag off again so that later Workers and contexts do not get a global gc.
  v8().setFlagsFromString('--expose-gc')
  try {
    return require('node:vm').runInNewContext('gc')
  } finally {
    v8().setFlagsFromString('--no-expose-gc')
  }
}

module.exports = { v8, memoryUsage, gc }
