'use strict'

// `npm install` hook. In a checkout of the repository (there is a .git), always build from
// source so the binaries match the code. In an installed package, keep the prebuilt addon and
// command-line program when they run on this machine, and build from source only when not.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { build, CLI } = require('./build')

const root = path.join(__dirname, '..')

function prebuiltLoads() {
  try {
    require('../lib/binding')
    return true
  } catch {
    return false
  }
}

function prebuiltRuns() {
  return spawnSync(CLI, ['--version']).status === 0
}

try {
  if (fs.existsSync(path.join(root, '.git')) || !prebuiltLoads() || !prebuiltRuns()) build()
} catch (err) {
  console.error(err.message)
  process.exit(1)
}
