//! Glue's schedule expressions, `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, parsed
//! and stepped to their next minute. The common cron crates read 5- or 7-field Unix/Quartz forms
//! with seconds first, not Glue's 6 fields with a year last, so this is a small parser of its own:
//! every number is bounds-checked, and what Glue has but lakectl does not (`L`, `W`, `#`) is
//! refused with a clear error rather than read as something else. Times are UTC, as in Glue.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

use super::{Code, Result, ServiceError};

const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2199;

/// A parsed schedule: which values of each field match.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// `None`: `?`, the day is the day of week's to choose.
    days_of_month: Option<Vec<bool>>,
    months: Vec<bool>,
    /// 1 = Sunday, as in Glue.
    days_of_week: Option<Vec<bool>>,
    years: Vec<bool>,
}

fn invalid(expr: &str, why: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(
        Code::InvalidInputException,
        format!(
            "the schedule {expr:?} is not valid: {why} (Glue's form: cron(Minutes Hours Day-of-month Month Day-of-week Year), UTC)"
        ),
    )
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One field: `*`, `N`, `N-M`, `*/S`, `N/S`, `N-M/S`, and lists of those, within `lo..=hi`.
fn field(expr: &str, text: &str, lo: i32, hi: i32, names: &[&str]) -> Result<Vec<bool>> {
    let value = |s: &str| -> Result<i32> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Ok(lo + i as i32);
        }
        if s.contains(['L', 'W', '#', 'l', 'w']) {
            return Err(invalid(
                expr,
                format!("{s:?}: L, W and # are not supported"),
            ));
        }
        let n: i32 = s
            .parse()
            .map_err(|_| invalid(expr, format!("{s:?} is not a number")))?;
        if n < lo || n > hi {
            return Err(invalid(expr, format!("{n} is outside {lo}-{hi}")));
        }
        Ok(n)
    };
    let mut set = vec![false; (hi - lo + 1) as usize];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: i32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s >= 1 && *s <= hi - lo + 1)
                    .ok_or_else(|| invalid(expr, format!("the step {s:?} is not valid")))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `N/S` runs from N to the end.
                None if step > 1 || part.contains('/') => (value(r)?, hi),
                None => {
                    let n = value(r)?;
                    (n, n)
                }
            },
        };
        if from > to {
            return Err(invalid(expr, format!("the range {range:?} runs backwards")));
        }
        let mut v = from;
        while v <= to {
            set[(v - lo) as usize] = true;
            v += step;
        }
    }
    Ok(set)
}

impl Schedule {
    /// Reads `cron(...)` (the `cron(` wrapper is required, as Glue requires it).
    pub fn parse(expr: &str) -> Result<Schedule> {
        if expr.len() > 256 {
            return Err(invalid(
                &expr.chars().take(32).collect::<String>(),
                "it is too long",
            ));
        }
        let inner = expr
            .trim()
            .strip_prefix("cron(")
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| invalid(expr, "it does not read cron(...)"))?;
        let parts: Vec<&str> = inner.split_whitespace().collect();
        let [min, hour, dom, month, dow, year] = parts[..] else {
            return Err(invalid(
                expr,
                format!("it has {} fields, not 6", parts.len()),
            ));
        };
        let (dom, dow) = match (dom, dow) {
            ("?", "?") => return Err(invalid(expr, "only one of the day fields may be ?")),
            ("?", d) => (None, Some(field(expr, d, 1, 7, &DAYS)?)),
            (d, "?") => (Some(field(expr, d, 1, 31, &[])?), None),
            _ => {
                return Err(invalid(
                    expr,
                    "one of Day-of-month and Day-of-week must be ?",
                ));
            }
        };
        Ok(Schedule {
            minutes: field(expr, min, 0, 59, &[])?,
            hours: field(expr, hour, 0, 23, &[])?,
            days_of_month: dom,
            months: field(expr, month, 1, 12, &MONTHS)?,
            days_of_week: dow,
            years: field(expr, year, FIRST_YEAR, LAST_YEAR, &[])?,
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        let year_ok = (FIRST_YEAR..=LAST_YEAR).contains(&d.year())
            && self.years[(d.year() - FIRST_YEAR) as usize];
        let month_ok = self.months[d.month0() as usize];
        let day_ok = match (&self.days_of_month, &self.days_of_week) {
            (Some(dom), _) => dom[d.day0() as usize],
            (None, Some(dow)) => dow[d.weekday().num_days_from_sunday() as usize],
            (None, None) => true,
        };
        year_ok && month_ok && day_ok
    }

    /// The first minute strictly after `after` that the schedule names, if any is left before
    /// the end of 2199.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(after)
            + Duration::minutes(1);
        let mut day = start.date_naive();
        while day.year() <= LAST_YEAR {
            if day.year() < FIRST_YEAR || !self.years[(day.year() - FIRST_YEAR) as usize] {
                day = NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)?;
                continue;
            }
            if self.day_matches(day) {
                for h in (0..24u32).filter(|h| self.hours[*h as usize]) {
                    for m in (0..60u32).filter(|m| self.minutes[*m as usize]) {
                        let t = Utc.from_utc_datetime(&day.and_hms_opt(h, m, 0)?);
                        if t >= start {
                            return Some(t);
                        }
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn glue_examples_step_to_their_next_minute() {
        let every_15 = Schedule::parse("cron(0/15 * * * ? *)").unwrap();
        assert_eq!(
            every_15.next_after(at("2026-12-03T13:07:38Z")),
            Some(at("2026-12-03T13:15:00Z"))
        );
        // 10:15 UTC Monday to Friday.
        let weekdays = Schedule::parse("cron(15 10 ? * MON-FRI *)").unwrap();
        // 2026-12-04 is a Friday; the next is Monday 7th.
        assert_eq!(
            weekdays.next_after(at("2026-12-04T10:15:00Z")),
            Some(at("2026-12-07T10:15:00Z"))
        );
        let first_of_month = Schedule::parse("cron(0 12 1 * ? 2027)").unwrap();
        assert_eq!(
            first_of_month.next_after(at("2026-12-03T00:00:00Z")),
            Some(at("2027-01-01T12:00:00Z"))
        );
        let every_minute = Schedule::parse("cron(* * * * ? *)").unwrap();
        assert_eq!(
            every_minute.next_after(at("2026-12-03T13:07:00Z")),
            Some(at("2026-12-03T13:08:00Z")),
            "strictly after: a tick never fires twice"
        );
        let past = Schedule::parse("cron(0 0 1 1 ? 1999)").unwrap();
        assert_eq!(past.next_after(at("2026-01-01T00:00:00Z")), None);
        let feb30 = Schedule::parse("cron(0 0 30 2 ? *)").unwrap();
        assert_eq!(feb30.next_after(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        for bad in [
            "0 * * * ? *",
            "cron(0 * * * *)",
            "cron(60 * * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 0 32 * ? *)",
            "cron(0 0 * 13 ? *)",
            "cron(0 0 ? * 8 *)",
            "cron(0 0 * * * *)",
            "cron(0 0 ? * ? *)",
            "cron(0 0 L * ? *)",
            "cron(0 0 ? * 6#3 *)",
            "cron(*/0 * * * ? *)",
            "cron(5-1 * * * ? *)",
            "cron(0 0 * * ? 2200)",
            "cron(x * * * ? *)",
        ] {
            let e = Schedule::parse(bad).unwrap_err();
            assert_eq!(e.code, Code::InvalidInputException, "{bad}");
            assert!(e.message.contains("not valid"), "{bad}: {}", e.message);
        }
    }
}
