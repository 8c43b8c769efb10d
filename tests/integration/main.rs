//! End-to-end tests of the `vigil` binary over real files (one test binary, one module per area).

mod cli;
mod durability;
mod tamper;
