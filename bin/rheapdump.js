#!/usr/bin/env node
'use strict'

// rheapdump's command line. The analyses run in Rust on a worker thread (crates/analysis);
// exit 0 on success, 1 when a file cannot be analysed, 2 on a usage error.

const { parseArgs } = require('node:util')
const analysis = require('../lib/analysis')

const USAGE = `Usage: rheapdump <command> [options]

Commands:
  summary FILE                     objects by class: count, shallow and retained size, distance;
                                   and the largest objects (DevTools' Summary view)
  diff BEFORE AFTER                what was allocated and freed, by class (DevTools' Comparison)
  leaks BASELINE TARGET FINAL      objects allocated after BASELINE, present in TARGET and still
                                   alive in FINAL, grouped by class and retaining path
  path FILE ID                     the shortest retaining paths from the GC roots to node @ID
  validate FILE                    check that FILE is a sound .heapsnapshot (exit 0 only if so)

Options:
  --json           print the report as JSON
  --top N          rows to show (summary, diff, leaks; default 20; 0 for every class)
  --max N          paths to show (path; default 5)
  -h, --help       show this help`

const ARITY = { summary: 1, diff: 2, leaks: 3, path: 2, validate: 1 }

function fail(message, exitCode = 1) {
  process.stderr.write(`rheapdump: ${message}\n`)
  process.exitCode = exitCode
}

function count(value, name) {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw Object.assign(new Error(`--${name} takes a whole number, got '${value}'`), { usage: true })
  return Number(value)
}

async function validate(file, json) {
  try {
    const counts = await analysis.validate(file)
    if (json) process.stdout.write(`${JSON.stringify({ file, valid: true, ...counts })}\n`)
    else process.stdout.write(`${file}: sound heap snapshot: ${counts.nodes} nodes, ${counts.edges} edges, ${counts.strings} strings\n`)
  } catch (err) {
    if (!err.path) throw err
    if (json) process.stdout.write(`${JSON.stringify({ file, valid: false, code: err.code, error: err.description })}\n`)
    fail(`${err.path}: ${err.code}: ${err.description}`)
  }
}

async function main() {
  let parsed
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        top: { type: 'string' },
        max: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (err) {
    return fail(`${err.message}\n\n${USAGE}`, 2)
  }
  const { values } = parsed
  const [command, ...args] = parsed.positionals
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`)
    if (!command && !values.help) process.exitCode = 2
    return
  }
  if (!(command in ARITY)) return fail(`unknown command '${command}'\n\n${USAGE}`, 2)
  if (args.length !== ARITY[command]) {
    const want = USAGE.split('\n').find((line) => line.trimStart().startsWith(`${command} `)).trim().split(/\s{2,}/)[0]
    return fail(`usage: rheapdump ${want}\n\n${USAGE}`, 2)
  }
  if (command === 'validate') return validate(args[0], values.json)

  let options
  try {
    options = { top: count(values.top, 'top'), max: count(values.max, 'max'), progress: Boolean(process.stderr.isTTY) }
    if (command === 'path' && !/^@?\d+$/.test(args[1])) {
      throw Object.assign(new Error(`ID must be a node id such as 1234 or @1234, got '${args[1]}'`), { usage: true })
    }
  } catch (err) {
    return fail(`${err.message}\n\n${USAGE}`, 2)
  }
  const run = {
    summary: () => analysis.reports.summary(args[0], options),
    diff: () => analysis.reports.diff(args[0], args[1], options),
    leaks: () => analysis.reports.leaks(args[0], args[1], args[2], options),
    path: () => analysis.reports.path(args[0], Number(args[1].replace('@', '')), options),
  }[command]
  try {
    const report = await run()
    process.stdout.write(values.json ? `${report.json}\n` : report.text)
  } catch (err) {
    if (!err.path) throw err
    fail(`${err.path}: ${err.code}: ${err.description}`)
  }
}

main().catch((err) => fail(err.stack || String(err)))
