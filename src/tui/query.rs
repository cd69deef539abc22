//! The Query pane: a multi-line SQL editor with history, run as the acting principal ("preview
//! as": `p` switches who), the state and elapsed time while a query runs (`x` stops it), and the
//! results in a scrollable table with column types and the row count. The query runs through
//! the same Athena service as `lakectl athena`, so the pane shows exactly what that principal
//! would get.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Cell, Paragraph, Row, Table, TableState};
use tui_textarea::TextArea;

use super::app::{App, Msg, Task};
use super::theme;
use super::view::pane_block;
use crate::service::query::{QueryState, ResultColumn};
use crate::service::wait::until_finished;
use crate::service::{Principal, Progress, Result, ServiceError, Services};

/// Rows the pane holds; the rest stay in the results object (`athena get-query-results`).
const SHOWN_ROWS: usize = 5_000;

/// How many rows a result has, as far as the console knows: the local lake counts them, but
/// Athena does not (the AWS backend reads 0), so there the pages tell: exactly when the first
/// page was the last, else only that there are more than were fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowCount {
    Exactly(u64),
    MoreThan(u64),
}

impl RowCount {
    fn of(counted: u64, fetched: usize, more_pages: bool) -> RowCount {
        let fetched = fetched as u64;
        match (counted, more_pages) {
            (n, _) if n >= fetched && n > 0 => RowCount::Exactly(n),
            (_, false) => RowCount::Exactly(fetched),
            (_, true) => RowCount::MoreThan(fetched),
        }
    }

    /// More rows than the console shows.
    fn exceeds(self, shown: usize) -> bool {
        match self {
            RowCount::Exactly(n) => n > shown as u64,
            RowCount::MoreThan(_) => true,
        }
    }
}

impl std::fmt::Display for RowCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowCount::Exactly(n) => write!(f, "{n}"),
            RowCount::MoreThan(n) => write!(f, "over {n}"),
        }
    }
}

pub struct QueryResult {
    pub principal: String,
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Option<String>>>,
    pub total_rows: RowCount,
    pub millis: u64,
    pub scanned: u64,
    pub output: Option<String>,
}

pub struct Running {
    pub task: u64,
    pub started: Instant,
    pub principal: String,
}

pub struct QueryPane {
    pub editor: Box<TextArea<'static>>,
    pub editing: bool,
    pub history: Vec<String>,
    history_at: Option<usize>,
    pub running: Option<Running>,
    pub result: Option<QueryResult>,
    pub error: Option<String>,
    pub rows: TableState,
    pub first_column: usize,
}

fn editor(text: &str) -> Box<TextArea<'static>> {
    let mut area = TextArea::from(text.lines().map(String::from).collect::<Vec<_>>());
    area.set_cursor_line_style(Style::new());
    Box::new(area)
}

impl QueryPane {
    pub fn new() -> Self {
        QueryPane {
            editor: editor(""),
            editing: false,
            history: Vec::new(),
            history_at: None,
            running: None,
            result: None,
            error: None,
            rows: TableState::default(),
            first_column: 0,
        }
    }

    pub fn sql(&self) -> String {
        self.editor.lines().join("\n").trim().to_string()
    }

    pub fn set_sql(&mut self, sql: &str) {
        self.editor = editor(sql);
    }

    /// Older (`back`) or newer entries of the history into the editor.
    pub fn recall(&mut self, back: bool) {
        if self.history.is_empty() {
            return;
        }
        let last = self.history.len() - 1;
        let at = match (self.history_at, back) {
            (None, true) => last,
            (None, false) => return,
            (Some(i), true) => i.saturating_sub(1),
            (Some(i), false) if i >= last => {
                self.history_at = None;
                self.set_sql("");
                return;
            }
            (Some(i), false) => i + 1,
        };
        self.history_at = Some(at);
        let sql = self.history[at].clone();
        self.set_sql(&sql);
    }

    pub fn scroll_columns(&mut self, right: bool) {
        let n = self.result.as_ref().map_or(0, |r| r.columns.len());
        self.first_column = if right {
            (self.first_column + 1).min(n.saturating_sub(1))
        } else {
            self.first_column.saturating_sub(1)
        };
    }

    pub fn step(&mut self, down: bool) {
        let n = self.result.as_ref().map_or(0, |r| r.rows.len());
        if n == 0 {
            return;
        }
        let i = self.rows.selected().unwrap_or(0);
        self.rows.select(Some(if down {
            (i + 1).min(n - 1)
        } else {
            i.saturating_sub(1)
        }));
    }
}

/// Starts the query, follows it until it ends (stopping it if the task is cancelled), and
/// fetches the first rows of its results.
async fn run(s: Services, p: Principal, sql: String, progress: Progress) -> Result<QueryResult> {
    let q = &s.query;
    let id = q.start_query_execution(&p, &sql, None, None).await?;
    let execution = until_finished(s.backend.poll_interval, || async {
        let e = q.get_query_execution(&p, &id).await?;
        if e.status.state.is_finished() {
            return Ok(Some(e));
        }
        if progress.is_cancelled() {
            q.stop_query_execution(&p, &id).await?;
        }
        Ok(None)
    })
    .await?;
    match execution.status.state {
        QueryState::Succeeded => {}
        state => {
            return Err(ServiceError::new(
                crate::service::Code::InvalidRequestException,
                format!(
                    "{state:?}: {}",
                    execution.status.state_change_reason.unwrap_or_default()
                ),
            ));
        }
    }
    let page = q.get_query_results(&p, &id, None, SHOWN_ROWS).await?;
    let total_rows = RowCount::of(
        execution.statistics.result_rows,
        page.rows.len(),
        page.next_token.is_some(),
    );
    Ok(QueryResult {
        principal: p.name().to_string(),
        columns: page.columns,
        rows: page.rows,
        total_rows,
        millis: execution.statistics.engine_execution_time_in_millis,
        scanned: execution.statistics.data_scanned_in_bytes,
        output: execution.output_location,
    })
}

impl App {
    /// Keys while the editor has the focus: everything types, but for these.
    pub(super) fn query_editor_key(&mut self, ev: KeyEvent) {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Esc => self.query.editing = false,
            KeyCode::Char('r') if ctrl => {
                self.query.editing = false;
                self.run_query();
            }
            KeyCode::Char('p') if ctrl => self.query.recall(true),
            KeyCode::Char('n') if ctrl => self.query.recall(false),
            _ => {
                self.query.editor.input(ev);
            }
        }
    }

    pub(super) fn run_query(&mut self) {
        let sql = self.query.sql();
        if sql.is_empty() {
            self.query.editing = true;
            self.message = Some("write a query first (e edits)".into());
            return;
        }
        if self.query.running.is_some() {
            self.message = Some("a query is running; x stops it".into());
            return;
        }
        self.query.history.retain(|h| h != &sql);
        self.query.history.push(sql.clone());
        self.query.history_at = None;
        self.query.error = None;
        let id = self.next_task_id();
        let progress = Progress::default();
        self.tasks.push(Task {
            id,
            label: format!("query as {}", self.principal),
            progress: progress.clone(),
        });
        self.query.running = Some(Running {
            task: id,
            started: Instant::now(),
            principal: self.principal.name().to_string(),
        });
        let (s, p) = (self.services.clone(), self.principal.clone());
        self.spawn(async move {
            Msg::QueryDone {
                task: id,
                result: run(s, p, sql, progress).await,
            }
        });
    }

    pub(super) fn query_done(&mut self, task: u64, result: Result<QueryResult>) {
        self.tasks.retain(|t| t.id != task);
        self.query.running = None;
        match result {
            Ok(r) => {
                self.query.rows.select((!r.rows.is_empty()).then_some(0));
                self.query.first_column = 0;
                self.query.result = Some(r);
            }
            Err(e) => {
                self.query.error = Some(e.message);
            }
        }
    }
}

fn size(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

pub fn render(app: &mut App, f: &mut Frame, area: Rect) {
    let lines = app.query.editor.lines().len().clamp(3, 10) as u16;
    let [editor_area, status_area, results_area] = Layout::vertical([
        Constraint::Length(lines + 2),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    let principal = app.principal.name().to_string();
    let q = &mut app.query;
    let title = if q.editing {
        format!(" SQL as {principal} — editing (ctrl-r runs, esc leaves) ")
    } else {
        format!(" SQL as {principal} (p: preview as another principal) ")
    };
    let border = if q.editing {
        theme::key()
    } else {
        theme::dim()
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Span::styled(title, theme::title()));
    q.editor.set_cursor_style(if q.editing {
        Style::new().reversed()
    } else {
        Style::new()
    });
    if q.sql().is_empty() && !q.editing {
        let hint = "e to write a query, e.g. SELECT symbol, count(*) FROM \"lakeformation-glue-catalog-db\".processed GROUP BY symbol";
        f.render_widget(
            Paragraph::new(hint).style(theme::dim()).block(block),
            editor_area,
        );
    } else {
        q.editor.set_block(block);
        f.render_widget(&*q.editor, editor_area);
    }

    let status = match (&q.running, &q.result, &q.error) {
        (Some(r), _, _) => Line::from(vec![
            Span::styled(" RUNNING ", Style::new().fg(theme::warn()).bold()),
            Span::raw(format!(
                " as {} for {:.1} s  (x stops it)",
                r.principal,
                r.started.elapsed().as_secs_f64()
            )),
        ]),
        (None, _, Some(e)) => Line::from(vec![
            Span::styled(" FAILED ", Style::new().fg(theme::bad()).bold()),
            Span::raw(format!(" {e}")),
        ]),
        (None, Some(r), None) => Line::from(vec![
            Span::styled(" SUCCEEDED ", Style::new().fg(theme::ok()).bold()),
            Span::raw(format!(
                " as {} in {} ms · {} row(s){} · {} scanned{}",
                r.principal,
                r.millis,
                r.total_rows,
                if r.total_rows.exceeds(r.rows.len()) {
                    format!(" (first {} shown)", r.rows.len())
                } else {
                    String::new()
                },
                size(r.scanned),
                r.output
                    .as_ref()
                    .map(|o| format!(" · results in {o}, encrypted"))
                    .unwrap_or_default()
            )),
        ]),
        (None, None, None) => Line::from(Span::styled(
            " ctrl-r runs the query; [ and ] step through the history",
            theme::dim(),
        )),
    };
    f.render_widget(Paragraph::new(status), status_area);

    let Some(r) = &q.result else {
        let text = "Results appear here. Tables are DB.TABLE (quote names with dashes: \"my-db\".t); \
                    a principal sees only the tables, columns and rows it was granted.";
        return super::view::empty(f, results_area, pane_block(" Results ".into(), None), text);
    };
    let first = q.first_column.min(r.columns.len().saturating_sub(1));
    let columns = &r.columns[first..];
    let header = Row::new(columns.iter().map(|c| {
        Cell::from(vec![
            Line::from(Span::styled(c.name.clone(), theme::header())),
            Line::from(Span::styled(c.type_name.clone(), theme::dim())),
        ])
    }))
    .height(2);
    let rows: Vec<Row> = r
        .rows
        .iter()
        .map(|row| {
            Row::new(row[first..].iter().map(|v| match v {
                Some(s) => Cell::from(s.clone()),
                None => Cell::from(Span::styled("NULL", theme::dim())),
            }))
        })
        .collect();
    let widths: Vec<Constraint> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let longest = r
                .rows
                .iter()
                .take(200)
                .filter_map(|row| row[first + i].as_ref().map(|s| s.chars().count()))
                .max()
                .unwrap_or(4)
                .max(c.name.len())
                .max(c.type_name.len());
            Constraint::Length(longest.min(40) as u16)
        })
        .collect();
    let title = format!(
        " Results: {} column(s) × {} row(s){} ",
        r.columns.len(),
        r.total_rows,
        if first > 0 {
            format!(", from column {}", first + 1)
        } else {
            String::new()
        }
    );
    let t = Table::new(rows, widths)
        .header(header)
        .block(pane_block(title, None))
        .column_spacing(2)
        .row_highlight_style(theme::selected())
        .highlight_symbol("› ");
    f.render_stateful_widget(t, results_area, &mut q.rows);
}

#[cfg(test)]
mod tests {
    use super::RowCount;

    #[test]
    fn a_count_athena_did_not_give_comes_from_the_pages() {
        // The local lake counts: its count stands, also past what is shown.
        assert_eq!(RowCount::of(7, 7, false), RowCount::Exactly(7));
        assert_eq!(RowCount::of(9000, 5000, true), RowCount::Exactly(9000));
        assert!(RowCount::of(9000, 5000, true).exceeds(5000));
        // Athena's 0: the one page is the whole result, or there is more than it.
        assert_eq!(RowCount::of(0, 5, false), RowCount::Exactly(5));
        assert_eq!(RowCount::of(0, 0, false), RowCount::Exactly(0));
        assert_eq!(RowCount::of(0, 5000, true), RowCount::MoreThan(5000));
        assert_eq!(RowCount::MoreThan(5000).to_string(), "over 5000");
        assert!(!RowCount::Exactly(5).exceeds(5));
    }
}
