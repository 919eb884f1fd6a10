//! The positions of a finished report, shown through the source maps: each `source` becomes the
//! original place and the place that ran moves to `generated`.

use rustc_hash::FxHashMap;

use crate::profile::{FunctionRow, ProfileDiff, Top};
use crate::report::{LeakOwner, LeakSuspects, Leaks, Step};
use crate::run::Report;

use super::{split, SourceMaps};

impl SourceMaps {
  /// Shows every `file:line:column` of `report` where it was written, keeping the one that ran
  /// in `generated`, and adds the notes of maps that could not be used.
  pub fn apply(&self, report: &mut Report) {
    let mut memo = Memo::new(self);
    match report {
      Report::Summary(s) => {
        for row in &mut s.classes {
          memo.map(&mut row.source, &mut row.generated);
        }
        for object in &mut s.largest {
          memo.map(&mut object.source, &mut object.generated);
        }
      }
      Report::Instances(i) => {
        for object in &mut i.instances {
          memo.map(&mut object.source, &mut object.generated);
        }
      }
      Report::Diff(d) => {
        for row in &mut d.classes {
          memo.map(&mut row.source, &mut row.generated);
        }
        memo.owners(&mut d.owners);
      }
      Report::Leaks(l) => memo.leaks(l),
      Report::Paths(p) => {
        for path in &mut p.paths {
          memo.steps(path);
        }
      }
      Report::ProfileTop(top) => return self.apply_top(top),
      Report::ProfileDiff(diff) => return self.apply_profile_diff(diff),
      // The page's positions were mapped before it was written (apply_suspects).
      Report::Page(_) | Report::Validate(_) | Report::Redaction(_) | Report::Check(_) => {}
    }
    let notes = self.listed_notes();
    match report {
      Report::Summary(s) => s.source_map_notes = notes,
      Report::Instances(i) => i.source_map_notes = notes,
      Report::Diff(d) => d.source_map_notes = notes,
      Report::Leaks(l) => l.source_map_notes = notes,
      Report::Paths(p) => p.source_map_notes = notes,
      Report::Page(_)
      | Report::Validate(_)
      | Report::Redaction(_)
      | Report::Check(_)
      | Report::ProfileTop(_)
      | Report::ProfileDiff(_) => {}
    }
  }

  /// The leak-suspects report, before its page is written: its owners and classes where they
  /// were written, the notes in its `leaks`.
  pub fn apply_suspects(&self, suspects: &mut LeakSuspects) {
    let mut memo = Memo::new(self);
    memo.leaks(&mut suspects.leaks);
    for row in &mut suspects.diff.classes {
      memo.map(&mut row.source, &mut row.generated);
    }
    memo.owners(&mut suspects.diff.owners);
    suspects.leaks.source_map_notes = self.listed_notes();
  }

  /// `profile top` through the maps: each function where it was written.
  pub fn apply_top(&self, top: &mut Top) {
    self.functions(&mut top.functions);
    top.source_map_notes = self.listed_notes();
  }

  /// `profile diff` through the maps.
  pub fn apply_profile_diff(&self, diff: &mut ProfileDiff) {
    self.functions(&mut diff.functions);
    diff.source_map_notes = self.listed_notes();
  }

  /// The notes as a report lists them: none at all rather than an empty list.
  fn listed_notes(&self) -> Option<Vec<String>> {
    Some(self.notes()).filter(|notes| !notes.is_empty())
  }

  /// A profile names a function by `file:line`; the map needs its column too, which the row
  /// keeps from V8's call frame.
  fn functions(&self, rows: &mut [FunctionRow]) {
    for row in rows {
      let frame = &row.frame;
      let file = frame.url.strip_prefix("file://").unwrap_or(&frame.url);
      let (Ok(line), Ok(column)) = (u32::try_from(frame.line), u32::try_from(frame.column)) else {
        continue;
      };
      if file.is_empty() {
        continue;
      }
      if let Some(original) = self.original(&frame.url, line, column) {
        row.generated = Some(format!("{file}:{}:{}", line + 1, column + 1));
        row.location = format!("{}:{}", original.file, original.line + 1);
      }
    }
  }
}

/// Each distinct source mapped once per report.
struct Memo<'a> {
  maps: &'a SourceMaps,
  seen: FxHashMap<String, Option<String>>,
}

impl<'a> Memo<'a> {
  fn new(maps: &'a SourceMaps) -> Memo<'a> {
    Memo {
      maps,
      seen: FxHashMap::default(),
    }
  }

  /// `source` (1-based `file:line:column`) where it was written; the one that ran into
  /// `generated`. Left as it is without a map.
  fn map(&mut self, source: &mut Option<String>, generated: &mut Option<String>) {
    let Some(text) = source.as_ref() else {
      return;
    };
    let maps = self.maps;
    let original = self
      .seen
      .entry(text.clone())
      .or_insert_with(|| {
        let (file, line, column) = split(text)?;
        let found = maps.original(file, line.checked_sub(1)?, column.checked_sub(1)?)?;
        Some(format!(
          "{}:{}:{}",
          found.file,
          found.line + 1,
          found.column + 1
        ))
      })
      .clone();
    if let Some(original) = original {
      *generated = source.replace(original);
    }
  }

  fn steps(&mut self, steps: &mut [Step]) {
    for step in steps {
      self.map(&mut step.source, &mut step.generated);
    }
  }

  fn owners(&mut self, owners: &mut [LeakOwner]) {
    for owner in owners {
      self.map(&mut owner.source, &mut owner.generated);
      for class in &mut owner.classes {
        self.map(&mut class.source, &mut class.generated);
      }
      self.steps(&mut owner.path);
    }
  }

  fn leaks(&mut self, leaks: &mut Leaks) {
    self.owners(&mut leaks.owners);
    for group in &mut leaks.groups {
      self.steps(&mut group.path);
    }
  }
}
