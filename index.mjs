import rheapdump from './index.js'

export default rheapdump
export const { writeSnapshot, snapshot, heapProfile, writeHeapProfile, memoryUsage, gc, monitor, configure, getConfig, signalStatus, analysis, on, off, once } = rheapdump
