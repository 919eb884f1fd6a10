'use strict'

// The one place where failures become JS errors: a stable `code`, the `path`, and a message a
// person can act on. heapdump-compatible entry points keep heapdump's message text.

/** A failed file operation ({ code, syscall, path, description }) as an Error. */
function fileError(failure, what = 'heap snapshot') {
  const err = new Error(
    `rheapdump: cannot write ${what}: ${failure.code}: ${failure.description}, ` +
      `${failure.syscall} '${failure.path}'`,
  )
  err.code = failure.code
  err.syscall = failure.syscall
  err.path = failure.path
  err.description = failure.description
  return err
}

/** The same failure as heapdump reports it: `heapdump write error ENOSPC`. */
function heapdumpError(err) {
  const compat = new Error(`heapdump write error ${err.code}`)
  compat.code = err.code
  compat.path = err.path
  if (err.syscall) compat.syscall = err.syscall
  compat.cause = err
  return compat
}

/** A thrown error from Node's writer, reattributed to the file's real path. */
function writerError(thrown, path, what) {
  return fileError({
    code: typeof thrown.code === 'string' ? thrown.code : 'EIO',
    syscall: thrown.syscall || 'write',
    path,
    description: describe(thrown),
  }, what)
}

/** The OS's words from an fs-style error message. */
function describe(thrown) {
  // Node's fs-style message: "ENOSPC: no space left on device, write" → "no space left on device"
  const match = /^[A-Z0-9_]+: ([^,]+)/.exec(String(thrown.message))
  return match ? match[1] : String(thrown.message)
}

function argumentError(message, code = 'ERR_INVALID_ARG_TYPE') {
  const err = new TypeError(`rheapdump: ${message}`)
  err.code = code
  return err
}

/** An analysis failure from the addon ({ code, path, description }) as an Error. */
function analysisError(failure) {
  const err = new Error(`rheapdump: ${failure.path}: ${failure.code}: ${failure.description}`)
  err.code = failure.code
  err.path = failure.path
  err.description = failure.description
  return err
}

/** The sampling heap profiler cannot give a profile: it is off here, or someone stopped it. */
function samplingError(code, message) {
  const err = new Error(`rheapdump: ${message}`)
  err.code = code
  err.description = message
  return err
}

module.exports = { samplingError, fileError, heapdumpError, writerError, argumentError, analysisError, describe }
