//! The one integration-test binary: a harness that runs the built `lk-reaper`, and the suites.

mod harness;
mod sim;
