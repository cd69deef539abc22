//! Glue's ListCrawls on the lake server: a crawler's history, newest first, filtered as Glue
//! filters it (`CRAWL_ID`, `STATE`, `START_TIME`, `END_TIME` with `EQ NE GT GE LT LE`) and paged
//! by the last crawl's id. `DPU_HOUR` is refused by name: the lake's crawls use no DPUs.

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, paged, unsupported};
use super::paging;
use crate::service::jobs::{Crawl, CrawlState};
use crate::service::{Result, ServiceError};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListCrawlsInput {
    crawler_name: String,
    #[serde(default)]
    filters: Vec<FilterInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FilterInput {
    field_name: String,
    filter_operator: String,
    field_value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Operator {
    fn parse(s: &str) -> Result<Operator> {
        Ok(match s {
            "EQ" => Operator::Eq,
            "NE" => Operator::Ne,
            "GT" => Operator::Gt,
            "GE" => Operator::Ge,
            "LT" => Operator::Lt,
            "LE" => Operator::Le,
            other => {
                return Err(ServiceError::invalid(format!(
                    "FilterOperator {other:?} is not one of GT, GE, LT, LE, EQ, NE"
                )));
            }
        })
    }

    fn holds<T: PartialOrd>(self, left: &T, right: &T) -> bool {
        match self {
            Operator::Eq => left == right,
            Operator::Ne => left != right,
            Operator::Gt => left > right,
            Operator::Ge => left >= right,
            Operator::Lt => left < right,
            Operator::Le => left <= right,
        }
    }
}

/// One filter, read once into what it compares.
enum Filter {
    CrawlId(Operator, String),
    State(Operator, CrawlState),
    StartTime(Operator, DateTime<Utc>),
    EndTime(Operator, DateTime<Utc>),
}

/// A time as a filter gives it: ISO 8601, or epoch seconds or milliseconds.
fn time(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let number: f64 = text.parse().map_err(|_| {
        ServiceError::invalid(format!(
            "{text:?} is not a time (ISO 8601, or seconds or milliseconds since the epoch)"
        ))
    })?;
    let millis = if number.abs() >= 1e11 {
        number
    } else {
        number * 1000.0
    };
    Utc.timestamp_millis_opt(millis as i64)
        .single()
        .ok_or_else(|| ServiceError::invalid(format!("{text:?} is out of range as a time")))
}

impl Filter {
    fn parse(input: &FilterInput) -> Result<Filter> {
        let op = Operator::parse(&input.filter_operator)?;
        let value = input.field_value.as_str();
        let equality_only = |what: &str| {
            if matches!(op, Operator::Eq | Operator::Ne) {
                Ok(())
            } else {
                Err(ServiceError::invalid(format!(
                    "{what} is compared with EQ or NE only"
                )))
            }
        };
        Ok(match input.field_name.as_str() {
            "CRAWL_ID" => {
                equality_only("CRAWL_ID")?;
                Filter::CrawlId(op, value.to_string())
            }
            "STATE" => {
                equality_only("STATE")?;
                let state = CrawlState::parse(value).ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "STATE {value:?} is not one of RUNNING, COMPLETED, FAILED, STOPPED"
                    ))
                })?;
                Filter::State(op, state)
            }
            "START_TIME" => Filter::StartTime(op, time(value)?),
            "END_TIME" => Filter::EndTime(op, time(value)?),
            "DPU_HOUR" => {
                return Err(unsupported(
                    "ListCrawls by DPU_HOUR",
                    "the lake's crawls run in the server and use no DPUs",
                ));
            }
            other => {
                return Err(ServiceError::invalid(format!(
                    "FieldName {other:?} is not one of CRAWL_ID, STATE, START_TIME, END_TIME, DPU_HOUR"
                )));
            }
        })
    }

    fn keeps(&self, crawl: &Crawl) -> bool {
        match self {
            Filter::CrawlId(op, id) => op.holds(&crawl.crawl_id, id),
            Filter::State(op, state) => op.holds(&crawl.state.as_str(), &state.as_str()),
            Filter::StartTime(op, t) => op.holds(&crawl.start_time, t),
            // A crawl that has not ended matches no end-time comparison.
            Filter::EndTime(op, t) => crawl.end_time.is_some_and(|end| op.holds(&end, t)),
        }
    }
}

pub async fn list_crawls(call: &Call<'_>) -> Result<Value> {
    let input: ListCrawlsInput = call.input()?;
    let filters = input
        .filters
        .iter()
        .map(Filter::parse)
        .collect::<Result<Vec<_>>>()?;
    let mut crawls = call
        .router
        .services
        .jobs
        .list_crawls(call.principal, &input.crawler_name)
        .await?;
    crawls.retain(|c| filters.iter().all(|f| f.keeps(c)));
    let page = call.page(paging::GLUE, crawls, |c| c.crawl_id.as_str())?;
    paged(json!({ "Crawls": page.items }), page.next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crawl(id: &str, state: CrawlState, start: i64, end: Option<i64>) -> Crawl {
        Crawl {
            crawl_id: id.into(),
            state,
            start_time: Utc.timestamp_opt(start, 0).unwrap(),
            end_time: end.map(|e| Utc.timestamp_opt(e, 0).unwrap()),
            summary: String::new(),
            error_message: None,
        }
    }

    fn filter(field: &str, op: &str, value: &str) -> Result<Filter> {
        Filter::parse(&FilterInput {
            field_name: field.into(),
            filter_operator: op.into(),
            field_value: value.into(),
        })
    }

    #[test]
    fn filters_compare_as_glue_says_and_refuse_what_they_cannot() {
        // 2023-11-14T22:13:20Z and 100 s later; a run that started 200 s after it.
        let t = 1_700_000_000;
        let done = crawl("a", CrawlState::Completed, t, Some(t + 100));
        let running = crawl("b", CrawlState::Running, t + 200, None);
        let completed = filter("STATE", "EQ", "COMPLETED").unwrap();
        assert!(completed.keeps(&done) && !completed.keeps(&running));
        let later = filter("START_TIME", "GT", &(t + 50).to_string()).unwrap();
        assert!(!later.keeps(&done) && later.keeps(&running));
        // Milliseconds and ISO 8601 name the same instant as seconds.
        assert!(
            filter("START_TIME", "EQ", "1700000000000")
                .unwrap()
                .keeps(&done)
        );
        assert!(
            filter("START_TIME", "EQ", "2023-11-14T22:13:20Z")
                .unwrap()
                .keeps(&done)
        );
        let ended = filter("END_TIME", "LE", &(t + 100).to_string()).unwrap();
        assert!(ended.keeps(&done) && !ended.keeps(&running));
        assert!(filter("CRAWL_ID", "NE", "a").unwrap().keeps(&running));
        assert!(filter("STATE", "GT", "COMPLETED").is_err());
        assert!(filter("STATE", "EQ", "DONE").is_err());
        assert!(filter("DPU_HOUR", "GT", "1").is_err());
        assert!(filter("START_TIME", "GT", "yesterday").is_err());
    }
}
