//! SVG plot of one seed: a client's error and its ± bound over time.

use plotters::prelude::*;

use crate::scenario::clock::TracePoint;

/// Draws `points` (true time µs, signed error µs, bound µs) of client
/// `client` of `seed` to `path` as SVG, in milliseconds.
pub fn error_plot(
    path: &str,
    seed: u64,
    client: usize,
    points: &[TracePoint],
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let ms = |us: i64| us as f64 / 1e3;
    let secs = |us: u64| us as f64 / 1e6;
    let t0 = points.first().map_or(0.0, |p| secs(p.0));
    let t1 = points.last().map_or(1.0, |p| secs(p.0)).max(t0 + 1.0);
    // The bound is widest before the first samples; scale to the settled part
    // so that the error stays readable.
    let settled = points.len() / 10;
    let span = points[settled.min(points.len().saturating_sub(1))..]
        .iter()
        .map(|p| ms(p.1).abs().max(ms(p.2 as i64)))
        .fold(1.0, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (1000, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("seed {seed}, client {client}: error vs true server time"),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(t0..t1, -span..span)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("true time (s)")
        .y_desc("ms")
        .draw()
        .map_err(|e| err(&e))?;
    let series = |f: fn(&TracePoint) -> i64| {
        points
            .iter()
            .map(move |p| (secs(p.0), ms(f(p)).clamp(-span, span)))
    };
    chart
        .draw_series(LineSeries::new(series(|p| p.1), &BLUE))
        .map_err(|e| err(&e))?
        .label("estimate − true")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(series(|p| p.2 as i64), &RED))
        .map_err(|e| err(&e))?
        .label("± error bound")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(series(|p| -(p.2 as i64)), &RED))
        .map_err(|e| err(&e))?;
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}
