use std::io::Write;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};
use lk_reaper::cli::Cli;

fn main() -> std::process::ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let cli = match parsed {
        Ok((cli, matches)) => {
            if let Err(why) = lk_reaper::cli::refuse_ignored(&matches) {
                say(&why);
                return lk_reaper::exit_code::ExitCode::Usage.into();
            }
            cli
        }
        Err(err) if bad_input(&err) => {
            say(&one_line(&err.render().to_string()));
            return lk_reaper::exit_code::ExitCode::Usage.into();
        }
        // --help, --version, and the help shown for a missing command.
        Err(err) => err.exit(),
    };
    match lk_reaper::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            let code = lk_reaper::error::exit_code_of(&err);
            say(&format!(
                "error: {}",
                lk_reaper::redact::line(&format!("{err:#}"))
            ));
            code.into()
        }
    }
}

/// One line on stderr. A closed stderr (`2>&1 | head -1` after the reader left) loses it,
/// but never turns the exit code into a panic's.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn bad_input(err: &clap::Error) -> bool {
    err.use_stderr() && err.kind() != ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
}

/// clap's error as one line (cron mails and log collectors keep lines apart): its message and
/// hints, without the blank lines, the usage line and the `--help` pointer.
fn one_line(rendered: &str) -> String {
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    format!("{} (see --help)", parts.join(" "))
}
