//! Charts as SVG drawn on the server: a calendar heatmap, column charts (with an optional
//! moving average) and ranked bars. Small templates rather than a plotting crate: the
//! charts need a `<title>`, a text summary and a data table for screen readers, colours from
//! the stylesheet's variables (so dark mode and the colour-blind-safe scale follow the page,
//! with no inline style the Content-Security-Policy would refuse), and a handful of shapes;
//! plotters draws with fixed colours and its own text layout, and would add a large
//! dependency for what is a few dozen `<rect>`s.
//!
//! Every chart is a `figure`: the SVG (`role="img"`, named by its title and described by its
//! summary), a `figcaption` with the summary in words, and the numbers in a table behind a
//! disclosure.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Duration, NaiveDate};
use lru::LruCache;
use maud::{html, Markup, PreEscaped};
use uuid::Uuid;

use crate::reading::stats::Stats;

/// A reader's charts as drawn, kept with the statistics they were drawn from: while the
/// statistics cache answers with the same `Arc` (nothing changed), the markup is the same.
/// Holding the `Arc` keeps its address from being reused, so the comparison is sound.
pub struct Drawn(Mutex<LruCache<DrawnKey, DrawnCharts>>);

/// The statistics drawn and their markup.
type DrawnCharts = (Arc<Stats>, Arc<String>);

/// (reader, range, today).
type DrawnKey = (Uuid, String, NaiveDate);

impl Default for Drawn {
    fn default() -> Drawn {
        Drawn(Mutex::new(LruCache::new(NonZeroUsize::new(256).unwrap())))
    }
}

impl Drawn {
    /// The markup `draw` makes of `stats` for (reader, range, today), drawn once.
    pub fn get(&self, key: DrawnKey, stats: &Arc<Stats>, draw: impl FnOnce() -> Markup) -> Markup {
        if let Some((kept, markup)) = self.0.lock().unwrap().get(&key) {
            if Arc::ptr_eq(kept, stats) {
                return PreEscaped(markup.as_str().to_owned());
            }
        }
        let markup = draw().into_string();
        let shown = PreEscaped(markup.clone());
        self.0
            .lock()
            .unwrap()
            .put(key, (stats.clone(), Arc::new(markup)));
        shown
    }
}

/// Heatmap levels by minutes read in a day (upper bounds, exclusive); past the last, level 4.
pub const LEVELS: [f64; 3] = [15.0, 30.0, 60.0];
const CELL: i64 = 11;
const STEP: i64 = 13;

/// A chart's frame: an id (for the title and summary), a title and a summary in words.
pub struct Frame<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub summary: String,
}

fn figure(f: &Frame, width: i64, height: i64, body: Markup, table: Markup) -> Markup {
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (width) " " (height) } role="img" preserveAspectRatio="xMinYMin meet"
                aria-labelledby={ (f.id) "-t " (f.id) "-d" } {
                title id={ (f.id) "-t" } { (f.title) }
                desc id={ (f.id) "-d" } { (f.summary) }
                (body)
            }
            figcaption { strong { (f.title) } " " (f.summary) }
            details {
                summary { "The numbers" }
                (table)
            }
        }
    }
}

fn level(minutes: f64) -> usize {
    if minutes <= 0.0 {
        0
    } else {
        1 + LEVELS.iter().filter(|l| minutes >= **l).count()
    }
}

/// Minutes read per day over `from..=to` as a calendar: a column per week (Monday first), a
/// row per weekday, month names above and a legend.
pub fn heatmap(f: &Frame, days: &[(NaiveDate, f64)], from: NaiveDate, to: NaiveDate) -> Markup {
    let start = from - Duration::days(from.weekday().num_days_from_monday() as i64);
    let weeks = (to - start).num_days() / 7 + 1;
    let left = 30;
    let top = 18;
    let width = left + weeks * STEP + 4;
    let height = top + 7 * STEP + 26;
    let minutes = |d: NaiveDate| {
        days.iter()
            .find(|(day, _)| *day == d)
            .map_or(0.0, |(_, m)| *m)
    };
    let cells: Vec<(i64, i64, NaiveDate, f64)> = (0..=(to - from).num_days())
        .map(|i| {
            let d = from + Duration::days(i);
            let week = (d - start).num_days() / 7;
            let row = d.weekday().num_days_from_monday() as i64;
            (week, row, d, minutes(d))
        })
        .collect();
    // A month's name above the week its first day falls in.
    let months: Vec<(i64, String)> = cells
        .iter()
        .filter(|(_, _, d, _)| d.day() == 1 || *d == from)
        .map(|(week, _, d, _)| (*week, d.format("%b").to_string()))
        .collect();
    let body = html! {
        @for (week, name) in &months {
            text.axis x=(left + week * STEP) y="11" { (name) }
        }
        @for (row, name) in [(0, "Mon"), (2, "Wed"), (4, "Fri")] {
            text.axis x="0" y=(top + row * STEP + 9) { (name) }
        }
        @for (week, row, d, m) in &cells {
            rect class={ "h" (level(*m)) } x=(left + week * STEP) y=(top + row * STEP)
                width=(CELL) height=(CELL) rx="2" {
                title { (d.format("%a %e %b %Y")) ": " (minutes_text(*m)) }
            }
        }
        @let legend_y = top + 7 * STEP + 10;
        text.axis x=(left) y=(legend_y + 9) { "Less" }
        @for l in 0..5 {
            rect class={ "h" (l) } x=(left + 28 + l * STEP) y=(legend_y) width=(CELL) height=(CELL) rx="2" {}
        }
        text.axis x=(left + 28 + 5 * STEP + 4) y=(legend_y + 9) {
            "More (none, under 15, 15–30, 30–60, 60+ minutes a day)"
        }
    };
    let read: Vec<&(i64, i64, NaiveDate, f64)> = cells.iter().filter(|c| c.3 > 0.0).collect();
    let table = html! {
        @if read.is_empty() {
            p { "No reading in this range." }
        } @else {
            table.list {
                thead { tr { th scope="col" { "Day" } th scope="col" { "Minutes" } } }
                tbody { @for (_, _, d, m) in read { tr { td { (d) } td { (round(*m)) } } } }
            }
        }
    };
    figure(f, width, height, body, table)
}

pub fn minutes_text(m: f64) -> String {
    match round(m) {
        0 if m > 0.0 => "under a minute".to_owned(),
        0 => "no reading".to_owned(),
        1 => "1 minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

fn round(x: f64) -> i64 {
    x.round() as i64
}

/// The top of a value axis: a round number at or above `max`.
fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|s| s * magnitude)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * magnitude)
}

/// One column: its name (in the table and its tooltip), what the axis writes under it (empty:
/// nothing), its value.
pub struct Column {
    pub label: String,
    pub axis: String,
    pub value: f64,
}

/// Width every column chart is drawn at: a few columns are wide, a year of days thin, and
/// the text is the same size in both.
const WIDTH: f64 = 640.0;

/// A column per value, an optional line over them (a moving average: one point per column),
/// the unit in words.
pub fn columns(f: &Frame, values: &[Column], line: Option<&[f64]>, unit: &str) -> Markup {
    let (left, top, bottom) = (36.0, 8.0, 22.0);
    let plot_h = 140.0;
    let step = (WIDTH - left - 8.0) / values.len().max(1) as f64;
    let bar = (step * 0.75).max(1.0);
    let height = top + plot_h + bottom;
    let max = nice(
        values
            .iter()
            .map(|c| c.value)
            .chain(line.unwrap_or(&[]).iter().copied())
            .fold(0.0, f64::max),
    );
    let y = |v: f64| top + plot_h - (v / max) * plot_h;
    let px = |v: f64| format!("{v:.1}");
    let body = html! {
        line.grid x1=(left) x2=(WIDTH - 4.0) y1=(y(max)) y2=(y(max)) {}
        line.grid x1=(left) x2=(WIDTH - 4.0) y1=(y(max / 2.0)) y2=(y(max / 2.0)) {}
        line.baseline x1=(left) x2=(WIDTH - 4.0) y1=(y(0.0)) y2=(y(0.0)) {}
        text.axis x="0" y=(y(max) + 4.0) { (axis_value(max)) }
        text.axis x="0" y=(y(max / 2.0) + 4.0) { (axis_value(max / 2.0)) }
        @for (i, c) in values.iter().enumerate() {
            @let x = left + i as f64 * step;
            rect.bar x=(px(x)) y=(px(y(c.value))) width=(px(bar)) height=(px(y(0.0) - y(c.value))) {
                title { (c.label) ": " (axis_value(c.value)) " " (unit) }
            }
            @if !c.axis.is_empty() {
                text.axis x=(px(x)) y=(height - 6.0) { (c.axis) }
            }
        }
        @if let Some(points) = line {
            polyline.avg points=(points.iter().enumerate()
                .map(|(i, v)| format!("{},{}", px(left + i as f64 * step + bar / 2.0), px(y(*v))))
                .collect::<Vec<_>>().join(" ")) {}
        }
    };
    let table = html! {
        table.list {
            thead { tr {
                th scope="col" { "" }
                th scope="col" { (unit) }
                @if line.is_some() { th scope="col" { "7-day average" } }
            } }
            tbody {
                @for (i, c) in values.iter().enumerate() {
                    tr {
                        th scope="row" { (c.label) }
                        td { (axis_value(c.value)) }
                        @if let Some(points) = line { td { (axis_value(points[i])) } }
                    }
                }
            }
        }
    };
    figure(f, WIDTH as i64, height as i64, body, table)
}

fn axis_value(v: f64) -> String {
    if v.fract().abs() < 1e-9 || v >= 10.0 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// Ranked horizontal bars (`(name, value)`, the largest first).
pub fn ranked(f: &Frame, values: &[(String, f64)], unit: &str) -> Markup {
    let (label_w, row, bar_w) = (130i64, 22i64, 220i64);
    let width = label_w + bar_w + 80;
    let height = (values.len() as i64 * row).max(row) + 4;
    let max = values.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1e-9);
    let body = html! {
        @for (i, (name, v)) in values.iter().enumerate() {
            @let y = i as i64 * row;
            text.label x="0" y=(y + 15) { (clip(name, 20)) }
            rect.bar x=(label_w) y=(y + 4) height="14" width=(((v / max) * bar_w as f64).round().max(1.0) as i64) {
                title { (name) ": " (axis_value(*v)) " " (unit) }
            }
            text.axis x=(label_w + ((v / max) * bar_w as f64).round() as i64 + 6) y=(y + 15) { (axis_value(*v)) }
        }
    };
    let table = html! {
        table.list {
            thead { tr { th scope="col" { "" } th scope="col" { (unit) } } }
            tbody { @for (name, v) in values { tr { th scope="row" { (name) } td { (axis_value(*v)) } } } }
        }
    };
    figure(f, width, height, body, table)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// The trailing average of each value over `window` values (fewer at the start).
pub fn moving_average(values: &[f64], window: usize) -> Vec<f64> {
    let window = window.max(1);
    (0..values.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(window);
            let part = &values[from..=i];
            part.iter().sum::<f64>() / part.len() as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn frame() -> Frame<'static> {
        Frame {
            id: "c",
            title: "A chart",
            summary: "What it shows.".into(),
        }
    }

    #[test]
    fn a_year_is_a_cell_a_day_in_monday_first_weeks() {
        let days = [(day(2026, 3, 2), 45.0), (day(2026, 3, 3), 5.0)];
        let svg = heatmap(&frame(), &days, day(2026, 1, 1), day(2026, 12, 31)).into_string();
        // 365 days and 5 legend cells.
        assert_eq!(svg.matches("<rect").count(), 365 + 5);
        assert!(svg.contains("Mon  2 Mar 2026: 45 minutes"), "{svg}");
        assert!(
            svg.contains("class=\"h3\""),
            "45 minutes is the 30–60 level"
        );
        assert!(svg.contains("class=\"h1\""));
        // 1 January 2026 is a Thursday: row 3 of the first column.
        assert!(svg.contains("y=\"57\""));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"c-t\">A chart</title>"));
        assert!(
            svg.contains("<td>2026-03-02</td><td>45</td>"),
            "the data table"
        );
    }

    #[test]
    fn levels_follow_the_legend() {
        assert_eq!(level(0.0), 0);
        assert_eq!(level(1.0), 1);
        assert_eq!(level(15.0), 2);
        assert_eq!(level(59.9), 3);
        assert_eq!(level(60.0), 4);
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(42.0), 50.0);
        assert_eq!(nice(120.0), 200.0);
        assert_eq!(nice(2.0), 2.0);
    }

    #[test]
    fn columns_are_as_tall_as_their_values() {
        let column = |label: &str, value: f64| Column {
            label: label.into(),
            axis: label.into(),
            value,
        };
        let values = vec![column("Jan", 2.0), column("Feb", 1.0), column("Mar", 0.0)];
        let svg = columns(&frame(), &values, None, "books").into_string();
        // The axis tops at 2: the first column fills the plot (140), the second half of it.
        assert!(
            svg.contains("height=\"140.0\"") && svg.contains("height=\"70.0\""),
            "{svg}"
        );
        assert!(svg.contains("<title>Feb: 1 books</title>") && svg.contains(">Mar</text>"));
        assert!(!svg.contains("polyline"));
        let line = moving_average(&[2.0, 1.0, 0.0], 7);
        let averaged = columns(&frame(), &values, Some(&line), "books");
        assert!(averaged.into_string().contains("<polyline class=\"avg\""));
    }

    #[test]
    fn moving_averages_trail() {
        assert_eq!(moving_average(&[7.0, 0.0, 2.0], 2), vec![7.0, 3.5, 1.0]);
        assert!(moving_average(&[], 7).is_empty());
    }

    #[test]
    fn ranked_names_are_escaped_and_clipped() {
        let svg = ranked(
            &frame(),
            &[(
                "<b>An author whose name is very long indeed</b>".into(),
                3.0,
            )],
            "minutes",
        )
        .into_string();
        assert!(svg.contains("&lt;b&gt;An author whose …"), "{svg}");
        assert!(!svg.contains("<b>"));
    }
}
