'use strict'

// `npm install` hook. In a checkout of the repository (there is a .git), always build from
// source so the binaries match the code, and fail when that fails. In an installed package,
// keep the prebuilt addon and command-line program when they run on this machine, and build
// from source only when not; when that cannot be done either (no Rust toolchain, an exotic
// platform), say so in one line and succeed: the package then runs its pure-JS fallback
// (lib/fallback.js), so `npm install rheapdump` never fails.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { build, cliPath } = require('./build')

const root = path.join(__dirname, '..')
const checkout = fs.existsSync(path.join(root, '.git'))

// Every native module: the addon, and those loaded on demand (the uploader, the analyses).
function prebuiltLoads() {
  const { binding, uploader, analyzer } = require('../lib/binding')
  if ('fallback' in binding) return false
  try {
    uploader()
    analyzer()
    return true
  } catch {
    return false
  }
}

// The program for this machine, as bin/rheapdump picks it. When it does not start and neither
// does this very Node binary as a child, this architecture's programs run here only through an
// emulator (Node itself was started by qemu-user, without binfmt_misc): a program built from
// source could not start either, so the prebuilt one stays; its sibling addon has loaded.
function prebuiltRuns() {
  if (spawnSync(cliPath(), ['--version']).status === 0) return true
  return spawnSync(process.execPath, ['--version']).status !== 0
}

try {
  if (checkout || !prebuiltLoads() || !prebuiltRuns()) build()
} catch (err) {
  if (checkout) {
    console.error(err.message)
    process.exit(1)
  }
  console.error(
    `rheapdump: no native binary fits ${process.platform}-${process.arch} and none could be built (${err.cause || err.message}); ` +
      'using the pure-JS fallback: snapshots work, SIGUSR2 waits for the event loop; the analysis and the command line run the portable (WebAssembly) program. ' +
      'For the full package, install Rust (https://rustup.rs) and run `npm rebuild rheapdump`.',
  )
}
