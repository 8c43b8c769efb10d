//! vigil: an append-only signed audit ledger and a Conditional Access policy simulator
//! for Microsoft Entra ID. This binary only parses flags, calls the libraries and
//! formats their results.
//!
//! Exit codes: 0 ok, 1 a check found a problem (verification finding), 2 usage or input error.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the verifier and the simulator make many small, short-lived allocations.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod cmd;
mod output;

/// What a command concluded, beyond "it ran".
pub enum Outcome {
    /// Everything checked out.
    Ok,
    /// A check found a problem (exit 1).
    Finding,
}

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    output::set_quiet(args.quiet);
    match cmd::run(args.command) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Finding) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
