#!/usr/bin/env node
'use strict'

// rheapdump's command line. The analysis runs in Rust on a worker thread (crates/analysis).
//
//   rheapdump validate FILE [--json]   exit 0 only for a sound snapshot

const { parseArgs } = require('node:util')
const { binding: native } = require('../lib/binding')

const USAGE = `Usage: rheapdump <command> [options]

Commands:
  validate FILE    check that FILE is a sound .heapsnapshot (exit 0 only if it is)

Options:
  --json           print the result as JSON
  -h, --help       show this help`

function fail(message, exitCode = 1) {
  process.stderr.write(`rheapdump: ${message}\n`)
  process.exitCode = exitCode
}

async function validate(file, { json }) {
  const result = await native.validateSnapshot(file)
  if ('code' in result) {
    if (json) process.stdout.write(`${JSON.stringify({ file, valid: false, code: result.code, error: result.description })}\n`)
    return fail(`${file}: ${result.code}: ${result.description}`)
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ file, valid: true, nodes: result.nodes, edges: result.edges, strings: result.strings })}\n`)
  } else {
    process.stdout.write(`${file}: sound heap snapshot: ${result.nodes} nodes, ${result.edges} edges, ${result.strings} strings\n`)
  }
}

async function main() {
  let parsed
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    })
  } catch (err) {
    return fail(`${err.message}\n\n${USAGE}`, 2)
  }
  const [command, ...files] = parsed.positionals
  if (parsed.values.help || !command) {
    process.stdout.write(`${USAGE}\n`)
    if (!command && !parsed.values.help) process.exitCode = 2
    return
  }
  if (command === 'validate' && files.length === 1) return validate(files[0], parsed.values)
  fail(command === 'validate' ? `validate takes one FILE\n\n${USAGE}` : `unknown command '${command}'\n\n${USAGE}`, 2)
}

main().catch((err) => fail(err.stack || String(err)))
