//! V8's sampling heap profiler, as rheapdump runs it.

/// Bytes allocated per sample when sampling is switched on without a figure. V8's own default,
/// and cheap in production: 0.99–1.06× main-thread CPU, ~110 B RSS a sample.
pub const DEFAULT_SAMPLING_INTERVAL: u32 = 512 * 1024;

/// The smallest interval accepted. Below it V8 records a stack for nearly every allocation: the
/// main thread slows by a large factor and the samples' memory grows with the live heap.
pub const MIN_SAMPLING_INTERVAL: u32 = 1024;
