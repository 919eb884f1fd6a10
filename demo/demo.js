'use strict'

// `npm run demo`: starts demo/app.js, sends it SIGUSR2 once while idle and once while its event
// loop is stuck in synchronous work, and shows what was written.

const { fork } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { validateFile, countObjectsByName } = require('../tools/heapsnapshot')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rheapdump-demo-'))
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

function waitFor(child, event) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message.event === event) {
        child.off('message', onMessage)
        resolve(message)
      }
    }
    child.on('message', onMessage)
  })
}

function waitForFile(count) {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'))
      if (files.length >= count) {
        clearInterval(poll)
        resolve(path.join(dir, files.sort()[count - 1]))
      }
    }, 10)
  })
}

function describe(file, label, elapsedMs) {
  const { nodeCount, snap } = validateFile(file)
  const stat = fs.statSync(file)
  console.log(`${label}: ${path.basename(file)}`)
  console.log(
    `  ${mb(stat.size)}, mode ${(stat.mode & 0o777).toString(8)}, ${nodeCount} nodes, ` +
      `${countObjectsByName(snap, 'Session')} Session objects; complete ${elapsedMs} ms after the signal`,
  )
}

async function main() {
  console.log(`Demo app writes into ${dir}\n`)
  const child = fork(path.join(__dirname, 'app.js'), { cwd: dir, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const { memory } = await waitFor(child, 'ready')
  console.log(`app ${child.pid} ready: rss ${mb(memory.rss)}, heap used ${mb(memory.heapUsed)}\n`)

  let sent = Date.now()
  child.kill('SIGUSR2')
  describe(await waitForFile(1), '1. idle, kill -USR2', Date.now() - sent)
  await waitFor(child, 'snapshot')

  child.send('stuck')
  await waitFor(child, 'stuck')
  const unstuck = waitFor(child, 'unstuck')
  let stuck = true
  unstuck.then(() => (stuck = false))
  sent = Date.now()
  child.kill('SIGUSR2')
  const file = await waitForFile(2)
  describe(file, '\n2. event loop stuck for 8 s, kill -USR2', Date.now() - sent)
  console.log(`  the loop was ${stuck ? 'STILL STUCK' : 'already free'} when the file was complete`)
  await unstuck
  child.send('exit')
  await new Promise((resolve) => child.on('exit', resolve))

  // 3. The analysis, from the command line, on the server: what holds the memory.
  const cli = path.join(__dirname, '..', 'bin', 'rheapdump')
  const shown = `npx rheapdump summary ${path.basename(file)} --top 5`
  console.log(`\n3. ${shown}\n`)
  const summary = require('node:child_process').spawnSync(cli, ['summary', file, '--top', '5'], { encoding: 'utf8' })
  // Its first lines name the file and the totals; the tables follow.
  const tables = summary.stdout.split('\n').slice(2).join('\n').trimEnd()
  console.log(tables.replace(/^/gm, '  '))
  console.log(`\nOpen the files in Chrome DevTools → Memory → Load. Remove them with: rm -r ${dir}`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
