// @ts-check
'use strict'

// configure() and getConfig(): the settings shared by every copy on this thread. What each
// setting is, and how its value is checked and kept, is its row in lib/config.js; what changes
// at once when one is set is below.

const { argumentError } = require('./errors')
const { SCHEMA, storeAll } = require('./config')
const { checkOptions } = require('./options')
const { current } = require('./shared')

const shared = current()

/**
 * Changes settings at run time; returns the settings now in force.
 * @param {object} [options]
 */
function configure(options) {
  const checked = storeAll(checkOptions(options, SCHEMA, 'configure'), 'configure')
  if ('nearHeapLimit' in checked) armNearHeapLimit(/** @type {number} */ (checked.nearHeapLimit), 'configure')
  if ('sampling' in checked) {
    const { sampler } = require('./sampling')
    sampler().set(checked.sampling === false ? null : /** @type {number} */ (checked.sampling))
  }
  Object.assign(shared.config, checked)
  if ('upload' in checked) require('./writer').prepareUpload()
  if (shared.controller && ('signal' in checked || 'watchdog' in checked)) {
    shared.controller.apply(shared.config)
  }
  return getConfig()
}

function getConfig() {
  return { ...shared.config }
}

/**
 * @param {number} count
 * @param {string} fn the public function asking, for the error
 */
function armNearHeapLimit(count, fn) {
  if (!shared.controller) throw argumentError(`${fn}(): near-heap-limit snapshots are armed from the main thread`, 'ERR_INVALID_STATE')
  shared.controller.armNearHeapLimit(count)
}

module.exports = { configure, getConfig, armNearHeapLimit }
