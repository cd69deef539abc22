//! Drawing the console: the pane bar, the pane, the status bar and the hints, then any popup.
//! Pure functions of the App's state; nothing here calls a service.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, HighlightSpacing, Paragraph, Row, Table, Wrap};

use super::app::{App, PANES, Pane, key_label};
use super::objects::ObjectRow;
use super::theme;
use crate::service::keys::KeyState;
use crate::service::storage::Sse;

pub fn render(app: &mut App, f: &mut Frame) {
    let [top, main, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    render_pane_bar(app, f, top);
    match app.pane {
        Pane::Buckets if app.objects.is_some() => render_objects(app, f, main),
        Pane::Buckets => render_buckets(app, f, main),
        Pane::Keys => render_keys(app, f, main),
        Pane::Runs => super::runs::render(app, f, main),
        Pane::Findings => render_findings(app, f, main),
        Pane::Grants => super::grants::render(app, f, main),
        Pane::Query => super::query::render(app, f, main),
    }
    if let Some(input) = &mut app.filter_input {
        let r = Rect {
            y: main.bottom().saturating_sub(3),
            height: 3.min(main.height),
            ..main
        };
        input.set_block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title(" / filter "),
        );
        f.render_widget(ratatui::widgets::Clear, r);
        f.render_widget(&**input, r);
    }
    render_status(app, f, status);
    let spans: Vec<Span> = app
        .hints()
        .into_iter()
        .flat_map(|(k, h)| [Span::styled(k, theme::key()), Span::raw(format!(" {h}  "))])
        .collect();
    f.render_widget(Paragraph::new(Line::from(spans)), hints);
    if let Some(popup) = &mut app.popup {
        popup.render(f, main);
    }
    // Last, over everything drawn: keys, names and messages come from data and other principals.
    crate::terminal_text::inert_buffer(f.buffer_mut());
}

fn render_pane_bar(app: &App, f: &mut Frame, area: Rect) {
    let mut spans = vec![
        Span::styled(" lakectl ", theme::title().reversed()),
        Span::raw(" "),
    ];
    for (i, pane) in PANES.iter().enumerate() {
        let text = format!(" {} {} ", i + 1, pane.title());
        spans.push(if *pane == app.pane {
            Span::styled(text, theme::selected())
        } else {
            Span::raw(text)
        });
    }
    if app.readonly {
        spans.push(Span::styled(
            "  READ-ONLY",
            Style::new().fg(theme::warn()).bold(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The fewest characters of the lake's location the status bar keeps when the line is full.
const LOCATION_MIN: usize = 16;

/// `text` whole when it fits in `max` characters, else `…` and its last `max - 1`: of a path,
/// the end says which lake it is.
fn tail(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let kept: String = text.chars().skip(n - (max - 1)).collect();
    format!("…{kept}")
}

/// The backend, where it is, who acts, the tasks under way and the last message. The location
/// gives way first when the line is full, so a deep lake path never pushes what just happened
/// off the end of the line.
fn render_status(app: &App, f: &mut Frame, area: Rect) {
    let kind = Span::styled(
        format!(" {} ", app.services.backend.kind),
        theme::title().reversed(),
    );
    let mut rest = vec![
        Span::styled(" as ", theme::dim()),
        Span::styled(app.principal.name().to_string(), theme::key()),
    ];
    for task in &app.tasks {
        rest.push(Span::styled("  ⟳ ", Style::new().fg(theme::warn())));
        rest.push(Span::raw(task.label.clone()));
        if let Some(r) = task.progress.ratio() {
            let filled = (r * 10.0).round() as usize;
            rest.push(Span::raw(format!(
                " {}{} {:>3.0}%",
                "█".repeat(filled),
                "░".repeat(10 - filled),
                r * 100.0
            )));
        }
    }
    if let Some(m) = &app.message {
        rest.push(Span::styled(format!("  {m}"), theme::dim()));
    }
    let used = kind.width() + rest.iter().map(Span::width).sum::<usize>() + 2;
    let room = (area.width as usize).saturating_sub(used).max(LOCATION_MIN);
    let mut spans = vec![
        kind,
        Span::raw(format!(" {} ", tail(&app.services.backend.location, room))),
    ];
    spans.extend(rest);
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(super) fn pane_block(title: String, filter: Option<&str>) -> Block<'static> {
    let mut block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(Span::styled(title, theme::title()));
    if let Some(f) = filter {
        block = block.title_bottom(Line::from(format!(" filter: {f} ")).right_aligned());
    }
    block
}

pub(super) fn empty(f: &mut Frame, area: Rect, block: Block, text: &str) {
    f.render_widget(
        Paragraph::new(text.to_string())
            .style(theme::dim())
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// A pane's table for `area`. Each column is as wide as its widest cell (header included) and
/// the widest column takes the slack, so nothing is cut while the terminal has room; on a narrow
/// terminal the widest columns give way first, evenly.
pub(super) fn table<'a>(
    rows: Vec<Vec<Line<'a>>>,
    header: &[&'a str],
    block: Block<'a>,
    area: Rect,
) -> Table<'a> {
    let natural = natural_widths(header, &rows);
    // The highlight symbol and one space between columns take room too.
    let spacing = Line::from(HIGHLIGHT).width() + natural.len().saturating_sub(1);
    let room = usize::from(block.inner(area).width).saturating_sub(spacing);
    let widths = fit(natural, room)
        .into_iter()
        .map(|w| Constraint::Length(u16::try_from(w).unwrap_or(u16::MAX)));
    Table::new(rows.into_iter().map(Row::new), widths)
        .header(Row::new(header.iter().map(|h| Cell::from(*h))).style(theme::header()))
        .block(block)
        .row_highlight_style(theme::selected())
        .highlight_symbol(HIGHLIGHT)
        .highlight_spacing(HighlightSpacing::Always)
}

const HIGHLIGHT: &str = "› ";

fn natural_widths(header: &[&str], rows: &[Vec<Line>]) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| Line::from(*h).width()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    widths
}

/// Column widths that fill `room` exactly when the natural ones fit (the widest column gets the
/// rest), else the natural widths capped at the highest level that fits.
fn fit(mut widths: Vec<usize>, room: usize) -> Vec<usize> {
    let total: usize = widths.iter().sum();
    if total <= room {
        if let Some(widest) = (0..widths.len()).max_by_key(|&i| widths[i]) {
            widths[widest] += room - total;
        }
        return widths;
    }
    let capped = |level: usize| widths.iter().map(|&w| w.min(level)).sum::<usize>();
    let (mut low, mut high) = (0, widths.iter().copied().max().unwrap_or(0));
    while low < high {
        let mid = (low + high).div_ceil(2);
        if capped(mid) <= room {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    widths.iter().map(|&w| w.min(low)).collect()
}

pub(super) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut v, mut u) = (n as f64, 0);
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn render_buckets(app: &mut App, f: &mut Frame, area: Rect) {
    let block = pane_block(
        format!(" Buckets ({}) ", app.buckets.items.len()),
        app.current_filter(),
    );
    if let Some(why) = app.denied_reason(Pane::Buckets) {
        return empty(f, area, block, &why);
    }
    if app.buckets.items.is_empty() {
        let hint = if app.readonly {
            "No buckets."
        } else {
            "No buckets yet. Press n to create one."
        };
        return empty(f, area, block, hint);
    }
    let rows: Vec<Vec<Line>> = app
        .buckets
        .visible()
        .into_iter()
        .map(|b| {
            let enc = match &b.encryption {
                Some(e) if e.sse_algorithm == Sse::Kms => format!(
                    "SSE-KMS {}",
                    e.kms_master_key_id
                        .as_deref()
                        .map(|k| app.key_name_for_arn(k))
                        .unwrap_or_else(|| "alias/aws/s3".into())
                ),
                _ => "SSE-S3".into(),
            };
            let policy = match &b.policy {
                None => Span::styled("—", theme::dim()),
                Some(p) if p.denies_unencrypted_puts() => Span::styled(
                    "refuses puts not encrypted with KMS",
                    Style::new().fg(theme::ok()),
                ),
                Some(p) => Span::raw(format!("custom ({} statements)", p.statement.len())),
            };
            vec![
                Line::from(b.bucket.name.clone()),
                Line::from(enc),
                Line::from(policy),
                Line::from(when(b.bucket.creation_date)),
            ]
        })
        .collect();
    let t = table(
        rows,
        &["Name", "Default encryption", "Policy", "Created"],
        block,
        area,
    );
    f.render_stateful_widget(t, area, &mut app.buckets.state);
}

fn render_objects(app: &mut App, f: &mut Frame, area: Rect) {
    let key_names: Vec<(String, String)> = app
        .keys
        .items
        .iter()
        .map(|k| (k.arn.clone(), key_label(k)))
        .collect();
    let filter = app.current_filter().map(str::to_string);
    let Some(objects) = &mut app.objects else {
        return;
    };
    let (folders, count) = objects.counts();
    let title = match folders {
        0 => format!(" {} ({count} objects) ", objects.location()),
        n => format!(" {} ({n} folders, {count} objects) ", objects.location()),
    };
    let block = pane_block(title, filter.as_deref());
    if objects.list.items.is_empty() {
        let hint = if objects.prefix.is_empty() || objects.flat {
            "This bucket is empty. Press u to upload a file."
        } else {
            "Nothing here (yet). Press esc to go up, u to upload a file."
        };
        return empty(f, area, block, hint);
    }
    // In the folder view a row shows its name under the current prefix, as `aws s3 ls` does.
    let shown_prefix = if objects.flat {
        String::new()
    } else {
        objects.prefix.clone()
    };
    let rows: Vec<Vec<Line>> = objects
        .list
        .visible()
        .into_iter()
        .map(|row| match row {
            ObjectRow::Folder(p) => vec![
                Line::from(format!(
                    "▸ {}",
                    p.strip_prefix(shown_prefix.as_str()).unwrap_or(p)
                )),
                Line::from(""),
                Line::from("folder"),
                Line::from(""),
            ],
            ObjectRow::Object(o) => {
                let enc = match (&o.server_side_encryption, &o.sse_kms_key_id) {
                    (Sse::Kms, Some(arn)) => {
                        let name = key_names
                            .iter()
                            .find(|(a, _)| a == arn)
                            .map(|(_, n)| n.clone())
                            .unwrap_or(arn.clone());
                        format!("SSE-KMS {name}")
                    }
                    _ => "SSE-S3".into(),
                };
                vec![
                    Line::from(
                        o.key
                            .strip_prefix(shown_prefix.as_str())
                            .unwrap_or(&o.key)
                            .to_string(),
                    ),
                    Line::from(size(o.size)).right_aligned(),
                    Line::from(enc),
                    Line::from(when(o.last_modified)),
                ]
            }
        })
        .collect();
    let t = table(
        rows,
        &["Key", "Size", "Encryption", "Last modified"],
        block,
        area,
    );
    f.render_stateful_widget(t, area, &mut objects.list.state);
}

fn render_keys(app: &mut App, f: &mut Frame, area: Rect) {
    if app.show_secrets {
        return super::secrets::render(app, f, area);
    }
    let block = pane_block(
        format!(" Keys ({}) ", app.keys.items.len()),
        app.current_filter(),
    );
    if let Some(why) = app.denied_reason(Pane::Keys) {
        return empty(f, area, block, &why);
    }
    let rows: Vec<Vec<Line>> = app
        .keys
        .visible()
        .into_iter()
        .map(|k| {
            let (state, description) = match &k.metadata {
                Some(m) => {
                    let state = match m.key_state {
                        KeyState::Enabled => Span::styled("Enabled", Style::new().fg(theme::ok())),
                        KeyState::Disabled => {
                            Span::styled("Disabled", Style::new().fg(theme::warn()))
                        }
                        KeyState::PendingDeletion => Span::styled(
                            format!(
                                "Deletion {}",
                                m.deletion_date
                                    .map(|d| d.format("%Y-%m-%d").to_string())
                                    .unwrap_or_default()
                            ),
                            Style::new().fg(theme::bad()),
                        ),
                    };
                    (state, m.description.clone())
                }
                None => (Span::styled("no access", theme::dim()), String::new()),
            };
            let (rotation, last) = match &k.rotation {
                Some(r) => (
                    if r.key_rotation_enabled {
                        format!("every {}d", r.rotation_period_in_days.unwrap_or(365))
                    } else {
                        "off".into()
                    },
                    r.last_rotation_date
                        .map(when)
                        .unwrap_or_else(|| "never".into()),
                ),
                // Rotation status needs rights on the key the viewer may not have.
                None => ("—".into(), "—".into()),
            };
            vec![
                Line::from(k.aliases.first().cloned().unwrap_or_else(|| "—".into())),
                Line::from(k.key_id.clone()),
                Line::from(state),
                Line::from(rotation),
                Line::from(last),
                Line::from(description),
            ]
        })
        .collect();
    let t = table(
        rows,
        &[
            "Alias",
            "Key id",
            "State",
            "Rotation",
            "Last rotation",
            "Description",
        ],
        block,
        area,
    );
    f.render_stateful_widget(t, area, &mut app.keys.state);
}

fn render_findings(app: &mut App, f: &mut Frame, area: Rect) {
    let block = pane_block(
        format!(" Findings ({}) ", app.findings.items.len()),
        app.current_filter(),
    );
    if app.findings.items.is_empty() {
        let text = match &app.findings_unavailable {
            Some(e) if e.code == crate::service::Code::AccessDenied => {
                format!("Findings are for lake admins.\n\n{}", e.message)
            }
            Some(e) => format!(
                "Findings cannot be read here ({}).\n\n{}",
                e.code_name(),
                e.message
            ),
            None => "No findings. Press n to scan a bucket for sensitive data (or :macie2 create-classification-job).".into(),
        };
        return empty(f, area, block, &text);
    }
    // Counts by detection type, over every finding.
    let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for finding in &app.findings.items {
        let r = &finding.classification_details.result;
        for d in r
            .sensitive_data
            .iter()
            .flat_map(|s| &s.detections)
            .chain(&r.custom_data_identifiers.detections)
        {
            *counts.entry(d.kind.clone()).or_default() += d.count;
        }
    }
    let [chart_area, table_area] =
        Layout::vertical([Constraint::Length(9), Constraint::Fill(1)]).areas(area);
    let width = (chart_area.width.saturating_sub(2) / counts.len().max(1) as u16)
        .clamp(3, 14)
        .saturating_sub(1);
    let bars: Vec<ratatui::widgets::Bar> = counts
        .iter()
        .map(|(k, v)| {
            ratatui::widgets::Bar::default()
                .value(*v)
                .label(Line::from(super::bar_label::bar_label(k, width.into())))
                .style(Style::new().fg(theme::accent()))
        })
        .collect();
    let chart = ratatui::widgets::BarChart::default()
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .title(Span::styled(" Detections by type ", theme::title())),
        )
        .data(ratatui::widgets::BarGroup::default().bars(&bars))
        .bar_width(width)
        .bar_gap(1);
    f.render_widget(chart, chart_area);
    let rows: Vec<Vec<Line>> = app
        .findings
        .visible()
        .into_iter()
        .map(|finding| {
            let color = match finding.severity.description.as_str() {
                "High" => theme::bad(),
                "Medium" => theme::warn(),
                _ => theme::ok(),
            };
            let r = &finding.classification_details.result;
            let kinds: Vec<String> = r
                .sensitive_data
                .iter()
                .flat_map(|s| &s.detections)
                .chain(&r.custom_data_identifiers.detections)
                .map(|d| format!("{} {}", d.kind, d.count))
                .collect();
            let o = &finding.resources_affected.s3_object;
            vec![
                Line::from(Span::styled(
                    finding.severity.description.clone(),
                    Style::new().fg(color),
                )),
                Line::from(
                    finding
                        .finding_type
                        .trim_start_matches("SensitiveData:S3Object/")
                        .to_string(),
                ),
                Line::from(format!("s3://{}/{}", o.bucket_name, o.key)),
                Line::from(kinds.join(", ")),
                Line::from(when(finding.created_at)),
            ]
        })
        .collect();
    let t = table(
        rows,
        &[
            "Severity",
            "Type",
            "Object",
            "Detections (type count)",
            "Found",
        ],
        block,
        table_area,
    );
    f.render_stateful_widget(t, table_area, &mut app.findings.state);
}

#[cfg(test)]
mod tests {
    use super::{fit, tail};

    #[test]
    fn a_long_location_keeps_its_end_within_the_width() {
        assert_eq!(tail("/tmp/lake", 40), "/tmp/lake");
        let deep = format!("/{}/lake", "ünïcode-dir/".repeat(10));
        let shown = tail(&deep, 40);
        assert_eq!(shown.chars().count(), 40);
        assert!(
            shown.starts_with('…') && shown.ends_with("-dir//lake"),
            "{shown}"
        );
    }

    #[test]
    fn columns_keep_their_width_and_the_widest_takes_the_slack_or_gives_way_first() {
        // Room to spare: every column whole, the widest one (the second) wider still.
        assert_eq!(fit(vec![4, 30, 10], 60), vec![4, 46, 10]);
        // Exactly enough: unchanged.
        assert_eq!(fit(vec![4, 30, 10], 44), vec![4, 30, 10]);
        // Too narrow: the widest columns are cut to one level, the narrow ones stay whole.
        assert_eq!(fit(vec![4, 30, 28, 10], 50), vec![4, 18, 18, 10]);
        // Far too narrow: everything is capped, nothing overflows.
        assert!(fit(vec![40, 40, 40], 10).iter().sum::<usize>() <= 10);
        assert_eq!(fit(vec![], 10), Vec::<usize>::new());
    }
}
