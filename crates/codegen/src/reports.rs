//! `lib/reports.d.ts`: the TypeScript types of the analysis reports, from the serde structs that
//! write their JSON (ts-rs reads the serde attributes, so the names are the JSON's).

use rheapdump_analysis::profile::{FunctionRow, ProfileDiff, Top};
use rheapdump_analysis::redact::Redaction;
use rheapdump_analysis::report::{
  Budget, Check, ClassDiff, ClassGrowth, ClassRow, Diff, Instance, Instances, LargeObject,
  LeakGroup, LeakOwner, LeakSuspects, Leaks, MatchedBy, OwnerClass, OwnerHistory, PackageDiff,
  PackageRow, Page, Paths, SnapshotFigures, Step, Summary,
};
use rheapdump_analysis::validate::Validity;
use ts_rs::{Config, TS};

pub fn reports_d_ts() -> String {
  // Every integer in a report fits in a double (counts and byte sizes), and JSON.parse gives
  // numbers: no bigint.
  let config = Config::new().with_large_int("number");
  let declarations = [
    declaration::<Summary>(&config),
    declaration::<ClassRow>(&config),
    declaration::<LargeObject>(&config),
    declaration::<PackageRow>(&config),
    declaration::<Diff>(&config),
    declaration::<ClassDiff>(&config),
    declaration::<PackageDiff>(&config),
    declaration::<Leaks>(&config),
    declaration::<LeakGroup>(&config),
    declaration::<LeakOwner>(&config),
    declaration::<OwnerClass>(&config),
    declaration::<LeakSuspects>(&config),
    declaration::<SnapshotFigures>(&config),
    declaration::<OwnerHistory>(&config),
    declaration::<Paths>(&config),
    declaration::<Step>(&config),
    alias::<MatchedBy>(&config),
    declaration::<Validity>(&config),
    declaration::<Redaction>(&config),
    declaration::<Instances>(&config),
    declaration::<Instance>(&config),
    declaration::<Page>(&config),
    declaration::<Check>(&config),
    declaration::<Budget>(&config),
    declaration::<ClassGrowth>(&config),
    declaration::<Top>(&config),
    declaration::<ProfileDiff>(&config),
    declaration::<FunctionRow>(&config),
  ];
  let mut out = crate::header("//", "crates/analysis's reports");
  for declaration in declarations {
    out.push('\n');
    out.push_str(&declaration);
    out.push('\n');
  }
  out
}

/// `T`, an enum of strings, as an exported type: `type T = "a" | "b";`.
fn alias<T: TS>(config: &Config) -> String {
  let mut out = docs(T::docs().as_deref().unwrap_or_default(), "");
  out.push_str(&format!("export {}", T::decl(config)));
  out
}

/// `T` as an exported interface, one field a line: ts-rs writes a struct as one long
/// `type T = { a: A, /** doc */ b: B, };`.
fn declaration<T: TS>(config: &Config) -> String {
  let decl = T::decl(config);
  let name = T::ident(config);
  let body = decl
    .strip_prefix(&format!("type {name} = {{"))
    .and_then(|rest| rest.strip_suffix("};"))
    .unwrap_or_else(|| panic!("{name} is not a struct: {decl}"));
  let mut out = docs(T::docs().as_deref().unwrap_or_default(), "");
  out.push_str(&format!("export interface {name} {{\n"));
  for field in fields(body) {
    let (docs_text, field) = match field.split_once("*/") {
      Some((comment, field)) => (comment.to_string() + "*/", field.trim()),
      None => (String::new(), field.as_str()),
    };
    out.push_str(&docs(&docs_text, "  "));
    out.push_str(&format!("  {field}\n"));
  }
  out.push('}');
  out
}

/// The fields of a struct's body, split at the commas between them (not those inside a type or
/// a doc comment).
fn fields(body: &str) -> Vec<String> {
  let mut fields = vec![String::new()];
  let (mut depth, mut in_comment) = (0i32, false);
  let mut chars = body.chars().peekable();
  while let Some(c) = chars.next() {
    let current = fields.last_mut().expect("never empty");
    current.push(c);
    if in_comment {
      in_comment = !(c == '*' && chars.peek() == Some(&'/'));
      if !in_comment {
        current.push(chars.next().expect("peeked"));
      }
      continue;
    }
    match c {
      '/' if chars.peek() == Some(&'*') => in_comment = true,
      '{' | '[' | '(' | '<' => depth += 1,
      '}' | ']' | ')' | '>' => depth -= 1,
      ',' if depth == 0 => {
        current.pop();
        fields.push(String::new());
      }
      _ => {}
    }
  }
  fields
    .into_iter()
    .map(|field| field.trim().to_string())
    .filter(|field| !field.is_empty())
    .collect()
}

/// A JSDoc comment as ts-rs writes it (`/**\n * line\n */`), indented; one line where it is one.
fn docs(comment: &str, indent: &str) -> String {
  let lines: Vec<&str> = comment
    .lines()
    .map(str::trim)
    .filter(|line| !matches!(*line, "" | "/**" | "*/"))
    .map(|line| line.strip_prefix('*').unwrap_or(line).trim())
    .collect();
  match lines.as_slice() {
    [] => String::new(),
    [one] => format!("{indent}/** {one} */\n"),
    _ => {
      let body: String = lines
        .iter()
        .map(|line| format!("{indent} * {line}\n").replace(" * \n", " *\n"))
        .collect();
      format!("{indent}/**\n{body}{indent} */\n")
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn fields_split_at_the_commas_between_fields_only() {
    let body = " a: Array<[number, string]>, \n/**\n * One, two.\n */\nb: { c: string, } | null, ";
    assert_eq!(
      fields(body),
      [
        "a: Array<[number, string]>",
        "/**\n * One, two.\n */\nb: { c: string, } | null"
      ]
    );
  }

  #[test]
  fn docs_keep_their_lines_and_take_one_line_when_they_have_one() {
    assert_eq!(docs("/**\n * One.\n */", "  "), "  /** One. */\n");
    assert_eq!(
      docs("/**\n * One,\n *\n * two.\n */", ""),
      "/**\n * One,\n *\n * two.\n */\n"
    );
    assert_eq!(docs("", "  "), "");
  }
}
