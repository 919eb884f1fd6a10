//! The reports as a person reads them: aligned tables, sizes in KiB/MiB/GiB.

use std::fmt::Write;

use bytesize::ByteSize;
use comfy_table::{CellAlignment, LineStyle, Table, TableStyle};

use crate::report::{Diff, Leaks, Paths, Step, Summary};

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
    Some(d) if d >= crate::heap::BASE_SYSTEM_DISTANCE as i64 => {
      format!("sys+{}", d - crate::heap::BASE_SYSTEM_DISTANCE as i64)
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
  let mut classes = table(&["Class", "Count", "Shallow", "Retained", "Distance"], 1);
  for row in &s.classes {
    classes.add_row(vec![
      row.name.clone(),
      row.count.to_string(),
      size(row.shallow_size),
      size(row.retained_size),
      distance(row.distance),
    ]);
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
  out
}

pub fn diff(d: &Diff) -> String {
  let mut out = format!("{} → {}\n\n", d.before, d.after);
  let mut classes = table(
    &[
      "Class",
      "# New",
      "# Deleted",
      "# Delta",
      "Alloc. Size",
      "Freed Size",
      "Size Delta",
    ],
    1,
  );
  for row in &d.classes {
    classes.add_row(vec![
      row.name.clone(),
      row.new_count.to_string(),
      row.deleted_count.to_string(),
      signed(row.delta_count),
      size(row.alloc_size),
      size(row.freed_size),
      signed_size(row.size_delta),
    ]);
  }
  if d.classes.is_empty() {
    out.push_str("no objects were allocated or freed between the two snapshots\n");
  } else {
    out.push_str(&classes.to_string());
    out.push('\n');
  }
  out
}

/// `global.service.sessions → Map @123 {table} → …`: a path on one line per step.
fn path(steps: &[Step], out: &mut String) {
  for step in steps {
    let _ = write!(out, "    {} @{}", step.node, step.id);
    if let Some(edge) = &step.edge {
      let _ = write!(out, " --{edge}-->");
    }
    out.push('\n');
  }
}

pub fn leaks(l: &Leaks) -> String {
  let mut out = format!(
    "{} objects allocated after {}, present in {} and still alive in {}\n",
    l.objects, l.baseline, l.target, l.final_
  );
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
