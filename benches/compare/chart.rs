//! The SVG chart: per workload, each corepool variant's median ÷ the best peer's, as bars
//! growing from 1× on a log axis — left of 1× corepool is ahead, right of it behind.

use crate::report::{row_label, Header, MetricRows, Summary};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const WIDTH: i32 = 1180;
const LEFT: i32 = 400;
const RIGHT: i32 = 70;
const TOP: i32 = 86;
const BAR: i32 = 12;
const BAR_STEP: i32 = 15;
const ROW_PAD: i32 = 7;
const BOTTOM: i32 = 40;

const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
const STRIPE: RGBColor = RGBColor(0xf4, 0xf4, 0xf4);
const GREY: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// The corepool variants drawn, with their colours (a row draws the ones it has).
const SERIES: [(&str, &str, RGBColor); 4] = [
    (
        "corepool",
        "corepool (defaults: pinned)",
        RGBColor(0x1f, 0x77, 0xb4),
    ),
    (
        "corepool-nopin",
        "corepool-nopin",
        RGBColor(0xff, 0x7f, 0x0e),
    ),
    (
        "corepool-async",
        "corepool-async (spawn_async)",
        RGBColor(0x2c, 0xa0, 0x2c),
    ),
    (
        "corepool-blocking",
        "corepool-blocking (spawn_blocking)",
        RGBColor(0x94, 0x67, 0xbd),
    ),
];

/// The bars of one row: (series index, ratio).
fn bars(row: &MetricRows) -> Vec<(usize, f64)> {
    SERIES
        .iter()
        .enumerate()
        .filter_map(|(k, (system, _, _))| {
            Some((k, row.ratio_to_best(system).filter(|r| *r > 0.0)?))
        })
        .collect()
}

fn row_height(n_bars: usize) -> i32 {
    2 * ROW_PAD + BAR_STEP * n_bars.max(1) as i32 - (BAR_STEP - BAR)
}

pub fn write_svg(path: &Path, h: &Header, s: &Summary) -> Result<(), String> {
    let rows: Vec<(&MetricRows, Vec<(usize, f64)>)> = s
        .rows
        .iter()
        .map(|r| (r, bars(r)))
        .filter(|(_, b)| !b.is_empty())
        .collect();
    let ratios = rows.iter().flat_map(|(_, b)| b.iter().map(|(_, r)| *r));
    let (lo_ratio, hi_ratio) = ratios.fold((1.0f64, 1.0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
    // Whole decades, at least 0.1×..10×.
    let lo = 10f64.powf((lo_ratio / 1.3).log10().floor().min(-1.0));
    let hi = 10f64.powf((hi_ratio * 1.3).log10().ceil().max(1.0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |r: f64| -> i32 {
        let f = (r.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10());
        LEFT + (f * plot_w as f64).round() as i32
    };
    let plot_h: i32 = rows.iter().map(|(_, b)| row_height(b.len())).sum();
    let axis_y = TOP + plot_h.max(20) + 4;
    let height = axis_y + 24 + BOTTOM;

    let root = SVGBackend::new(path, (WIDTH as u32, height as u32)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| format!("{e:?}");
    root.fill(&WHITE).map_err(e)?;

    let small = text(13.0, GREY, HPos::Left, VPos::Top);
    root.draw(&Text::new(
        "corepool ÷ best peer (log scale; left of 1× = corepool ahead; lower is better)",
        (16, 12),
        text(20.0, BLACK, HPos::Left, VPos::Top),
    ))
    .map_err(e)?;
    let m = &h.machine;
    root.draw(&Text::new(
        format!(
            "{} · {} cores, {} · {}{} rep(s) · medians · full table in compare.md",
            m.date,
            m.cores,
            m.cpu,
            if h.quick { "QUICK sizes · " } else { "" },
            h.reps
        ),
        (16, 40),
        small.clone(),
    ))
    .map_err(e)?;
    // Legend: the series that appear.
    let mut lx = 16;
    for (k, (_, label, color)) in SERIES.iter().enumerate() {
        if !rows.iter().any(|(_, b)| b.iter().any(|(j, _)| *j == k)) {
            continue;
        }
        root.draw(&Rectangle::new([(lx, 62), (lx + 14, 74)], color.filled()))
            .map_err(e)?;
        root.draw(&Text::new(*label, (lx + 20, 61), small.clone()))
            .map_err(e)?;
        lx += 40 + 7 * label.chars().count() as i32;
    }

    // Row stripes, under everything else.
    let mut y = TOP;
    for (i, (_, b)) in rows.iter().enumerate() {
        let rh = row_height(b.len());
        if i % 2 == 1 {
            root.draw(&Rectangle::new(
                [(8, y), (WIDTH - 8, y + rh)],
                STRIPE.filled(),
            ))
            .map_err(e)?;
        }
        y += rh;
    }

    // Grid: 1, 2, 5 × each decade; labels at every line while the range is small.
    let axis_label = text(12.0, BLACK, HPos::Center, VPos::Top);
    let mut decade = lo;
    while decade <= hi * 1.0001 {
        for mult in [1.0, 2.0, 5.0] {
            let r = decade * mult;
            if r > hi * 1.0001 {
                break;
            }
            let gx = x(r);
            root.draw(&PathElement::new(vec![(gx, TOP - 4), (gx, axis_y)], GRID))
                .map_err(e)?;
            if mult == 1.0 || hi / lo <= 1000.0 {
                root.draw(&Text::new(
                    fmt_tick(r),
                    (gx, axis_y + 6),
                    axis_label.clone(),
                ))
                .map_err(e)?;
            }
        }
        decade *= 10.0;
    }
    let one = x(1.0);
    root.draw(&PathElement::new(
        vec![(one, TOP - 4), (one, axis_y)],
        BLACK.stroke_width(2),
    ))
    .map_err(e)?;

    // Labels and bars.
    let label = text(13.0, BLACK, HPos::Right, VPos::Center);
    let mut y = TOP;
    for (row, b) in &rows {
        let rh = row_height(b.len());
        let mut name = row_label(row, &h.sizes);
        if let Some((peer, _)) = row.best_peer {
            name.push_str(&format!(" (vs {peer})"));
        }
        root.draw(&Text::new(name, (LEFT - 10, y + rh / 2), label.clone()))
            .map_err(e)?;
        for (slot, (k, r)) in b.iter().enumerate() {
            let by = y + ROW_PAD + slot as i32 * BAR_STEP;
            let bx = x(*r);
            let right = bx >= one;
            let (a, z) = if right {
                (one, bx.max(one + 1))
            } else {
                (bx, one)
            };
            root.draw(&Rectangle::new(
                [(a, by), (z, by + BAR)],
                SERIES[*k].2.filled(),
            ))
            .map_err(e)?;
            let (tx, anchor) = if right {
                (z + 4, HPos::Left)
            } else {
                (a - 4, HPos::Right)
            };
            root.draw(&Text::new(
                fmt_ratio(*r),
                (tx, by + BAR / 2),
                text(11.0, BLACK, anchor, VPos::Center),
            ))
            .map_err(e)?;
        }
        y += rh;
    }
    root.present().map_err(e)?;
    Ok(())
}

fn text(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    let mut style = TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, v));
    style.color = color.to_backend_color();
    style
}

fn fmt_tick(r: f64) -> String {
    if r >= 1.0 {
        format!("{r:.0}×")
    } else {
        let s = format!("{r:.6}");
        format!("{}×", s.trim_end_matches('0'))
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else if r >= 0.1 {
        format!("{r:.2}×")
    } else if r >= 0.01 {
        format!("{r:.3}×")
    } else {
        format!("{r:.4}×")
    }
}
