//! vigil-simulator: replays exported Microsoft Entra ID sign-ins against candidate
//! Conditional Access policies and AI risk-score thresholds.
//!
//! The evaluation engine and the ingest of export variants are built on top of the
//! ledger crate; this crate currently holds only the workspace seam.
