'use strict'

// What the `rheapdump` launcher (bin/rheapdump, a Node script) costs beside the native program it
// starts, per Node major: on Node >= 22.15 it replaces itself (process.execve), before that it
// spawns the program and waits. Measured from outside: the launcher process's highest RSS while
// the program runs a summary (sampled from /proc every 10 ms), the name it ends up running as,
// and the start-up time of `rheapdump --version` against the native program's.
//
//   node bench/launcher.js FILE.heapsnapshot   (RHEAPDUMP_BENCH_RUNS=N, default 5; RHEAPDUMP_NODE_MAJORS)

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { settings } = require('./settings')
const { nodeBinaries } = require('../scripts/node-versions')

const ROOT = path.join(__dirname, '..')
const LAUNCHER = path.join(ROOT, 'bin', 'rheapdump')
const NATIVE = path.join(ROOT, 'bin', `rheapdump-cli-${process.platform}-${process.arch}`)
const { runs: RUNS } = settings({ runs: 5 })

/** Runs the launcher on `file` under `node`; resolves to its peak RSS (KiB) and what it ran as. */
function watch(node, file) {
  return new Promise((resolve) => {
    const child = spawn(node, [LAUNCHER, 'summary', file, '--json'], { stdio: 'ignore' })
    const seen = { rssKib: 0, name: '' }
    const timer = setInterval(() => {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8')
        seen.rssKib = Math.max(seen.rssKib, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0))
        seen.name = /Name:\s+(\S+)/.exec(status)?.[1] ?? seen.name
      } catch {
        // gone already
      }
    }, 10)
    child.on('exit', () => {
      clearInterval(timer)
      resolve(seen)
    })
  })
}

function startup(command, args) {
  const times = []
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint()
    spawnSync(command, [...args, '--version'])
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  return times.sort((a, b) => a - b)[Math.floor((RUNS - 1) / 2)]
}

async function main() {
  const file = process.argv[2]
  if (!file) throw new Error('usage: node bench/launcher.js FILE.heapsnapshot')
  console.log(`| Node | launches by | process runs as | launcher's peak RSS during a summary | --version (median of ${RUNS}) |`)
  console.log('|---|---|---|---|---|')
  console.log(`| – | (the native program directly) | rheapdump-cli | – | ${startup(NATIVE, []).toFixed(0)} ms |`)
  for (const node of nodeBinaries({ install: true })) {
    const hasExecve = spawnSync(node.path, ['-p', 'typeof process.execve'], { encoding: 'utf8' }).stdout.trim() === 'function'
    const seen = await watch(node.path, file)
    const rss = seen.name === 'node' ? `${(seen.rssKib / 1024).toFixed(1)} MiB beside the program` : 'none: replaced'
    console.log(`| ${node.version} | ${hasExecve ? 'execve' : 'spawn'} | ${seen.name} | ${rss} | ${startup(node.path, [LAUNCHER]).toFixed(0)} ms |`)
  }
}

main()
