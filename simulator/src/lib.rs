//! vigil-simulator: replays exported Microsoft Entra ID sign-ins against candidate
//! Conditional Access policies and AI risk-score thresholds.
//!
//! Semantics are written down, rule by rule with the Microsoft documentation each rests on,
//! in `SEMANTICS.md` beside this crate.

pub mod airisk;
pub mod audit;
pub mod breakdown;
pub mod codes;
pub mod columnar;
pub mod coverage;
pub mod decisions;
pub mod devicefilter;
pub mod directory;
pub mod directory_import;
pub mod error;
pub mod eval;
pub mod fidelity;
pub mod generate;
pub mod governance;
pub mod location;
pub mod model;
pub mod pilot;
pub mod policy;
pub mod report;
pub mod score;
pub mod signin;
pub mod simulate;
pub mod snapshots;
pub mod sweep;
pub mod table;
pub mod text;
pub mod whatif;
