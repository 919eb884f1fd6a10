//! The four analyses, as the JSON the CLI prints (a stable contract: see docs/cli.md).
//!
//! One file per report: `summary` (with `instances`, one class's objects), `diff`, `leaks`,
//! `paths` and `suspects` (what `rheapdump report` draws, as the HTML `page`); `check`, budgets over a comparison of two summaries; `common` holds what they share;
//! `source` keeps the rows of some files only; `packages` counts memory by npm package and
//! keeps the rows of one package only.

mod check;
mod common;
mod diff;
mod leaks;
mod packages;
pub mod page;
mod paths;
mod shape;
mod source;
mod summary;
mod suspects;

pub use check::{check, parse_size, Budget, Budgets, Check, ClassGrowth};
pub(crate) use common::{label, LONGEST_NAME};
pub use common::{MatchedBy, Step};
pub use diff::{class_members, diff, shared_ids, ClassDiff, ClassMembers, Diff};
pub use leaks::{leaks, name_by_path, new_ids, History, LeakGroup, LeakOwner, Leaks, OwnerClass};
pub use packages::{
  group_of, package_of, packages_of_groups, PackageDiff, PackageFilter, PackageRow, APP, NODE,
  UNKNOWN,
};
pub use page::Page;
pub use paths::{clean_paths, paths, rheapdump_objects, Paths, RheapdumpCode};
pub use shape::{grown, Grown, Shape};
pub use source::SourceFilter;
pub use summary::{instances, summary, ClassRow, Instance, Instances, LargeObject, Summary};
pub use suspects::{retained_of, LeakSuspects, OwnerHistory, SnapshotFigures};
