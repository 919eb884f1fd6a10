// Types of the ESM entry (index.mjs), which re-exports the CommonJS module.
import rheapdump from './index.js'

export default rheapdump
export * from './index.js'
