//! Small charts drawn on the server as inline SVG: no script, no inline style (the pages'
//! Content-Security-Policy allows neither), so they show in any browser and print.
//!
//! A chart is a picture for sighted readers only: the page puts the same figures in a
//! table beside it, and the SVG names itself (`role="img"` and a `<title>`) for screen
//! readers. Colours are presentation attributes, which the CSP does not govern, with
//! classes the stylesheet may refine.

use std::fmt::Write;

/// One bar: a state's median, with its 90th percentile marked.
#[derive(Debug, Clone)]
pub struct Bar {
    /// What the bar is about (a state's name), shown left of it.
    pub label: String,
    /// The median, in seconds: the bar's length.
    pub median: i64,
    /// The 90th percentile, in seconds: a mark across the bar's line.
    pub p90: i64,
    /// The figures as the reader reads them ("median 4 h · 90 % 9 h"), right of the bar.
    pub caption: String,
}

/// The words a chart needs, in the reader's language.
#[derive(Debug, Clone)]
pub struct ChartText<'a> {
    /// Unique in the page: the `<title>`'s id is `<id>-title`.
    pub id: &'a str,
    pub title: &'a str,
    /// Shown instead of bars when there are none.
    pub no_data: &'a str,
}

/// Width of the whole drawing, in SVG units (it scales to its box).
const WIDTH: i64 = 800;
/// Where bars start (the labels are left of it) and how long the longest is.
const LABEL_WIDTH: i64 = 230;
const PLOT_WIDTH: i64 = 260;
const ROW_HEIGHT: i64 = 28;
const BAR_HEIGHT: i64 = 16;

/// Horizontal bars of the median per row, each 90th percentile marked by a dark tick; the
/// longest 90th percentile (or median) spans the plot. With no bars, a box saying
/// `no_data`.
pub fn median_bars(text: &ChartText<'_>, bars: &[Bar]) -> String {
    let title_id = format!("{}-title", text.id);
    let rows = i64::try_from(bars.len()).unwrap_or(i64::MAX).max(1);
    let height = rows * ROW_HEIGHT + 8;
    let mut svg = String::new();
    // Writing into a String cannot fail.
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" \
         aria-labelledby=\"{}\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" \
         preserveAspectRatio=\"xMinYMin meet\" \
         font-family=\"Liberation Sans, Arial, Helvetica, sans-serif\"><title id=\"{}\">{}</title>",
        escape(&title_id),
        escape(&title_id),
        escape(text.title),
    );
    if bars.is_empty() {
        let _ = write!(
            svg,
            "<rect class=\"chart-empty\" x=\"1\" y=\"1\" width=\"{}\" height=\"{}\" \
             fill=\"#f3f5f7\" stroke=\"#c9d0d8\"/><text x=\"{}\" y=\"{}\" \
             text-anchor=\"middle\" fill=\"#4a5360\" font-size=\"14\">{}</text></svg>",
            WIDTH - 2,
            height - 2,
            WIDTH / 2,
            height / 2 + 5,
            escape(text.no_data),
        );
        return svg;
    }
    let longest = bars
        .iter()
        .map(|bar| bar.p90.max(bar.median))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |seconds: i64| -> i64 {
        // Rounded, and at least a sliver for any time above zero so a bar is never lost.
        let length = (i128::from(seconds.max(0)) * i128::from(PLOT_WIDTH)
            + i128::from(longest) / 2)
            / i128::from(longest);
        let length = i64::try_from(length).unwrap_or(PLOT_WIDTH);
        if seconds > 0 { length.max(2) } else { 0 }
    };
    for (row, bar) in (0_i64..).zip(bars) {
        let top = row * ROW_HEIGHT + 6;
        let middle = top + BAR_HEIGHT / 2;
        let median = scale(bar.median);
        let p90 = LABEL_WIDTH + scale(bar.p90);
        let _ = write!(
            svg,
            "<g class=\"chart-row\">\
             <text class=\"chart-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" \
             fill=\"#1b1f24\" font-size=\"13\">{}</text>\
             <rect class=\"chart-bar\" x=\"{LABEL_WIDTH}\" y=\"{top}\" width=\"{median}\" \
             height=\"{BAR_HEIGHT}\" fill=\"#0b4f8a\"/>\
             <line class=\"chart-p90\" x1=\"{p90}\" x2=\"{p90}\" y1=\"{}\" y2=\"{}\" \
             stroke=\"#a4161a\" stroke-width=\"3\"/>\
             <text class=\"chart-value\" x=\"{}\" y=\"{}\" fill=\"#4a5360\" \
             font-size=\"12\">{}</text></g>",
            LABEL_WIDTH - 8,
            middle + 5,
            escape(&bar.label),
            top - 3,
            top + BAR_HEIGHT + 3,
            LABEL_WIDTH + PLOT_WIDTH + 12,
            middle + 4,
            escape(&bar.caption),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Text as SVG (XML) content or an attribute value.
fn escape(text: &str) -> String {
    askama::filters::escape(text, askama::filters::Html)
        .map(|escaped| escaped.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> ChartText<'static> {
        ChartText {
            id: "ack",
            title: "Time to acknowledge",
            no_data: "No inquiry has been acknowledged yet",
        }
    }

    fn bar(label: &str, median: i64, p90: i64) -> Bar {
        Bar {
            label: label.into(),
            median,
            p90,
            caption: format!("{median} / {p90}"),
        }
    }

    /// The numbers after `attribute="` in each element of `class`.
    fn attribute_of(svg: &str, class: &str, attribute: &str) -> Vec<i64> {
        svg.split(&format!("class=\"{class}\""))
            .skip(1)
            .map(|rest| {
                let start = rest.find(&format!(" {attribute}=\"")).unwrap() + attribute.len() + 3;
                let end = start + rest[start..].find('"').unwrap();
                rest[start..end].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_scale_to_the_longest_90th_percentile() {
        let svg = median_bars(
            &text(),
            &[bar("Chile", 3600, 7200), bar("Brasil", 1800, 3600)],
        );
        assert_eq!(
            attribute_of(&svg, "chart-bar", "width"),
            vec![PLOT_WIDTH / 2, PLOT_WIDTH / 4]
        );
        assert_eq!(
            attribute_of(&svg, "chart-p90", "x1"),
            vec![LABEL_WIDTH + PLOT_WIDTH, LABEL_WIDTH + PLOT_WIDTH / 2]
        );
        assert!(svg.contains(">Chile</text>") && svg.contains(">Brasil</text>"));
    }

    #[test]
    fn a_tiny_time_still_shows_a_sliver_and_zero_shows_none() {
        let svg = median_bars(&text(), &[bar("A", 1, 1_000_000), bar("B", 0, 0)]);
        assert_eq!(attribute_of(&svg, "chart-bar", "width"), vec![2, 0]);
    }

    #[test]
    fn labels_and_titles_are_escaped() {
        let svg = median_bars(
            &ChartText {
                id: "x",
                title: "A & <b>",
                no_data: "none",
            },
            &[bar("<script>alert(1)</script>", 10, 20)],
        );
        assert!(!svg.contains("<script>"), "{svg}");
        // askama's escaper writes numeric references (`&#60;` is `<`).
        assert!(
            svg.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{svg}"
        );
        assert!(svg.contains("<title id=\"x-title\">A &#38; &#60;b&#62;</title>"));
    }

    #[test]
    fn no_bars_give_a_chart_that_says_there_is_no_data() {
        let svg = median_bars(&text(), &[]);
        assert!(svg.contains(">No inquiry has been acknowledged yet</text>"));
        assert!(!svg.contains("chart-bar"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn the_chart_names_itself_for_screen_readers_and_has_no_inline_style() {
        let svg = median_bars(&text(), &[bar("Chile", 5, 9)]);
        assert!(svg.contains("role=\"img\" aria-labelledby=\"ack-title\""));
        assert!(svg.contains("<title id=\"ack-title\">Time to acknowledge</title>"));
        assert!(
            !svg.contains("style="),
            "the CSP blocks inline style: {svg}"
        );
    }
}
