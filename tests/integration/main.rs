mod commands;
mod defaults;
mod deploy;
mod faults;
#[path = "../common/flag.rs"]
mod flag;
mod generated;
mod harness;
mod invariants;
mod operator;
mod reaper;
mod sim;
mod sip;
mod sweep;
mod tls;
