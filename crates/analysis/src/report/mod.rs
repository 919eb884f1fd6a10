//! The four analyses, as the JSON the CLI prints (a stable contract: see docs/cli.md).
//!
//! One file per report: `summary` (with `instances`, one class's objects), `diff`, `leaks` and
//! `paths`; `check`, budgets over a comparison of two summaries; `common` holds what they share;
//! `source` keeps the rows of some files only.

mod check;
mod common;
mod diff;
mod leaks;
mod paths;
mod shape;
mod source;
mod summary;

pub use check::{check, package_of, Budget, Budgets, Check, ClassGrowth};
pub(crate) use common::{label, LONGEST_NAME};
pub use common::{MatchedBy, Step};
pub use diff::{class_members, diff, shared_ids, ClassDiff, ClassMembers, Diff};
pub use leaks::{leaks, name_by_path, new_ids, History, LeakGroup, LeakOwner, Leaks, OwnerClass};
pub use paths::{clean_paths, paths, rheapdump_objects, Paths, RheapdumpCode};
pub use shape::{grown, Grown, Shape};
pub use source::SourceFilter;
pub use summary::{instances, summary, ClassRow, Instance, Instances, LargeObject, Summary};
