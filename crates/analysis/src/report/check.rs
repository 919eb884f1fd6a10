//! `check`: did memory grow beyond a budget between two snapshots? For CI: the two snapshots may
//! come from two processes (a run on the main branch and one on the change), so everything is
//! compared by class name and size, never by object id.

use std::collections::BTreeMap;

use serde::Serialize;

use super::common::label;
use super::packages::package_of;
use super::summary::Summary;

/// A size in bytes (a budget of the CLI or the JS API), by the rule the settings follow too:
/// `1048576`, `1m` and `1MiB` (2²⁰), `1MB` (10⁶), `2.5MiB` (crates/core/src/size.rs).
pub fn parse_size(text: &str) -> Result<u64, String> {
  rheapdump_core::size::parse(text).ok_or_else(|| {
    format!(
      "a size is bytes or a number with a unit ({}; 1MB is 10⁶ bytes), got '{text}'",
      rheapdump_core::size::EXAMPLES
    )
  })
}

/// What may grow, in bytes; a budget left out is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Budgets {
  /// Everything reachable: the root's retained size.
  pub total: Option<u64>,
  /// By class name: the shallow size of the class's objects.
  pub classes: Vec<(String, u64)>,
  /// By npm package: the shallow size of objects whose constructor is defined under
  /// `node_modules/<package>/`.
  pub packages: Vec<(String, u64)>,
  /// By class name: the retained size of the class's objects, what they hold (each object
  /// counted once).
  pub owners: Vec<(String, u64)>,
}

/// One budget and how much its figure grew.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "CheckBudget"))]
pub struct Budget {
  /// `total`, `class`, `package` or `owner`.
  pub kind: String,
  /// The class or package; null for the total.
  pub name: Option<String>,
  /// Bytes it may grow by.
  pub limit: u64,
  /// Bytes it grew by (negative: it shrank).
  pub growth: i64,
  /// Objects more (negative: fewer) of the class or package; null for the total.
  pub objects: Option<i64>,
  pub passed: bool,
}

/// How one class changed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ClassGrowth"))]
pub struct ClassGrowth {
  pub name: String,
  pub objects: i64,
  /// Shallow size, bytes.
  pub size: i64,
  /// Retained size, bytes.
  pub retained: i64,
  /// The npm package its constructor is defined in.
  #[serde(skip_serializing_if = "Option::is_none")]
  #[cfg_attr(feature = "ts", ts(optional))]
  pub package: Option<String>,
}

/// What `check` reports (`rheapdump check --json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "CheckReport"))]
pub struct Check {
  pub baseline: String,
  pub current: String,
  /// Every budget held.
  pub passed: bool,
  /// How much everything reachable grew, bytes.
  pub growth: i64,
  pub budgets: Vec<Budget>,
  /// The classes that grew most by shallow size, largest growth first.
  pub grew: Vec<ClassGrowth>,
}

#[derive(Default, Clone, Copy)]
struct Figures {
  count: i64,
  size: i64,
  retained: i64,
}

/// Class figures by name (classes of one name defined in two places are one here), with the
/// package of each.
fn by_class(summary: &Summary) -> BTreeMap<&str, (Figures, Option<String>)> {
  let mut classes: BTreeMap<&str, (Figures, Option<String>)> = BTreeMap::new();
  for row in &summary.classes {
    let entry = classes.entry(&row.name).or_default();
    entry.0.count += row.count as i64;
    entry.0.size += row.shallow_size as i64;
    entry.0.retained += row.retained_size as i64;
    if entry.1.is_none() {
      // A bundle's code: the package its source map names.
      entry.1 = row.source.as_deref().and_then(|source| {
        package_of(source).or_else(|| crate::source_map::bundled_package(source))
      });
    }
  }
  classes
}

/// Compares `current` with `baseline` (both summaries with every class) against `budgets`;
/// `top` classes that grew most are listed (all if 0).
pub fn check(baseline: &Summary, current: &Summary, budgets: &Budgets, top: usize) -> Check {
  let (old, new) = (by_class(baseline), by_class(current));
  let mut changes: BTreeMap<&str, (Figures, Option<String>)> = BTreeMap::new();
  for (name, (figures, package)) in &new {
    changes.insert(name, (*figures, package.clone()));
  }
  for (name, (figures, package)) in &old {
    let entry = changes
      .entry(name)
      .or_insert((Figures::default(), package.clone()));
    entry.0.count -= figures.count;
    entry.0.size -= figures.size;
    entry.0.retained -= figures.retained;
  }
  let growth = current.total_size as i64 - baseline.total_size as i64;
  let mut results = Vec::new();
  if let Some(limit) = budgets.total {
    results.push(budget("total", None, limit, growth, None));
  }
  let class = |name: &str| changes.get(name).map(|c| c.0).unwrap_or_default();
  for (name, limit) in &budgets.classes {
    let c = class(name);
    results.push(budget("class", Some(name), *limit, c.size, Some(c.count)));
  }
  for (package, limit) in &budgets.packages {
    let mut sum = Figures::default();
    for (figures, _) in changes.values().filter(|c| c.1.as_deref() == Some(package)) {
      sum.count += figures.count;
      sum.size += figures.size;
    }
    let name = Some(package.as_str());
    results.push(budget("package", name, *limit, sum.size, Some(sum.count)));
  }
  for (name, limit) in &budgets.owners {
    let c = class(name);
    results.push(budget(
      "owner",
      Some(name),
      *limit,
      c.retained,
      Some(c.count),
    ));
  }
  let mut grew: Vec<ClassGrowth> = changes
    .into_iter()
    .filter(|(_, (c, _))| c.size > 0)
    .map(|(name, (c, package))| ClassGrowth {
      name: name.to_string(),
      objects: c.count,
      size: c.size,
      retained: c.retained,
      package,
    })
    .collect();
  grew.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
  if top > 0 {
    grew.truncate(top);
  }
  Check {
    baseline: baseline.file.clone(),
    current: current.file.clone(),
    passed: results.iter().all(|b| b.passed),
    growth,
    budgets: results,
    grew,
  }
}

fn budget(kind: &str, name: Option<&str>, limit: u64, growth: i64, objects: Option<i64>) -> Budget {
  Budget {
    kind: kind.to_string(),
    name: name.map(label),
    limit,
    growth,
    objects,
    passed: growth <= limit as i64,
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::report::ClassRow;

  fn summary(total: u64, classes: &[(&str, u64, u64, Option<&str>)]) -> Summary {
    Summary {
      file: "f".into(),
      nodes: 0,
      edges: 0,
      total_size: total,
      classes: classes
        .iter()
        .map(|&(name, count, size, source)| ClassRow {
          name: name.into(),
          count,
          shallow_size: size,
          retained_size: size * 2,
          distance: None,
          location: None,
          source: source.map(String::from),
          generated: None,
          package: String::new(),
        })
        .collect(),
      largest: Vec::new(),
      packages: Vec::new(),
      source_map_notes: None,
    }
  }

  #[test]
  fn each_budget_passes_within_it_and_fails_beyond_it() {
    let lib = Some("/app/node_modules/cache/index.js:1:1");
    let old = summary(1000, &[("Quote", 10, 100, None), ("Entry", 1, 10, lib)]);
    let new = summary(5000, &[("Quote", 50, 3000, None), ("Entry", 3, 30, lib)]);
    let budgets = Budgets {
      total: Some(4000),
      classes: vec![("Quote".into(), 2000), ("Missing".into(), 0)],
      packages: vec![("cache".into(), 10)],
      owners: vec![("Quote".into(), 10_000)],
    };
    let report = check(&old, &new, &budgets, 0);
    let outcome: Vec<(&str, i64, bool)> = report
      .budgets
      .iter()
      .map(|b| (b.kind.as_str(), b.growth, b.passed))
      .collect();
    assert_eq!(
      outcome,
      [
        ("total", 4000, true),
        ("class", 2900, false),
        ("class", 0, true),
        ("package", 20, false),
        ("owner", 5800, true)
      ]
    );
    assert!(!report.passed);
    assert_eq!(report.grew[0].name, "Quote");
    assert_eq!(
      (report.grew[0].objects, report.grew[1].package.as_deref()),
      (40, Some("cache"))
    );
  }
}
