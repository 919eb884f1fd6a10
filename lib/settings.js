// @ts-check
'use strict'

// configure() and getConfig(): the settings shared by every copy on this thread.

const { argumentError } = require('./errors')
const { checkFork } = require('./fork')
const { checkOptions } = require('./options')
const { sampler, samplingInterval } = require('./profile')
const schemas = require('./schemas')
const { current } = require('./shared')

const shared = current()

/**
 * Changes settings at run time; returns the settings now in force.
 * @param {object} [options]
 */
function configure(options) {
  const checked = checkOptions(options, schemas.CONFIG, 'configure')
  if ('nearHeapLimit' in checked) {
    checked.nearHeapLimit = nearHeapLimitCount(checked.nearHeapLimit)
    armNearHeapLimit(checked.nearHeapLimit, 'configure')
  }
  if ('signalAction' in checked && !schemas.SIGNAL_ACTIONS.includes(checked.signalAction)) {
    throw argumentError(`configure(options): 'signalAction' must be one of ${schemas.SIGNAL_ACTIONS.join(', ')}, got '${checked.signalAction}'`, 'ERR_INVALID_ARG_VALUE')
  }
  if ('fork' in checked) checked.fork = checkFork(checked.fork, 'configure')
  if ('sampling' in checked) {
    checked.sampling = samplingInterval(checked.sampling)
    sampler().set(checked.sampling === false ? null : checked.sampling)
  }
  Object.assign(shared.config, checked)
  if (shared.controller && ('signal' in checked || 'watchdog' in checked)) {
    shared.controller.apply(shared.config)
  }
  return getConfig()
}

function getConfig() {
  return { ...shared.config }
}

/**
 * Each near-heap-limit snapshot raises the heap limit once; like Node's own, one by default.
 * @param {boolean | number} value
 */
function nearHeapLimitCount(value) {
  return value === true ? 1 : value === false ? 0 : value
}

/**
 * @param {number} count
 * @param {string} fn the public function asking, for the error
 */
function armNearHeapLimit(count, fn) {
  if (!shared.controller) throw argumentError(`${fn}(): near-heap-limit snapshots are armed from the main thread`, 'ERR_INVALID_STATE')
  shared.controller.armNearHeapLimit(count)
}

module.exports = { configure, getConfig, nearHeapLimitCount, armNearHeapLimit }
