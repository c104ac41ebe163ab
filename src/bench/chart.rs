//! The benchmark's chart: latency of a page against the length of its list, on logarithmic
//! axes, as an SVG file.

use std::path::Path;

use plotters::prelude::*;

/// One line of the chart: (list length, milliseconds) points.
pub struct Series {
    /// The legend's label.
    pub name: String,
    /// The points, by list length.
    pub points: Vec<(f64, f64)>,
}

/// Draws `series` into an SVG file at `path`.
pub fn draw(path: &Path, series: &[Series]) -> anyhow::Result<()> {
    let points = series.iter().flat_map(|s| s.points.iter());
    let max_x = points.clone().map(|p| p.0).fold(10.0, f64::max) * 2.0;
    let max_y = points.map(|p| p.1).fold(1.0, f64::max) * 2.0;
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "chatgraph: latency of one chat page (p50, one client)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((10f64..max_x).log_scale(), (0.1f64..max_y).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("chats in the list")
        .y_desc("milliseconds")
        .draw()
        .map_err(plot_error)?;
    for (index, line) in series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), color.stroke_width(2)))
            .map_err(plot_error)?
            .label(line.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(line.points.iter().map(|&point| Circle::new(point, 3, color.filled())))
            .map_err(plot_error)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {error}")
}
