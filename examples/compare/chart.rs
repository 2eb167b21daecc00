//! The SVG chart: per workload, corepool ÷ best peer (and corepool-nopin ÷ best peer) as bars
//! growing from 1× on a log axis — left of 1× corepool is ahead, right of it behind.

use crate::report::{row_label, Header, Summary};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const WIDTH: i32 = 1100;
const LEFT: i32 = 360;
const RIGHT: i32 = 90;
const TOP: i32 = 86;
const ROW: i32 = 38;
const BOTTOM: i32 = 56;

const COREPOOL: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const NOPIN: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

pub fn write_svg(path: &Path, h: &Header, s: &Summary) -> Result<(), String> {
    let rows: Vec<_> = s
        .rows
        .iter()
        .filter(|r| {
            r.ratio_to_best("corepool").is_some() || r.ratio_to_best("corepool-nopin").is_some()
        })
        .collect();
    let ratios: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            [
                r.ratio_to_best("corepool"),
                r.ratio_to_best("corepool-nopin"),
            ]
        })
        .flatten()
        .filter(|r| *r > 0.0)
        .collect();
    let lo_ratio = ratios.iter().copied().fold(1.0f64, f64::min);
    let hi_ratio = ratios.iter().copied().fold(1.0f64, f64::max);
    // Whole decades, at least 0.1×..10×.
    let lo = 10f64.powf((lo_ratio / 1.3).log10().floor().min(-1.0));
    let hi = 10f64.powf((hi_ratio * 1.3).log10().ceil().max(1.0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |r: f64| -> i32 {
        let f = (r.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10());
        LEFT + (f * plot_w as f64).round() as i32
    };
    let height = TOP + ROW * rows.len().max(1) as i32 + BOTTOM;

    let root = SVGBackend::new(path, (WIDTH as u32, height as u32)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| format!("{e:?}");
    root.fill(&WHITE).map_err(e)?;

    let title = text(20.0, BLACK, HPos::Left, VPos::Top);
    let small = text(13.0, RGBColor(0x55, 0x55, 0x55), HPos::Left, VPos::Top);
    root.draw(&Text::new(
        "corepool ÷ best peer (log scale; left of 1× = corepool ahead, lower is better)",
        (16, 12),
        title,
    ))
    .map_err(e)?;
    let m = &h.machine;
    root.draw(&Text::new(
        format!(
            "{} · {} cores, {} · {}{} rep(s) · median per system",
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
    // Legend.
    let legend_y = 62;
    for (i, (label, color)) in [("corepool (pinned)", COREPOOL), ("corepool-nopin", NOPIN)]
        .into_iter()
        .enumerate()
    {
        let lx = 16 + i as i32 * 200;
        root.draw(&Rectangle::new(
            [(lx, legend_y), (lx + 14, legend_y + 12)],
            color.filled(),
        ))
        .map_err(e)?;
        root.draw(&Text::new(label, (lx + 20, legend_y - 1), small.clone()))
            .map_err(e)?;
    }

    // Grid: every 1, 2, 5 × decade, labelled at decades (and 2×, 5× where there is room).
    let plot_top = TOP - 6;
    let plot_bottom = TOP + ROW * rows.len() as i32 + 4;
    let axis_label = text(12.0, BLACK, HPos::Center, VPos::Top);
    let mut decade = lo;
    while decade <= hi * 1.0001 {
        for mult in [1.0, 2.0, 5.0] {
            let r = decade * mult;
            if r > hi * 1.0001 {
                break;
            }
            let gx = x(r);
            root.draw(&PathElement::new(
                vec![(gx, plot_top), (gx, plot_bottom)],
                GRID,
            ))
            .map_err(e)?;
            if mult == 1.0 || (hi / lo) <= 1000.0 {
                root.draw(&Text::new(
                    fmt_tick(r),
                    (gx, plot_bottom + 6),
                    axis_label.clone(),
                ))
                .map_err(e)?;
            }
        }
        decade *= 10.0;
    }
    let one = x(1.0);
    root.draw(&PathElement::new(
        vec![(one, plot_top), (one, plot_bottom)],
        BLACK.stroke_width(2),
    ))
    .map_err(e)?;

    // Bars.
    let label = text(13.0, BLACK, HPos::Right, VPos::Center);
    let value = |right: bool| {
        text(
            11.0,
            BLACK,
            if right { HPos::Left } else { HPos::Right },
            VPos::Center,
        )
    };
    for (i, row) in rows.iter().enumerate() {
        let y0 = TOP + i as i32 * ROW;
        if i % 2 == 1 {
            root.draw(&Rectangle::new(
                [(LEFT - 350, y0), (WIDTH - 8, y0 + ROW)],
                RGBColor(0xf6, 0xf6, 0xf6).filled(),
            ))
            .map_err(e)?;
        }
        let mut name = row_label(row, &h.sizes);
        if let Some((peer, _)) = row.best_peer {
            name.push_str(&format!(" (vs {peer})"));
        }
        root.draw(&Text::new(name, (LEFT - 10, y0 + ROW / 2), label.clone()))
            .map_err(e)?;
        for (k, (system, color)) in [("corepool", COREPOOL), ("corepool-nopin", NOPIN)]
            .into_iter()
            .enumerate()
        {
            let Some(r) = row.ratio_to_best(system) else {
                continue;
            };
            let by = y0 + 5 + k as i32 * 14;
            let bx = x(r);
            let (a, b) = if bx >= one {
                (one, bx.max(one + 1))
            } else {
                (bx, one)
            };
            root.draw(&Rectangle::new([(a, by), (b, by + 12)], color.filled()))
                .map_err(e)?;
            let right = bx >= one;
            let tx = if right { b + 4 } else { a - 4 };
            root.draw(&Text::new(fmt_ratio(r), (tx, by + 6), value(right)))
                .map_err(e)?;
        }
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
    } else {
        format!("{r:.2}×")
    }
}
