// Compiled by __test__/types.test.js with tsc --noEmit: every export, used as the README shows.
import rheapdump = require('../..')
import type { Config, GcResult, LeakEvent, MemoryUsage, SnapshotError, SnapshotInfo } from '../..'

const ok: boolean = rheapdump.writeSnapshot((err: SnapshotError | null, filename?: string) => {
  if (err) console.error(err.code, err.path, err.needed)
  else console.log(filename)
})
rheapdump.writeSnapshot('/tmp/x.heapsnapshot')
rheapdump.writeSnapshot()

async function api(): Promise<void> {
  const info: SnapshotInfo = await rheapdump.snapshot({ dir: '/tmp', force: true })
  const { path, bytes, durationMs, trigger, rss } = info
  console.log(path, bytes, durationMs, trigger === 'near-heap-limit', rss.peak ?? rss.after)
  const memory: MemoryUsage = rheapdump.memoryUsage()
  console.log(memory.rss, memory.vsz, memory.spaces.old_space?.used, memory.heapLimit)
  const freed: GcResult = rheapdump.gc()
  console.log(freed.freed)
  const config: Config = rheapdump.configure({ quiet: true, memoryLimit: 1e9, keep: 5, nearHeapLimit: true, dir: null })
  console.log(config.guard, rheapdump.getConfig().signal, rheapdump.signalStatus().coalesced)
  const monitor = rheapdump.monitor({ interval: 1000, pressure: 0.2, snapshots: { heapUsed: 1e9, max: 2, nearHeapLimit: 1 } })
  monitor.on('leak', (event: LeakEvent) => console.log(event.ratePerHour))
  monitor.on('pressure', ({ share }) => console.log(share))
  monitor.on('stats', (stats) => console.log(stats.gc['mark-compact']?.count, stats.gcShare))
  monitor.on('gc', ({ kind, pauseMs }) => console.log(kind, pauseMs))
  monitor.stop()
  rheapdump.on('snapshot', (i) => console.log(i.path)).on('snapshotError', (e) => console.log(e.code))
  rheapdump.once('snapshot', () => {})
  rheapdump.off('snapshot', () => {})
}

void ok
void api
