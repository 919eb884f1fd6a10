import rheapdump from './index.js'

export default rheapdump
export const { writeSnapshot, snapshot, memoryUsage, gc, configure, getConfig, signalStatus, on, off, once } = rheapdump
