use clap::Parser;
use lk_reaper::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match lk_reaper::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            let code = lk_reaper::error::exit_code_of(&err);
            eprintln!(
                "error: {}",
                lk_reaper::report::sanitize::line(&format!("{err:#}"))
            );
            code.into()
        }
    }
}
