//! SVG plot of one seed: capacity, each estimator's target and sending rate,
//! and queue delay over time.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::scenario::Point;

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn legend<'a>(chart: &mut Chart<'a, 'a>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| e.to_string())
}

/// Draws `runs` (name, series) of `seed` to `path`: rates on top, queue below.
pub fn rates_plot(path: &str, title: &str, runs: &[(&str, &[Point])]) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let t1 = runs
        .iter()
        .flat_map(|r| r.1.last())
        .map(|p| p.t)
        .fold(1.0, f64::max);
    let mbps = |x: f64| x / 1e6;
    let top = runs
        .iter()
        .flat_map(|r| r.1.iter())
        .map(|p| mbps(p.capacity_bps.max(p.target_bps)))
        .fold(1.0, f64::max)
        * 1.1;
    let queue = runs
        .iter()
        .flat_map(|r| r.1.iter())
        .map(|p| p.queue_ms)
        .fold(50.0, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (1100, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (upper, lower) = root.split_vertically(440);
    let mut chart = ChartBuilder::on(&upper)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t1, 0.0..top)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .y_desc("Mbit/s")
        .draw()
        .map_err(|e| err(&e))?;
    let palette = [(BLUE, CYAN), (RED, MAGENTA), (GREEN, YELLOW)];
    if let Some((_, first)) = runs.first() {
        chart
            .draw_series(LineSeries::new(
                first.iter().map(|p| (p.t, mbps(p.capacity_bps))),
                BLACK.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label("capacity")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    for (i, (name, points)) in runs.iter().enumerate() {
        let (strong, light) = palette[i % palette.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.t, mbps(p.target_bps))),
                strong.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(format!("{name} target"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], strong));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.t, mbps(p.sending_bps))),
                light,
            ))
            .map_err(|e| err(&e))?
            .label(format!("{name} sending"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], light));
    }
    legend(&mut chart)?;
    let mut chart = ChartBuilder::on(&lower)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t1, 0.0..queue)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("queue delay (ms)")
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (name, points)) in runs.iter().enumerate() {
        let (strong, _) = palette[i % palette.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.t, p.queue_ms)),
                strong,
            ))
            .map_err(|e| err(&e))?
            .label(format!("{name} queue"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], strong));
    }
    legend(&mut chart)?;
    root.present().map_err(|e| err(&e))
}
