/// <reference types="node" />

import type { EventEmitter } from 'node:events'

import type { CheckReport, InstancesReport, LeakReport, ProfileDiffReport, ProfileTopReport, RedactionReport, ReportPage, RetainingPaths, SnapshotDiff, SnapshotSummary, SnapshotValidity } from './lib/reports'

/** How a snapshot was asked for. */
export type SnapshotTrigger = 'api' | 'signal' | 'near-heap-limit' | 'threshold' | 'leak'

/** A complete snapshot file. */
export interface SnapshotInfo {
  /** Absolute path of the file (as given, for an explicit filename). */
  path: string
  /** File size in bytes (compressed, for a compressed snapshot). */
  bytes: number
  /** A compressed snapshot: its format (docs/compression.md). */
  compress?: 'gzip' | 'zstd'
  /** A compressed snapshot written in-process: what V8 wrote, before compression, bytes. */
  plainBytes?: number
  /** Wall time from start to the file being durable under its name. */
  durationMs: number
  trigger: SnapshotTrigger
  /** For signal and near-heap-limit snapshots: 'interrupt' (taken inside a V8 interrupt, in the middle of running JavaScript) or 'loop' (taken when the event loop turned). Fork snapshots: 'fork', or 'in-process' when the fork failed and `fork: { fallback: true }` asked for this (then `delivery` says how a signal reached the main thread). */
  via?: 'interrupt' | 'loop' | 'fork' | 'in-process'
  /** Fork snapshots from a signal: how the request reached the main thread, which forked there. */
  delivery?: 'interrupt' | 'loop'
  /** Fork snapshots: how long the service was paused (waiting for quiet threads, then the fork), ms. */
  pauseMs?: number
  /** Fork snapshots: where `pauseMs` went, ms: waiting for quiet threads and opening the file, finding and re-allowing V8's heap into the child, fork() itself, marking the heap MADV_DONTFORK again. */
  pauseSplit?: { prepareMs: number; mappingsMs: number; forkMs: number; restoreMs: number }
  /** Fork snapshots: how long the child took to write the file, ms. */
  childMs?: number
  /** Fork snapshots: the child's peak RSS in bytes (counting the pages it shares with the service). */
  childPeakRss?: number
  /** Fork snapshots: children forked (a child that crashed, hung or timed out is retried up to 3 times, when the target is a file). */
  attempts?: number
  /** `via: 'in-process'`: why the fork snapshot failed. */
  forkError?: { code: string; description: string }
  /** `fork: 'auto'`: the in-process pause it estimated from the used heap, ms (forked when above `forkAbove`). */
  estimatedPauseMs?: number
  /** For automatic snapshots: why, e.g. 'heap used 512.3 MiB > 500.0 MiB' or 'near the heap limit'. */
  reason?: string
  /** Process RSS in bytes before, at the peak (VmHWM when this snapshot raised the process's peak; otherwise it stayed below an earlier peak and this is the larger of before and after) and after (freed memory returned to the OS). */
  rss: { before: number; peak: number; after: number }
}

/** An errno name, as Node reports it for a failed file operation (EIO when the errno has no name here). */
export type ErrnoCode =
  | 'ENOENT' | 'EACCES' | 'EPERM' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOSPC' | 'EDQUOT' | 'EROFS'
  | 'ENAMETOOLONG' | 'ELOOP' | 'EMFILE' | 'ENFILE' | 'EFBIG' | 'EXDEV' | 'EINVAL' | 'EBUSY' | 'ENXIO'
  | 'EOPNOTSUPP' | 'EIO'

/**
 * Every `code` an error from rheapdump can carry. lib/errors.js (CODES) says where each is made
 * and what it means; a test keeps this list, that table and the sources in step.
 */
export type RheapdumpErrorCode =
  | ErrnoCode
  // arguments
  | 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_STATE'
  // files under Node's permission model
  | 'ERR_ACCESS_DENIED'
  // the guard: refused snapshots
  | 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY' | 'ERR_RHEAPDUMP_INSUFFICIENT_DISK' | 'ERR_RHEAPDUMP_BUSY' | 'ERR_RHEAPDUMP_UNCOORDINATED'
  // sampling heap profiles
  | 'ERR_RHEAPDUMP_SAMPLING' | 'ERR_RHEAPDUMP_SAMPLING_OFF' | 'ERR_RHEAPDUMP_SAMPLING_STOPPED'
  // loading the addon, and what only the addon does
  | 'ERR_RHEAPDUMP_BINARY' | 'ERR_DLOPEN_DISABLED' | 'ERR_RHEAPDUMP_NO_ADDON'
  // the addon's own failures
  | 'ERR_RHEAPDUMP_PROC' | 'ERR_RHEAPDUMP_PRUNE' | 'ERR_RHEAPDUMP_RUNTIME' | 'ERR_RHEAPDUMP_SIGNAL_THREAD' | 'ERR_RHEAPDUMP_NODE_API'
  // fork snapshots (experimental)
  | 'ERR_RHEAPDUMP_FORK_UNAVAILABLE' | 'ERR_RHEAPDUMP_FORK_CRASHED' | 'ERR_RHEAPDUMP_FORK_STALLED' | 'ERR_RHEAPDUMP_FORK_TIMEOUT'
  | 'ERR_RHEAPDUMP_FORK_KILLED' | 'ERR_RHEAPDUMP_FORK_WRITE' | 'ERR_RHEAPDUMP_FORK_SETUP' | 'ERR_RHEAPDUMP_FORK_LOST' | 'ERR_RHEAPDUMP_FORK_FAILED'
  // uploads to object storage
  | 'ERR_RHEAPDUMP_UPLOAD_CREDENTIALS' | 'ERR_RHEAPDUMP_UPLOAD_REFUSED' | 'ERR_RHEAPDUMP_UPLOAD_UNREACHABLE' | 'ERR_RHEAPDUMP_UPLOAD'
  // snapshot analysis
  | 'ERR_SNAPSHOT_SYNTAX' | 'ERR_SNAPSHOT_UNSOUND' | 'ERR_NODE_NOT_FOUND' | 'ERR_SNAPSHOT_NOT_A_FILE' | 'ERR_SNAPSHOT_NOT_COMPARABLE' | 'ERR_RHEAPDUMP_ANALYSIS_INTERNAL'
  | 'ERR_SNAPSHOT_COMPRESSED_CORRUPT' | 'ERR_PROFILE_SYNTAX' | 'ERR_PROFILE_MISMATCH'
  // the portable (WebAssembly) analysis, beyond what its 4 GiB hold
  | 'ERR_RHEAPDUMP_WASM_TOO_LARGE' | 'ERR_RHEAPDUMP_WASM_MEMORY'

/**
 * An Error from a failed snapshot: `code` (a RheapdumpErrorCode) is an errno name (ENOENT, ENOSPC, …), an ERR_* argument
 * code, or ERR_RHEAPDUMP_INSUFFICIENT_MEMORY / ERR_RHEAPDUMP_INSUFFICIENT_DISK when the guard
 * refused it (then `needed` and `available` are in bytes); ERR_RHEAPDUMP_BUSY after waiting
 * queueTimeout for other processes' memory reservations (`holderPid` reserved `holderBytes`, the
 * most of them), ERR_RHEAPDUMP_UNCOORDINATED where no memory ledger can be written (`path`).
 */
export interface SnapshotError extends Error {
  code: string
  needed?: number
  available?: number
  holderPid?: number
  holderBytes?: number
  path?: string
  syscall?: string
  /** The OS's description of the failure, e.g. 'no space left on device'. */
  description?: string
}

export interface SnapshotOptions {
  /** Directory for a default-named file. Default: configure({ dir }), RHEAPDUMP_DIR, --diagnostic-dir, then the working directory. */
  dir?: string
  /** Exact path of the file (not together with dir); an existing regular file or symlink there is replaced atomically. */
  filename?: string
  /** Take it even if the guard estimates it would exhaust memory or disk. */
  force?: boolean
  /**
   * Experimental (docs/fork.md): a fork()ed child writes the snapshot, so the service pauses for
   * milliseconds instead of seconds. x86-64 Linux with glibc only (elsewhere it rejects with
   * ERR_RHEAPDUMP_FORK_UNAVAILABLE). Its object ids cannot be compared with any other snapshot's.
   * `{ fallback: true }`: take it in-process when the fork fails. Default: configure({ fork }).
   */
  fork?: ForkSetting
  /**
   * Compress this snapshot as V8 writes it: 'gzip' or 'zstd' (docs/compression.md); 'off' for a
   * plain file. Default: configure({ compress }) for a default name; a filename given is written
   * exactly as named, compressed only when this asks.
   */
  compress?: 'off' | 'gzip' | 'zstd'
}

/** `true`: fork snapshots; `{ fallback: true }`: and in-process when the fork fails; `'auto'`: fork (with the fallback) only when the in-process snapshot would pause the service longer than `forkAbove`. */
export type ForkSetting = boolean | 'auto' | { fallback?: boolean }

/** A complete sampling heap profile (`.heapprofile`, loadable in DevTools' Memory panel). */
/** A file uploaded to object storage (the `upload` setting, docs/upload.md). */
export interface UploadInfo {
  kind: 'snapshot' | 'profile'
  /** The local file. */
  path: string
  /** s3://BUCKET/KEY */
  url: string
  bucket: string
  key: string
  bytes: number
  /** 1 for a single PUT, else the number of parts of the multipart upload. */
  parts: number
  durationMs: number
  /** false when uploadKeepLocal is off and the local file was deleted after the upload. */
  localKept: boolean
}

/** A failed upload; the local file stays. */
export interface UploadError extends Error {
  code: 'ERR_RHEAPDUMP_UPLOAD_CREDENTIALS' | 'ERR_RHEAPDUMP_UPLOAD_REFUSED' | 'ERR_RHEAPDUMP_UPLOAD_UNREACHABLE' | 'ERR_RHEAPDUMP_UPLOAD' | 'ERR_RHEAPDUMP_NO_ADDON' | 'ERR_RHEAPDUMP_BINARY'
  path: string
  url: string
  description: string
  /** The HTTP status of the server's last answer, or null. */
  status: number | null
  /** S3's or STS's error code (NoSuchBucket, InvalidAccessKeyId, SignatureDoesNotMatch…), or null. */
  s3Code: string | null
}

export interface HeapProfileInfo {
  /** Absolute path of the file. */
  path: string
  /** File size in bytes. */
  bytes: number
  /** Wall time from start (V8 runs a full GC first) to the file being durable under its name. */
  durationMs: number
  /** Sampled objects still alive. */
  samples: number
  /** Bytes per sample, or null when another inspector session started the sampler (its interval is not known). */
  interval: number | null
  trigger: SnapshotTrigger
  /** As for snapshots: for signal and near-heap-limit profiles. */
  via?: 'interrupt' | 'loop'
  /** For profiles taken when the monitor's 'leak' fired: the growth seen. */
  reason?: string
}

export interface HeapProfileOptions {
  /** Directory for a default-named file (`heapprofile-<UTC>-<pid>-<n>.heapprofile`). Default as for snapshots. */
  dir?: string
  /** Exact path of the file; an existing regular file there is replaced atomically. */
  filename?: string
}

// generated from lib/config.js by `npm run generate`
export interface Config {
  /** SIGUSR2 writes a snapshot. Default true; off with NODE_HEAPDUMP_OPTIONS=nosignal or RHEAPDUMP_SIGNAL=0. */
  signal: boolean
  /** Signal and near-heap-limit snapshots interrupt running JavaScript (a V8 interrupt), so they are taken even while the event loop is stuck; false: they wait for the loop. No thread, no Worker, no inspector. Default true; RHEAPDUMP_WATCHDOG=0. */
  watchdog: boolean
  /** No stderr line for successful snapshots nor for the files keep removes (failures are always reported). Default false; RHEAPDUMP_QUIET=1. */
  quiet: boolean
  /** Directory for default-named snapshots and profiles, or null (then Node's --diagnostic-dir, else the working directory). Default RHEAPDUMP_DIR. */
  dir: string | null
  /** Refuse snapshots likely to exhaust memory (cgroup limit or MemAvailable) or disk. Default true; RHEAPDUMP_GUARD=0. */
  guard: boolean
  /** Bytes of RSS the process may reach during a snapshot, on top of the cgroup and machine limits; or null. */
  memoryLimit: number | null
  /** Milliseconds a guarded snapshot waits for the memory other processes sharing its memory budget (cgroup, else host) have reserved before it is refused with ERR_RHEAPDUMP_BUSY; it waits off the main thread (heapdump's synchronous writeSnapshot() waits on it, at most 5 s). Default 300000; RHEAPDUMP_QUEUE_TIMEOUT. */
  queueTimeout: number
  /** Keep at most this many (1 to 2**32-1) of this process's default-named snapshots per directory (oldest deleted; other processes', earlier runs' of the same pid (pid 1 in a container) and other files never); or null. */
  keep: number | null
  /** Snapshots to take just before V8 runs out of heap: true/1 for one, 0/false for none. Default 0; RHEAPDUMP_NEAR_HEAP_LIMIT=1. */
  nearHeapLimit: number
  /** Bytes per sample of V8's sampling heap profiler (at least 1024), or false when it is off. true sets 131072 (128 KiB); configure() also takes a size such as '64k' or '1MiB'. Default false; RHEAPDUMP_SAMPLING=1 or =<size>. */
  sampling: number | false
  /** What SIGUSR2 writes: 'snapshot', 'profile', or 'both' (the profile first, when sampling is on). Default 'both'; RHEAPDUMP_SIGNAL_ACTION. */
  signalAction: 'snapshot' | 'profile' | 'both'
  /** Experimental: snapshots (API, signal, automatic; not writeSnapshot) are written by a fork()ed child (docs/fork.md); 'auto' forks only when the estimated in-process pause exceeds forkAbove (in-process otherwise, and when the fork fails). Default false; RHEAPDUMP_FORK=1 (or =fallback, =auto). */
  fork: boolean | 'auto' | { fallback: boolean }
  /** Milliseconds: with fork 'auto', a snapshot is forked when the in-process one would pause the service longer than this (estimated from the used heap, docs/fork.md). Default 3000; RHEAPDUMP_FORK_ABOVE. */
  forkAbove: number
  /** s3://BUCKET/PREFIX: every snapshot and profile is uploaded there under its file name, by a native thread, with the standard AWS settings (docs/upload.md); or null. Default RHEAPDUMP_UPLOAD. */
  upload: string | null
  /** Keep the local file after a confirmed upload; false deletes it then (never after a failure). Default true; RHEAPDUMP_UPLOAD_KEEP_LOCAL=0. */
  uploadKeepLocal: boolean
  /** Compress default-named snapshots on a thread of their own as V8 writes them: 'gzip' (.heapsnapshot.gz) or 'zstd' (.heapsnapshot.zst); the analyses read both, DevTools neither (docs/compression.md). Default 'off'; RHEAPDUMP_COMPRESS. */
  compress: 'off' | 'gzip' | 'zstd'
}
// end of generated

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
  /** Whether a signal reaches a stuck event loop (through a V8 interrupt; the `watchdog` setting). */
  watchdog: boolean
}

export interface MonitorOptions {
  /** Milliseconds between 'stats' events (and 'pressure' checks), 100 to 2**31-1. Default 10000. */
  interval?: number
  /** Sliding window for the GC share, in milliseconds. Default 60000. */
  window?: number
  /** GC share of wall time (0–1) above which 'pressure' is emitted, judged once the monitor has watched a whole `window`. Default 0.1. */
  pressure?: number
  /** Consecutive growths of the heap after full GCs that make a 'leak'. Default 5 (memwatch's rule). */
  leakGrowths?: number
  /** Bytes a full GC's heap must grow by to count as a growth. Default 32768. */
  leakMinGrowth?: number
  /** The growth rule's window in milliseconds: 'leak' when the heap after GCs (scavenges included) rose by `leakFastGrowth` within it. Default 10000. */
  leakWindow?: number
  /** Bytes the heap after GCs must rise by within `leakWindow` for the growth rule. Default 67108864 (64 MiB). */
  leakFastGrowth?: number
  snapshots?: {
    /** Snapshot just before V8 runs out of heap: true (one) or how many. Taken at the next V8 interrupt after the GC that hit the limit. */
    nearHeapLimit?: boolean | number
    /** Snapshot when V8's used heap exceeds this many bytes. */
    heapUsed?: number
    /** Snapshot when RSS exceeds this many bytes. */
    rss?: number
    /** At most this many threshold snapshots. Default 3. */
    max?: number
    /** At least this many milliseconds between threshold snapshots. Default 60000. */
    minInterval?: number
    dir?: string
  }
  /** A sampling heap profile each time 'leak' fires (turns sampling on if it is off): true, or limits. */
  profiles?: boolean | {
    /** At most this many leak profiles. Default 10. */
    max?: number
    /** At least this many milliseconds between leak profiles. Default 60000. */
    minInterval?: number
    dir?: string
  }
}

export type GcKind = 'scavenge' | 'minor-mark-sweep' | 'mark-compact' | 'incremental-marking' | 'weak-callbacks'

export interface GcEvent {
  kind: GcKind | string
  pauseMs: number
  heapUsedBefore: number
  heapUsedAfter: number
}

export interface GcStats {
  intervalMs: number
  /** Count and total pause per kind since the previous 'stats'. */
  gc: Record<string, { count: number; pauseMs: number }>
  /** Share of wall time spent in GC pauses over the window (0–1). */
  gcShare: number
  gcPauseMs: number
  windowMs: number
  heapUsedAfterLastFullGc: number | null
  heapUsed: number
  heapLimit: number
  rss: number
}

export interface LeakEvent {
  /** Which rule raised it: 'full-gcs', memwatch's streak of growths after full GCs, or 'growth', the heap after every GC rising by `leakFastGrowth` within `leakWindow` (fast leaks, which get few full GCs). */
  rule: 'full-gcs' | 'growth'
  /** Whether a full GC has shown the growth is live memory, not promoted garbage (always true for 'full-gcs'). */
  confirmed: boolean
  /** Bytes the heap grew over the streak (after full GCs) or the window (after GCs). */
  growth: number
  periodMs: number
  ratePerHour: number | null
  heapUsed: number
  /** Heap used after each full GC of the streak, or after each GC since the window's low point. */
  samples: number[]
  /** What grew over the streak, by V8 heap space, largest first: e.g. `{ old_space: 3145728, large_object_space: 1048576 }` (only spaces that grew). */
  spaces: Record<string, number>
}

export interface PressureEvent {
  share: number
  threshold: number
  windowMs: number
  gcPauseMs: number
}

export interface Monitor extends EventEmitter {
  on(event: 'gc', listener: (event: GcEvent) => void): this
  on(event: 'stats', listener: (stats: GcStats) => void): this
  on(event: 'leak', listener: (event: LeakEvent) => void): this
  on(event: 'pressure', listener: (event: PressureEvent) => void): this
  once(event: 'gc', listener: (event: GcEvent) => void): this
  once(event: 'stats', listener: (stats: GcStats) => void): this
  once(event: 'leak', listener: (event: LeakEvent) => void): this
  once(event: 'pressure', listener: (event: PressureEvent) => void): this
  /** Stops monitoring. A monitor never keeps the process alive, stopped or not. */
  stop(): void
  readonly running: boolean
}

/** Watches GC and memory inside the process. */
export function monitor(options?: MonitorOptions): Monitor

/** heapdump's API: writes synchronously and calls `callback` before returning. Returns true on success. */
export function writeSnapshot(callback?: (err: SnapshotError | null, filename?: string) => void): boolean
export function writeSnapshot(filename?: string, callback?: (err: SnapshotError | null, filename?: string) => void): boolean
/** Writes a snapshot; rejects with a SnapshotError. */
export function snapshot(options?: SnapshotOptions): Promise<SnapshotInfo>
/** Writes a sampling heap profile (sampling must be on); rejects with a SnapshotError (code ERR_RHEAPDUMP_SAMPLING_OFF when it is off). */
export function heapProfile(options?: HeapProfileOptions): Promise<HeapProfileInfo>
/** Writes a sampling heap profile synchronously; usable anywhere JavaScript runs. Throws a SnapshotError. */
export function writeHeapProfile(filename?: string): HeapProfileInfo
export function memoryUsage(): MemoryUsage
/** A full garbage collection, without --expose-gc. */
export function gc(): GcResult
export function configure(options: Partial<Omit<Config, 'nearHeapLimit' | 'sampling' | 'fork'>> & { nearHeapLimit?: boolean | number; sampling?: boolean | number | string; fork?: ForkSetting }): Config
export function getConfig(): Config
export function signalStatus(): SignalStatus
export function on(event: 'snapshot', listener: (info: SnapshotInfo) => void): typeof rheapdump
export function on(event: 'snapshotError', listener: (err: SnapshotError) => void): typeof rheapdump
export function on(event: 'profile', listener: (info: HeapProfileInfo) => void): typeof rheapdump
export function on(event: 'profileError', listener: (err: SnapshotError) => void): typeof rheapdump
export function on(event: 'upload', listener: (info: UploadInfo) => void): typeof rheapdump
export function on(event: 'uploadError', listener: (err: UploadError) => void): typeof rheapdump
export function off(event: 'snapshot' | 'snapshotError' | 'profile' | 'profileError' | 'upload' | 'uploadError', listener: (...args: any[]) => void): typeof rheapdump
export function once(event: 'snapshot', listener: (info: SnapshotInfo) => void): typeof rheapdump
export function once(event: 'snapshotError', listener: (err: SnapshotError) => void): typeof rheapdump

/** The analyses' reports, generated from the Rust structs that write their JSON (crates/analysis). */
export type { CheckBudget, CheckReport, ClassDiff, ClassGrowth, ClassRow, FunctionRow, Instance, InstancesReport, LargeObject, LeakGroup, LeakOwner, LeakReport, OwnerClass, PackageDiff, PackageRow, PathStep, ProfileDiffReport, ProfileTopReport, RedactionReport, ReportPage, RetainingPaths, SnapshotDiff, SnapshotSummary, SnapshotValidity } from './lib/reports'

/** Rejections carry `code` (an errno name, ERR_SNAPSHOT_SYNTAX, ERR_SNAPSHOT_UNSOUND, ERR_NODE_NOT_FOUND, ERR_SNAPSHOT_NOT_A_FILE for a pipe, FIFO or device, ERR_PROFILE_SYNTAX, ERR_PROFILE_MISMATCH, ERR_RHEAPDUMP_ANALYSIS_INTERNAL for a bug in the analysis; without the addon, where the portable WebAssembly build answers, ERR_RHEAPDUMP_WASM_TOO_LARGE over 3 GiB and ERR_RHEAPDUMP_WASM_MEMORY) and `path`. A request that cannot be run rejects with a TypeError of code ERR_INVALID_ARG_VALUE naming the field, and no `path`. */
export interface AnalysisError extends Error {
  code: string
  path: string
  description: string
}

/** The options every analysis takes (an analysis that has no rows to count refuses `top`, `package` and `source`). */
export interface CommonAnalysisOptions {
  /** Rows to keep, largest first; 0 for all. Default 20 (check: 10). */
  top?: number
  /** Draw a progress bar on stderr (when it is a terminal) for files over 16 MiB. */
  progress?: boolean
  /**
   * summary(), instances(), diff(), leaks(): only the rows of this npm package (`lru-cache`,
   * `@scope/pkg`), or of `(app)`, `(node)` or `(unknown)`.
   */
  package?: string
  /**
   * summary(), instances(), diff(), leaks(): only the rows written in these files: a directory
   * (an absolute path) or part of a path (`node_modules/pino/`): the place where the code was
   * written or the one that ran.
   */
  source?: string
  /**
   * Where source maps say the code was written (true, the default) or the positions that ran
   * (false): each mapped `source` is then the original place and `generated` the one that ran
   * (docs/source-maps.md).
   */
  sourceMaps?: boolean
  /**
   * Where the scripts and their source maps are when the snapshot comes from another machine:
   * `/app/dist/server.js` is looked for as `DIR/app/dist/server.js`, `DIR/dist/server.js`, `DIR/server.js`.
   */
  sourceRoot?: string
}

/**
 * How diff() and leaks() match objects between snapshots: 'ids' (V8's object ids; fork
 * snapshots are refused), 'structure' (retaining path and class: fork snapshots, two
 * processes, renumbered ids) or 'auto' (ids where they can be trusted, else structure). The
 * report's `matched_by` says which was used. Default 'auto'.
 */
export type Matching = 'auto' | 'ids' | 'structure'

/** A size: bytes, or a number with a unit such as '1MB' or '512KiB'. */
export type Size = number | string

/** What check() allows to grow (at least one). */
export interface CheckBudgets {
  /** Everything reachable. */
  maxGrowth?: Size
  /** By class name: its objects' shallow size. */
  maxClassGrowth?: Record<string, Size>
  /** By npm package: the shallow size of the objects its constructors made. */
  maxPackageGrowth?: Record<string, Size>
  /** By class name: what its objects retain. */
  maxOwnerGrowth?: Record<string, Size>
}

/** The options of summary(), diff() and leaks(): the common ones, and `match` for diff() and leaks(). */
export interface AnalysisOptions extends CommonAnalysisOptions {
  match?: Matching
}

/** One analysis as analysis.run() takes it: `kind`, its files, its own options and the common ones. */
export type AnalysisRequest = CommonAnalysisOptions & (
  | { kind: 'summary'; file: string }
  | { kind: 'instances'; file: string; class: string; before?: string }
  | { kind: 'diff'; before: string; after: string; match?: Matching }
  | { kind: 'leaks'; baseline: string; target: string; final: string; match?: Matching; byPath?: boolean }
  | { kind: 'report'; baseline: string; target: string; final: string; out: string }
  | { kind: 'path'; file: string; id: number; max?: number }
  | { kind: 'validate'; file: string }
  | { kind: 'redact'; file: string; output: string }
  | ({ kind: 'check'; baseline: string; current: string } & CheckBudgets)
  | { kind: 'profileTop'; file: string }
  | { kind: 'profileDiff'; before: string; after: string }
)

export const analysis: {
  /** Any analysis, as one request object: the one entry point every function below calls. */
  run(request: AnalysisRequest): Promise<unknown>
  summary(file: string, options?: CommonAnalysisOptions): Promise<SnapshotSummary>
  /** The objects of class `className`, largest first; with `before`, only those that snapshot lacks (`summary --class`, `diff --class`). */
  instances(file: string, className: string, options?: CommonAnalysisOptions & { before?: string }): Promise<InstancesReport>
  diff(before: string, after: string, options?: AnalysisOptions): Promise<SnapshotDiff>
  /** `byPath`: the command line's text shows the groups; the report has `owners` and `groups` either way. */
  leaks(baseline: string, target: string, final: string, options?: AnalysisOptions & { byPath?: boolean }): Promise<LeakReport>
  /** Writes the leak-suspects page (one self-contained HTML file, mode 0600) to `out`. */
  report(baseline: string, target: string, final: string, options: { out: string; top?: number; progress?: boolean; sourceMaps?: boolean; sourceRoot?: string }): Promise<ReportPage>
  path(file: string, id: number, options?: { max?: number; progress?: boolean; sourceMaps?: boolean; sourceRoot?: string }): Promise<RetainingPaths>
  validate(file: string, options?: { progress?: boolean }): Promise<SnapshotValidity>
  /** A copy of `file` in `output` with every value string replaced, safe to share (docs/sharing.md). */
  redact(file: string, output: string, options?: { progress?: boolean }): Promise<RedactionReport>
  /** `current` against `baseline` and memory budgets (docs/ci.md); resolves whether or not they hold: see `passed`. */
  check(baseline: string, current: string, budgets: CheckBudgets & { top?: number; progress?: boolean }): Promise<CheckReport>
  /** Live bytes by function in a sampling heap profile (`profile top`). */
  profileTop(file: string, options?: { top?: number }): Promise<ProfileTopReport>
  /** What was allocated after `before` and lives in `after`, by function (`profile diff`). */
  profileDiff(before: string, after: string, options?: { top?: number }): Promise<ProfileDiffReport>
}

declare const rheapdump: {
  writeSnapshot: typeof writeSnapshot
  snapshot: typeof snapshot
  heapProfile: typeof heapProfile
  writeHeapProfile: typeof writeHeapProfile
  memoryUsage: typeof memoryUsage
  gc: typeof gc
  monitor: typeof monitor
  configure: typeof configure
  getConfig: typeof getConfig
  signalStatus: typeof signalStatus
  analysis: typeof analysis
  on: typeof on
  off: typeof off
  once: typeof once
}
export default rheapdump
