mod commands;
mod generated;
mod harness;
mod sim;
mod tls;
