// The ESM face: default and named exports.
import rheapdump, { writeSnapshot, snapshot, heapProfile, writeHeapProfile, memoryUsage, gc, monitor, configure, getConfig, signalStatus, analysis, on, off, once } from '../../index.mjs'

const all = [writeSnapshot, snapshot, heapProfile, writeHeapProfile, memoryUsage, gc, monitor, configure, getConfig, signalStatus, analysis, on, off, once]
const same: boolean = rheapdump.writeSnapshot === writeSnapshot
void all
void same
