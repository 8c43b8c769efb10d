//! End-to-end tests of the `vigil` binary over real files (one test binary, one module per area).

mod audits;
mod cli;
mod directory_import;
mod durability;
mod harness;
mod ingest;
mod pilot;
mod record;
mod report;
mod samples;
mod scenarios;
mod score;
mod simulate;
mod simulate_ledger;
mod tamper;
mod whatif_fidelity;
