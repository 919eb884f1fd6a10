//! The progress bar the CLI (and the JS API on request) draws on stderr.

use std::path::Path;

use crate::run::Progress;

/// Draws a progress bar on stderr (indicatif hides it when stderr is not a terminal): bytes read,
/// then the name of each later stage.
#[derive(Default)]
pub struct Bar {
  bar: Option<indicatif::ProgressBar>,
}

impl Bar {
  /// Files below this size are analysed before a bar would be worth drawing.
  const MIN_SIZE: u64 = 16 << 20;
}

impl Progress for Bar {
  fn file(&mut self, file: &Path, size: u64) {
    if let Some(bar) = self.bar.take() {
      bar.finish_and_clear();
    }
    if size < Bar::MIN_SIZE {
      return;
    }
    let bar =
      indicatif::ProgressBar::with_draw_target(Some(size), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
      indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
      )
      .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
      .progress_chars("=> "),
    );
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    bar.set_prefix(name.unwrap_or_default());
    bar.set_message("reading");
    self.bar = Some(bar);
  }

  fn read(&mut self, bytes: u64) {
    if let Some(bar) = &self.bar {
      bar.inc(bytes);
    }
  }

  fn stage(&mut self, stage: &str) {
    if let Some(bar) = &self.bar {
      bar.set_message(stage.to_string());
    }
  }
}

impl Drop for Bar {
  fn drop(&mut self) {
    if let Some(bar) = self.bar.take() {
      bar.finish_and_clear();
    }
  }
}
