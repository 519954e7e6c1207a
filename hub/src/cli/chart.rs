//! Charts as standalone SVG (no fonts or native libraries needed): appeals per day stacked by
//! category section, overdue cases by authority, appeals by outcome, and a district × category
//! heat map.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use hotline_proto::v1 as pb;

/// Colours for up to eight series; the rest share the last ("other").
const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open(width: f64, height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n<title>{t}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{x}\" y=\"20\" font-size=\"15\" text-anchor=\"middle\">{t}</text>\n",
        x = width / 2.0,
        t = escape(title)
    )
}

/// Appeals per day, stacked by the seven largest sections and "other".
pub fn per_day(data: &pb::AppealsPerDayResponse) -> String {
    let mut per_section: BTreeMap<&str, i64> = BTreeMap::new();
    for c in &data.counts {
        *per_section.entry(&c.section).or_default() += c.count;
    }
    let mut sections: Vec<(&str, i64)> = per_section.into_iter().collect();
    sections.sort_by_key(|s| std::cmp::Reverse(s.1));
    let top: Vec<&str> = sections
        .iter()
        .take(PALETTE.len() - 1)
        .map(|(s, _)| *s)
        .collect();
    let series = |section: &str| {
        top.iter()
            .position(|s| *s == section)
            .unwrap_or(PALETTE.len() - 1)
    };
    let days: BTreeSet<&str> = data.counts.iter().map(|c| c.day.as_str()).collect();
    let days: Vec<&str> = days.into_iter().collect();
    let mut stacks = vec![[0i64; PALETTE.len()]; days.len()];
    for c in &data.counts {
        let d = days.binary_search(&c.day.as_str()).expect("day listed");
        stacks[d][series(&c.section)] += c.count;
    }
    // Round the axis up to four whole steps, so every tick is a whole number of appeals.
    let highest = stacks
        .iter()
        .map(|s| s.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = (highest + 3) / 4;
    let max = (step * 4) as f64;
    let (left, top_margin, plot_h) = (50.0, 40.0, 300.0);
    let bar = (900.0 / days.len().max(1) as f64).clamp(2.0, 40.0);
    let width = left + bar * days.len() as f64 + 180.0;
    let mut svg = open(
        width.max(400.0),
        top_margin + plot_h + 95.0,
        "Appeals per day by category section",
    );
    for tick in 0..=4 {
        let value = step * i64::from(tick);
        let y = top_margin + plot_h - plot_h * f64::from(tick) / 4.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>",
            left + bar * days.len() as f64
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{value}</text>",
            left - 4.0,
            y + 4.0
        );
    }
    for (d, stack) in stacks.iter().enumerate() {
        let x = left + bar * d as f64;
        let mut y = top_margin + plot_h;
        for (s, count) in stack.iter().enumerate().filter(|(_, c)| **c > 0) {
            let h = plot_h * *count as f64 / max;
            y -= h;
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{} {}: {count}</title></rect>",
                (bar - 1.0).max(1.0),
                PALETTE[s],
                days[d],
                top.get(s).copied().unwrap_or("other")
            );
        }
        if d % ((days.len() / 10).max(1)) == 0 {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" transform=\"rotate(45 {:.1} {:.1})\">{}</text>",
                x,
                top_margin + plot_h + 14.0,
                x,
                top_margin + plot_h + 14.0,
                days[d]
            );
        }
    }
    let legend_x = left + bar * days.len() as f64 + 20.0;
    let labels: Vec<&str> = top
        .iter()
        .copied()
        .chain(std::iter::once("other"))
        .collect();
    for (i, label) in labels.iter().enumerate() {
        let y = top_margin + 16.0 * i as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{legend_x:.1}\" y=\"{y:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>",
            PALETTE[i.min(PALETTE.len() - 1)]
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            legend_x + 14.0,
            y + 9.0,
            escape(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Overdue cases now, for the 25 authorities with the most.
pub fn overdue(ratings: &pb::AuthorityRatingsResponse) -> String {
    let mut rows: Vec<&pb::AuthorityRating> = ratings
        .ratings
        .iter()
        .filter(|r| r.overdue_now > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.overdue_now
            .cmp(&a.overdue_now)
            .then(a.authority_code.cmp(&b.authority_code))
    });
    rows.truncate(25);
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| Bar {
            label: &r.authority_code,
            tooltip: &r.authority_name,
            value: r.overdue_now,
        })
        .collect();
    bar_chart(
        "Overdue cases now, by authority",
        "No overdue cases",
        "#d62728",
        &bars,
    )
}

/// How the appeals that ended in the period ended, by outcome.
pub fn outcomes(daily: &pb::DailyReportResponse) -> String {
    let bars: Vec<Bar> = daily
        .by_outcome
        .iter()
        .filter(|c| c.count > 0)
        .map(|c| Bar {
            label: &c.label,
            tooltip: &c.label,
            value: c.count,
        })
        .collect();
    let title = format!("Appeals ended {} to {}, by outcome", daily.from, daily.to);
    bar_chart(&title, "No appeal ended in the period", "#1f77b4", &bars)
}

/// One bar of a horizontal bar chart.
struct Bar<'a> {
    label: &'a str,
    tooltip: &'a str,
    value: i64,
}

/// Horizontal bars, longest first as given, labelled on the left and valued on the right.
fn bar_chart(title: &str, empty: &str, colour: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(1).max(1) as f64;
    let (left, row_h) = (230.0, 20.0);
    let height = 60.0 + row_h * bars.len().max(1) as f64;
    let mut svg = open(720.0, height, title);
    if bars.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"360\" y=\"50\" text-anchor=\"middle\">{}</text>",
            escape(empty)
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 40.0 + row_h * i as f64;
        let w = 440.0 * bar.value as f64 / max;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 13.0,
            escape(bar.label)
        );
        let _ = writeln!(
            svg,
            "<rect x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {}</title></rect>",
            row_h - 4.0,
            escape(bar.tooltip),
            bar.value
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left + w + 4.0,
            y + 13.0,
            bar.value
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// District × category section heat map of the period examined; pain points outlined in black.
pub fn heatmap(trends: &pb::TrendsResponse) -> String {
    let mut cells: BTreeMap<(&str, String), (i64, bool)> = BTreeMap::new();
    for c in &trends.cells {
        let section = crate::domain::reports::section(&c.category_code).to_string();
        let entry = cells
            .entry((c.district_code.as_str(), section))
            .or_default();
        entry.0 += c.count;
        entry.1 |= c.notable;
    }
    let districts: Vec<&str> = cells
        .keys()
        .map(|(d, _)| *d)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let sections: Vec<String> = cells
        .keys()
        .map(|(_, s)| s.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let max = cells.values().map(|(n, _)| *n).max().unwrap_or(1).max(1) as f64;
    let (left, top, size) = (130.0, 60.0, 26.0);
    let title = format!(
        "Appeals by district and category section, {} to {}",
        trends.from, trends.to
    );
    let width = (left + size * sections.len().max(1) as f64 + 40.0)
        .max(title.chars().count() as f64 * 8.5 + 40.0);
    let height = top + size * districts.len().max(1) as f64 + 50.0;
    let mut svg = open(width, height, &title);
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"{:.1}\">darker: more appeals; outlined: a pain point (see hub report trends)</text>",
        height - 14.0
    );
    for (j, s) in sections.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            left + size * j as f64 + size / 2.0,
            top - 6.0,
            escape(s)
        );
    }
    for (i, d) in districts.iter().enumerate() {
        let y = top + size * i as f64;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + size / 2.0 + 4.0,
            escape(d)
        );
        for (j, s) in sections.iter().enumerate() {
            let (count, notable) = cells.get(&(*d, s.clone())).copied().unwrap_or_default();
            // White to dark red by count.
            let t = count as f64 / max;
            let shade = |full: f64| (255.0 - (255.0 - full) * t).round() as u8;
            let fill = format!(
                "#{:02x}{:02x}{:02x}",
                shade(165.0),
                shade(15.0),
                shade(21.0)
            );
            let stroke = if notable {
                "stroke=\"black\" stroke-width=\"2\""
            } else {
                "stroke=\"#eee\""
            };
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{size}\" height=\"{size}\" fill=\"{fill}\" {stroke}><title>{} × {}: {count}{}</title></rect>",
                left + size * j as f64,
                escape(d),
                escape(s),
                if notable { " (pain point)" } else { "" }
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}
