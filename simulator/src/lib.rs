//! vigil-simulator: replays exported Microsoft Entra ID sign-ins against candidate
//! Conditional Access policies and AI risk-score thresholds.
//!
//! Semantics are written down, rule by rule with the Microsoft documentation each rests on,
//! in `SEMANTICS.md` beside this crate.

pub mod codes;
pub mod decisions;
pub mod devicefilter;
pub mod directory;
pub mod error;
pub mod eval;
pub mod location;
pub mod model;
pub mod policy;
pub mod signin;
pub mod simulate;
pub mod text;
