//! Queries as principals see them, on the demo lake (both seeds loaded). The security tests
//! try every way the issue names to reach a column the analyst was not granted; each must be
//! refused exactly as a column that does not exist would be, so nothing confirms it is there.

use lakectl::cli::Context;
use lakectl::service::access::{Grant, Permission, Resource};
use lakectl::service::policy::PolicyDocument;
use lakectl::service::query::QueryState;
use lakectl::service::{Code, Principal, ServiceError};

use crate::common::{TestLake, admin, blobs, eventually, eventually_within, new_lake};

pub const T: &str = "\"lakeformation-glue-catalog-db\".processed";

pub async fn demo_lake() -> TestLake {
    let t = new_lake();
    let a = admin();
    lakectl::demo::load(
        &Context::new(&t.services, &a),
        &lakectl::demo::SourceDatabase::Sqlite,
    )
    .await
    .unwrap();
    t
}

#[derive(Debug)]
pub struct Answer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// Runs `sql` as `who` and waits; a refused or failed query is its error.
pub async fn query(t: &TestLake, who: &str, sql: &str) -> Result<Answer, ServiceError> {
    let by = Principal::new(who);
    let q = &t.services.query;
    let id = q.start_query_execution(&by, sql, None, None).await?;
    let execution = eventually(&format!("query {id} to finish"), || async {
        match q.get_query_execution(&by, &id).await {
            Ok(e) if !e.status.state.is_finished() => None,
            outcome => Some(outcome),
        }
    })
    .await?;
    if execution.status.state != QueryState::Succeeded {
        return Err(ServiceError::new(
            Code::InvalidRequestException,
            execution.status.state_change_reason.unwrap_or_default(),
        ));
    }
    let page = q.get_query_results(&by, &id, None, 100_000).await?;
    Ok(Answer {
        columns: page.columns.into_iter().map(|c| c.name).collect(),
        rows: page.rows,
    })
}

/// A new principal with the identity policies and the use of the query results key that the
/// demo's personas have.
pub async fn new_principal(t: &TestLake, name: &str) {
    let a = admin();
    t.services
        .iam
        .create_principal(&a, name, false)
        .await
        .unwrap();
    crate::common::give_persona_policies(&t.services, name).await;
    t.services
        .keys
        .allow(
            &a,
            "alias/query-results-key",
            name,
            &["Encrypt".into(), "Decrypt".into(), "GenerateDataKey".into()],
        )
        .await
        .unwrap();
}

fn scalar(a: &Answer) -> String {
    a.rows[0][0].clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_grant_shows_that_column_and_nothing_else() {
    let t = demo_lake().await;
    let all = query(&t, "admin", &format!("SELECT * FROM {T}"))
        .await
        .unwrap();
    assert!(
        all.columns.contains(&"price".to_string()),
        "{:?}",
        all.columns
    );
    let rows = all.rows.len();
    assert!(rows > 100);

    let mine = query(&t, "analyst", &format!("SELECT * FROM {T}"))
        .await
        .unwrap();
    assert_eq!(mine.columns, ["symbol"]);
    assert_eq!(mine.rows.len(), rows);
    let count = query(&t, "analyst", &format!("SELECT count(*) FROM {T}"))
        .await
        .unwrap();
    assert_eq!(scalar(&count), rows.to_string());
    // The objects were read by the Lake Formation role, on the analyst's behalf, and say so.
    let reads = t
        .services
        .audit
        .list(&admin(), Some("lakeformation-service-role"))
        .await
        .unwrap();
    assert!(
        reads.iter().any(|e| e.event_name == "GetObject"
            && e.detail["OnBehalfOf"] == "analyst"
            && e.detail["QueryExecutionId"].is_string()),
        "{reads:#?}"
    );

    // Every path to the hidden column `price` fails exactly as a made-up column does.
    let hidden = [
        "SELECT price FROM {T}",
        "SELECT \"price\" FROM {T}",
        "SELECT PRICE FROM {T}",
        "SELECT processed.price FROM {T}",
        "SELECT p.price FROM {T} p",
        "SELECT awsdatacatalog.\"lakeformation-glue-catalog-db\".processed.price FROM {T}",
        "SELECT symbol FROM {T} WHERE price > 100",
        "SELECT count(*) FROM {T} WHERE price > 100",
        "SELECT symbol FROM {T} ORDER BY price",
        "SELECT symbol, max(price) FROM {T} GROUP BY symbol",
        "SELECT symbol FROM {T} GROUP BY symbol, price",
        "SELECT a.symbol FROM {T} a JOIN {T} b ON a.price = b.price",
        "SELECT symbol FROM {T} WHERE symbol IN (SELECT symbol FROM {T} WHERE price > 100)",
        "SELECT symbol FROM {T} WHERE EXISTS (SELECT 1 FROM {T} x WHERE x.price > 1000)",
        "WITH x AS (SELECT price FROM {T}) SELECT * FROM x",
        "SELECT symbol FROM {T} UNION ALL SELECT CAST(price AS VARCHAR) FROM {T}",
        "SELECT upper(CAST(price AS VARCHAR)) FROM {T}",
        "SELECT CAST(price AS VARCHAR) FROM {T}",
        "SELECT coalesce(price, 0) FROM {T}",
        "SELECT sum(price) OVER (PARTITION BY symbol) FROM {T}",
        "SELECT CASE WHEN price > 100 THEN 'big' ELSE 'small' END FROM {T}",
    ];
    for template in hidden {
        let sql = template.replace("{T}", T);
        let refused = query(&t, "analyst", &sql).await.unwrap_err();
        let made_up_sql = sql
            .replace("price", "nosuchcolumn")
            .replace("PRICE", "NOSUCHCOLUMN");
        let made_up = query(&t, "analyst", &made_up_sql).await.unwrap_err();
        assert_eq!(
            refused.message.replace("price", "X").replace("PRICE", "X"),
            made_up
                .message
                .replace("nosuchcolumn", "X")
                .replace("NOSUCHCOLUMN", "X"),
            "{sql}"
        );
        // The admin's query runs, so the refusal is the grant's doing.
        query(&t, "admin", &sql).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_queries_run_and_nothing_reaches_past_the_session() {
    let t = demo_lake().await;
    let by = Principal::new("analyst");
    let refused_at_start = [
        "EXPLAIN SELECT price FROM {T}",
        "EXPLAIN ANALYZE SELECT symbol FROM {T}",
        "SHOW COLUMNS FROM {T}",
        "DESCRIBE {T}",
        "CREATE TABLE x AS SELECT * FROM {T}",
        "CREATE VIEW v AS SELECT price FROM {T}",
        "CREATE EXTERNAL TABLE x (price DOUBLE) STORED AS PARQUET LOCATION '/tmp/'",
        "DROP TABLE {T}",
        "INSERT INTO {T} VALUES ('x')",
        "DELETE FROM {T}",
        "UPDATE {T} SET symbol = 'x'",
        "COPY {T} TO '/tmp/out.csv'",
        "COPY (SELECT symbol FROM {T}) TO '/tmp/out.parquet'",
        "SET datafusion.execution.target_partitions = 1",
        "SET datafusion.catalog.information_schema = true",
        "SELECT symbol FROM {T}; DROP TABLE {T}",
        "SELECT symbol FROM {T}; SELECT price FROM {T}",
    ];
    for template in refused_at_start {
        let sql = template.replace("{T}", T);
        let e = t
            .services
            .query
            .start_query_execution(&by, &sql, None, None)
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::InvalidRequestException, "{sql}: {e}");
    }
    let lake_dir = t.path().display().to_string();
    let no_such_thing = [
        "SELECT * FROM information_schema.columns".to_string(),
        "SELECT * FROM information_schema.tables".to_string(),
        format!("SELECT * FROM '{lake_dir}/meta.db'"),
        "SELECT * FROM '/etc/passwd'".to_string(),
        "SELECT * FROM 'https://example.com/x.parquet'".to_string(),
        "SELECT * FROM read_parquet('/tmp/x.parquet')".to_string(),
        "SELECT * FROM read_csv('/etc/passwd')".to_string(),
        format!("SELECT symbol INTO copied FROM {T}"),
        "SELECT version(), * FROM information_schema.df_settings".to_string(),
        // Tables the analyst holds nothing on do not exist for it.
        "SELECT * FROM pii_db.masked_customers".to_string(),
        "SELECT * FROM pii_db.raw_customers".to_string(),
    ];
    // What the analyst may see, to make sure no refusal carries any of it.
    let visible = query(&t, "analyst", &format!("SELECT * FROM {T}"))
        .await
        .unwrap();
    let blobs_before = blobs(&t.path());
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for sql in no_such_thing {
        let e = query(&t, "analyst", &sql).await.unwrap_err();
        // The query ran and failed (the helper's code), or was refused as it started: never
        // an internal error.
        assert!(
            matches!(e.code, Code::InvalidRequestException | Code::AccessDenied),
            "{sql}: {e}"
        );
        assert!(!e.message.is_empty(), "{sql}");
        // No file content, no database page, no value of any table in the message.
        for line in passwd.lines().filter(|l| l.len() > 8) {
            assert!(!e.message.contains(line), "{sql}: {e}");
        }
        assert!(!e.message.contains("SQLite format"), "{sql}: {e}");
        for row in &visible.rows {
            for value in row.iter().flatten().filter(|v| v.len() > 3) {
                assert!(!e.message.contains(value.as_str()), "{sql}: {e}");
            }
        }
    }
    // Nothing was created: no table, no object, no file where the query named one.
    let tables = t
        .services
        .catalog
        .get_tables(&admin(), "lakeformation-glue-catalog-db")
        .await
        .unwrap();
    assert!(tables.iter().all(|t| t.name != "copied"), "{tables:?}");
    assert_eq!(blobs(&t.path()), blobs_before);
    assert!(!t.path().join("copied").exists());
    assert!(!std::path::Path::new("copied").exists());
    let ungranted = query(&t, "analyst", "SELECT * FROM pii_db.masked_customers")
        .await
        .unwrap_err();
    let missing = query(&t, "analyst", "SELECT * FROM pii_db.no_such_table")
        .await
        .unwrap_err();
    assert_eq!(
        ungranted.message.replace("masked_customers", "X"),
        missing.message.replace("no_such_table", "X")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_begin_end_and_pass_on_only_with_the_grant_option() {
    let t = demo_lake().await;
    let a = admin();
    new_principal(&t, "newcomer").await;
    // Before any grant nothing is visible.
    assert!(
        query(&t, "newcomer", &format!("SELECT * FROM {T}"))
            .await
            .is_err()
    );
    let table = Resource::table("lakeformation-glue-catalog-db", "processed");
    let access = &t.services.access;
    access
        .grant_permissions(
            &a,
            Grant::new("newcomer", table.clone(), vec![Permission::Select]),
        )
        .await
        .unwrap();
    let seen = query(&t, "newcomer", &format!("SELECT * FROM {T}"))
        .await
        .unwrap();
    assert!(seen.columns.len() > 5);

    // Without the grant option the newcomer cannot pass it on, nor can the analyst widen its own,
    // even though IAM lets both call GrantPermissions: Lake Formation decides what is passed on.
    let grantor = PolicyDocument::parse_identity(
        r#"{"Statement":[{"Effect":"Allow","Action":"lakeformation:GrantPermissions","Resource":"*"}]}"#,
    )
    .unwrap();
    for who in ["newcomer", "analyst"] {
        t.services
            .iam
            .put_user_policy(&a, who, "grantor", &grantor)
            .await
            .unwrap();
    }
    let by = Principal::new("newcomer");
    let e = access
        .grant_permissions(
            &by,
            Grant::new("analyst", table.clone(), vec![Permission::Select]),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
    let e = access
        .grant_permissions(
            &Principal::new("analyst"),
            Grant::new("analyst", table.clone(), vec![Permission::Select]),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);

    // With it, it can.
    let mut with_option = Grant::new("newcomer", table.clone(), vec![Permission::Select]);
    with_option.permissions_with_grant_option = vec![Permission::Select];
    access.grant_permissions(&a, with_option).await.unwrap();
    new_principal(&t, "third").await;
    access
        .grant_permissions(
            &by,
            Grant::new("third", table.clone(), vec![Permission::Select]),
        )
        .await
        .unwrap();
    assert!(
        query(&t, "third", &format!("SELECT count(*) FROM {T}"))
            .await
            .is_ok()
    );

    // After revoke, access ends.
    access
        .revoke_permissions(
            &a,
            Grant::new("newcomer", table.clone(), vec![Permission::Select]),
        )
        .await
        .unwrap();
    assert!(
        query(&t, "newcomer", &format!("SELECT * FROM {T}"))
            .await
            .is_err()
    );
    let e = access
        .revoke_permissions(&a, Grant::new("newcomer", table, vec![Permission::Select]))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidInputException, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_row_filters_decide_rows_and_cells() {
    let t = demo_lake().await;
    // The business analyst: masked tables by tag, masked_bank only for GB (a data cells filter).
    let customers = query(
        &t,
        "business-analyst",
        "SELECT count(*) FROM pii_db.masked_customers",
    )
    .await
    .unwrap();
    let all_customers = query(&t, "admin", "SELECT count(*) FROM pii_db.masked_customers")
        .await
        .unwrap();
    assert_eq!(scalar(&customers), scalar(&all_customers));
    let bank = query(
        &t,
        "business-analyst",
        "SELECT bank_country, count(*) FROM pii_db.masked_bank GROUP BY bank_country",
    )
    .await
    .unwrap();
    let gb = query(
        &t,
        "admin",
        "SELECT count(*) FROM pii_db.masked_bank WHERE bank_country = 'GB'",
    )
    .await
    .unwrap();
    assert_eq!(bank.rows, vec![vec![Some("GB".into()), Some(scalar(&gb))]]);
    let everyone = query(&t, "admin", "SELECT count(*) FROM pii_db.masked_bank")
        .await
        .unwrap();
    assert_ne!(
        scalar(&everyone),
        scalar(&gb),
        "the demo has other countries"
    );
    // A predicate on the filtered column cannot reach past the filter.
    let other = query(
        &t,
        "business-analyst",
        "SELECT count(*) FROM pii_db.masked_bank WHERE bank_country <> 'GB'",
    )
    .await
    .unwrap();
    assert_eq!(scalar(&other), "0");
    for hidden in ["pii_db.encrypted_customers", "pii_db.raw_bank"] {
        assert!(
            query(&t, "business-analyst", &format!("SELECT * FROM {hidden}"))
                .await
                .is_err()
        );
    }

    // Cell-level: price only in BUY rows, symbol in every row.
    let a = admin();
    let access = &t.services.access;
    new_principal(&t, "desk").await;
    let filter =
        |name: &str, rows: &str, cols: &[&str]| lakectl::service::access::DataCellsFilter {
            table_catalog_id: String::new(),
            database_name: "lakeformation-glue-catalog-db".into(),
            table_name: "processed".into(),
            name: name.into(),
            row_filter: lakectl::service::access::RowFilter {
                filter_expression: Some(rows.into()),
                all_rows_wildcard: None,
            },
            column_names: Some(cols.iter().map(|c| c.to_string()).collect()),
            column_wildcard: None,
        };
    access
        .create_data_cells_filter(&a, filter("buys", "side = 'BUY'", &["symbol", "price"]))
        .await
        .unwrap();
    access
        .create_data_cells_filter(&a, filter("symbols", "TRUE", &["symbol"]))
        .await
        .unwrap();
    for name in ["buys", "symbols"] {
        let r = Resource::DataCellsFilter {
            database_name: "lakeformation-glue-catalog-db".into(),
            table_name: "processed".into(),
            name: name.into(),
        };
        access
            .grant_permissions(&a, Grant::new("desk", r, vec![Permission::Select]))
            .await
            .unwrap();
    }
    let desk = query(
        &t,
        "desk",
        &format!("SELECT count(*), count(price), sum(price) FROM {T}"),
    )
    .await
    .unwrap();
    let truth = query(
        &t,
        "admin",
        &format!(
            "SELECT count(*), count(CASE WHEN side = 'BUY' THEN price END), sum(CASE WHEN side = 'BUY' THEN price END) FROM {T}"
        ),
    )
    .await
    .unwrap();
    assert_eq!(desk.rows, truth.rows);
    assert!(
        query(&t, "desk", &format!("SELECT side FROM {T}"))
            .await
            .is_err()
    );
    let why = access
        .explain(&a, "desk", "lakeformation-glue-catalog-db", "processed")
        .await
        .unwrap();
    let price = why.columns.iter().find(|c| c.column == "price").unwrap();
    assert!(price.visible);
    assert_eq!(price.visible_where.as_deref(), Some("side = 'BUY'"));
    let side = why.columns.iter().find(|c| c.column == "side").unwrap();
    assert!(!side.visible);
    assert_eq!(why.row_filter, None, "the symbols filter admits every row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_encrypted_and_private_and_detokenize_needs_the_key() {
    let t = demo_lake().await;
    let sql = "SELECT detokenize(name) AS name FROM pii_db.encrypted_customers ORDER BY customer_id LIMIT 1";
    let plain = query(&t, "data-scientist", sql).await.unwrap();
    let name = plain.rows[0][0].clone().unwrap();
    assert!(!name.starts_with("tok1."), "{name}");
    let masked = query(
        &t,
        "admin",
        "SELECT name FROM pii_db.masked_customers ORDER BY customer_id LIMIT 1",
    )
    .await
    .unwrap();
    assert_ne!(masked.rows[0][0].as_deref(), Some(name.as_str()));
    // The raw CSV table (read through the ETL job's CSV reader) holds the same name.
    let raw = query(
        &t,
        "admin",
        "SELECT name FROM pii_db.raw_customers ORDER BY customer_id LIMIT 1",
    )
    .await
    .unwrap();
    assert_eq!(raw.rows[0][0].as_deref(), Some(name.as_str()));

    // Nobody else holds the decrypt right: the admin is granted the table but not the key.
    let a = admin();
    t.services
        .access
        .grant_permissions(
            &a,
            Grant::new(
                "business-analyst",
                Resource::table("pii_db", "encrypted_customers"),
                vec![Permission::Select],
            ),
        )
        .await
        .unwrap();
    let e = query(&t, "business-analyst", sql).await.unwrap_err();
    assert!(e.message.contains("kms:Decrypt"), "{e}");

    // The result object is sealed: no plaintext name anywhere under the lake.
    for blob in blobs(&t.path()) {
        let bytes = std::fs::read(&blob).unwrap();
        assert!(
            !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "{} holds a plaintext name",
            blob.display()
        );
    }
    // And it is the data scientist's: another principal cannot read it.
    let by = Principal::new("data-scientist");
    let ids = t
        .services
        .query
        .list_query_executions(&by, None)
        .await
        .unwrap();
    let other = Principal::new("business-analyst");
    let e = t
        .services
        .query
        .get_query_results(&other, &ids[0], None, 10)
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidRequestException);
    let execution = t
        .services
        .query
        .get_query_execution(&by, &ids[0])
        .await
        .unwrap();
    let location = execution.output_location.unwrap();
    let key = location.trim_start_matches("s3://lake-query-results/");
    assert!(key.starts_with("data-scientist/"), "{key}");
    let e = crate::common::get(&t.services, &other, "lake-query-results", key)
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_query_ends_cancelled_and_leaves_no_results() {
    let t = demo_lake().await;
    let a = admin();
    let q = &t.services.query;
    let before = crate::common::blobs(&t.path()).len();
    let heavy = format!("SELECT sum(a.price * b.quantity - c.price) FROM {T} a, {T} b, {T} c");
    let id = q
        .start_query_execution(&a, &heavy, None, None)
        .await
        .unwrap();
    // The stop must reach a runner that is at work: running, and well into the join.
    eventually("the query to run", || async {
        let e = q.get_query_execution(&a, &id).await.unwrap();
        (e.status.state == QueryState::Running).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    q.stop_query_execution(&a, &id).await.unwrap();
    assert_eq!(
        q.get_query_execution(&a, &id).await.unwrap().status.state,
        QueryState::Cancelled
    );
    // The runner itself lets go soon after (it checks every 200 ms): it records how long the
    // engine ran. A runner that ignored the stop would run the join for minutes.
    let e = eventually_within(
        "the runner to let go of a stopped query",
        std::time::Duration::from_secs(5),
        || async {
            let e = q.get_query_execution(&a, &id).await.unwrap();
            (e.statistics.engine_execution_time_in_millis > 0).then_some(e)
        },
    )
    .await;
    assert_eq!(e.status.state, QueryState::Cancelled);
    assert!(e.statistics.engine_execution_time_in_millis >= 300);
    let err = q.get_query_results(&a, &id, None, 10).await.unwrap_err();
    assert_eq!(err.code, Code::InvalidRequestException);
    assert_eq!(crate::common::blobs(&t.path()).len(), before);
}

/// A query's filters run only on rows the principal may see: a CAST that fails on any other
/// symbol would otherwise name a hidden row's value in its error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_filter_never_runs_on_a_hidden_row() {
    let t = demo_lake().await;
    let a = admin();
    new_principal(&t, "jpm-desk").await;
    let access = &t.services.access;
    access
        .create_data_cells_filter(
            &a,
            lakectl::service::access::DataCellsFilter {
                table_catalog_id: String::new(),
                database_name: "lakeformation-glue-catalog-db".into(),
                table_name: "processed".into(),
                name: "jpm".into(),
                row_filter: lakectl::service::access::RowFilter {
                    filter_expression: Some("symbol = 'JPM'".into()),
                    all_rows_wildcard: None,
                },
                column_names: Some(vec!["symbol".into(), "price".into()]),
                column_wildcard: None,
            },
        )
        .await
        .unwrap();
    let jpm = Resource::DataCellsFilter {
        database_name: "lakeformation-glue-catalog-db".into(),
        table_name: "processed".into(),
        name: "jpm".into(),
    };
    access
        .grant_permissions(&a, Grant::new("jpm-desk", jpm, vec![Permission::Select]))
        .await
        .unwrap();
    let sql = format!(
        "SELECT count(*) FROM {T} WHERE CAST(replace(symbol, 'JPM', '1') AS INT) = 1 AND price > 0"
    );
    let seen = query(&t, "jpm-desk", &sql).await.unwrap();
    let truth = query(
        &t,
        "admin",
        &format!("SELECT count(*) FROM {T} WHERE symbol = 'JPM' AND price > 0"),
    )
    .await
    .unwrap();
    assert_eq!(seen.rows, truth.rows);
    // The same query as the admin, who sees every row, fails on the first other symbol.
    assert!(query(&t, "admin", &sql).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_page_by_token() {
    let t = demo_lake().await;
    let a = admin();
    let q = &t.services.query;
    let sql = format!("SELECT trade_id, symbol FROM {T} ORDER BY trade_id LIMIT 5");
    let all = query(&t, "admin", &sql).await.unwrap();
    let id = q.list_query_executions(&a, None).await.unwrap()[0].clone();
    let mut token: Option<String> = None;
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let page = q
            .get_query_results(&a, &id, token.as_deref(), 2)
            .await
            .unwrap();
        pages += 1;
        assert!(page.rows.len() <= 2);
        paged.extend(page.rows);
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(paged, all.rows);
    let e = q
        .get_query_results(&a, &id, Some("garbage"), 2)
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidRequestException);
}
