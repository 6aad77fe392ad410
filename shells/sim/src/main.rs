//! `onbeat-sim`: runs seeded simulation scenarios; see `onbeat-sim --help`.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = onbeat_sim::cli::Cli::parse();
    std::process::exit(onbeat_sim::cli::run(cli));
}
