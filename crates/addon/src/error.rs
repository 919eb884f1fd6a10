//! Errors the addon throws: each carries a `code` that JS can rely on (napi-rs sets the thrown
//! Error's `code` to the status string). lib/errors.js lists every code rheapdump gives.

/// The status of a `napi::Result<T, Code>`: the error reaches JS with this as its `code`.
/// (napi-derive recognizes a #[napi] function's result by the name `Result`, so the functions
/// spell out `Result<T, Code>`.)
pub type Code = &'static str;

/// The error `code: reason`.
pub fn coded(code: Code, reason: impl ToString) -> napi::Error<Code> {
  napi::Error::new(code, reason)
}

/// A failed Node-API call (its status says which failure) as ERR_RHEAPDUMP_NODE_API.
pub fn node_api(err: napi::Error) -> napi::Error<Code> {
  coded(
    "ERR_RHEAPDUMP_NODE_API",
    format!("Node-API call failed: {:?} {}", err.status, err.reason),
  )
}
