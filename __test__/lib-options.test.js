'use strict'

// lib/options.js and lib/schemas.js in-process: what each public function's options accept and
// how a refusal reads. No child process: checking options has no effect on the process.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

const { checkOptions, checkFilename, describeValue } = require('../lib/options')
const schemas = require('../lib/schemas')

const refusal = (code, message) => ({ code, message })

test('options: nothing given is no option; an object is checked key by key', () => {
  assert.deepEqual(checkOptions(undefined, schemas.CONFIG, 'configure'), {})
  assert.deepEqual(checkOptions(null, schemas.CONFIG, 'configure'), {})
  assert.deepEqual(checkOptions({ quiet: true, keep: 3, dir: null, signal: undefined }, schemas.CONFIG, 'configure'), { quiet: true, keep: 3, dir: null })
})

test('options: not an object, an unknown key or a key of Object.prototype is refused with a code', () => {
  assert.throws(() => checkOptions('x', schemas.SNAPSHOT, 'snapshot'), refusal('ERR_INVALID_ARG_TYPE', /snapshot\(options\): options must be an object, got the string 'x'/))
  assert.throws(() => checkOptions([], schemas.SNAPSHOT, 'snapshot'), refusal('ERR_INVALID_ARG_TYPE', /got an array/))
  assert.throws(() => checkOptions({ force: true, forked: true }, schemas.SNAPSHOT, 'snapshot'), refusal('ERR_INVALID_ARG_VALUE', /unknown option 'forked' \(known: dir, filename, force, fork, compress\)/))
  for (const key of ['constructor', 'hasOwnProperty', '__proto__']) {
    assert.throws(() => checkOptions(JSON.parse(`{"${key}": 1}`), schemas.CONFIG, 'configure'), { code: 'ERR_INVALID_ARG_VALUE' }, key)
  }
})

test('options: numbers must be in range, whole where they count, and may be null only where said', () => {
  const bad = [
    [{ keep: 2 ** 32 }, /'keep' must be an integer from 1 to 4294967295, got 4294967296/],
    [{ keep: 0.5 }, /'keep' must be an integer/],
    [{ memoryLimit: 0 }, /'memoryLimit' must be an integer from 1/],
    [{ queueTimeout: 2 ** 31 }, /'queueTimeout' must be an integer from 0 to 2147483647/],
    [{ nearHeapLimit: -1 }, /'nearHeapLimit' must be an integer from 0/],
    [{ sampling: NaN }, /'sampling' must be an integer from 1/],
  ]
  for (const [options, message] of bad) {
    assert.throws(() => checkOptions(options, schemas.CONFIG, 'configure'), refusal('ERR_OUT_OF_RANGE', message), JSON.stringify(options))
  }
  assert.throws(() => checkOptions({ pressure: 0 }, schemas.MONITOR, 'monitor'), { code: 'ERR_OUT_OF_RANGE', message: /must be a number above 0 to 1, got 0/ })
  assert.deepEqual(checkOptions({ pressure: 0.25, interval: 100 }, schemas.MONITOR, 'monitor'), { pressure: 0.25, interval: 100 })
  assert.throws(() => checkOptions({ keep: '3' }, schemas.CONFIG, 'configure'), { code: 'ERR_INVALID_ARG_TYPE', message: /'keep' must be a number or null, got the string '3'/ })
  assert.throws(() => checkOptions({ queueTimeout: null }, schemas.CONFIG, 'configure'), { code: 'ERR_INVALID_ARG_TYPE', message: /'queueTimeout' must be a number, got null/ })
  assert.deepEqual(checkOptions({ nearHeapLimit: true, sampling: false }, schemas.CONFIG, 'configure'), { nearHeapLimit: true, sampling: false })
})

test('options: paths lose no byte on the way to C, and a dir must be a writable directory', (t) => {
  assert.throws(() => checkOptions({ filename: 'a\0b' }, schemas.SNAPSHOT, 'snapshot'), { code: 'ERR_INVALID_ARG_VALUE', message: /must not contain a NUL byte/ })
  assert.throws(() => checkFilename('snapshots/'), { code: 'EISDIR', path: 'snapshots/' })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-options-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  assert.deepEqual(checkOptions({ dir }, schemas.SNAPSHOT, 'snapshot'), { dir })
  const file = path.join(dir, 'file')
  fs.writeFileSync(file, '')
  assert.throws(() => checkOptions({ dir: file }, schemas.SNAPSHOT, 'snapshot'), { code: 'ENOTDIR', path: file, syscall: 'stat' })
  assert.throws(() => checkOptions({ dir: path.join(dir, 'missing') }, schemas.PROFILE, 'heapProfile'), { code: 'ENOENT' })
})

test('schemas: every public option object has one; configure()\'s come from the settings table', () => {
  assert.deepEqual(Object.keys(schemas.SNAPSHOT), ['dir', 'filename', 'force', 'fork', 'compress'])
  assert.deepEqual(Object.keys(schemas.PROFILE), ['dir', 'filename'])
  assert.deepEqual(require('../lib/config').SIGNAL_ACTIONS, ['snapshot', 'profile', 'both'])
  assert.deepEqual(Object.keys(schemas.CONFIG).sort(), ['compress', 'dir', 'fork', 'forkAbove', 'guard', 'keep', 'memoryLimit', 'nearHeapLimit', 'queueTimeout', 'quiet', 'sampling', 'signal', 'signalAction', 'upload', 'uploadKeepLocal', 'watchdog'])
  assert.equal(describeValue(null), 'null')
  assert.equal(describeValue(1), 'a number')
})
