mod commands;
mod defaults;
mod deploy;
mod faults;
#[path = "../common/flag.rs"]
mod flag;
mod generated;
mod harness;
mod hostile;
mod invariants;
mod operator;
mod reaper;
mod redis;
mod sick;
mod sim;
mod sip;
mod sweep;
mod tls;
