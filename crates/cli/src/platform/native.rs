//! The native program: nothing to prepare, no limit below the machine's memory.

use std::process::ExitCode;

use rheapdump_analysis::run::Request;

pub fn enter_working_directory() {}

pub fn check_fits(_request: &Request) -> Result<(), ExitCode> {
  Ok(())
}
