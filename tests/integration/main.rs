mod faults;
mod generated;
mod harness;
mod operator;
mod reaper;
mod sim;
mod sweep;
