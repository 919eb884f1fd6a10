// STUB until the codegen branch lands
'use strict'
module.exports = Object.freeze({
  names: { snapshot: { prefix: 'heapdump-', suffix: '.heapsnapshot' }, profile: { prefix: 'heapprofile-', suffix: '.heapprofile' }, pattern: "^(?<prefix>heapdump-|heapprofile-)(?<time>\\d{8}T\\d{6}\\.\\d{6}Z)-(?<pid>\\d+)-(?<seq>\\d+)(?<suffix>\\.heapsnapshot|\\.heapprofile)$" },
  estimate: [{ maxMajor: 21, extraPerHeapByte: 35, filePerHeapByte: 2.6 }, { maxMajor: 23, extraPerHeapByte: 34.5, filePerHeapByte: 2.65 }, { maxMajor: null, extraPerHeapByte: 34, filePerHeapByte: 2.45 }],
  sampling: { defaultInterval: 524288 },
  forkExit: { writerFailed: 70, setupFailed: 71, markerFailed: 72, orphaned: 73 },
  triggers: ['signal', 'near-heap-limit'],
  analysis: { top: 20, paths: 5 },
})
