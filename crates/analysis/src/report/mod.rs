//! The four analyses, as the JSON the CLI prints (a stable contract: see docs/cli.md).
//!
//! One file per report: `summary` (with `instances`, one class's objects), `diff`, `leaks` and
//! `paths`; `common` holds what they share; `source` keeps the rows of some files only.

mod common;
mod diff;
mod leaks;
mod paths;
mod source;
mod summary;

pub use common::Step;
pub use diff::{class_members, diff, shared_ids, ClassDiff, ClassMembers, Diff};
pub use leaks::{leaks, name_by_path, new_ids, History, LeakGroup, LeakOwner, Leaks, OwnerClass};
pub use paths::{clean_paths, paths, rheapdump_objects, Paths, RheapdumpCode};
pub use source::SourceFilter;
pub use summary::{instances, summary, ClassRow, Instance, Instances, LargeObject, Summary};
