//! The AI risk inputs: thresholds files (TOML and JSON), scores files (CSV, NDJSON, JSON
//! arrays) and sweep labels files. Properties: nothing panics; accepted thresholds have
//! ascending bands with block highest, and every score is placed in a band; accepted scores
//! are on 0-1.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigil_simulator::airisk::{Action, Scores, Thresholds};
use vigil_simulator::sweep::labels_from_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for name in ["thresholds.toml", "thresholds.json"] {
        if let Ok(t) = Thresholds::from_text(text, Path::new(name)) {
            assert!(t.bands.windows(2).all(|w| w[0].0 < w[1].0));
            if let Some(p) = t.bands.iter().position(|b| b.1 == Action::Block) {
                assert_eq!(p + 1, t.bands.len());
            }
            for s in [0.0, 0.25, 0.5, 0.75, 1.0] {
                let _ = t.band(s);
            }
        }
    }
    if let Ok(s) = Scores::from_text(text, Path::new("scores")) {
        for (_, score) in s.records() {
            assert!((0.0..=1.0).contains(&score.score), "{}", score.score);
        }
    }
    let _ = labels_from_text(text, Path::new("labels"));
});
