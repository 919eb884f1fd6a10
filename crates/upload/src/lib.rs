//! Uploads one finished file to S3-compatible object storage, blocking the calling thread (the
//! addon's uploader thread) and touching nothing of Node.
//!
//! - `destination`: `s3://BUCKET/PREFIX` and the key a file gets under it.
//! - `aws`: the standard AWS configuration (endpoint, region, addressing), read from a copy of
//!   the environment that the caller took on its own thread: reading the live environment from
//!   another thread races with Node's `setenv` (`process.env.X = …`).
//! - `credentials`: environment keys, the shared credentials file, EKS web identity (IRSA).
//! - `transfer`: one PUT, or a multipart upload in parts of at least 8 MiB read from the file
//!   one at a time, each request retried with backoff.
//!
//! Nothing here writes a secret anywhere: failures name the request, the HTTP status and the
//! S3 error code, never a URL (presigned URLs carry the session token) or a key.
#![deny(clippy::all)]

pub mod aws;
pub mod credentials;
pub mod destination;
mod failure;
mod transfer;

pub use aws::{Aws, Env};
pub use destination::Destination;
pub use failure::{Failure, FailureKind};
pub use transfer::{agent, upload, Pending, Uploaded, PART_SIZE};
pub use ureq::Agent;
