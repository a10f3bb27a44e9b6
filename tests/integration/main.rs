mod generated;
mod harness;
mod sim;
