// Generated from crates/upload-addon/src/ by scripts/binding-types.js (napi-derive + @napi-rs/cli); do not edit.
// It changes with the #[napi] items: `node scripts/build.js` rewrites it, and
// __test__/types.test.js fails while the committed copy differs from a fresh one.

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
