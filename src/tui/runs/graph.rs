//! A workflow's graph as text: its nodes in the order they run (each trigger before what it
//! starts, each node before the triggers that wait for it), every node with its state and
//! times in the run, and every edge with what it means: a trigger starts a node, or a trigger
//! waits for a node to reach a state (its condition, and whether all or any must hold).

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::service::workflows::{Graph, Logical, Node, NodeState, WorkflowRun};
use crate::tui::theme;

/// The nodes in the order they run (Kahn's order over the edges, breadth first, keeping the
/// graph's own order among equals); nodes on a cycle, which Glue does not forbid, come last.
pub fn order(g: &Graph) -> Vec<&Node> {
    let index: BTreeMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.unique_id.as_str(), i))
        .collect();
    let mut incoming = vec![0usize; g.nodes.len()];
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    for e in &g.edges {
        if let (Some(&s), Some(&d)) = (
            index.get(e.source_id.as_str()),
            index.get(e.destination_id.as_str()),
        ) {
            incoming[d] += 1;
            next[s].push(d);
        }
    }
    let mut queue: VecDeque<usize> = (0..g.nodes.len()).filter(|&i| incoming[i] == 0).collect();
    let mut placed = vec![false; g.nodes.len()];
    let mut out = Vec::new();
    while let Some(i) = queue.pop_front() {
        placed[i] = true;
        out.push(&g.nodes[i]);
        for &d in &next[i] {
            incoming[d] -= 1;
            if incoming[d] == 0 {
                queue.push_back(d);
            }
        }
    }
    out.extend(
        (0..g.nodes.len())
            .filter(|&i| !placed[i])
            .map(|i| &g.nodes[i]),
    );
    out
}

fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

fn state_name(s: NodeState) -> String {
    super::serde_name(&s)
}

fn state_style(s: NodeState) -> Style {
    Style::new().fg(match s {
        NodeState::Succeeded => theme::ok(),
        NodeState::Starting | NodeState::Running | NodeState::Stopping => theme::warn(),
        _ => theme::bad(),
    })
}

/// The run's own line: when it started, whether it ended, its actions by state.
pub fn run_header(run: &WorkflowRun) -> Vec<Line<'static>> {
    let st = &run.statistics;
    let ended = match run.completed_on {
        Some(c) => format!(
            "ended {} ({} s)",
            clock(c),
            (c - run.started_on).num_seconds().max(0)
        ),
        None => format!(
            "under way for {} s",
            (Utc::now() - run.started_on).num_seconds().max(0)
        ),
    };
    let mut lines = vec![Line::raw(format!(
        "Started {} · {ended} · {} actions: {} succeeded, {} failed, {} stopped, {} running, {} waiting",
        run.started_on.format("%Y-%m-%d %H:%M:%S"),
        st.total_actions,
        st.succeeded_actions,
        st.failed_actions + st.errored_actions + st.timeout_actions,
        st.stopped_actions,
        st.running_actions,
        st.waiting_actions,
    ))];
    if let Some(e) = &run.error_message {
        lines.push(Line::styled(e.clone(), Style::new().fg(theme::bad())));
    }
    lines.push(Line::raw(""));
    lines
}

/// One node's line: a trigger with its type and whether it fired, or a job, crawler or
/// classification job with its state and times in the run.
fn node_line(n: &Node, in_run: bool) -> Vec<Line<'static>> {
    if let Some(t) = n.trigger() {
        let mut spans = vec![
            Span::styled("◆ ", theme::key()),
            Span::raw(format!("trigger {} ", n.name)),
            Span::styled(super::serde_name(&t.trigger.kind), theme::dim()),
        ];
        if let Some(s) = &t.trigger.schedule {
            spans.push(Span::styled(format!(" {s}"), theme::dim()));
        }
        if in_run {
            spans.push(match (t.fired, t.fired_on) {
                (true, Some(at)) => Span::styled(
                    format!("  fired {}", clock(at)),
                    Style::new().fg(theme::ok()),
                ),
                (true, None) => Span::styled("  fired", Style::new().fg(theme::ok())),
                (false, _) => Span::styled("  not fired", theme::dim()),
            });
        }
        return vec![Line::from(spans)];
    }
    let kind = n.kind.to_lowercase().replace('_', " ");
    let mut spans = vec![
        Span::styled("● ", theme::key()),
        Span::raw(format!("{kind} {}  ", n.name)),
    ];
    let mut lines = Vec::new();
    match n.activity() {
        Some(a) => {
            match a.state {
                Some(s) => spans.push(Span::styled(state_name(s), state_style(s))),
                None => spans.push(Span::styled("UNKNOWN", theme::dim())),
            }
            if let Some(start) = a.started_on {
                let took = match a.completed_on {
                    Some(end) => format!(
                        "  {} → {} ({} s)",
                        clock(start),
                        clock(end),
                        (end - start).num_seconds().max(0)
                    ),
                    None => format!(
                        "  {} → … ({} s so far)",
                        clock(start),
                        (Utc::now() - start).num_seconds().max(0)
                    ),
                };
                spans.push(Span::raw(took));
            }
            if let Some(e) = a.error_message {
                lines.push(Line::styled(
                    format!("      ✘ {e}"),
                    Style::new().fg(theme::bad()),
                ));
            }
        }
        None if in_run => spans.push(Span::styled("not started", theme::dim())),
        None => {}
    }
    if let Some(why) = &n.not_started_reason {
        lines.push(Line::styled(format!("      why: {why}"), theme::dim()));
    }
    lines.insert(0, Line::from(spans));
    lines
}

/// What an edge means: a trigger starts its destination, or a trigger waits for its source.
fn edge_line(from: &Node, to: &Node) -> Line<'static> {
    if from.kind == "TRIGGER" {
        let kind = to.kind.to_lowercase().replace('_', " ");
        return Line::raw(format!("    → starts {kind} {}", to.name));
    }
    let Some(t) = to.trigger() else {
        return Line::raw(format!("    → {}", to.name));
    };
    let conditions = t
        .trigger
        .predicate
        .as_ref()
        .map(|p| &p.conditions[..])
        .unwrap_or(&[]);
    let condition = conditions
        .iter()
        .find(|c| c.node.kind() == from.kind && c.node.name() == from.name);
    let wanted = condition
        .and_then(|c| c.wanted())
        .map(state_name)
        .unwrap_or_else(|| "?".into());
    let field = if condition.is_some_and(|c| c.crawl_state.is_some()) {
        "CrawlState"
    } else {
        "State"
    };
    let all = match t.trigger.predicate.as_ref().map(|p| p.logical) {
        _ if conditions.len() < 2 => String::new(),
        Some(Logical::Any) => format!(" (ANY of {} conditions)", conditions.len()),
        _ => format!(" (AND: all {} conditions)", conditions.len()),
    };
    Line::from(vec![
        Span::raw(format!("    → trigger {} when ", to.name)),
        Span::styled(format!("{field} = {wanted}"), theme::key()),
        Span::raw(all),
    ])
}

/// The graph as lines: each node in run order, followed by its outgoing edges.
pub fn lines(g: &Graph) -> Vec<Line<'static>> {
    let in_run = g.nodes.iter().any(|n| {
        n.activity().is_some()
            || n.not_started_reason.is_some()
            || n.trigger_details
                .as_ref()
                .is_some_and(|d| d.get("Fired").is_some())
    });
    let by_id: BTreeMap<&str, &Node> = g.nodes.iter().map(|n| (n.unique_id.as_str(), n)).collect();
    let mut out = Vec::new();
    for n in order(g) {
        out.extend(node_line(n, in_run));
        for e in g.edges.iter().filter(|e| e.source_id == n.unique_id) {
            if let Some(to) = by_id.get(e.destination_id.as_str()) {
                out.push(edge_line(n, to));
            }
        }
    }
    if g.nodes.is_empty() {
        out.push(Line::raw("The workflow has no triggers yet."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::workflows::{Edge, Node};

    fn node(kind: &str, name: &str) -> Node {
        Node {
            kind: kind.into(),
            name: name.into(),
            unique_id: format!("{kind}:{name}"),
            trigger_details: None,
            job_details: None,
            crawler_details: None,
            classification_job_details: None,
            not_started_reason: None,
        }
    }

    fn edge(from: &str, to: &str) -> Edge {
        Edge {
            source_id: from.into(),
            destination_id: to.into(),
        }
    }

    #[test]
    fn nodes_come_in_the_order_they_run_and_a_cycle_does_not_lose_any() {
        // Listed backwards on purpose: the order comes from the edges.
        let g = Graph {
            nodes: vec![
                node("CRAWLER", "last"),
                node("TRIGGER", "after"),
                node("JOB", "first"),
                node("TRIGGER", "start"),
            ],
            edges: vec![
                edge("TRIGGER:start", "JOB:first"),
                edge("JOB:first", "TRIGGER:after"),
                edge("TRIGGER:after", "CRAWLER:last"),
            ],
        };
        let names: Vec<&str> = order(&g).iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["start", "first", "after", "last"]);
        let cyclic = Graph {
            nodes: vec![node("JOB", "a"), node("TRIGGER", "t"), node("JOB", "b")],
            edges: vec![edge("JOB:a", "TRIGGER:t"), edge("TRIGGER:t", "JOB:a")],
        };
        assert_eq!(order(&cyclic).len(), 3);
    }
}
