// Generated from crates/addon/src/ by scripts/binding-types.js (napi-derive + @napi-rs/cli); do not edit.
// It changes with the #[napi] items: `node scripts/build.js` rewrites it, and
// __test__/types.test.js fails while the committed copy differs from a fresh one.

/** A snapshot file that has no final name yet. */
export declare class SnapshotFile {
  /** The path to hand to `v8.writeHeapSnapshot`. */
  get writerPath(): string
  /** The final path, or its directory while a default name is not chosen yet. */
  get displayPath(): string
  /** Makes the file durable and gives it its final name. */
  commit(): WrittenFile | FileFailure
  /** Drops the unfinished file; nothing is left in the directory. */
  abandon(): void
}

/** The right to take a snapshot among the processes sharing this memory budget. */
export declare class SnapshotTurn {
  /** Lets the next process take its snapshot. */
  release(): void
}

/** Why an analysis failed; lib/analysis.js turns it into an Error. */
export interface AnalysisFailure {
  /**
   * An errno name for I/O failures, else ERR_SNAPSHOT_SYNTAX, ERR_SNAPSHOT_UNSOUND,
   * ERR_NODE_NOT_FOUND, ERR_SNAPSHOT_NOT_A_FILE (a pipe, FIFO or device) or
   * ERR_RHEAPDUMP_ANALYSIS_INTERNAL (a bug: the analysis panicked).
   */
  code: string
  path: string
  description: string
}

/**
 * DevTools' Comparison view of two snapshots, and the owners of what grew. `matching`: `auto`,
 * `ids` or `structure` (anything else is taken as `auto`; lib/analysis.js checks it).
 */
export declare function analyzeDiff(before: string, after: string, matching: string, top: number, progress: boolean): Promise<unknown>

/** The three-snapshot technique: what was allocated after BASELINE, is in TARGET, and still lives in FINAL. */
export declare function analyzeLeaks(baseline: string, target: string, last: string, matching: string, top: number, progress: boolean): Promise<unknown>

/** The shortest retaining paths to one node. */
export declare function analyzePath(file: string, id: number, max: number, progress: boolean): Promise<unknown>

/** DevTools' Summary view of a snapshot, on a worker thread. */
export declare function analyzeSummary(file: string, top: number, progress: boolean): Promise<unknown>

/** Arms `count` snapshots near the heap limit of the calling (main) thread's isolate. */
export declare function armNearHeapLimit(count: number): void

/**
 * Takes the outstanding request, for exactly one caller per request: returns why it was made,
 * the trigger its snapshot reports ('signal': SIGUSR2; 'near-heap-limit'), or null when there
 * is none to take.
 */
export declare function claimRequest(): string | null

/**
 * Opens a file for a snapshot with a default name in `dir`, or at exactly `filename`. With
 * `byName`, the writer gets a real path in the directory (for Node's permission model); with
 * `profile`, the file is a sampling heap profile (`heapprofile-….heapprofile` default names);
 * with `compress` ('gzip' or 'zstd'), what the writer writes is compressed on a thread of its
 * own as it comes, and a default name ends in `.gz` or `.zst`.
 */
export declare function createSnapshotFile(dir?: string | undefined | null, filename?: string | undefined | null, byName?: boolean | undefined | null, profile?: boolean | undefined | null, compress?: string | undefined | null): SnapshotFile | FileFailure

export declare function estimateSnapshotCost(nodeMajor: number, heapUsed: number): SnapshotCostEstimate

/** A failed file operation; `index.js` turns it into an Error. */
export interface FileFailure {
  code: string
  syscall: string
  path: string
  description: string
}

/** In the child: `_exit(code)` at once, running nothing of the parent's. */
export declare function forkChildExit(code: number): void

/** In the child, after V8's writer returned: marks the file as a fork snapshot and `_exit`s. */
export declare function forkChildFinish(writerPath: string): void

/** How a child ended: the committed file, or why there is none. */
export interface ForkEnd {
  ok: boolean
  path?: string
  bytes: number
  childMs: number
  /** The child's peak RSS (includes the pages it shares with the parent), bytes. */
  childPeakRss: number
  code?: string
  syscall?: string
  description?: string
  /** Another fork may succeed (the child crashed or stalled). */
  retry: boolean
}

/** Extra memory a fork snapshot may take from the budget (crates/platform's `fork_extra_memory`). */
export declare function forkExtraMemory(nodeMajor: number, heapUsed: number, heapTotal: number, rss: number): number

/** The outcome of the child `pid`, or null while it runs. Once returned, it is forgotten. */
export declare function forkSnapshotPoll(pid: number): ForkEnd | null

/**
 * Forks a child that writes the snapshot (see the module docs). Main thread only. Returns
 * `busy` without forking when threads are running and `force` is not set. With `compress`
 * ('gzip' or 'zstd'), the child writes into a pipe and a thread of this process compresses.
 */
export declare function forkSnapshotStart(dir: string | undefined | null, filename: string | undefined | null, byName: boolean, heapUsed: number, quietWaitMs: number, force: boolean, compress?: string | undefined | null): ForkStart | FileFailure

/**
 * How a fork snapshot began: in the parent `pid`, the pause and the child's alarm; in the
 * child `child` and the path V8's writer must write; `busy` when threads were running and
 * nothing was forked.
 */
export interface ForkStart {
  child: boolean
  writerPath?: string
  pid?: number
  pauseMs: number
  /** Mappings re-allowed into the child (V8's heap). */
  mappings: number
  alarmSecs: number
  /** Threads found running (none forked), by name. */
  busy?: Array<string>
}

/** Why fork snapshots cannot be taken in this process, or null when they can. */
export declare function forkUnavailable(): string | null

/**
 * Whether the caller runs on the main thread (whose event loop is libuv's default loop), not
 * in a Worker. Cheaper at start-up than loading `node:worker_threads`.
 */
export declare function isMainThread(): boolean

/** Reads `/proc/self/stat` and `/proc/self/status`. */
export declare function processMemory(): ProcessMemory

/** Process memory as `ps -o rss,vsz` shows it, in bytes. */
export interface ProcessMemory {
  rss: number
  vsz: number
  /** Peak RSS since the process started (`VmHWM`), when the kernel reports it. */
  peakRss?: number
}

/**
 * Deletes the oldest of this run's default-named snapshots in `dir` beyond `keep`; never
 * another process's or an earlier run's, never any other file, never `current`. Returns the
 * names deleted.
 */
export declare function pruneSnapshots(dir: string, keep: number, current: string): Array<string>

/**
 * Writes a copy of a snapshot with every value string replaced (`redact`), on a worker thread:
 * the redaction report as JSON.
 */
export declare function redactSnapshot(file: string, output: string, progress: boolean): Promise<unknown>

/** Returns freed malloc memory to the OS (glibc `malloc_trim(0)`); false where unsupported. */
export declare function releaseFreeMemory(): boolean

/** Ends the claimed request: the next signal starts a new one. */
export declare function requestDone(): void

/** This process's run, as its default file names carry it (`heapdump-<UTC>-<pid>-<run>-<n>…`). */
export declare function runId(): string

/** Whether requests may interrupt running JavaScript (the `watchdog` setting). */
export declare function setInterrupts(on: boolean): void

/**
 * Makes `receive` the main thread's receiver of snapshot requests. It is called as
 * `receive()` from the event loop and as `receive('interrupt')` from inside a V8 interrupt;
 * it must call `claimRequest()` and, when that returns a trigger, `requestDone()` once the
 * snapshot is written or has failed. Returns whether requests can interrupt running
 * JavaScript on this runtime. Call on the main thread only.
 */
export declare function setMainReceiver(receive: () => void): boolean

export declare function signalStats(): SignalStats

/** Signal counts since the process started. */
export interface SignalStats {
  /** SIGUSR2 deliveries seen. */
  received: number
  /** Deliveries that arrived while a snapshot was in flight and started none. */
  coalesced: number
  /** Whether the signal thread is running. */
  active: boolean
}

/** Estimates a snapshot's cost for this Node major and used heap, and reads the budget. */
export declare function snapshotBudget(nodeMajor: number, heapUsed: number, dir: string): SnapshotBudget

/** What a snapshot would need, and what there is. */
export interface SnapshotBudget {
  /** Estimated extra peak RSS of the snapshot, in bytes. */
  extraMemory: number
  /** Estimated file size, in bytes. */
  fileSize: number
  /** Memory the process may still use (tightest of cgroup limits and MemAvailable), or null. */
  memoryAvailable?: number
  /** Where `memoryAvailable` comes from. */
  memorySource: string
  /** Free bytes on the target directory's filesystem, or null when it cannot be read. */
  diskFree?: number
}

/** The estimate alone (for bench/guard.js). */
export interface SnapshotCostEstimate {
  extraMemory: number
  fileSize: number
}

/** Starts the signal thread, once per process. Throws when the host exports no libuv. */
export declare function startSignalWatcher(): void

/** Stops the signal thread; SIGUSR2 then behaves as if rheapdump had never been loaded. */
export declare function stopSignalWatcher(): void

/**
 * Why no turn was given: `busy` (another process kept it for `waitedMs`) or `unavailable`
 * (no lock can be had here; go ahead uncoordinated).
 */
export interface TurnFailure {
  reason: string
  /** The cgroup directory whose limit the processes share, or `host`. */
  budget: string
  waitedMs: number
  description: string
}

/** Why an upload failed: the error's code, and what the server said. */
export interface UploadFailure {
  /**
   * ERR_RHEAPDUMP_UPLOAD_CREDENTIALS, ERR_RHEAPDUMP_UPLOAD_REFUSED,
   * ERR_RHEAPDUMP_UPLOAD_UNREACHABLE or ERR_RHEAPDUMP_UPLOAD.
   */
  code: string
  /** What failed, with no key, token or URL in it. */
  description: string
  /** The HTTP status of the server's last answer. */
  status?: number
  /** S3's (or STS's) error code, e.g. 'NoSuchBucket', 'SignatureDoesNotMatch'. */
  s3Code?: string
}

/**
 * Queues the committed file at `path` for upload to `url` (s3://BUCKET/PREFIX) under its
 * file name. `env` holds the AWS variables (and HOME) to use. Returns at once; the outcome
 * goes to stderr and, once the event loop of the caller's thread runs, to `tell(outcome)`.
 * Any JS thread (a Worker's outcome goes back to that Worker).
 */
export declare function uploadFile(kind: string, path: string, url: string, env: Record<string, string>, keepLocal: boolean, quiet: boolean, tell: (arg: UploadOutcome) => void): void

/** The outcome of one upload, told once. */
export interface UploadOutcome {
  /** 'snapshot' or 'profile'. */
  kind: string
  /** The local file. */
  path: string
  /** s3://BUCKET/KEY */
  url: string
  bucket: string
  key: string
  bytes: number
  /** 1 for a single PUT, else the number of parts. */
  parts: number
  durationMs: number
  /** Whether the local file is still there (always after a failure). */
  localKept: boolean
  error?: UploadFailure
}

/** Reads and checks a .heapsnapshot file on a worker thread: the `validate` report as JSON. */
export declare function validateSnapshot(path: string): Promise<unknown>

/** Waits at most `timeoutMs` for this memory budget's snapshot lock. */
export declare function waitForSnapshotTurn(timeoutMs: number): SnapshotTurn | TurnFailure

/** A complete snapshot file. */
export interface WrittenFile {
  path: string
  /** The file's size: compressed, for a compressed snapshot. */
  bytes: number
  /** What V8 wrote, before compression (`bytes` for a plain file). */
  plainBytes: number
}
