//! The `/usage` chart: tokens per hour stacked by slot, and each key's
//! quota left, drawn in-process with plotters into a 1280×720 PNG (a
//! phone shows it full width). The font is embedded (DejaVu Sans, see
//! `assets/fonts/LICENSE-DejaVu.txt`), so no system font is needed. The
//! chart carries no sentences (only names, numbers and times): the words
//! are in the localized caption.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::keys::usage::UsageReport;
use crate::keys::usage::report::tokens_short;

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 720;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Slot colours: distinct on white and for the common colour blindnesses.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(60, 60, 60),
];

#[derive(Debug, thiserror::Error)]
#[error("drawing the usage chart: {0}")]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

fn font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError("the embedded font is not a valid TTF".into()))
    }
}

fn colour(i: usize, slot: &str) -> RGBColor {
    if slot == "overseer" {
        RGBColor(150, 150, 150)
    } else {
        PALETTE[i % (PALETTE.len() - 1)]
    }
}

/// The chart as PNG bytes.
pub fn render(r: &UsageReport) -> Result<Vec<u8>, ChartError> {
    font()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer_and_format(&mut rgb, (WIDTH, HEIGHT))
            .map_err(err)?
            .into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (left, right) = root.split_horizontally(920);
        hours(&left, r)?;
        side(&right, r)?;
        root.present().map_err(err)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&rgb).map_err(err)?;
    }
    Ok(out)
}

/// Slots in legend order: biggest first, the overseer last.
fn slots(r: &UsageReport) -> Vec<String> {
    let mut v: Vec<String> = r
        .by_slot
        .iter()
        .map(|l| l.name.clone())
        .filter(|s| s != "overseer")
        .collect();
    if r.by_slot.iter().any(|l| l.name == "overseer") {
        v.push("overseer".into());
    }
    v
}

fn hours(area: &DrawingArea<BitMapBackend<'_>, Shift>, r: &UsageReport) -> Result<(), ChartError> {
    // At least a day wide, so a bar never fills the whole chart.
    let n = r.hourly.len().max(24);
    let first = r.hourly.first().map(|h| h.hour).unwrap_or(r.since);
    let order = slots(r);
    let max = r
        .hourly
        .iter()
        .map(|h| h.slots.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(10);
    let span = |h: i64| {
        chrono::DateTime::from_timestamp(h, 0)
            .map(|t| t.format("%m-%d %H:00").to_string())
            .unwrap_or_default()
    };
    let title = match (r.hourly.first(), r.hourly.last()) {
        (Some(a), Some(b)) => format!("{} – {} UTC", span(a.hour), span(b.hour)),
        _ => String::new(),
    };
    let hour_of = |x: f64| -> String {
        let i = x.max(0.0) as i64;
        chrono::DateTime::from_timestamp(first.saturating_add(i.saturating_mul(3600)), 0)
            .map(|t| {
                if n > 48 {
                    t.format("%m-%d").to_string()
                } else {
                    t.format("%H:00").to_string()
                }
            })
            .unwrap_or_default()
    };
    let mut chart = ChartBuilder::on(area)
        .margin(20)
        .caption(title, ("sans-serif", 26))
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n as f64, 0f64..(max as f64 * 1.1))
        .map_err(err)?;
    let x_labels = if n > 48 { n / 24 + 1 } else { n / 2 + 1 };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(x_labels)
        .x_label_formatter(&|x| hour_of(*x))
        .y_labels(8)
        .y_label_formatter(&|y| tokens_short(y.max(0.0) as u64))
        .label_style(("sans-serif", 20))
        .draw()
        .map_err(err)?;
    for (i, h) in r.hourly.iter().enumerate() {
        let mut base = 0u64;
        for (ci, slot) in order.iter().enumerate() {
            let v = h.slots.get(slot).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let x0 = i as f64 + 0.1;
            let x1 = i as f64 + 0.9;
            let rect = Rectangle::new(
                [(x0, base as f64), (x1, (base + v) as f64)],
                colour(ci, slot).filled(),
            );
            chart.draw_series(std::iter::once(rect)).map_err(err)?;
            base += v;
        }
    }
    Ok(())
}

/// The legend (slots with their totals) and each key's quota left.
fn side(area: &DrawingArea<BitMapBackend<'_>, Shift>, r: &UsageReport) -> Result<(), ChartError> {
    let text = ("sans-serif", 22).into_font();
    let small = ("sans-serif", 19).into_font();
    let mut y = 30i32;
    for (ci, slot) in slots(r).iter().enumerate().take(12) {
        let total = r
            .by_slot
            .iter()
            .find(|l| &l.name == slot)
            .map(|l| l.total)
            .unwrap_or(0);
        area.draw(&Rectangle::new(
            [(10, y), (34, y + 22)],
            colour(ci, slot).filled(),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            format!("{slot}  {}", tokens_short(total)),
            (44, y),
            text.clone(),
        ))
        .map_err(err)?;
        y += 32;
    }
    y += 20;
    area.draw(&Text::new(
        format!("Σ {}", tokens_short(r.total.total)),
        (10, y),
        text.clone(),
    ))
    .map_err(err)?;
    y += 50;
    for q in r.quotas.iter().take(10) {
        let pct = q.left_pct();
        let c = if pct < 15.0 {
            RGBColor(213, 94, 0)
        } else if pct < 40.0 {
            RGBColor(230, 159, 0)
        } else {
            RGBColor(0, 158, 115)
        };
        area.draw(&Text::new(
            format!("{} {}  {:.0} %", q.pool.name(), q.key, pct),
            (10, y),
            small.clone(),
        ))
        .map_err(err)?;
        y += 26;
        let w = 320.0;
        area.draw(&Rectangle::new(
            [(10, y), (10 + w as i32, y + 16)],
            RGBColor(225, 225, 225).filled(),
        ))
        .map_err(err)?;
        area.draw(&Rectangle::new(
            [(10, y), (10 + (w * pct / 100.0) as i32, y + 16)],
            c.filled(),
        ))
        .map_err(err)?;
        y += 34;
        if y > HEIGHT as i32 - 40 {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_a_png_of_the_stated_size() {
        let r = crate::telegram::render::tests::usage_report();
        let bytes = render(&r).expect("render");
        if let Some(p) = std::env::var_os("GASCLAW_CHART_OUT") {
            let _ = std::fs::write(p, &bytes);
        }
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = dec.read_info().expect("a PNG");
        let info = reader.info();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        reader.next_frame(&mut buf).expect("frame");
        // Something was drawn: the first slot's colour appears in the bars.
        let c = PALETTE[0];
        assert!(
            buf.chunks(3).any(|p| p == [c.0, c.1, c.2]),
            "no bar of the first slot"
        );
        // Text was drawn with the embedded font (dark pixels on the right).
        let dark = buf
            .chunks(3)
            .enumerate()
            .filter(|(i, p)| (*i as u32 % WIDTH) > 930 && p.iter().all(|v| *v < 60))
            .count();
        assert!(dark > 200, "legend text missing ({dark} dark pixels)");
    }
}
