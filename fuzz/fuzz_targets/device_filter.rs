//! devicefilter::Filter::parse. Properties: nothing panics; a rule that parses prints back
//! (Display) to a rule that parses to the same tree; evaluation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_simulator::devicefilter::Filter;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let Ok(f) = Filter::parse(s) else {
            return;
        };
        let printed = f.to_string();
        assert_eq!(
            Filter::parse(&printed).as_ref(),
            Ok(&f),
            "printed form does not re-parse to the same tree: {printed}"
        );
        let _ = f.evaluate(&|_| None);
        let _ = f.evaluate_unregistered();
    }
});
