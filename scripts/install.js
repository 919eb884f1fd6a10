'use strict'

// `npm install` hook. In a checkout of the repository (there is a .git), always build from
// source so the binary matches the code. In an installed package, keep the prebuilt binary when
// it loads on this machine, and build from source only when none does.

const fs = require('node:fs')
const path = require('node:path')
const { build } = require('./build')

const root = path.join(__dirname, '..')

function prebuiltLoads() {
  try {
    require('../lib/binding')
    return true
  } catch {
    return false
  }
}

try {
  if (fs.existsSync(path.join(root, '.git')) || !prebuiltLoads()) build()
} catch (err) {
  console.error(err.message)
  process.exit(1)
}
