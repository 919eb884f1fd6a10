'use strict'

// Builds the addon with cargo and puts it where lib/binding.js looks:
// rheapdump.<platform>-<arch>[-<libc>].node in the package root.
// Usage: node scripts/build.js [--debug]

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

function libc() {
  if (process.platform !== 'linux') return ''
  const report = process.report && process.report.getReport()
  return report && report.header && report.header.glibcVersionRuntime ? '-gnu' : '-musl'
}

function artifactName() {
  if (process.platform === 'darwin') return 'librheapdump.dylib'
  if (process.platform === 'win32') return 'rheapdump.dll'
  return 'librheapdump.so'
}

function build({ release = true } = {}) {
  const cargo = process.env.CARGO || 'cargo'
  const args = ['build', '--lib', '--package', 'rheapdump', ...(release ? ['--release'] : [])]
  const started = Date.now()
  const result = spawnSync(cargo, args, { cwd: root, stdio: 'inherit' })
  if (result.error && result.error.code === 'ENOENT') {
    throw new Error(
      'rheapdump: no prebuilt binary fits this platform and cargo was not found to build one. ' +
        'Install Rust (https://rustup.rs), then run `npm rebuild rheapdump`.',
    )
  }
  if (result.status !== 0) throw new Error(`rheapdump: cargo ${args.join(' ')} failed (exit ${result.status})`)
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target')
  const built = path.join(targetDir, release ? 'release' : 'debug', artifactName())
  const dest = path.join(root, `rheapdump.${process.platform}-${process.arch}${libc()}.node`)
  // Copy, then rename: a running process that has the old binary mapped keeps its copy intact.
  const temporary = `${dest}.${process.pid}.tmp`
  fs.copyFileSync(built, temporary)
  fs.renameSync(temporary, dest)
  console.error(`rheapdump: built ${path.basename(dest)} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return dest
}

module.exports = { build }

if (require.main === module) {
  try {
    build({ release: !process.argv.includes('--debug') })
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
}
