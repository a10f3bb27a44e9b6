#[path = "../common/cache.rs"]
mod cache;
mod commands;
mod defaults;
mod deploy;
mod faults;
#[path = "../common/flag.rs"]
mod flag;
mod generated;
mod harness;
mod helm;
mod hostile;
mod invariants;
mod loopback;
mod operator;
mod prometheus;
mod reaper;
mod redis;
mod reports;
mod serve;
mod sick;
mod sim;
mod sip;
mod sweep;
mod tls;
mod tools;
