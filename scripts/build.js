'use strict'

// Builds the addon and the command-line program with cargo and puts them where they are looked
// for: rheapdump.<platform>-<arch>[-<libc>].node in the package root (lib/binding.js), and
// bin/rheapdump-cli (bin/rheapdump); the portable command-line program, bin/rheapdump-cli.wasm
// (lib/wasi.js), in a checkout and wherever it is missing; in a checkout, lib/addon.d.ts too
// (scripts/binding-types.js).
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
/** The portable command-line program, shipped prebuilt: the package's fallback on every platform. */
const PORTABLE = path.join(root, 'bin', 'rheapdump-cli.wasm')
const WASI_TARGET = 'wasm32-wasip1'

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
  const products = [path.basename(addon), `bin/${path.basename(program)}`]
  // The portable program is built for the package (a checkout) or when it is missing; an
  // installed package that builds its native code keeps the .wasm it shipped with.
  // (A checkout is where the devDependencies that generate the types are.)
  if (types || !fs.existsSync(PORTABLE)) products.push(buildPortable({ cargo, release, required: types }))
  console.error(`rheapdump: built ${products.filter(Boolean).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return addon
}

/** Builds bin/rheapdump-cli.wasm; without the wasm32-wasip1 target, fails only if `required`. */
function buildPortable({ cargo, release, required }) {
  const args = ['build', '--package', 'rheapdump-cli', '--target', WASI_TARGET, ...(release ? ['--release'] : [])]
  const result = spawnSync(cargo, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    const message = `rheapdump: cargo ${args.join(' ')} failed (exit ${result.status}); \`rustup target add ${WASI_TARGET}\` adds the target`
    if (required) throw new Error(message)
    console.error(`${message}; the command line runs the native program only`)
    return null
  }
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target')
  return `bin/${path.basename(place(path.join(targetDir, WASI_TARGET, release ? 'release' : 'debug', 'rheapdump.wasm'), PORTABLE))}`
}

// Copy, then rename: a running process that has the old binary mapped keeps its copy intact.
function place(built, dest) {
  const temporary = `${dest}.${process.pid}.tmp`
  fs.copyFileSync(built, temporary)
  fs.renameSync(temporary, dest)
  return dest
}

module.exports = { build, CLI, PORTABLE }

if (require.main === module) {
  try {
    build({ release: !process.argv.includes('--debug') })
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
}
