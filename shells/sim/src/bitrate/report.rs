//! Medians over seeds, the table and the JSON line.

use serde_json::{Map, Value, json};

use super::figures::{Figures, JAIN_PHASES, median};

/// A figure's median, min and max over the seeds that had it.
pub type Spread = Option<(f64, f64, f64)>;

/// Per figure: median over seeds, with min and max.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Figure name → (median, min, max) over the seeds that had it.
    pub figures: Vec<(&'static str, Spread)>,
}

/// JSON names of the per-phase Jain indices.
const JAIN_NAMES: [&str; JAIN_PHASES] = ["jain_1", "jain_2", "jain_3", "jain_4", "jain_5"];

fn fields(f: &Figures) -> Vec<(&'static str, Option<f64>)> {
    let l = f.layers;
    let mut v = vec![
        ("utilization", Some(f.utilization)),
        ("p95_queue_ms", Some(f.p95_queue_ms)),
        ("p95_delay_ms", Some(f.p95_delay_ms)),
        ("loss", Some(f.loss)),
        ("recover_down_ms", f.recover_down_ms),
        ("reach_up_ms", f.reach_up_ms),
        ("steady_variation", f.steady_variation),
        ("jain", f.jain),
        ("tcp_share", f.tcp_share),
        ("min_share_1s", f.min_share_1s),
        ("late_share", f.late_share),
        ("late_in_gap", f.late_in_gap),
        ("score", Some(f.score)),
        ("switches_per_min", l.map(|l| l.switches_per_min)),
        ("most_switches_10s", l.map(|l| l.most_switches_10s)),
        ("pauses_while_fitting", l.map(|l| l.pauses_while_fitting)),
        (
            "track_pauses_while_fitting",
            l.map(|l| l.track_pauses_while_fitting),
        ),
        ("down_ms", l.and_then(|l| l.down_ms)),
        ("up_ms", l.and_then(|l| l.up_ms)),
        ("keyframes_per_up", l.and_then(|l| l.keyframes_per_up)),
    ];
    v.extend(JAIN_NAMES.iter().zip(f.jain_phases).map(|(n, j)| (*n, j)));
    v
}

impl Summary {
    /// Summarises one estimator's runs.
    pub fn new(runs: &[Figures]) -> Self {
        let names: Vec<&str> = fields(&Figures::default())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let figures = names
            .iter()
            .enumerate()
            .map(|(i, &name)| {
                let v: Vec<f64> = runs.iter().filter_map(|r| fields(r)[i].1).collect();
                let lo = v.iter().copied().reduce(f64::min);
                let hi = v.iter().copied().reduce(f64::max);
                (
                    name,
                    median(v).zip(lo.zip(hi)).map(|(m, (lo, hi))| (m, lo, hi)),
                )
            })
            .collect();
        Summary { figures }
    }

    /// The median of `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.0 == name)
            .and_then(|f| f.1.map(|v| v.0))
    }

    /// The JSON object: medians, and `NAME_min`/`NAME_max`.
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        for &(name, v) in &self.figures {
            let round = |x: f64| (x * 1e4).round() / 1e4;
            m.insert(name.into(), v.map_or(Value::Null, |v| json!(round(v.0))));
            if let Some((_, lo, hi)) = v {
                m.insert(format!("{name}_min"), json!(round(lo)));
                m.insert(format!("{name}_max"), json!(round(hi)));
            }
        }
        Value::Object(m)
    }
}

/// The table: one row per figure, one column per estimator (median [min, max]).
pub fn table(columns: &[(&str, &Summary)]) -> String {
    let mut s = format!("{:<18}", "figure");
    for (name, _) in columns {
        s += &format!(" {name:>30}");
    }
    s.push('\n');
    let rows = columns.first().map_or(0, |c| c.1.figures.len());
    for row in 0..rows {
        let name = columns[0].1.figures[row].0;
        s += &format!("{name:<18}");
        for (_, summary) in columns {
            let cell = match summary.figures[row].1 {
                Some((m, lo, hi)) => format!("{m:.3} [{lo:.3}, {hi:.3}]"),
                None => "-".into(),
            };
            s += &format!(" {cell:>30}");
        }
        s.push('\n');
    }
    s
}
