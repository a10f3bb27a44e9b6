//! A progress bar on stderr while a large inventory loads. indicatif draws nothing when
//! stderr is not a terminal (cron, pipes, CI); `--color never` / NO_COLOR switch it off too.

use std::cell::OnceCell;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Below this many calls a bar would only flicker.
const MIN_TOTAL: usize = 200;

/// A progress bar, drawn once the work proves large.
pub struct Progress {
    label: &'static str,
    enabled: bool,
    bar: OnceCell<ProgressBar>,
}

impl Progress {
    pub fn new(label: &'static str, enabled: bool) -> Self {
        Self {
            label,
            enabled,
            bar: OnceCell::new(),
        }
    }

    /// Reports `done` of `total`.
    pub fn update(&self, done: usize, total: usize) {
        if !self.enabled || total < MIN_TOTAL {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let style = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_message(self.label)
        });
        bar.set_position(done as u64);
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
