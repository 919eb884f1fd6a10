//! `--source`: only what is written in some files, such as one of two copies of a package
//! (`node_modules/legacy-client/node_modules/quill-log/`) whose classes share their names.

use crate::run::Report;

/// Which `file:line:column` sources a report keeps: files under a directory (a pattern that
/// starts with `/`), or files whose path contains the pattern (`node_modules/pino/`,
/// `pino@8`, as pnpm lays packages out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFilter {
  pattern: String,
}

impl SourceFilter {
  pub fn new(pattern: &str) -> SourceFilter {
    SourceFilter {
      pattern: pattern.to_string(),
    }
  }

  /// Whether `source` (`file:line:column`, or a file) is one the filter keeps.
  pub fn keeps(&self, source: &str) -> bool {
    let file = file_of(source);
    if self.pattern.starts_with('/') {
      file.starts_with(&self.pattern)
    } else {
      file.contains(&self.pattern)
    }
  }

  /// Whether a row's original `source` or its `generated` place (with a source map) is kept:
  /// `--source src/cache.ts` and `--source dist/` both find a mapped row.
  fn keeps_any(&self, source: Option<&String>, generated: Option<&String>) -> bool {
    [source, generated]
      .into_iter()
      .flatten()
      .any(|place| self.keeps(place))
  }

  /// Keeps the rows of `report` written in the filter's files, then its first `top` (all if
  /// 0): the report must have been made with all its rows (a `top` of 0). Classes and objects
  /// are kept by their own source; an owner of leaks by its own or by one of its classes (then
  /// only those classes are listed); a group by any step of its path.
  pub fn apply(&self, report: &mut Report, top: usize) {
    let cut = |len: usize| if top == 0 { len } else { top.min(len) };
    match report {
      Report::Summary(s) => {
        s.classes
          .retain(|row| self.keeps_any(row.source.as_ref(), row.generated.as_ref()));
        s.classes.truncate(cut(s.classes.len()));
        s.largest
          .retain(|object| self.keeps_any(object.source.as_ref(), object.generated.as_ref()));
      }
      Report::Instances(i) => {
        i.instances
          .retain(|o| self.keeps_any(o.source.as_ref(), o.generated.as_ref()));
        i.count = i.instances.len() as u64;
        i.shallow_size = i.instances.iter().map(|o| o.self_size).sum();
        i.instances.truncate(cut(i.instances.len()));
      }
      Report::Diff(d) => {
        d.classes
          .retain(|row| self.keeps_any(row.source.as_ref(), row.generated.as_ref()));
        d.classes.truncate(cut(d.classes.len()));
      }
      Report::Leaks(l) => {
        l.owners.retain_mut(|owner| {
          if self.keeps_any(owner.source.as_ref(), owner.generated.as_ref()) {
            return true;
          }
          owner
            .classes
            .retain(|class| self.keeps_any(class.source.as_ref(), class.generated.as_ref()));
          !owner.classes.is_empty()
        });
        l.owners.truncate(cut(l.owners.len()));
        l.groups.retain(|group| {
          group
            .path
            .iter()
            .any(|step| self.keeps_any(step.source.as_ref(), step.generated.as_ref()))
        });
        l.groups.truncate(cut(l.groups.len()));
      }
      Report::Page(_)
      | Report::Paths(_)
      | Report::Validate(_)
      | Report::Redaction(_)
      | Report::Check(_)
      | Report::ProfileTop(_)
      | Report::ProfileDiff(_) => {}
    }
  }
}

/// The file of a `file:line:column` source (a file's name may hold `:` itself).
fn file_of(source: &str) -> &str {
  let mut parts = source.rsplitn(3, ':');
  let (column, line, file) = (parts.next(), parts.next(), parts.next());
  let numeric = |part: Option<&str>| {
    part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
  };
  match file {
    Some(file) if numeric(line) && numeric(column) => file,
    _ => source,
  }
}

#[cfg(test)]
mod tests {
  use super::SourceFilter;

  #[test]
  fn a_pattern_is_a_directory_when_absolute_and_a_part_of_the_path_otherwise() {
    let nested = "/srv/app/node_modules/client/node_modules/quill-log/index.js:9:3";
    let top = "/srv/app/node_modules/quill-log/index.js:9:3";
    let copy = SourceFilter::new("client/node_modules/quill-log/");
    assert!(copy.keeps(nested) && !copy.keeps(top));
    let dir = SourceFilter::new("/srv/app/node_modules/quill-log/");
    assert!(dir.keeps(top) && !dir.keeps(nested));
    // Only the file is matched, not the line and column.
    assert!(!SourceFilter::new(":9").keeps(top));
    assert!(SourceFilter::new("index.js").keeps("/a/index.js"));
  }
}
