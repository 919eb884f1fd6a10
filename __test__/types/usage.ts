// Compiled by __test__/types.test.js with tsc --noEmit: every export, used as the README shows.
import rheapdump = require('../..')
import type { Config, GcResult, HeapProfileInfo, LeakEvent, MemoryUsage, RheapdumpErrorCode, SnapshotError, SnapshotInfo } from '../..'
import type { ClassRow, LeakOwner, LeakReport, PackageRow, PathStep, RetainingPaths, SnapshotDiff, SnapshotSummary, SnapshotValidity } from '../..'

const refused: RheapdumpErrorCode = 'ERR_RHEAPDUMP_INSUFFICIENT_MEMORY'
console.log(refused)

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
  rheapdump.configure({ sampling: true, signalAction: 'both' })
  rheapdump.configure({ sampling: '64k' })
  const forked: SnapshotInfo = await rheapdump.snapshot({ fork: { fallback: true } })
  console.log(forked.via === 'fork' ? forked.pauseMs : forked.forkError?.code, rheapdump.configure({ fork: true }).fork)
  rheapdump.configure({ fork: 'auto', forkAbove: 2000 })
  const profile: HeapProfileInfo = await rheapdump.heapProfile({ dir: '/tmp' })
  console.log(profile.samples, profile.interval ?? 'borrowed', rheapdump.writeHeapProfile('/tmp/x.heapprofile').bytes)
  rheapdump.on('profile', (p) => console.log(p.path)).on('profileError', (e) => console.log(e.code))
  rheapdump.configure({ upload: 's3://heaps/prod/api', uploadKeepLocal: false })
  rheapdump.on('upload', (u) => console.log(u.url, u.parts, u.localKept)).on('uploadError', (e) => console.log(e.code, e.s3Code, e.status))
  const monitor = rheapdump.monitor({ interval: 1000, pressure: 0.2, snapshots: { heapUsed: 1e9, max: 2, nearHeapLimit: 1 } })
  monitor.on('leak', (event: LeakEvent) => console.log(event.ratePerHour))
  rheapdump.monitor({ profiles: true }).stop()
  rheapdump.monitor({ profiles: { max: 2, minInterval: 1000, dir: '/tmp' } }).stop()
  monitor.on('pressure', ({ share }) => console.log(share))
  monitor.on('stats', (stats) => console.log(stats.gc['mark-compact']?.count, stats.gcShare))
  monitor.on('gc', ({ kind, pauseMs }) => console.log(kind, pauseMs))
  monitor.stop()
  rheapdump.on('snapshot', (i) => console.log(i.path)).on('snapshotError', (e) => console.log(e.code))
  rheapdump.once('snapshot', () => {})
  rheapdump.off('snapshot', () => {})
  const summary = await rheapdump.analysis.summary('a.heapsnapshot', { top: 10, progress: false })
  console.log(summary.total_size, summary.classes[0]?.retained_size, summary.largest[0]?.id)
  const diff = await rheapdump.analysis.diff('a.heapsnapshot', 'b.heapsnapshot', { package: 'lru-cache' })
  console.log(diff.classes[0]?.size_delta, diff.classes[0]?.package, diff.packages[0]?.new_count)
  const byPackage: PackageRow | undefined = summary.packages[0]
  console.log(byPackage?.retained_size)
  const leaks = await rheapdump.analysis.leaks('a.heapsnapshot', 'b.heapsnapshot', 'c.heapsnapshot', { top: 0 })
  console.log(leaks.groups[0]?.path.map((step) => `${step.node} @${step.id} ${step.edge ?? ''}`))
  console.log(leaks.owners[0]?.source, leaks.owners[0]?.classes[0]?.example, leaks.warnings, diff.warnings)
  const paths = await rheapdump.analysis.path('c.heapsnapshot', 1234, { max: 3 })
  console.log(paths.paths.length, paths.distance)
  const counts = await rheapdump.analysis.validate('c.heapsnapshot')
  console.log(counts.nodes)
  // The report types are exported by name; their fields are the JSON's (serde's renames).
  const valid: true = counts.valid
  const reports: [SnapshotSummary, SnapshotDiff, LeakReport, RetainingPaths, SnapshotValidity] = [summary, diff, leaks, paths, counts]
  const row: ClassRow | undefined = summary.classes[0]
  const owner: LeakOwner | undefined = leaks.owners[0]
  const step: PathStep | undefined = paths.paths[0]?.[0]
  console.log(valid, reports.length, row?.distance, owner?.growth_size, step?.source, leaks.final, summary.largest[0]?.type)
  // Every analysis of the command line, typed; and any of them as one request.
  const sessions = await rheapdump.analysis.instances('b.heapsnapshot', 'Session', { before: 'a.heapsnapshot', source: 'lib/', top: 5 })
  console.log(sessions.count, sessions.instances[0]?.id, sessions.before)
  const page = await rheapdump.analysis.report('a.heapsnapshot', 'b.heapsnapshot', 'c.heapsnapshot', { out: 'leaks.html' })
  console.log(page.output, page.bytes, page.warnings)
  const budget = await rheapdump.analysis.check('a.heapsnapshot', 'b.heapsnapshot', { maxGrowth: '1MB', maxClassGrowth: { Quote: 262144 } })
  console.log(budget.passed, budget.budgets[0]?.growth, budget.grew[0]?.name)
  const top = await rheapdump.analysis.profileTop('a.heapprofile', { top: 5 })
  const grew = await rheapdump.analysis.profileDiff('a.heapprofile', 'b.heapprofile')
  console.log(top.functions[0]?.self_bytes, grew.new_bytes, grew.functions[0]?.location)
  const byPath = await rheapdump.analysis.leaks('a.heapsnapshot', 'b.heapsnapshot', 'c.heapsnapshot', { byPath: true, match: 'structure' })
  const any = await rheapdump.analysis.run({ kind: 'leaks', baseline: 'a', target: 'b', final: 'c', byPath: true, top: 3 })
  console.log(byPath.groups.length, any)
  // @ts-expect-error: a request names its kind
  void rheapdump.analysis.run({ file: 'a.heapsnapshot' })
}

void ok
void api
