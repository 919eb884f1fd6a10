// @ts-check
'use strict'

// Sampling heap profiles: the same file rules as snapshots (lib/writer.js), a fraction of the
// cost. The sampler itself is lib/sampling.js; this writes its profiles.

const fs = require('node:fs')

const { profileDocument, sampler } = require('./sampling')
const { current } = require('./shared')
const writer = require('./writer')

const shared = current()

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
  const written = writer.write('profile', writer.place({ dir, filename }), (writerPath) => fs.writeFileSync(writerPath, JSON.stringify(document)))
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
 * A profile nobody awaits (signal, near the heap limit, leak): lib/writer.js tells its outcome.
 * Returns its info when it was written.
 * @param {{ trigger: string, via?: string, dir?: string, note?: string | null, deferrable?: boolean }} request
 * @returns {ProfileInfo | undefined}
 */
function reportedProfile({ trigger, via, dir, note, deferrable }) {
  return writer.reported('profile', { via, note, deferrable }, () => takeProfile({ trigger, dir }))
}

module.exports = { takeProfile, reportedProfile }
