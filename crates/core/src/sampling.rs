//! V8's sampling heap profiler, as rheapdump runs it.

/// Bytes allocated per sample when sampling is switched on without a figure: a quarter of V8's
/// own 512 KiB. A 20 MiB leak gets ~140 samples instead of ~28, enough to rank the leaking
/// functions first in `profile top` and `profile diff`, for a few percent of CPU on
/// allocation-bound work (bench/README.md, "Sampling by default?").
pub const DEFAULT_SAMPLING_INTERVAL: u32 = 128 * 1024;

/// The smallest interval accepted. Below it V8 records a stack for nearly every allocation: the
/// main thread slows by a large factor and the samples' memory grows with the live heap.
pub const MIN_SAMPLING_INTERVAL: u32 = 1024;
