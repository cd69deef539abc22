//! Where moto has nothing or drops what was sent (Macie2, data cells filters, the rotation
//! period), `aws-smithy-mocks` stands in for the one service: each rule matches only the request
//! AWS must get, and answers in AWS's response shape. The other services stay on moto.

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_macie2::types as m;
use aws_sdk_sts::config::Credentials;
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use base64::Engine;
use lakectl::aws::{Aws, Identity};
use lakectl::service::Progress;
use lakectl::service::Services;
use lakectl::service::access::{DataCellsFilter, Grant, Permission, Resource, RowFilter};
use lakectl::service::classification::{
    ClassificationJobSpec, CustomDataIdentifier, columns_by_dataset,
};
use lakectl::service::jobs::{JobDefinition, MaskRule};
use lakectl::service::keys::CreateKey;
use lakectl::service::storage::CreateBucket;

use super::{ACCOUNT, REGION, clients, connection, unique};
use crate::common::{admin, get, kms, put};

/// A client of `$krate` whose every call is answered by `$rules` (and fails if none matches).
macro_rules! mocked {
    ($krate:ident, $rules:expr) => {{
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $krate::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(REGION))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "mock"))
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

fn identity() -> Identity {
    Identity {
        account: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/tester"),
        name: "tester".into(),
    }
}

/// The backend on moto, with some clients swapped for mocked ones.
pub(super) async fn backend(swap: impl FnOnce(&mut lakectl::aws::Clients)) -> Services {
    let mut c = clients().await;
    swap(&mut c);
    let aws: Arc<Aws> = Aws::from_clients(connection(), REGION.into(), identity(), c);
    aws.services()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotation_period_is_sent() {
    let rotate = mock!(aws_sdk_kms::Client::enable_key_rotation)
        .match_requests(|r| r.key_id() == Some("k-1") && r.rotation_period_in_days() == Some(180))
        .then_output(|| {
            aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput::builder().build()
        });
    let kms = mocked!(aws_sdk_kms, [&rotate]);
    let s = backend(|c| c.kms = kms).await;
    s.keys
        .set_key_rotation(&admin(), "k-1", true, Some(180))
        .await
        .unwrap();
    assert_eq!(rotate.num_calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_cells_filters_go_to_lake_formation_and_back() {
    use aws_sdk_lakeformation::operation as op;
    use aws_sdk_lakeformation::types as lf;
    let create = mock!(aws_sdk_lakeformation::Client::create_data_cells_filter)
        .match_requests(|r| {
            r.table_data().is_some_and(|f| {
                f.table_catalog_id() == ACCOUNT
                    && f.database_name() == "pii_db"
                    && f.table_name() == "masked_bank"
                    && f.name() == "gb-accounts"
                    && f.row_filter().and_then(|r| r.filter_expression())
                        == Some("bank_country = 'GB'")
                    && f.column_wildcard()
                        .is_some_and(|w| w.excluded_column_names() == ["iban"])
            })
        })
        .then_output(|| {
            op::create_data_cells_filter::CreateDataCellsFilterOutput::builder().build()
        });
    let list = mock!(aws_sdk_lakeformation::Client::list_data_cells_filter)
        .match_requests(|r| r.table().is_some_and(|t| t.name() == Some("masked_bank")))
        .then_output(|| {
            op::list_data_cells_filter::ListDataCellsFilterOutput::builder()
                .data_cells_filters(
                    lf::DataCellsFilter::builder()
                        .table_catalog_id(ACCOUNT)
                        .database_name("pii_db")
                        .table_name("masked_bank")
                        .name("gb-accounts")
                        .row_filter(
                            lf::RowFilter::builder()
                                .filter_expression("bank_country = 'GB'")
                                .build(),
                        )
                        .column_wildcard(
                            lf::ColumnWildcard::builder()
                                .excluded_column_names("iban")
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let grant = mock!(aws_sdk_lakeformation::Client::grant_permissions)
        .match_requests(|r| {
            r.principal()
                .and_then(|p| p.data_lake_principal_identifier())
                == Some(&*format!("arn:aws:iam::{ACCOUNT}:user/business-analyst"))
                && r.resource()
                    .and_then(|r| r.data_cells_filter())
                    .is_some_and(|f| {
                        f.name() == Some("gb-accounts") && f.table_catalog_id() == Some(ACCOUNT)
                    })
                && r.permissions() == [lf::Permission::Select]
        })
        .then_output(|| op::grant_permissions::GrantPermissionsOutput::builder().build());
    let delete = mock!(aws_sdk_lakeformation::Client::delete_data_cells_filter)
        .match_requests(|r| {
            r.name() == Some("gb-accounts") && r.table_name() == Some("masked_bank")
        })
        .then_output(|| {
            op::delete_data_cells_filter::DeleteDataCellsFilterOutput::builder().build()
        });
    let lakeformation = mocked!(aws_sdk_lakeformation, [&create, &list, &grant, &delete]);
    let s = backend(|c| c.lakeformation = lakeformation).await;
    let a = admin();
    let filter = DataCellsFilter {
        table_catalog_id: String::new(),
        database_name: "pii_db".into(),
        table_name: "masked_bank".into(),
        name: "gb-accounts".into(),
        row_filter: RowFilter {
            filter_expression: Some("bank_country = 'GB'".into()),
            all_rows_wildcard: None,
        },
        column_names: None,
        column_wildcard: Some(lakectl::service::access::ColumnWildcard {
            excluded_column_names: vec!["iban".into()],
        }),
    };
    s.access
        .create_data_cells_filter(&a, filter.clone())
        .await
        .unwrap();
    let listed = s
        .access
        .list_data_cells_filters(&a, Some(("pii_db", "masked_bank")))
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![DataCellsFilter {
            table_catalog_id: ACCOUNT.into(),
            ..filter
        }]
    );
    let through = Resource::DataCellsFilter {
        database_name: "pii_db".into(),
        table_name: "masked_bank".into(),
        name: "gb-accounts".into(),
    };
    s.access
        .grant_permissions(
            &a,
            Grant::new("business-analyst", through, vec![Permission::Select]),
        )
        .await
        .unwrap();
    s.access
        .delete_data_cells_filter(&a, "pii_db", "masked_bank", "gb-accounts")
        .await
        .unwrap();
    for rule in [&create, &list, &grant, &delete] {
        assert_eq!(rule.num_calls(), 1);
    }
}

fn cells(column: &str, rows: &[i64]) -> m::Occurrences {
    let mut o = m::Occurrences::builder();
    for row in rows {
        o = o.cells(
            m::Cell::builder()
                .row(*row)
                .column(2)
                .column_name(column)
                .build(),
        );
    }
    o.build()
}

fn finding(id: &str, bucket: &str, key: &str, result: m::ClassificationResult) -> m::Finding {
    m::Finding::builder()
        .id(id)
        .r#type(m::FindingType::SensitiveDataS3ObjectMultiple)
        .severity(
            m::Severity::builder()
                .description(m::SeverityDescription::High)
                .score(3)
                .build(),
        )
        .created_at(aws_smithy_types::DateTime::from_secs(1_790_000_000))
        .count(1)
        .resources_affected(
            m::ResourcesAffected::builder()
                .s3_bucket(m::S3Bucket::builder().name(bucket).build())
                .s3_object(m::S3Object::builder().key(key).size(1234).build())
                .build(),
        )
        .classification_details(
            m::ClassificationDetails::builder()
                .job_id("job-1")
                .result(result)
                .build(),
        )
        .build()
}

/// The seed's classification on Macie: the custom identifier and the job are sent as the seed
/// says, findings come back in lakectl's shapes, and a masking job created from them masks the
/// columns they name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classification_runs_on_macie_and_its_findings_drive_the_masking_job() {
    use aws_sdk_macie2::operation as op;
    let bucket = unique("pii");
    let identifier = mock!(aws_sdk_macie2::Client::create_custom_data_identifier)
        .match_requests(|r| {
            r.name() == Some("account_number")
                && r.regex() == Some(r"(XYZ-)\d{1,2}")
                && r.keywords() == ["account_number"]
                && r.ignore_words() == ["000000"]
                && r.maximum_match_distance() == Some(20)
        })
        .then_output(|| {
            op::create_custom_data_identifier::CreateCustomDataIdentifierOutput::builder()
                .custom_data_identifier_id("cdi-1")
                .build()
        });
    let identifiers =
        mock!(aws_sdk_macie2::Client::list_custom_data_identifiers).then_output(|| {
            op::list_custom_data_identifiers::ListCustomDataIdentifiersOutput::builder()
                .items(
                    m::CustomDataIdentifierSummary::builder()
                        .id("cdi-1")
                        .name("account_number")
                        .build(),
                )
                .build()
        });
    let allow_lists = mock!(aws_sdk_macie2::Client::list_allow_lists)
        .then_output(|| op::list_allow_lists::ListAllowListsOutput::builder().build());
    let wanted_bucket = bucket.clone();
    let job = mock!(aws_sdk_macie2::Client::create_classification_job)
        .match_requests(move |r| {
            let definition = r.s3_job_definition();
            let buckets = definition
                .map(|d| d.bucket_definitions())
                .unwrap_or_default();
            let prefix = definition
                .and_then(|d| d.scoping())
                .and_then(|s| s.includes())
                .and_then(|i| i.and().first())
                .and_then(|t| t.simple_scope_term())
                .map(|t| t.values().to_vec());
            r.name() == Some("pii-discovery")
                && r.job_type() == Some(&m::JobType::OneTime)
                && r.custom_data_identifier_ids() == ["cdi-1"]
                && buckets.len() == 1
                && buckets[0].account_id() == Some(ACCOUNT)
                && buckets[0].buckets() == [wanted_bucket.clone()]
                && prefix == Some(vec!["raw/".to_string()])
                && r.sampling_percentage() == Some(100)
        })
        .then_output(|| {
            op::create_classification_job::CreateClassificationJobOutput::builder()
                .job_id("job-1")
                .build()
        });
    let jobs = mock!(aws_sdk_macie2::Client::list_classification_jobs).then_output(|| {
        op::list_classification_jobs::ListClassificationJobsOutput::builder()
            .items(
                m::JobSummary::builder()
                    .job_id("job-1")
                    .name("pii-discovery")
                    .build(),
            )
            .build()
    });
    let described_bucket = bucket.clone();
    let describe = mock!(aws_sdk_macie2::Client::describe_classification_job)
        .match_requests(|r| r.job_id() == Some("job-1"))
        .then_output(move || {
            op::describe_classification_job::DescribeClassificationJobOutput::builder()
                .job_id("job-1")
                .name("pii-discovery")
                .job_status(m::JobStatus::Complete)
                .s3_job_definition(
                    m::S3JobDefinition::builder()
                        .bucket_definitions(
                            m::S3BucketDefinitionForJob::builder()
                                .account_id(ACCOUNT)
                                .buckets(described_bucket.clone())
                                .build(),
                        )
                        .build(),
                )
                .statistics(
                    m::Statistics::builder()
                        .approximate_number_of_objects_to_process(2.0)
                        .build(),
                )
                .build()
        });
    let list_findings = mock!(aws_sdk_macie2::Client::list_findings)
        .match_requests(|r| {
            r.finding_criteria()
                .and_then(|c| c.criterion())
                .and_then(|c| c.get("classificationDetails.jobId"))
                .is_some_and(|p| p.eq() == ["job-1"])
        })
        .then_output(|| {
            op::list_findings::ListFindingsOutput::builder()
                .finding_ids("f-bank")
                .finding_ids("f-customers")
                .build()
        });
    let found_bucket = bucket.clone();
    let get_findings = mock!(aws_sdk_macie2::Client::get_findings)
        .match_requests(|r| r.finding_ids() == ["f-bank", "f-customers"])
        .then_output(move || {
            let bank = m::ClassificationResult::builder()
                .mime_type("text/csv")
                .size_classified(1234)
                .sensitive_data(
                    m::SensitiveDataItem::builder()
                        .category(m::SensitiveDataItemCategory::FinancialInformation)
                        .total_count(2)
                        .detections(
                            m::DefaultDetection::builder()
                                .r#type("BANK_ACCOUNT_NUMBER")
                                .count(2)
                                .occurrences(cells("iban", &[2, 3]))
                                .build(),
                        )
                        .build(),
                )
                .custom_data_identifiers(
                    m::CustomDataIdentifiers::builder()
                        .total_count(2)
                        .detections(
                            m::CustomDetection::builder()
                                .name("account_number")
                                .count(2)
                                .occurrences(cells("account_number", &[2, 3]))
                                .build(),
                        )
                        .build(),
                )
                .build();
            let customers = m::ClassificationResult::builder()
                .mime_type("text/csv")
                .sensitive_data(
                    m::SensitiveDataItem::builder()
                        .category(m::SensitiveDataItemCategory::PersonalInformation)
                        .total_count(1)
                        .detections(
                            m::DefaultDetection::builder()
                                .r#type("NAME")
                                .count(1)
                                .occurrences(cells("name", &[2]))
                                .build(),
                        )
                        .build(),
                )
                .build();
            op::get_findings::GetFindingsOutput::builder()
                .findings(finding("f-bank", &found_bucket, "raw/bank/bank.csv", bank))
                .findings(finding(
                    "f-customers",
                    &found_bucket,
                    "raw/customers/customers.csv",
                    customers,
                ))
                .build()
        });
    let occurrences = mock!(aws_sdk_macie2::Client::get_sensitive_data_occurrences)
        .match_requests(|r| r.finding_id() == Some("f-bank"))
        .then_output(|| {
            op::get_sensitive_data_occurrences::GetSensitiveDataOccurrencesOutput::builder()
                .status(m::RevealRequestStatus::Success)
                .sensitive_data_occurrences(
                    "account_number",
                    vec![m::DetectedDataDetails::builder().value("XYZ-39").build()],
                )
                .build()
        });
    let macie = mocked!(
        aws_sdk_macie2,
        [
            &identifier,
            &identifiers,
            &allow_lists,
            &job,
            &jobs,
            &describe,
            &list_findings,
            &get_findings,
            &occurrences
        ]
    );
    let s = backend(|c| c.macie = macie).await;
    let a = admin();

    // The bucket and the data are real (moto); the classification is Macie's (mocked).
    let alias = format!("alias/{}", unique("pii"));
    s.keys
        .create_key(
            &a,
            CreateKey {
                alias: Some(alias.clone()),
                description: None,
            },
        )
        .await
        .unwrap();
    s.storage
        .create_bucket(
            &a,
            &bucket,
            CreateBucket {
                sse_kms_key_id: Some(alias.clone()),
                require_sse_kms: false,
            },
        )
        .await
        .unwrap();
    put(
        &s,
        &a,
        &bucket,
        "raw/bank/bank.csv",
        b"customer_id,iban,account_number\n1,GB22,XYZ-39\n",
        kms(&alias),
    )
    .await
    .unwrap();
    put(
        &s,
        &a,
        &bucket,
        "raw/customers/customers.csv",
        b"customer_id,name\n1,Ann\n",
        kms(&alias),
    )
    .await
    .unwrap();
    let config = unique("pii-config");
    s.catalog
        .create_security_configuration(&a, &config, &alias)
        .await
        .unwrap();

    let id = s
        .classification
        .create_custom_data_identifier(
            &a,
            CustomDataIdentifier {
                name: "account_number".into(),
                regex: r"(XYZ-)\d{1,2}".into(),
                keywords: vec!["account_number".into()],
                ignore_words: vec!["000000".into()],
                maximum_match_distance: 20,
                created_at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(id, "cdi-1");
    let job_id = s
        .classification
        .create_classification_job(
            &a,
            ClassificationJobSpec {
                name: "pii-discovery".into(),
                bucket: bucket.clone(),
                prefix: Some("raw/".into()),
                custom_data_identifiers: vec!["account_number".into()],
                allow_lists: vec![],
                sampling_percentage: 100,
            },
            Progress::default(),
        )
        .await
        .unwrap();
    assert_eq!(job_id, "job-1");
    let described = s
        .classification
        .describe_classification_job(&a, "job-1")
        .await
        .unwrap();
    assert_eq!(
        (
            described.job_status.as_str(),
            described.spec.bucket.as_str()
        ),
        ("COMPLETE", bucket.as_str())
    );
    assert_eq!(described.statistics.objects_total, 2);

    let ids = s
        .classification
        .list_findings(&a, Some("job-1"))
        .await
        .unwrap();
    let findings = s.classification.get_findings(&a, &ids).await.unwrap();
    assert_eq!(
        findings[0].resources_affected.s3_object.key,
        "raw/bank/bank.csv"
    );
    assert_eq!(
        findings[0]
            .classification_details
            .result
            .custom_data_identifiers
            .detections[0]
            .kind,
        "account_number"
    );
    assert_eq!(findings[0].severity.description, "High");
    let datasets = columns_by_dataset(&findings);
    let bank = &datasets[&(bucket.clone(), "raw/bank/".to_string())];
    assert_eq!(bank.keys().collect::<Vec<_>>(), ["account_number", "iban"]);

    let revealed = s
        .classification
        .get_sensitive_data_occurrences(&a, "f-bank")
        .await
        .unwrap();
    assert_eq!(revealed["account_number"], ["XYZ-39"]);

    // The masking job from those findings: masked/ and encrypted/ for each table.
    let name = unique("mask-pii");
    s.jobs
        .create_job(
            &a,
            JobDefinition {
                name: name.clone(),
                source: format!("s3://{bucket}/raw/"),
                target: format!("s3://{bucket}/"),
                dedup: false,
                security_configuration: Some(config),
                masks: vec![MaskRule {
                    column: "BANK_ACCOUNT_NUMBER".into(),
                    operator: "partial:4".into(),
                }],
                from_findings: Some("pii-discovery".into()),
                role: "glue-service-role".into(),
                timeout_minutes: None,
                in_lakectl: false,
                type_consensus: None,
            },
        )
        .await
        .unwrap();
    let script = String::from_utf8(
        get(&s, &a, &bucket, &format!("_lakectl/glue/{name}.py"))
            .await
            .unwrap(),
    )
    .unwrap();
    let b64 = script
        .split("base64.b64decode(\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    let datasets = plan["datasets"].as_array().unwrap();
    let targets: Vec<&str> = datasets
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            format!("s3://{bucket}/masked/bank/"),
            format!("s3://{bucket}/encrypted/bank/"),
            format!("s3://{bucket}/masked/customers/"),
            format!("s3://{bucket}/encrypted/customers/"),
        ]
    );
    assert_eq!(
        datasets[0]["masks"],
        serde_json::json!([["account_number", "redact"], ["iban", "partial:4"]])
    );
    assert_eq!(
        datasets[1]["masks"],
        serde_json::json!([["account_number", "tokenize"], ["iban", "tokenize"]])
    );
    assert!(plan["wrapped_mask_key"].is_string());
}

/// moto answers GetMacieSession with timestamps AWS would not send (no time zone), so the
/// session is checked here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macie_is_switched_on_once() {
    use aws_sdk_macie2::operation as op;
    let session = mock!(aws_sdk_macie2::Client::get_macie_session)
        .sequence()
        .output(|| {
            op::get_macie_session::GetMacieSessionOutput::builder()
                .status(m::MacieStatus::Paused)
                .build()
        })
        .output(|| {
            op::get_macie_session::GetMacieSessionOutput::builder()
                .status(m::MacieStatus::Enabled)
                .created_at(aws_smithy_types::DateTime::from_secs(1_790_000_000))
                .finding_publishing_frequency(m::FindingPublishingFrequency::FifteenMinutes)
                .build()
        })
        .repeatedly()
        .build();
    let enable = mock!(aws_sdk_macie2::Client::enable_macie)
        .match_requests(|r| r.status() == Some(&m::MacieStatus::Enabled))
        .then_output(|| op::enable_macie::EnableMacieOutput::builder().build());
    let macie = mocked!(aws_sdk_macie2, [&session, &enable]);
    let s = backend(|c| c.macie = macie).await;
    let a = admin();
    s.classification.enable_macie(&a).await.unwrap();
    // Again: already on, so Macie is not asked (it would answer ConflictException).
    s.classification.enable_macie(&a).await.unwrap();
    assert_eq!(enable.num_calls(), 1);
    let now = s.classification.get_macie_session(&a).await.unwrap();
    assert_eq!(now.status, "ENABLED");
    assert_eq!(
        now.finding_publishing_frequency.as_deref(),
        Some("FIFTEEN_MINUTES")
    );
}

/// moto keeps no CloudTrail events; the trail is AWS's shape, read oldest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_is_cloudtrails() {
    use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
    use aws_sdk_cloudtrail::types::{Event, LookupAttributeKey, Resource};
    let event = |id: &str, secs: i64, name: &str, raw: &str| {
        Event::builder()
            .event_id(id)
            .event_name(name)
            .event_source("kms.amazonaws.com")
            .event_time(aws_smithy_types::DateTime::from_secs(secs))
            .username("analyst")
            .resources(Resource::builder().resource_name("alias/pii-key").build())
            .cloud_trail_event(raw)
            .build()
    };
    let lookup = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(|r| {
            r.lookup_attributes().len() == 1
                && r.lookup_attributes()[0].attribute_key() == &LookupAttributeKey::Username
                && r.lookup_attributes()[0].attribute_value() == "analyst"
        })
        .then_output(move || {
            LookupEventsOutput::builder()
                .events(event(
                    "e2",
                    1_790_000_100,
                    "Decrypt",
                    r#"{"errorCode":"AccessDenied"}"#,
                ))
                .events(event("e1", 1_790_000_000, "DescribeKey", "{}"))
                .build()
        });
    let cloudtrail = mocked!(aws_sdk_cloudtrail, [&lookup]);
    let s = backend(|c| c.cloudtrail = cloudtrail).await;
    let events = s.audit.list(&admin(), Some("analyst")).await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event_name.as_str()).collect();
    assert_eq!(names, ["DescribeKey", "Decrypt"]);
    assert_eq!((events[0].sequence, events[1].sequence), (1, 2));
    assert_eq!(events[1].error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(events[1].event_source, "kms");
    assert_eq!(events[1].resource, "alias/pii-key");
    let err = s.audit.verify(&admin()).await.unwrap_err();
    assert!(err.message.contains("validate-logs"), "{}", err.message);
}

/// moto has no UpdateWorkGroup: the cutoff, and its removal, go to Athena as its own fields;
/// lakectl's own limits are refused on AWS by name instead of being dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_work_groups_bytes_scanned_cutoff_goes_to_athena() {
    use aws_sdk_athena::operation::update_work_group::UpdateWorkGroupOutput;
    use lakectl::service::query::WorkGroupUpdate;
    let set = mock!(aws_sdk_athena::Client::update_work_group)
        .match_requests(|r| {
            r.work_group() == Some("wg")
                && r.configuration_updates()
                    .and_then(|c| c.bytes_scanned_cutoff_per_query())
                    == Some(10_000_000)
        })
        .then_output(|| UpdateWorkGroupOutput::builder().build());
    let remove = mock!(aws_sdk_athena::Client::update_work_group)
        .match_requests(|r| {
            r.configuration_updates()
                .and_then(|c| c.remove_bytes_scanned_cutoff_per_query())
                == Some(true)
        })
        .then_output(|| UpdateWorkGroupOutput::builder().build());
    let athena = mocked!(aws_sdk_athena, [&set, &remove]);
    let s = backend(|c| c.athena = athena).await;
    let a = admin();
    s.query
        .update_work_group(
            &a,
            "wg",
            WorkGroupUpdate {
                bytes_scanned_cutoff_per_query: Some(10_000_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    s.query
        .update_work_group(
            &a,
            "wg",
            WorkGroupUpdate {
                remove_bytes_scanned_cutoff_per_query: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((set.num_calls(), remove.num_calls()), (1, 1));
    let lakectl_only = s
        .query
        .update_work_group(
            &a,
            "wg",
            WorkGroupUpdate {
                query_timeout_seconds: Some(60),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        lakectl_only.code,
        lakectl::service::Code::UnsupportedOperationException
    );
}

/// moto answers GetQueryResults in one page whatever MaxResults says; this stands in for Athena's
/// paging: at most `max_results` rows a page (never more than 3 here, as Athena caps at 1000), the
/// header as the first page's first row, and a token that is the next row's index. Both lakectl's
/// own pages (a small `max`) and the pages it asks of Athena within one (a large `max`) must add
/// up to every row, once, without the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_results_are_read_across_athenas_pages() {
    use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
    use aws_sdk_athena::types::{ColumnInfo, Datum, ResultSet, ResultSetMetadata, Row};
    const CAP: usize = 3;
    let row = |v: &str| {
        Row::builder()
            .data(Datum::builder().var_char_value(v).build())
            .build()
    };
    let all: Vec<String> = (1..=8).map(|i| format!("s{i}")).collect();
    let table: Vec<Row> = std::iter::once(row("symbol"))
        .chain(all.iter().map(|v| row(v)))
        .collect();
    let results = mock!(aws_sdk_athena::Client::get_query_results)
        .match_requests(|r| r.query_execution_id() == Some("q-1"))
        .then_compute_output(move |r| {
            let from: usize = r.next_token().map_or(0, |t| t.parse().unwrap());
            let n = (r.max_results().unwrap_or(1000) as usize).min(CAP);
            let to = (from + n).min(table.len());
            GetQueryResultsOutput::builder()
                .result_set(
                    ResultSet::builder()
                        .set_rows(Some(table[from..to].to_vec()))
                        .result_set_metadata(
                            ResultSetMetadata::builder()
                                .column_info(
                                    ColumnInfo::builder()
                                        .name("symbol")
                                        .r#type("varchar")
                                        .build()
                                        .unwrap(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .set_next_token((to < table.len()).then(|| to.to_string()))
                .build()
        });
    let athena = mocked!(aws_sdk_athena, [&results]);
    let s = backend(|c| c.athena = athena).await;
    let a = admin();
    let expected: Vec<Vec<Option<String>>> = all.iter().map(|v| vec![Some(v.clone())]).collect();

    // One page of lakectl's, read from several of Athena's.
    let whole = s
        .query
        .get_query_results(&a, "q-1", None, 100)
        .await
        .unwrap();
    assert_eq!(whole.columns[0].name, "symbol");
    assert_eq!(whole.rows, expected);
    assert_eq!(whole.next_token, None);
    let athena_pages = results.num_calls();
    assert!(athena_pages > 1, "{athena_pages} of Athena's pages");

    // lakectl's own pages of 2, token to token.
    let (mut paged, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let page = s
            .query
            .get_query_results(&a, "q-1", token.as_deref(), 2)
            .await
            .unwrap();
        pages += 1;
        assert!(page.rows.len() <= 2, "{:?}", page.rows);
        assert!(pages <= all.len(), "the tokens never end");
        paged.extend(page.rows);
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert!(pages > 1, "{pages} pages");
    assert_eq!(paged, expected);
}
