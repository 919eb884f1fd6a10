import rheapdump from './index.js'

export default rheapdump
export const { writeSnapshot, snapshot, memoryUsage, gc, monitor, configure, getConfig, signalStatus, on, off, once } = rheapdump
