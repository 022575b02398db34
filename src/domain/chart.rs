//! The results chart: how an occurrence's items split by decision, as the segments of one
//! stacked bar (drawn as SVG by the results page, with the numbers beside it in text).

use super::decision::Tally;

/// One part of the bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// What it counts ("Approved").
    pub label: &'static str,
    /// CSS class that colours it (the legend uses the same).
    pub class: &'static str,
    /// Items.
    pub count: i64,
    /// Share of all items, in whole percent, for the legend.
    pub percent: i64,
    /// Where it starts, in percent of the bar's width, as SVG attribute text.
    pub x: String,
    /// Its width, in percent of the bar's width, as SVG attribute text.
    pub width: String,
}

/// The segments in a fixed order (approved, denied, don't know, not reviewed), each as wide
/// as its share; segments of zero items are kept (the legend lists all four) but have no
/// width. An empty occurrence gives four empty segments.
pub fn decision_bar(tally: &Tally) -> Vec<Segment> {
    let parts = [
        ("Approved", "chart-approve", tally.approved),
        ("Denied", "chart-deny", tally.denied),
        ("Don't know", "chart-unsure", tally.dont_know),
        ("Not reviewed", "chart-none", tally.not_reviewed),
    ];
    let total = tally.total();
    let mut start = 0.0_f64;
    parts
        .into_iter()
        .map(|(label, class, count)| {
            // Counts are far below 2^52: the casts are exact.
            let width = if total > 0 { count as f64 * 100.0 / total as f64 } else { 0.0 };
            let segment = Segment {
                label,
                class,
                count,
                percent: if total > 0 { count * 100 / total } else { 0 },
                x: format!("{start:.3}"),
                width: format!("{width:.3}"),
            };
            start += width;
            segment
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_each_other_and_fill_the_bar() {
        let bar = decision_bar(&Tally { approved: 2, denied: 1, dont_know: 0, not_reviewed: 1 });
        let labels: Vec<_> = bar.iter().map(|s| s.label).collect();
        assert_eq!(labels, ["Approved", "Denied", "Don't know", "Not reviewed"]);
        let widths: Vec<_> = bar.iter().map(|s| s.width.as_str()).collect();
        assert_eq!(widths, ["50.000", "25.000", "0.000", "25.000"]);
        let starts: Vec<_> = bar.iter().map(|s| s.x.as_str()).collect();
        assert_eq!(starts, ["0.000", "50.000", "75.000", "75.000"]);
        assert_eq!(bar.iter().map(|s| s.percent).collect::<Vec<_>>(), [50, 25, 0, 25]);
    }

    #[test]
    fn an_empty_occurrence_draws_nothing() {
        let bar = decision_bar(&Tally::default());
        assert_eq!(bar.len(), 4);
        assert!(bar.iter().all(|s| s.width == "0.000" && s.count == 0 && s.percent == 0));
    }

    #[test]
    fn thirds_do_not_overflow() {
        let bar = decision_bar(&Tally { approved: 1, denied: 1, dont_know: 1, not_reviewed: 0 });
        let end: f64 = bar[2].x.parse::<f64>().unwrap() + bar[2].width.parse::<f64>().unwrap();
        assert!((end - 100.0).abs() < 0.01);
    }
}
