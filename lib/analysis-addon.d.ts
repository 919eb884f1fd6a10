// Generated from crates/analysis-addon/src/ by scripts/binding-types.js (napi-derive + @napi-rs/cli); do not edit.
// It changes with the #[napi] items: `node scripts/build.js` rewrites it, and
// __test__/types.test.js fails while the committed copy differs from a fresh one.

/** Why an analysis failed; lib/analysis.js turns it into an Error. */
export interface AnalysisFailure {
  /**
   * An errno name for I/O failures, else ERR_SNAPSHOT_SYNTAX, ERR_SNAPSHOT_UNSOUND,
   * ERR_NODE_NOT_FOUND, ERR_SNAPSHOT_NOT_A_FILE (a pipe, FIFO or device), ERR_PROFILE_SYNTAX,
   * ERR_PROFILE_MISMATCH, ERR_INVALID_ARG_VALUE (the request itself: then no `path`) or
   * ERR_RHEAPDUMP_ANALYSIS_INTERNAL (a bug: the analysis panicked).
   */
  code: string
  /** The file it is about; none for a request that cannot be run. */
  path?: string
  description: string
}

/**
 * Runs one analysis on a worker thread: `request` is its JSON, one flat object such as
 * `{"kind":"summary","file":"app.heapsnapshot","top":5}` (crates/analysis, `run::Request`).
 * Resolves to the report as JSON, the CLI's `--json`, or to why it failed: a request that
 * cannot be run fails with ERR_INVALID_ARG_VALUE, checked here, not in JS.
 */
export declare function analyze(request: string): Promise<unknown>
