//! The report's charts, as inline SVG (no script, no external resource): horizontal stacked
//! bars per policy and vertical stacked bars per day. Every text from the inputs is escaped;
//! every chart carries a `<title>` per bar so a reader can hover for the exact count.

use std::fmt::Write as _;

use super::{esc, num};

/// One coloured part of a bar.
pub struct Segment {
    /// What the part counts (for the tooltip).
    pub label: &'static str,
    /// CSS colour.
    pub color: &'static str,
    /// The count.
    pub value: u64,
}

/// One bar: a label and its parts, drawn end to end.
pub struct Bar {
    /// The bar's label (text from the inputs: escaped here).
    pub label: String,
    /// Its parts.
    pub segments: Vec<Segment>,
}

impl Bar {
    fn total(&self) -> u64 {
        self.segments.iter().map(|s| s.value).sum()
    }
}

const WIDTH: f64 = 760.0;

#[allow(clippy::cast_precision_loss)]
fn ratio(v: u64, max: u64) -> f64 {
    if max == 0 { 0.0 } else { v as f64 / max as f64 }
}

/// Shortens a label to `max` characters (an ellipsis marks the cut).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// An `<svg>` element's start tag, `WIDTH` wide and `height` high.
fn open(height: f64, aria: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" \
         aria-label=\"{}\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\">\n",
        esc(aria)
    )
}

/// Horizontal stacked bars, one row per bar, scaled to the longest.
pub fn horizontal(bars: &[Bar], aria: &str) -> String {
    const ROW: f64 = 24.0;
    const LABEL: f64 = 300.0;
    const RIGHT: f64 = 70.0;
    let max = bars.iter().map(Bar::total).max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let height = ROW * bars.len() as f64 + 8.0;
    let plot = WIDTH - LABEL - RIGHT;
    let mut svg = open(height, aria);
    for (i, bar) in bars.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = ROW * i as f64 + 4.0;
        let _ = writeln!(
            svg,
            "<g><title>{}</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>",
            esc(&bar.label),
            LABEL - 8.0,
            y + 15.0,
            esc(&clip(&bar.label, 40))
        );
        let mut x = LABEL;
        for s in bar.segments.iter().filter(|s| s.value > 0) {
            let w = (plot * ratio(s.value, max)).max(1.0);
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                y + 2.0,
                ROW - 8.0,
                s.color,
                esc(&bar.label),
                num(s.value),
                s.label
            );
            x += w;
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text></g>",
            x + 6.0,
            y + 15.0,
            num(bar.total())
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Vertical stacked bars, one column per bar (the label under it, thinned out when crowded),
/// with a value axis.
pub fn vertical(bars: &[Bar], aria: &str) -> String {
    const HEIGHT: f64 = 240.0;
    const LEFT: f64 = 56.0;
    const BOTTOM: f64 = 44.0;
    const TOP: f64 = 12.0;
    let max = bars.iter().map(Bar::total).max().unwrap_or(0);
    let plot_w = WIDTH - LEFT - 12.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    #[allow(clippy::cast_precision_loss)]
    let step = plot_w / bars.len().max(1) as f64;
    let bar_w = (step * 0.8).max(1.0);
    let every = bars.len().div_ceil(12).max(1);
    let mut svg = open(HEIGHT, aria);
    let base = HEIGHT - BOTTOM;
    for value in [0, max / 2, max] {
        let y = base - plot_h * ratio(value, max);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"value\">{}</text>",
            WIDTH - 12.0,
            LEFT - 6.0,
            y + 4.0,
            num(value)
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let x = LEFT + step * i as f64 + (step - bar_w) / 2.0;
        let _ = write!(svg, "<g><title>{}: {}", esc(&bar.label), num(bar.total()));
        for s in bar.segments.iter().filter(|s| s.value > 0) {
            let _ = write!(svg, ", {} {}", num(s.value), s.label);
        }
        svg.push_str("</title>");
        let mut y = base;
        for s in bar.segments.iter().filter(|s| s.value > 0) {
            let h = (plot_h * ratio(s.value, max)).max(1.0);
            y -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                s.color
            );
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" class=\"label\">{}</text>",
                x + bar_w / 2.0,
                base + 16.0,
                esc(&clip(&bar.label, 10))
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}
