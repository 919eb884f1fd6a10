// Generated from crates/analysis-addon/src/ by scripts/binding-types.js (napi-derive + @napi-rs/cli); do not edit.
// It changes with the #[napi] items: `node scripts/build.js` rewrites it, and
// __test__/types.test.js fails while the committed copy differs from a fresh one.

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
 * DevTools' Comparison view of two snapshots, and the owners of what grew; with `package`, only
 * that npm package's classes. `matching`: `auto`, `ids` or `structure` (anything else is taken
 * as `auto`; lib/analysis.js checks it). `source_maps`, `source_root`: as for the summary.
 */
export declare function analyzeDiff(before: string, after: string, matching: string, top: number, progress: boolean, package: string | undefined | null, sourceMaps: boolean, sourceRoot?: string | undefined | null): Promise<unknown>

/**
 * The three-snapshot technique: what was allocated after BASELINE, is in TARGET, and still
 * lives in FINAL; with `package`, only the owners and groups of that npm package.
 * `source_maps`, `source_root`: as for the summary.
 */
export declare function analyzeLeaks(baseline: string, target: string, last: string, matching: string, top: number, progress: boolean, package: string | undefined | null, sourceMaps: boolean, sourceRoot?: string | undefined | null): Promise<unknown>

/** The shortest retaining paths to one node. `source_maps`, `source_root`: as for the summary. */
export declare function analyzePath(file: string, id: number, max: number, progress: boolean, sourceMaps: boolean, sourceRoot?: string | undefined | null): Promise<unknown>

/**
 * DevTools' Summary view of a snapshot, on a worker thread; with `package`, only that npm
 * package's classes and objects; with `source_maps`, positions where the code was written
 * (scripts and maps under `source_root` when given).
 */
export declare function analyzeSummary(file: string, top: number, progress: boolean, package: string | undefined | null, sourceMaps: boolean, sourceRoot?: string | undefined | null): Promise<unknown>

/**
 * Writes a copy of a snapshot with every value string replaced (`redact`), on a worker thread:
 * the redaction report as JSON.
 */
export declare function redactSnapshot(file: string, output: string, progress: boolean): Promise<unknown>

/** Reads and checks a .heapsnapshot file on a worker thread: the `validate` report as JSON. */
export declare function validateSnapshot(path: string): Promise<unknown>
