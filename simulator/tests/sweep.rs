//! `vigil sweep` figures: a small case computed by hand, and the cumulative sweep against a
//! direct count at every threshold.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use vigil_simulator::sweep::{Item, NO_DAY, NO_USER, Target, grid, pick, sweep};

fn item(score: f64, user: u32, day: i32, label: Option<bool>) -> Item {
    Item {
        score,
        user,
        day,
        label,
    }
}

#[test]
fn a_hand_computed_case() {
    let mut items = vec![
        item(0.9, 0, 0, Some(true)),
        item(0.8, 0, 0, Some(false)),
        item(0.6, 1, 0, Some(true)),
        item(0.4, 1, 1, None),
        item(0.2, 2, 1, Some(false)),
        item(0.1, 2, 1, Some(false)),
    ];
    let s = sweep(&mut items, &[0.0, 0.5, 0.85, 1.0]);
    assert_eq!(
        (s.items, s.positives, s.negatives, s.unlabeled),
        (6, 2, 3, 1)
    );
    assert_eq!(s.active_user_days, 4);
    let r = |t: f64| s.rows.iter().find(|r| r.threshold == t).unwrap();

    let a = r(0.5);
    assert_eq!(
        (a.flagged, a.users_flagged, a.max_prompts_user_day),
        (3, 2, 2)
    );
    assert!((a.prompts_per_user_day - 0.75).abs() < 1e-12);
    assert_eq!((a.tp, a.fp, a.fn_, a.tn), (2, 1, 0, 2));
    assert!((a.precision.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(a.recall, Some(1.0));
    assert!((a.fpr.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!((a.f1.unwrap() - 0.8).abs() < 1e-12);

    let b = r(0.85);
    assert_eq!(
        (b.flagged, b.users_flagged, b.max_prompts_user_day),
        (1, 1, 1)
    );
    assert_eq!((b.tp, b.fp, b.fn_, b.tn), (1, 0, 1, 3));
    assert_eq!(
        (b.precision, b.recall, b.fpr),
        (Some(1.0), Some(0.5), Some(0.0))
    );
    assert!((b.f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);

    let c = r(0.0);
    assert_eq!(
        (c.flagged, c.users_flagged, c.max_prompts_user_day),
        (6, 3, 2)
    );
    assert!((c.prompts_per_user_day - 1.5).abs() < 1e-12);
    assert_eq!((c.tp, c.fp, c.fn_, c.tn), (2, 3, 0, 0));

    let d = r(1.0);
    assert_eq!(
        (d.flagged, d.precision, d.recall, d.fpr, d.f1),
        (0, None, Some(0.0), Some(0.0), None)
    );

    assert_eq!(pick(&s, Target::MaxFpr(0.0)).unwrap().threshold, 0.85);
    assert_eq!(pick(&s, Target::MaxFpr(0.34)).unwrap().threshold, 0.5);
    assert_eq!(
        pick(&s, Target::MaxPromptsPerUserDay(0.5))
            .unwrap()
            .threshold,
        0.85
    );
    assert_eq!(
        pick(&s, Target::MaxPromptsPerUserDay(2.0))
            .unwrap()
            .threshold,
        0.0
    );
}

#[test]
fn the_grid_is_inclusive_and_exact() {
    let g = grid(0.0, 1.0, 0.01).unwrap();
    assert_eq!(g.len(), 101);
    assert_eq!(g[70], 0.7);
    assert_eq!(g[100], 1.0);
    assert_eq!(grid(0.2, 0.3, 0.05).unwrap(), vec![0.2, 0.25, 0.3]);
    assert!(grid(0.5, 0.4, 0.01).is_err());
    assert!(grid(0.0, 1.0, 0.0).is_err());
    assert!(grid(0.0, 2.0, 0.1).is_err());
}

proptest! {
    #[test]
    fn cumulative_counts_equal_a_direct_count(
        raw in prop::collection::vec((0u32..=20, 0u32..6, 0i32..4, 0u8..3), 1..80),
        steps in 1u32..12,
    ) {
        let items: Vec<Item> = raw
            .iter()
            .map(|(s, u, d, l)| item(
                f64::from(*s) / 20.0,
                if *u == 5 { NO_USER } else { *u },
                if *d == 3 { NO_DAY } else { *d },
                match l { 0 => None, 1 => Some(true), _ => Some(false) },
            ))
            .collect();
        let g = grid(0.0, 1.0, 1.0 / f64::from(steps)).unwrap();
        let mut sorted = items.clone();
        let s = sweep(&mut sorted, &g);
        prop_assert_eq!(s.rows.len(), g.len());
        for r in &s.rows {
            let flagged: Vec<&Item> = items.iter().filter(|i| i.score >= r.threshold).collect();
            prop_assert_eq!(r.flagged, flagged.len() as u64);
            let tp = flagged.iter().filter(|i| i.label == Some(true)).count() as u64;
            let fp = flagged.iter().filter(|i| i.label == Some(false)).count() as u64;
            prop_assert_eq!((r.tp, r.fp), (tp, fp));
            let with_ud = |i: &&&Item| i.user != NO_USER && i.day != NO_DAY;
            let users: std::collections::BTreeSet<u32> =
                flagged.iter().filter(with_ud).map(|i| i.user).collect();
            prop_assert_eq!(r.users_flagged, users.len() as u64);
            let mut per: std::collections::BTreeMap<(u32, i32), u64> = Default::default();
            for i in flagged.iter().filter(with_ud) {
                *per.entry((i.user, i.day)).or_default() += 1;
            }
            prop_assert_eq!(r.max_prompts_user_day, per.values().copied().max().unwrap_or(0));
            let active: std::collections::BTreeSet<(u32, i32)> = items
                .iter()
                .filter(|i| i.user != NO_USER && i.day != NO_DAY)
                .map(|i| (i.user, i.day))
                .collect();
            let want = if active.is_empty() { 0.0 } else { per.values().sum::<u64>() as f64 / active.len() as f64 };
            prop_assert!((r.prompts_per_user_day - want).abs() < 1e-12);
        }
    }
}
