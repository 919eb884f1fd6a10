//! The reports as a person reads them: aligned tables, sizes in KiB/MiB/GiB.

use std::fmt::Write;

use bytesize::ByteSize;
use comfy_table::{CellAlignment, LineStyle, Table, TableStyle};

use rheapdump_analysis::heap::BASE_SYSTEM_DISTANCE;
use rheapdump_analysis::profile::{FunctionRow, ProfileDiff, Top};
use rheapdump_analysis::redact::Redaction;
use rheapdump_analysis::report::Page;
use rheapdump_analysis::report::{
  Budget, Check, Diff, Instances, LeakOwner, Leaks, MatchedBy, PackageDiff, PackageRow, Paths,
  Step, Summary,
};
use rheapdump_analysis::run::Report;
use rheapdump_analysis::validate::Validity;

/// A report as text; `by_path` groups leaks by retaining path (`leaks --by-path`).
pub fn report(report: &Report, by_path: bool) -> String {
  match report {
    Report::Summary(s) => summary(s),
    Report::Instances(i) => instances(i),
    Report::Diff(d) => diff(d),
    Report::Leaks(l) if by_path => leak_groups(l),
    Report::Leaks(l) => leaks(l),
    Report::Paths(p) => paths(p),
    Report::Validate(v) => validity(v),
    Report::Redaction(r) => redaction(r),
    Report::Check(c) => check(c),
    Report::Page(p) => page(p),
    Report::ProfileTop(t) => profile_top(t),
    Report::ProfileDiff(d) => profile_diff(d),
  }
}

/// How many packages the text shows; --json has them all.
const PACKAGES_SHOWN: usize = 10;

/// `… and 12 more packages (--json lists them all)`.
fn more_packages(total: usize, out: &mut String) {
  if total > PACKAGES_SHOWN {
    let _ = writeln!(
      out,
      "… and {} more (--json lists them all)",
      total - PACKAGES_SHOWN
    );
  }
}

/// Memory by npm package, under `title`.
fn package_table(title: &str, rows: &[PackageRow], out: &mut String) {
  if rows.is_empty() {
    return;
  }
  let _ = writeln!(out, "\n{title}");
  let mut packages = table(&["Package", "Count", "Shallow", "Retained"], 1);
  for row in rows.iter().take(PACKAGES_SHOWN) {
    packages.add_row(vec![
      row.name.clone(),
      row.count.to_string(),
      size(row.shallow_size),
      size(row.retained_size),
    ]);
  }
  out.push_str(&packages.to_string());
  out.push('\n');
  more_packages(rows.len(), out);
}

/// The comparison by npm package.
fn package_diff_table(rows: &[PackageDiff], out: &mut String) {
  if rows.is_empty() {
    return;
  }
  out.push_str("\nBy package\n");
  // Matched by structure, only the deltas are known (as for the classes).
  let by_structure = rows.iter().all(|row| row.new_count.is_none());
  let header: &[&str] = if by_structure {
    &["Package", "# Delta", "Size Delta"]
  } else {
    &[
      "Package",
      "# New",
      "# Deleted",
      "# Delta",
      "Alloc. Size",
      "Freed Size",
      "Size Delta",
    ]
  };
  let mut packages = table(header, 1);
  let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
  let bytes = |n: Option<u64>| n.map(size).unwrap_or_default();
  for row in rows.iter().take(PACKAGES_SHOWN) {
    let mut cells = vec![row.name.clone()];
    if !by_structure {
      cells.extend([count(row.new_count), count(row.deleted_count)]);
    }
    cells.push(signed(row.delta_count));
    if !by_structure {
      cells.extend([bytes(row.alloc_size), bytes(row.freed_size)]);
    }
    cells.push(signed_size(row.size_delta));
    packages.add_row(cells);
  }
  out.push_str(&packages.to_string());
  out.push('\n');
  more_packages(rows.len(), out);
}

/// What `redact` prints once the copy is written.
fn page(p: &Page) -> String {
  format!(
    "wrote the leak-suspects report to {} ({})\n",
    p.output,
    size(p.bytes)
  )
}

fn redaction(r: &Redaction) -> String {
  format!(
    "{}: redacted {} of {} strings into {} ({}); {} values kept as they are also names\n",
    r.file,
    r.redacted,
    r.strings,
    r.output,
    size(r.bytes),
    r.kept_as_names
  )
}

/// A budget as the summary line names it: `class Quote`, `total`.
fn budget_name(b: &Budget) -> String {
  match &b.name {
    Some(name) => format!("{} {name}", b.kind),
    None => b.kind.clone(),
  }
}

/// `check`: one line for CI logs first, then each budget, then the classes that grew most.
pub fn check(c: &Check) -> String {
  let verdict = if c.passed { "PASS" } else { "FAIL" };
  let mut line = format!("rheapdump check: {verdict} {}", signed_size(c.growth));
  if let Some(total) = c.budgets.iter().find(|b| b.kind == "total") {
    let _ = write!(line, " (budget {})", size(total.limit));
  }
  let broken: Vec<String> = c
    .budgets
    .iter()
    .filter(|b| !b.passed && b.kind != "total")
    .map(|b| {
      format!(
        "{} {} > {}",
        budget_name(b),
        signed_size(b.growth),
        size(b.limit)
      )
    })
    .collect();
  let grew: Vec<String> = c
    .grew
    .iter()
    .take(3)
    .map(|g| {
      format!(
        "{} {} objects {}",
        g.name,
        signed(g.objects),
        signed_size(g.size)
      )
    })
    .collect();
  if !broken.is_empty() {
    let _ = write!(line, ": {}", broken.join(", "));
  } else if !c.passed && !grew.is_empty() {
    let _ = write!(line, ": {}", grew.join(", "));
  }
  let mut out = format!("{line}\n");
  let mut budgets = table(&["Budget", "Growth", "Objects", "Limit", ""], 1);
  for b in &c.budgets {
    budgets.add_row(vec![
      budget_name(b),
      signed_size(b.growth),
      b.objects.map(signed).unwrap_or_default(),
      size(b.limit),
      (if b.passed { "ok" } else { "OVER" }).to_string(),
    ]);
  }
  let _ = writeln!(out, "\n{budgets}");
  if !c.grew.is_empty() {
    let mut classes = table(
      &["Grew most", "Objects", "Shallow", "Retained", "Package"],
      1,
    );
    for g in &c.grew {
      classes.add_row(vec![
        g.name.clone(),
        signed(g.objects),
        signed_size(g.size),
        signed_size(g.retained),
        g.package.clone().unwrap_or_default(),
      ]);
    }
    let _ = writeln!(out, "\n{classes}");
  }
  out
}

/// What `validate` prints of a sound snapshot.
fn validity(v: &Validity) -> String {
  let (file, nodes, edges, strings) = (&v.file, v.nodes, v.edges, v.strings);
  format!("{file}: sound heap snapshot: {nodes} nodes, {edges} edges, {strings} strings\n")
}

pub fn size(bytes: u64) -> String {
  ByteSize::b(bytes).display().iec().to_string()
}

fn signed_size(bytes: i64) -> String {
  let sign = if bytes > 0 {
    "+"
  } else if bytes < 0 {
    "-"
  } else {
    ""
  };
  format!("{sign}{}", size(bytes.unsigned_abs()))
}

fn signed(count: i64) -> String {
  if count > 0 {
    format!("+{count}")
  } else {
    count.to_string()
  }
}

/// Columns and a line under the header, nothing else: easy to read and to grep.
const STYLE: TableStyle =
  TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

pub(crate) fn table(header: &[&str], numeric_from: usize) -> Table {
  let mut table = Table::new();
  table.load_style(STYLE);
  table.set_header(header.to_vec());
  for (i, column) in table.column_iter_mut().enumerate() {
    if i >= numeric_from {
      column.set_cell_alignment(CellAlignment::Right);
    }
  }
  table
}

fn distance(d: Option<i64>) -> String {
  match d {
    None => "-".into(),
    Some(d) if d >= BASE_SYSTEM_DISTANCE as i64 => {
      format!("sys+{}", d - BASE_SYSTEM_DISTANCE as i64)
    }
    Some(d) => d.to_string(),
  }
}

pub fn summary(s: &Summary) -> String {
  let mut out = format!(
    "{}: {} nodes, {} edges, {} in all\n\n",
    s.file,
    s.nodes,
    s.edges,
    size(s.total_size)
  );
  // Where the classes are written, when the snapshot tells for any of them.
  let sources = s.classes.iter().any(|row| row.source.is_some());
  let mut header = vec!["Class", "Count", "Shallow", "Retained", "Distance"];
  if sources {
    header.push("Source");
  }
  let mut classes = table(&header, 1);
  for row in &s.classes {
    let mut cells = vec![
      row.name.clone(),
      row.count.to_string(),
      size(row.shallow_size),
      size(row.retained_size),
      distance(row.distance),
    ];
    if sources {
      cells.push(row.source.clone().unwrap_or_default());
    }
    classes.add_row(cells);
  }
  if let Some(column) = classes.column_mut(5) {
    column.set_cell_alignment(CellAlignment::Left);
  }
  out.push_str(&classes.to_string());
  out.push_str("\n\nLargest objects by retained size\n");
  let mut largest = table(&["Id", "Name", "Type", "Shallow", "Retained"], 3);
  for object in &s.largest {
    largest.add_row(vec![
      format!("@{}", object.id),
      object.name.clone(),
      object.kind.clone(),
      size(object.self_size),
      size(object.retained_size),
    ]);
  }
  out.push_str(&largest.to_string());
  out.push('\n');
  package_table("Memory by package", &s.packages, &mut out);
  out
}

pub fn diff(d: &Diff) -> String {
  let by_structure = d.matched_by == MatchedBy::Structure;
  let mut out = format!("{} → {}{}\n\n", d.before, d.after, matched_by(d.matched_by));
  let sources = d.classes.iter().any(|row| row.source.is_some());
  // Matched by structure, only the net change per class is known: DevTools' # Delta and
  // Size Delta.
  let mut header = if by_structure {
    vec!["Class", "# Delta", "Size Delta"]
  } else {
    vec![
      "Class",
      "# New",
      "# Deleted",
      "# Delta",
      "Alloc. Size",
      "Freed Size",
      "Size Delta",
    ]
  };
  if sources {
    header.push("Source");
  }
  let source_column = header.len() - 1;
  let mut classes = table(&header, 1);
  let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
  let bytes = |n: Option<u64>| n.map(size).unwrap_or_default();
  for row in &d.classes {
    let mut cells = vec![row.name.clone()];
    if by_structure {
      cells.extend([signed(row.delta_count), signed_size(row.size_delta)]);
    } else {
      cells.extend([
        count(row.new_count),
        count(row.deleted_count),
        signed(row.delta_count),
        bytes(row.alloc_size),
        bytes(row.freed_size),
        signed_size(row.size_delta),
      ]);
    }
    if sources {
      cells.push(row.source.clone().unwrap_or_default());
    }
    classes.add_row(cells);
  }
  if sources {
    if let Some(column) = classes.column_mut(source_column) {
      column.set_cell_alignment(CellAlignment::Left);
    }
  }
  if d.classes.is_empty() {
    out.push_str("no objects were allocated or freed between the two snapshots\n");
  } else {
    out.push_str(&classes.to_string());
    out.push('\n');
  }
  package_diff_table(&d.packages, &mut out);
  if !d.owners.is_empty() {
    let _ = writeln!(out, "\nwhere the {} more objects accumulate:", d.objects);
  }
  for (i, owner) in d.owners.iter().enumerate() {
    owner_head(i, owner, &mut out);
    let _ = writeln!(
      out,
      ": {}, retaining {} more",
      objects(owner.count, "more object"),
      size(owner.retained_size)
    );
    owner_body(owner, &mut out);
  }
  out
}

/// ` (matched by structure)` after a comparison's files when it was.
fn matched_by(how: MatchedBy) -> &'static str {
  match how {
    MatchedBy::Ids => "",
    MatchedBy::Structure => " (matched by structure: retaining path and class, not ids)",
  }
}

/// `1. global.cache (Object @123)`: an owner's rank, name and class.
fn owner_head(i: usize, owner: &LeakOwner, out: &mut String) {
  let _ = write!(out, "\n{}. {}", i + 1, owner.name);
  if owner.name == owner.class {
    let _ = write!(out, " @{}", owner.id);
  } else {
    let _ = write!(out, " ({} @{})", owner.class, owner.id);
  }
}

/// Where an owner is defined, its classes and the path to it.
fn owner_body(owner: &LeakOwner, out: &mut String) {
  match (&owner.source, &owner.source_of) {
    (Some(source), Some(holder)) => {
      let _ = writeln!(out, "  held by {holder} ({source})");
    }
    (Some(source), None) => {
      let _ = writeln!(out, "  defined at {source}");
    }
    _ => {}
  }
  let mut classes = table(&["Class", "Count", "Retained", "Example", "Source"], 1);
  for class in &owner.classes {
    classes.add_row(vec![
      class.name.clone(),
      class.count.to_string(),
      size(class.retained_size),
      format!("@{}", class.example),
      class.source.clone().unwrap_or_default(),
    ]);
  }
  for line in classes.to_string().lines() {
    let _ = writeln!(out, "    {}", line.trim_end());
  }
  out.push_str("  retained by\n");
  path(&owner.path, out);
}

/// `global.service.sessions → Map @123 {table} → …`: a path on one line per step.
fn path(steps: &[Step], out: &mut String) {
  for step in steps {
    let _ = write!(out, "    {} @{}", step.node, step.id);
    if let Some(source) = &step.source {
      let _ = write!(out, " ({source})");
    }
    if let Some(edge) = &step.edge {
      let _ = write!(out, " --{edge}-->");
    }
    out.push('\n');
  }
}

/// `1 new object`, `2 new objects`.
fn objects(count: u64, noun: &str) -> String {
  let s = if count == 1 { "" } else { "s" };
  format!("{count} {noun}{s}")
}

fn leaks_header(l: &Leaks) -> String {
  match l.matched_by {
    MatchedBy::Ids => format!(
      "{} objects allocated after {}, present in {} and still alive in {}\n",
      l.objects, l.baseline, l.target, l.final_
    ),
    MatchedBy::Structure => format!(
      "{} objects more in {} than in {} and still there in {}{}\n",
      l.objects,
      l.target,
      l.baseline,
      l.final_,
      matched_by(l.matched_by)
    ),
  }
}

/// The leaks by owner: where they accumulate, how fast, what they are, and the path to the
/// owner. The headline leads with the growth since the target: the last interval, the one that
/// tells whether it goes on.
pub fn leaks(l: &Leaks) -> String {
  let mut out = leaks_header(l);
  if l.owners.is_empty() {
    out.push_str("no leak candidates\n");
  }
  let noun = match l.matched_by {
    MatchedBy::Ids => "new object",
    MatchedBy::Structure => "more object",
  };
  for (i, owner) in l.owners.iter().enumerate() {
    owner_head(i, owner, &mut out);
    let _ = writeln!(
      out,
      ": {} since the target ({}); {} from baseline to target, retaining {}",
      signed(owner.growth_count as i64),
      size(owner.growth_size),
      objects(owner.count, noun),
      size(owner.retained_size)
    );
    owner_body(owner, &mut out);
  }
  package_table("Leaked objects by package", &l.packages, &mut out);
  // Last, where it is read as the report's footnote.
  if l.hidden_owners > 0 {
    let _ = writeln!(
      out,
      "\nleft out: {} held by rheapdump's own code, retaining {}",
      objects(l.hidden_owners, "owner"),
      size(l.hidden_size)
    );
  }
  out
}

/// The leaks by class and shape of the retaining path, as memlab clusters them (`--by-path`).
pub fn leak_groups(l: &Leaks) -> String {
  let mut out = leaks_header(l);
  if l.groups.is_empty() {
    out.push_str("no leak candidates\n");
    return out;
  }
  for (i, group) in l.groups.iter().enumerate() {
    let _ = writeln!(
      out,
      "\n{}. {} × {}, retaining {}",
      i + 1,
      group.count,
      group.name,
      size(group.retained_size)
    );
    path(&group.path, &mut out);
  }
  out
}

pub fn paths(p: &Paths) -> String {
  let mut out = format!("{} @{}", p.name, p.id);
  match p.distance {
    None => {
      out.push_str(": no GC root reaches it\n");
      return out;
    }
    Some(d) => {
      let _ = writeln!(out, ", distance {}", distance(Some(d)));
    }
  }
  for (i, steps) in p.paths.iter().enumerate() {
    let _ = writeln!(out, "\npath {}:", i + 1);
    path(steps, &mut out);
  }
  out
}

/// `summary --class` and `diff --class`: the objects, with ids for `path`.
pub fn instances(i: &Instances) -> String {
  let mut out = match &i.before {
    Some(before) => format!(
      "{} {} objects in {} that {} lacks ({} shallow)\n",
      i.count,
      i.class,
      i.file,
      before,
      size(i.shallow_size)
    ),
    None => format!(
      "{} {} objects in {} ({} shallow)\n",
      i.count,
      i.class,
      i.file,
      size(i.shallow_size)
    ),
  };
  if i.instances.is_empty() {
    return out;
  }
  out.push('\n');
  let mut objects = table(
    &["Id", "Name", "Shallow", "Retained", "Distance", "Source"],
    2,
  );
  for object in &i.instances {
    objects.add_row(vec![
      format!("@{}", object.id),
      object.name.clone(),
      size(object.self_size),
      size(object.retained_size),
      distance(object.distance),
      object.source.clone().unwrap_or_default(),
    ]);
  }
  if let Some(column) = objects.column_mut(5) {
    column.set_cell_alignment(CellAlignment::Left);
  }
  out.push_str(&objects.to_string());
  out.push('\n');
  out
}

fn samples(count: u64) -> String {
  if count == 1 {
    "1 sample".to_string()
  } else {
    format!("{count} samples")
  }
}

fn percent(share: f64) -> String {
  format!("{:.1}%", share * 100.0)
}

fn function_table(rows: &[FunctionRow]) -> String {
  let mut table = table(
    &[
      "Function", "Location", "Self", "Self %", "Total", "Total %", "Samples",
    ],
    2,
  );
  for row in rows {
    table.add_row(vec![
      row.function.clone(),
      row.location.clone(),
      size(row.self_bytes),
      percent(row.self_share),
      size(row.total_bytes),
      percent(row.total_share),
      row.samples.to_string(),
    ]);
  }
  table.to_string()
}

/// `profile top`: live bytes by function.
pub fn profile_top(top: &Top) -> String {
  let interval = top
    .interval
    .map_or("an unknown interval".to_string(), |bytes| {
      format!("one sample per {}", size(bytes))
    });
  let mut out = format!(
    "{}: {} live in {} ({interval}); off-heap (external, not sampled): {}\n\n",
    top.file,
    size(top.sampled_bytes),
    samples(top.samples),
    size(top.external_bytes)
  );
  out.push_str(&function_table(&top.functions));
  out.push('\n');
  out
}

/// `profile diff`: what was allocated after the first profile and lives in the second.
pub fn profile_diff(diff: &ProfileDiff) -> String {
  let sign = if diff.external_delta < 0 { "-" } else { "+" };
  let mut out = format!(
    "{} → {}\nallocated after the first and alive in the second: {} in {}; freed: {} in {}; off-heap: {sign}{}\n\n",
    diff.before,
    diff.after,
    size(diff.new_bytes),
    samples(diff.new_samples),
    size(diff.freed_bytes),
    samples(diff.freed_samples),
    size(diff.external_delta.unsigned_abs())
  );
  if diff.functions.is_empty() {
    out.push_str("nothing allocated after the first profile is alive in the second\n");
  } else {
    out.push_str(&function_table(&diff.functions));
    out.push('\n');
  }
  out
}
