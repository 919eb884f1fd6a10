'use strict'

// How soon monitor() raises 'leak' on a fast leak, and how often it raises it on steady
// workloads (false alarms), per Node major, for each of its two rules ('full-gcs': memwatch's
// streak of growths after full GCs; 'growth': the heap after every GC, see lib/monitor.js).
//   RHEAPDUMP_BENCH_SECONDS=60 RHEAPDUMP_NODE_MAJORS=20,26 node bench/leak-alarm.js
// The fast leak runs twice: on an idle machine, and with one busy-looping process per core.

const { fork } = require('node:child_process')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')

const { nodeBinaries } = require('../scripts/node-versions')
const { settings } = require('./settings')

const { seconds } = settings({ seconds: 60 })
const FAST_SECONDS = 20
const CHILD = path.join(__dirname, 'leak-child.js')

function hogs() {
  const code = 'for (;;) {}'
  return Array.from({ length: os.availableParallelism() }, () => fork('-e', [code], { execArgv: [], stdio: 'ignore' }))
}

async function load(port, until) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  const worker = async () => {
    while (Date.now() < until) {
      await new Promise((resolve) => {
        http.get({ port, host: '127.0.0.1', path: '/r', agent }, (res) => res.resume().on('end', resolve)).on('error', resolve)
      })
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  agent.destroy()
}

function run(node, workload, length) {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [workload, String(length)], {
      execPath: node.path,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: { ...process.env, RHEAPDUMP_SIGNAL: '0' },
    })
    let out = ''
    child.stdout.on('data', (data) => (out += data))
    child.on('message', (port) => load(port, Date.now() + length * 1000 - 500))
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${workload} on ${node.version} exited ${code}`))))
  })
}

const at = (ms) => (ms === undefined ? 'none' : `${(ms / 1000).toFixed(1)} s`)
const mb = (bytes) => (bytes === undefined ? '' : ` (${(bytes / 1048576).toFixed(0)} MB)`)
const count = (result, kind) => result.gcs[kind] || 0

async function main() {
  console.log(`fast leak: 20,000 objects every 20 ms for ${FAST_SECONDS} s; steady workloads: ${seconds} s each`)
  console.log('| node | workload | first growth alarm (heap) | first full-gcs alarm (heap) | growth alarms | full-gcs alarms | full GCs | GCs |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const node of nodeBinaries({ install: true })) {
    const cases = [['fast', FAST_SECONDS, false], ['fast', FAST_SECONDS, true], ['gc', seconds], ['cache', seconds], ['ring', seconds], ['http', seconds]]
    for (const [workload, length, busy] of cases) {
      const busyLoops = busy ? hogs() : []
      const result = await run(node, workload, length).finally(() => busyLoops.forEach((hog) => hog.kill()))
      const total = Object.values(result.gcs).reduce((a, b) => a + b, 0)
      const name = busy ? `${workload}, busy machine` : workload
      console.log(
        `| ${node.version} | ${name} | ${at(result.first.growth)}${mb(result.heapAtFirst.growth)} | ${at(result.first['full-gcs'])}${mb(result.heapAtFirst['full-gcs'])} | ${result.alarms.growth || 0} | ${result.alarms['full-gcs'] || 0} | ${count(result, 'mark-compact')} | ${total} |`,
      )
    }
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
