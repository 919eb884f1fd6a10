'use strict'

// Builds the addon and the command-line program with cargo and puts them where they are looked
// for: rheapdump.<platform>-<arch>[-<libc>].node in the package root (lib/binding.js), and
// bin/rheapdump-cli (bin/rheapdump); in a checkout, lib/addon.d.ts too (scripts/binding-types.js).
// Usage: node scripts/build.js [--debug]

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const bindingTypes = require('./binding-types')

const root = path.join(__dirname, '..')

function libc() {
  if (process.platform !== 'linux') return ''
  const report = process.report && process.report.getReport()
  return report && report.header && report.header.glibcVersionRuntime ? '-gnu' : '-musl'
}

// The addon builds where crates/platform has a module (Linux); elsewhere cargo stops there and
// lib/binding.js loads the fallback.
function artifactName() {
  return process.platform === 'darwin' ? 'librheapdump.dylib' : 'librheapdump.so'
}

/** The command-line program (crates/cli), which bin/rheapdump runs. */
const CLI = path.join(root, 'bin', 'rheapdump-cli')

function build({ release = true } = {}) {
  const cargo = process.env.CARGO || 'cargo'
  const args = ['build', '--package', 'rheapdump', '--package', 'rheapdump-cli', ...(release ? ['--release'] : [])]
  const started = Date.now()
  // A checkout (with devDependencies) also regenerates lib/addon.d.ts from this build.
  const types = bindingTypes.available()
  const env = { ...process.env, ...(types ? bindingTypes.cargoEnv() : {}) }
  const result = spawnSync(cargo, args, { cwd: root, stdio: 'inherit', env })
  if (result.error && result.error.code === 'ENOENT') {
    throw Object.assign(
      new Error(
        'rheapdump: no prebuilt binary fits this platform and cargo was not found to build one. ' +
          'Install Rust (https://rustup.rs), then run `npm rebuild rheapdump`.',
      ),
      { cause: 'cargo was not found' },
    )
  }
  if (result.status !== 0) {
    throw Object.assign(new Error(`rheapdump: cargo ${args.join(' ')} failed (exit ${result.status})`), { cause: `cargo build failed (exit ${result.status})` })
  }
  const built = path.join(process.env.CARGO_TARGET_DIR || path.join(root, 'target'), release ? 'release' : 'debug')
  const addon = place(path.join(built, artifactName()), path.join(root, `rheapdump.${process.platform}-${process.arch}${libc()}.node`))
  const program = place(path.join(built, 'rheapdump'), CLI)
  if (types) {
    const generated = spawnSync(process.execPath, [path.join(__dirname, 'binding-types.js')], { stdio: 'inherit' })
    if (generated.status !== 0) throw new Error(`rheapdump: writing ${path.relative(root, bindingTypes.OUTPUT)} failed`)
  }
  console.error(`rheapdump: built ${path.basename(addon)} and bin/${path.basename(program)} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return addon
}

// Copy, then rename: a running process that has the old binary mapped keeps its copy intact.
function place(built, dest) {
  const temporary = `${dest}.${process.pid}.tmp`
  fs.copyFileSync(built, temporary)
  fs.renameSync(temporary, dest)
  return dest
}

module.exports = { build, CLI }

if (require.main === module) {
  try {
    build({ release: !process.argv.includes('--debug') })
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
}
