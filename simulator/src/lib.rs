//! vigil-simulator: replays exported Microsoft Entra ID sign-ins against candidate
//! Conditional Access policies and AI risk-score thresholds.
//!
//! Semantics are written down, rule by rule with the Microsoft documentation each rests on,
//! in `SEMANTICS.md` beside this crate.

pub mod model;
