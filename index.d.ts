/// <reference types="node" />

/** How a snapshot was asked for. */
export type SnapshotTrigger = 'api' | 'signal'

/** A complete snapshot file. */
export interface SnapshotInfo {
  /** Absolute path of the file (as given, for an explicit filename). */
  path: string
  /** File size in bytes. */
  bytes: number
  /** Wall time from start to the file being durable under its name. */
  durationMs: number
  trigger: SnapshotTrigger
  /** For signal snapshots: 'watchdog' (taken inside a V8 interrupt) or 'loop' (taken when the event loop turned). */
  via?: 'watchdog' | 'loop'
  /** Process RSS in bytes before, at the peak (when this snapshot raised the process's peak; else null) and after (freed memory returned to the OS). */
  rss: { before: number; peak: number | null; after: number }
}

/** An Error from a failed snapshot: `code` is an errno name (ENOENT, ENOSPC, …) or an ERR_* code. */
export interface SnapshotError extends Error {
  code: string
  path?: string
  syscall?: string
  /** The OS's description of the failure, e.g. 'no space left on device'. */
  description?: string
}

export interface SnapshotOptions {
  /** Directory for a default-named file. Default: configure({ dir }), RHEAPDUMP_DIR, --diagnostic-dir, then the working directory. */
  dir?: string
  /** Exact path of the file; an existing regular file there is replaced atomically. */
  filename?: string
}

export interface Config {
  /** SIGUSR2 writes a snapshot. Default true; off with NODE_HEAPDUMP_OPTIONS=nosignal or RHEAPDUMP_SIGNAL=0. */
  signal: boolean
  /** A watchdog Worker (~10 MB RSS) makes signal snapshots work while the event loop is stuck. Default true; RHEAPDUMP_WATCHDOG=0. */
  watchdog: boolean
  /** No stderr line for successful signal snapshots (failures are always reported). Default false; RHEAPDUMP_QUIET=1. */
  quiet: boolean
  /** Directory for default-named snapshots, or null. Default RHEAPDUMP_DIR. */
  dir: string | null
}

export interface SpaceUsage {
  size: number
  used: number
  available: number
  physical: number
}

export interface MemoryUsage {
  /** Resident set size in bytes, as `ps -o rss` (× 1024). */
  rss: number
  /** Virtual size in bytes, as `ps -o vsz` (× 1024). */
  vsz: number
  /** Peak RSS since start (VmHWM), or null where unknown. */
  peakRss: number | null
  heapTotal: number
  heapUsed: number
  external: number
  arrayBuffers: number
  /** V8's heap size limit. */
  heapLimit: number
  mallocedMemory: number
  /** Per V8 space, keyed by V8's names: new_space, old_space, code_space, large_object_space, … */
  spaces: Record<string, SpaceUsage>
}

export interface GcResult {
  /** Used V8 heap before and after, in bytes. */
  before: number
  after: number
  freed: number
  durationMs: number
}

export interface SignalStatus {
  /** SIGUSR2 deliveries seen by rheapdump. */
  received: number
  /** Deliveries that arrived while a snapshot was being written and started none. */
  coalesced: number
  /** Whether SIGUSR2 is being watched. */
  active: boolean
  /** Whether the watchdog Worker runs. */
  watchdog: boolean
}

/** heapdump's API: writes synchronously and calls `callback` before returning. Returns true on success. */
export function writeSnapshot(callback?: (err: SnapshotError | null, filename?: string) => void): boolean
export function writeSnapshot(filename?: string, callback?: (err: SnapshotError | null, filename?: string) => void): boolean
/** Writes a snapshot; rejects with a SnapshotError. */
export function snapshot(options?: SnapshotOptions): Promise<SnapshotInfo>
export function memoryUsage(): MemoryUsage
/** A full garbage collection, without --expose-gc. */
export function gc(): GcResult
export function configure(options: Partial<Config>): Config
export function getConfig(): Config
export function signalStatus(): SignalStatus
export function on(event: 'snapshot', listener: (info: SnapshotInfo) => void): typeof rheapdump
export function on(event: 'snapshotError', listener: (err: SnapshotError) => void): typeof rheapdump
export function off(event: 'snapshot' | 'snapshotError', listener: (...args: any[]) => void): typeof rheapdump
export function once(event: 'snapshot', listener: (info: SnapshotInfo) => void): typeof rheapdump
export function once(event: 'snapshotError', listener: (err: SnapshotError) => void): typeof rheapdump

declare const rheapdump: {
  writeSnapshot: typeof writeSnapshot
  snapshot: typeof snapshot
  memoryUsage: typeof memoryUsage
  gc: typeof gc
  configure: typeof configure
  getConfig: typeof getConfig
  signalStatus: typeof signalStatus
  on: typeof on
  off: typeof off
  once: typeof once
}
export default rheapdump
