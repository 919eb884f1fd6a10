// @ts-check
'use strict'

// Sampling heap profiles: the same file rules as snapshots, a fraction of the cost. The
// sampler itself is lib/sampling.js; this writes its profiles.

const fs = require('node:fs')
const path = require('node:path')

const { binding: native } = require('./binding')
const { argumentError, fileError, writerError } = require('./errors')
const { checkFilename, currentDir } = require('./options')
const { announce, formatBytes, isStackOverflow, writeStderr } = require('./report')
const { createSampler, profileDocument } = require('./sampling')
const { current } = require('./shared')
const { checkWritePermission, resolveDir } = require('./snapshot')

const shared = current()

const DEFAULT_SAMPLING_INTERVAL = 512 * 1024

/** @type {ReturnType<typeof createSampler> | null} */
let samplerOfThread = null
const sampler = () => (samplerOfThread ??= createSampler(shared.sampling, { quiet: () => shared.config.quiet }))

/**
 * The `sampling` setting as bytes per sample, or false for off.
 * @param {boolean | number} value
 * @returns {number | false}
 */
function samplingInterval(value) {
  if (value === false) return false
  if (value === true) return DEFAULT_SAMPLING_INTERVAL
  if (!Number.isInteger(value)) {
    throw argumentError(`configure: 'sampling' must be a boolean or a whole number of bytes per sample, got ${value}`, 'ERR_OUT_OF_RANGE')
  }
  return value
}

/**
 * @typedef {object} ProfileInfo What heapProfile() resolves to.
 * @property {string} path
 * @property {number} bytes
 * @property {number} durationMs
 * @property {number} samples
 * @property {number | null} interval
 * @property {string} trigger
 * @property {string} [via]
 * @property {string} [reason]
 */

/**
 * Writes the sampler's profile into `dir` (default-named) or at `filename`.
 * @param {{ dir?: string, filename?: string, trigger: string }} request
 * @returns {ProfileInfo}
 */
function takeProfile({ dir, filename, trigger }) {
  const started = process.hrtime.bigint()
  let profile
  try {
    profile = sampler().read()
  } catch (err) {
    if (err.code === 'ERR_RHEAPDUMP_SAMPLING_STOPPED') shared.config.sampling = false
    throw err
  }
  const usage = process.memoryUsage()
  const document = profileDocument(profile, {
    interval: shared.sampling.interval,
    startedAt: shared.sampling.startedAt,
    memory: usage,
    trigger,
  })
  if (filename !== undefined) checkFilename(filename)
  const targetDir = filename === undefined ? resolveDir(dir) : null
  const finalPath = filename === undefined ? null : path.resolve(currentDir(), filename)
  const byName = checkWritePermission(finalPath ?? /** @type {string} */ (targetDir))
  const file = native.createSnapshotFile(targetDir, finalPath, byName, true)
  if ('code' in file) throw fileError(file, 'heap profile')
  try {
    fs.writeFileSync(file.writerPath, JSON.stringify(document))
  } catch (thrown) {
    file.abandon()
    throw writerError(thrown, file.displayPath, 'heap profile')
  }
  const written = file.commit()
  if ('code' in written) throw fileError(written, 'heap profile')
  return {
    path: written.path,
    bytes: written.bytes,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    samples: profile.samples.length,
    interval: shared.sampling.interval,
    trigger,
  }
}

/**
 * A profile nobody awaits (signal, near the heap limit, leak): its outcome goes to stderr and
 * the events. A `deferrable` one lets a stack overflow escape, for the caller to retry.
 * @param {{ trigger: string, via?: string, dir?: string, note?: string | null, deferrable?: boolean }} request
 */
function reportedProfile({ trigger, via, dir, note, deferrable }) {
  try {
    const info = takeProfile({ trigger, dir })
    if (via) info.via = via
    if (note) info.reason = note
    if (!shared.config.quiet) {
      writeStderr(`rheapdump: wrote ${info.path} (${formatBytes(info.bytes)}, ${info.samples} samples) in ${(info.durationMs / 1000).toFixed(2)} s`)
    }
    announce(shared, null, info, 'profile')
  } catch (err) {
    if (deferrable && isStackOverflow(err)) throw err
    writeStderr(`rheapdump: heap profile failed: ${err.code} ${err.path ?? ''} (${err.description ?? err.message})`)
    announce(shared, err, null, 'profile')
  }
}

module.exports = { sampler, samplingInterval, takeProfile, reportedProfile }
