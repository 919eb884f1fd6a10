'use strict'

// `npm test`: the Rust tests (with those plain `cargo test` ignores for needing the network),
// then the JS suite in two tiers: the files whose outcome cannot depend on the Node that runs
// them (ONCE_ONLY: they read the repository's files or check pure JS logic) once, on the
// running node; every other file, which starts processes, loads the addon or takes snapshots,
// once per supported Node major (20, 22, 24, 26; official binaries from the npm registry, see
// scripts/node-versions.js); then the API,
// signal and heapdump-suite tests once more with the pure-JS fallback forced
// (RHEAPDUMP_FALLBACK=1; tests of what only the addon does are skipped there, with the reason),
// then the linux-arm64 build under qemu-user once (__test__/arm64.test.js: slow under emulation,
// and it tests the arm64 binaries, whichever Node runs the test file).
// Ends with one "N passed, N failed" line over all runs.
//
// RHEAPDUMP_NODE_MAJORS=20,26 restricts the majors; extra arguments are passed to `node --test`
// (e.g. a single test file) and run on each chosen major, whichever tier they belong to.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { nodeBinaries } = require('./node-versions')

const root = path.join(__dirname, '..')
const testDir = path.join(root, '__test__')
const ARM64_TESTS = path.join(testDir, 'arm64.test.js')

/**
 * The files run once, on the running node: what they check is the same on every major. Each
 * reads the repository's files or runs JS that touches neither V8's snapshots, its heap
 * statistics nor Node's command-line handling (docs, errors, types with tsc, the layout and its
 * require.cache check, option checking, the guard's decision and turn lock). The others stay
 * per major, in-process ones too: lib-snapshot takes a snapshot (V8's format differs by major),
 * lib-state reads heap spaces and runs gc(), facts and config load the addon and read Node's
 * command line in real processes.
 */
const ONCE_ONLY = ['docs', 'errors', 'types', 'lib-layout', 'lib-options', 'lib-guard'].map((name) => path.join(testDir, `${name}.test.js`))

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', ...options })
  if (result.error) throw result.error
  return result
}

function cargoTests() {
  // --include-ignored: the tests plain `cargo test` leaves out because they need the network,
  // such as the DevTools/memlab parity test (crates/analysis/tests/parity.rs), which installs
  // its peers with scripts/peers.js.
  const result = run('cargo', ['test', '--workspace', '--quiet', '--', '--include-ignored'], { stdio: ['ignore', 'pipe', 'inherit'] })
  process.stdout.write(result.stdout)
  let passed = 0
  let failed = 0
  for (const match of result.stdout.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(match[1])
    failed += Number(match[2])
  }
  if (result.status !== 0 && failed === 0) failed = 1
  return { name: 'cargo test', passed, failed }
}

function nodeTests(node, files, { name = `node ${node.version}`, env = {} } = {}) {
  const result = run(node.path, ['--test', '--test-reporter=spec', ...files], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RHEAPDUMP_SIGNAL: undefined, RHEAPDUMP_WATCHDOG: undefined, RHEAPDUMP_DIR: undefined, RHEAPDUMP_FALLBACK: undefined, RHEAPDUMP_COMPRESS: undefined, ...env },
  })
  process.stdout.write(result.stdout)
  const count = (label) => Number((result.stdout.match(new RegExp(`^ℹ ${label} (\\d+)$`, 'm')) || [])[1] || 0)
  let failed = count('fail') + count('cancelled')
  if (result.status !== 0 && failed === 0) failed = 1
  return { name, passed: count('pass'), failed }
}

/** A run with how long it took, which the summary shows for the two tiers. */
function timed(runTests) {
  const started = process.hrtime.bigint()
  const result = runTests()
  return { ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 }
}

function main() {
  const extra = process.argv.slice(2)
  const files = extra.length
    ? extra
    : fs.readdirSync(testDir).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(testDir, f)).filter((f) => f !== ARM64_TESTS)
  const runs = []
  if (!extra.length) runs.push(cargoTests())
  const current = { version: process.version, path: process.execPath }
  const once = extra.length ? [] : files.filter((f) => ONCE_ONLY.includes(f))
  const perMajor = files.filter((f) => !once.includes(f))
  if (once.length) {
    console.log(`\n=== once, on ${process.version}: ${once.map((f) => path.basename(f)).join(', ')} ===`)
    runs.push(timed(() => nodeTests(current, once, { name: 'once' })))
  }
  for (const node of nodeBinaries({ install: true })) {
    console.log(`\n=== ${node.version} (${node.path}) ===`)
    runs.push(timed(() => nodeTests(node, perMajor)))
  }
  if (!extra.length) {
    console.log(`\n=== ${process.version}, pure-JS fallback (RHEAPDUMP_FALLBACK=1) ===`)
    const fallbackFiles = ['api', 'signal', 'heapdump-suite'].map((name) => path.join(testDir, `${name}.test.js`))
    runs.push(nodeTests(current, fallbackFiles, { name: 'fallback', env: { RHEAPDUMP_FALLBACK: '1' } }))
    console.log(`\n=== linux-arm64 under qemu-user (${path.relative(root, ARM64_TESTS)}) ===`)
    runs.push(nodeTests(current, [ARM64_TESTS], { name: 'arm64 (qemu)' }))
  }
  console.log('\nSummary:')
  for (const r of runs) {
    const took = r.seconds === undefined ? '' : ` in ${r.seconds.toFixed(0)} s`
    console.log(`  ${r.name.padEnd(16)} ${r.passed} passed, ${r.failed} failed${took}`)
  }
  const passed = runs.reduce((n, r) => n + r.passed, 0)
  const failed = runs.reduce((n, r) => n + r.failed, 0)
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}

main()
