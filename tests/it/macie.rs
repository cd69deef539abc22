//! Classification on the local lake: the seed's tables, JSON and Parquet occurrences, objects that
//! cannot be read, masked output, and the audited reveal.

use std::collections::{BTreeMap, BTreeSet};

use lakectl::service::classification::{
    ClassificationJob, ClassificationJobSpec, CustomDataIdentifier, Finding,
};
use lakectl::service::{Code, Principal, Progress, Services};

use crate::common::*;

fn spec(prefix: &str, custom: &[&str]) -> ClassificationJobSpec {
    ClassificationJobSpec {
        name: "scan".into(),
        bucket: "data".into(),
        prefix: Some(prefix.into()),
        custom_data_identifiers: custom.iter().map(|s| s.to_string()).collect(),
        allow_lists: vec![],
        sampling_percentage: 100,
    }
}

async fn scan(s: &Services, spec: ClassificationJobSpec) -> (ClassificationJob, Vec<Finding>) {
    let a = admin();
    let id = s
        .classification
        .create_classification_job(&a, spec, Progress::default())
        .await
        .unwrap();
    let job = eventually(&format!("classification job {id} to finish"), || async {
        let job = s
            .classification
            .describe_classification_job(&a, &id)
            .await
            .unwrap();
        (job.job_status != "RUNNING").then_some(job)
    })
    .await;
    let ids = s.classification.list_findings(&a, Some(&id)).await.unwrap();
    (job, s.classification.get_findings(&a, &ids).await.unwrap())
}

/// Detection type → the columns (or JSON paths) its occurrences name.
fn located(f: &Finding) -> BTreeMap<String, BTreeSet<String>> {
    let r = &f.classification_details.result;
    r.sensitive_data
        .iter()
        .flat_map(|sd| &sd.detections)
        .chain(&r.custom_data_identifiers.detections)
        .map(|d| {
            let places = d
                .occurrences
                .cells
                .iter()
                .map(|c| c.column_name.clone())
                .chain(d.occurrences.records.iter().map(|r| r.json_path.clone()));
            (d.kind.clone(), places.collect())
        })
        .collect()
}

#[tokio::test]
async fn the_seed_tables_are_classified_column_by_column() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    for (name, body) in [
        (
            "customers.csv",
            include_str!("../../assets/demo/customers.csv"),
        ),
        (
            "credit_cards.csv",
            include_str!("../../assets/demo/credit_cards.csv"),
        ),
        ("bank.csv", include_str!("../../assets/demo/bank.csv")),
    ] {
        put(
            &t.services,
            &a,
            "data",
            &format!("raw/{name}"),
            body.as_bytes(),
            kms("alias/test"),
        )
        .await
        .unwrap();
    }
    let xyz = CustomDataIdentifier {
        name: "account_number".into(),
        regex: r"(XYZ-)\d{1,2}".into(),
        keywords: vec!["account_number".into()],
        ignore_words: vec!["000000".into()],
        maximum_match_distance: 20,
        created_at: chrono::Utc::now(),
    };
    t.services
        .classification
        .create_custom_data_identifier(&a, xyz)
        .await
        .unwrap();
    let (job, findings) = scan(&t.services, spec("raw/", &["account_number"])).await;
    assert_eq!(job.job_status, "COMPLETE");
    assert_eq!(job.statistics.objects_with_findings, 3);
    let by_key: BTreeMap<String, &Finding> = findings
        .iter()
        .map(|f| (f.resources_affected.s3_object.key.clone(), f))
        .collect();
    let cols = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let expect = |key: &str, pairs: &[(&str, &[&str])]| {
        let got = located(by_key[key]);
        let want: BTreeMap<String, BTreeSet<String>> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), cols(v)))
            .collect();
        assert_eq!(got, want, "{key}");
    };
    expect(
        "raw/customers.csv",
        &[
            ("ADDRESS", &["address"]),
            ("DATE_OF_BIRTH", &["birthdate"]),
            ("EMAIL_ADDRESS", &["mail"]),
            ("NAME", &["name"]),
            ("PHONE_NUMBER", &["phone"]),
        ],
    );
    expect(
        "raw/credit_cards.csv",
        &[
            ("CREDIT_CARD_EXPIRATION", &["credit_card_expire"]),
            ("CREDIT_CARD_NUMBER", &["credit_card_number"]),
            ("CREDIT_CARD_SECURITY_CODE", &["credit_card_security_code"]),
        ],
    );
    expect(
        "raw/bank.csv",
        &[
            ("BANK_ACCOUNT_NUMBER", &["bban"]),
            ("INTERNATIONAL_BANK_ACCOUNT_NUMBER", &["iban"]),
            ("account_number", &["account_number"]),
        ],
    );
    let cards = by_key["raw/credit_cards.csv"];
    assert_eq!(cards.finding_type, "SensitiveData:S3Object/Financial");
    assert_eq!(cards.severity.description, "High");
    // Occurrences point at real cells: row 2 is the first data row, column 3 the card number.
    let numbers = &cards.classification_details.result.sensitive_data[0]
        .detections
        .iter()
        .find(|d| d.kind == "CREDIT_CARD_NUMBER")
        .unwrap()
        .occurrences
        .cells;
    assert_eq!((numbers[0].row, numbers[0].column), (2, 3));
    // Findings hold no value: not one cell of any column found sensitive, in any file.
    let text = serde_json::to_string(&findings).unwrap();
    let mut checked = 0;
    for (name, body) in [
        (
            "customers.csv",
            include_str!("../../assets/demo/customers.csv"),
        ),
        (
            "credit_cards.csv",
            include_str!("../../assets/demo/credit_cards.csv"),
        ),
        ("bank.csv", include_str!("../../assets/demo/bank.csv")),
    ] {
        let sensitive: BTreeSet<String> = located(by_key[&format!("raw/{name}")])
            .into_values()
            .flatten()
            .collect();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let headers = reader.headers().unwrap().clone();
        for record in reader.records() {
            let record = record.unwrap();
            for (column, value) in headers.iter().zip(record.iter()) {
                if !sensitive.contains(column) {
                    continue;
                }
                // Short values (a security code) are looked for as JSON strings, so a count
                // or an offset that happens to share their digits does not fail the test.
                let needle = if value.len() >= 5 {
                    value.to_string()
                } else {
                    serde_json::to_string(value).unwrap()
                };
                assert!(!text.contains(&needle), "a finding holds {column} {value}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} values checked");
}

#[tokio::test]
async fn json_paths_parquet_and_objects_that_cannot_be_read() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let tickets = "{\"id\": 1, \"text\": \"refund to card 4111 1111 1111 1111 please\"}\n{\"id\": 2, \"text\": \"all good\"}\n{\"id\": 3, \"customer\": {\"email\": \"ada@example.com\"}}\n";
    put(
        &t.services,
        &a,
        "data",
        "in/tickets.json",
        tickets.as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    // An object under a key nobody can use any more: listed with the reason; the job goes on.
    t.services
        .keys
        .create_key(
            &a,
            lakectl::service::keys::CreateKey {
                alias: Some("alias/gone".into()),
                description: None,
            },
        )
        .await
        .unwrap();
    put(
        &t.services,
        &a,
        "data",
        "in/locked.csv",
        b"ssn\n536-22-1234\n",
        kms("alias/gone"),
    )
    .await
    .unwrap();
    t.services
        .keys
        .set_key_enabled(&a, "alias/gone", false)
        .await
        .unwrap();
    let (job, findings) = scan(&t.services, spec("in/", &[])).await;
    assert_eq!(job.job_status, "COMPLETE");
    assert_eq!(job.statistics.objects_scanned, 1);
    assert_eq!(job.statistics.objects_skipped.len(), 1);
    assert!(
        job.statistics.objects_skipped[0]
            .reason
            .contains("DisabledException")
    );
    let f = &findings[0];
    assert_eq!(f.finding_type, "SensitiveData:S3Object/Multiple");
    let records: Vec<(u64, String)> = f
        .classification_details
        .result
        .sensitive_data
        .iter()
        .flat_map(|sd| &sd.detections)
        .flat_map(|d| {
            d.occurrences
                .records
                .iter()
                .map(|r| (r.record_index, r.json_path.clone()))
        })
        .collect();
    assert!(records.contains(&(0, "$.text".into())), "{records:?}");
    assert!(
        records.contains(&(2, "$.customer.email".into())),
        "{records:?}"
    );

    // The masked Parquet a job writes has nothing left to find in the masked column.
    put(
        &t.services,
        &a,
        "data",
        "cards/cards.csv",
        b"id,card\n1,4111111111111111\n2,5500005555555559\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    t.services
        .catalog
        .create_security_configuration(&a, "sc", "alias/test")
        .await
        .unwrap();
    let job_def = lakectl::service::jobs::JobDefinition {
        security_configuration: Some("sc".into()),
        masks: vec![lakectl::service::jobs::MaskRule {
            column: "card".into(),
            operator: "redact".into(),
        }],
        ..job_definition("mask", "s3://data/cards/", "s3://data/masked/")
    };
    let run = run_job(&t.services, job_def).await;
    assert_eq!(
        run.job_run_state,
        lakectl::service::jobs::RunState::Succeeded,
        "{:?}",
        run.error_message
    );
    assert_eq!(run.metrics.records_written, 2, "{:?}", run.metrics);
    let (_, before) = scan(&t.services, spec("cards/", &[])).await;
    assert_eq!(before.len(), 1);
    let (masked_job, after) = scan(&t.services, spec("masked/", &[])).await;
    // The scan read the masked output (and the run's counts beside it, `_lakectl/metrics/`):
    // an empty or missing output would find nothing too.
    assert_eq!(masked_job.statistics.objects_scanned, 2);
    assert!(
        after.is_empty(),
        "the masked output still holds card numbers: {after:?}"
    );
}

#[tokio::test]
async fn revealing_values_needs_decrypt_rights_and_is_audited() {
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    put(
        &t.services,
        &a,
        "data",
        "raw/p.csv",
        b"name,mail\nAda Lovelace,ada@example.com\n",
        kms("alias/test"),
    )
    .await
    .unwrap();
    let (_, findings) = scan(&t.services, spec("raw/", &[])).await;
    let id = &findings[0].id;
    let values = t
        .services
        .classification
        .get_sensitive_data_occurrences(&a, id)
        .await
        .unwrap();
    assert_eq!(values["EMAIL_ADDRESS"], vec!["ada@example.com"]);
    t.services
        .iam
        .create_principal(&a, "analyst", false)
        .await
        .unwrap();
    let analyst = Principal::new("analyst");
    assert_eq!(
        t.services
            .classification
            .get_sensitive_data_occurrences(&analyst, id)
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    let events = t.services.audit.list(&a, None).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_name == "GetSensitiveDataOccurrences" && e.error_code.is_none())
    );
    assert!(
        events
            .iter()
            .any(|e| e.principal == "analyst" && e.error_code.as_deref() == Some("AccessDenied"))
    );
    // Classification is for lake admins.
    assert_eq!(
        t.services
            .classification
            .list_findings(&analyst, None)
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
}

#[tokio::test]
async fn a_masking_job_from_findings_writes_masked_and_encrypted_copies() {
    use arrow::array::{Array, StringArray};
    let t = new_lake();
    seed(&t).await;
    let a = admin();
    let cards = include_str!("../../assets/demo/credit_cards.csv");
    put(
        &t.services,
        &a,
        "data",
        "raw/credit_cards/cards.csv",
        cards.as_bytes(),
        kms("alias/test"),
    )
    .await
    .unwrap();
    let mut s = spec("raw/", &[]);
    s.name = "discovery".into();
    scan(&t.services, s).await;
    t.services
        .catalog
        .create_security_configuration(&a, "sc", "alias/test")
        .await
        .unwrap();
    let def = lakectl::service::jobs::JobDefinition {
        security_configuration: Some("sc".into()),
        masks: vec![lakectl::service::jobs::MaskRule {
            column: "CREDIT_CARD_NUMBER".into(),
            operator: "partial:4".into(),
        }],
        from_findings: Some("discovery".into()),
        ..job_definition("mask-pii", "s3://data/raw/", "s3://data/")
    };
    let run = run_job(&t.services, def).await;
    assert_eq!(
        run.job_run_state,
        lakectl::service::jobs::RunState::Succeeded,
        "{:?}",
        run.error_message
    );
    assert_eq!(run.outputs.len(), 2);
    let column = |prefix: &str, name: &str| {
        let (t, prefix, name) = (&t, prefix.to_string(), name.to_string());
        async move {
            let listing = t
                .services
                .storage
                .list_objects(&admin(), "data", &prefix, None)
                .await
                .unwrap();
            let bytes = bytes::Bytes::from(
                get(&t.services, &admin(), "data", &listing.objects[0].key)
                    .await
                    .unwrap(),
            );
            let batch =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
                    .unwrap()
                    .build()
                    .unwrap()
                    .next()
                    .unwrap()
                    .unwrap();
            let col = batch
                .column_by_name(&name)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone();
            col.iter()
                .map(|v| v.unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let originals: Vec<&str> = cards
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    let masked = column("masked/credit_cards/", "credit_card_number").await;
    let codes = column("masked/credit_cards/", "credit_card_security_code").await;
    let tokens = column("encrypted/credit_cards/", "credit_card_number").await;
    for (i, original) in originals.iter().enumerate() {
        assert_eq!(masked[i].len(), original.len());
        assert!(
            masked[i].ends_with(&original[original.len() - 4..]) && masked[i].starts_with("####"),
            "{}",
            masked[i]
        );
        assert!(codes[i].chars().all(|c| c == '#'));
        assert!(tokens[i].starts_with("tok1.") && !tokens[i].contains(original));
    }
    // Tokens are deterministic: equal values, equal tokens; different values, different tokens.
    let distinct: BTreeSet<&String> = tokens.iter().collect();
    assert_eq!(
        distinct.len(),
        originals.iter().collect::<BTreeSet<_>>().len()
    );

    // Tokens reverse only for a principal who may decrypt with the key: the seed's data scientist.
    let sample: Vec<String> = tokens[..3].to_vec();
    let keys = &t.services.keys;
    let back = keys.detokenize(&a, "alias/test", &sample).await.unwrap();
    assert_eq!(
        back,
        originals[..3]
            .iter()
            .map(|o| Some(o.to_string()))
            .collect::<Vec<_>>()
    );
    t.services
        .iam
        .create_principal(&a, "business-analyst", false)
        .await
        .unwrap();
    t.services
        .iam
        .create_principal(&a, "data-scientist", false)
        .await
        .unwrap();
    let analyst = Principal::new("business-analyst");
    assert_eq!(
        keys.detokenize(&analyst, "alias/test", &sample)
            .await
            .unwrap_err()
            .code,
        Code::AccessDenied
    );
    keys.allow(&a, "alias/test", "data-scientist", &["Decrypt".to_string()])
        .await
        .unwrap();
    let scientist = Principal::new("data-scientist");
    assert_eq!(
        keys.detokenize(&scientist, "alias/test", &sample)
            .await
            .unwrap(),
        back
    );
    // A token made under another key does not open.
    keys.create_key(
        &a,
        lakectl::service::keys::CreateKey {
            alias: Some("alias/other".into()),
            description: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        keys.detokenize(&a, "alias/other", &sample).await.unwrap(),
        vec![None, None, None]
    );
}

#[tokio::test]
async fn a_job_whose_process_died_is_not_running_forever() {
    let t = new_lake();
    seed(&t).await;
    let (job, _) = scan(&t.services, spec("raw/", &[])).await;
    // As if another process had started the job and died while it ran.
    let conn = rusqlite::Connection::open(t.path().join("meta.db")).unwrap();
    conn.execute(
        "UPDATE classification_jobs SET pid = 999999999, job = json_set(job, '$.jobStatus', 'RUNNING') WHERE id = ?1",
        [&job.job_id],
    )
    .unwrap();
    let seen = t
        .services
        .classification
        .describe_classification_job(&admin(), &job.job_id)
        .await
        .unwrap();
    assert_eq!(seen.job_status, "CANCELLED");
    assert!(
        seen.statistics
            .objects_skipped
            .iter()
            .any(|s| s.reason.contains("pid 999999999"))
    );
}

#[tokio::test]
async fn the_local_lakes_discovery_is_always_on() {
    let t = new_lake();
    let a = admin();
    t.services.classification.enable_macie(&a).await.unwrap();
    let session = t
        .services
        .classification
        .get_macie_session(&a)
        .await
        .unwrap();
    assert_eq!(session.status, "ENABLED");
    assert!(session.created_at.is_some());
    // As on AWS, only someone who may act in the lake is answered.
    let err = t
        .services
        .classification
        .get_macie_session(&Principal::new("nobody"))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::UnrecognizedClientException, "{err}");
}
