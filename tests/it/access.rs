//! Lake Formation's control plane: grants are checked and stored canonically, tags inherit and
//! override, filters refuse what they cannot enforce, data locations guard the catalog, and
//! `explain` names the rule that decided.

use lakectl::service::access::{
    ColumnWildcard, DataCellsFilter, Grant, LfTag, Permission, Resource, RowFilter,
};
use lakectl::service::{Code, Principal};

use crate::common::{admin, eventually};
use crate::query::{T, demo_lake, new_principal, query};

const DB: &str = "lakeformation-glue-catalog-db";

fn columns(include: &[&str]) -> Resource {
    Resource::TableWithColumns {
        database_name: DB.into(),
        name: "processed".into(),
        column_names: Some(include.iter().map(|c| c.to_string()).collect()),
        column_wildcard: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_grants_are_refused_and_change_nothing() {
    let t = demo_lake().await;
    let a = admin();
    let access = &t.services.access;
    let before = access.list_permissions(&a, None, None).await.unwrap();
    let select = vec![Permission::Select];
    let cases = [
        Grant::new("nobody", Resource::table(DB, "processed"), select.clone()),
        Grant::new(
            "analyst",
            Resource::table(DB, "no_such_table"),
            select.clone(),
        ),
        Grant::new(
            "analyst",
            Resource::table("no_such_db", "processed"),
            select.clone(),
        ),
        Grant::new(
            "analyst",
            columns(&["symbol", "no_such_column"]),
            select.clone(),
        ),
        Grant::new("analyst", columns(&["symbol", "*"]), select.clone()),
        Grant::new("analyst", columns(&["symbol"]), vec![Permission::Drop]),
        Grant::new(
            "analyst",
            Resource::DataLocation {
                resource_arn: "s3://secure-datalake/raw/".into(),
            },
            vec![Permission::DataLocationAccess],
        ),
        Grant::new(
            "analyst",
            Resource::LfTagPolicy {
                resource_type: "TABLE".into(),
                expression: vec![LfTag {
                    tag_key: "data".into(),
                    tag_values: vec!["secret".into()],
                }],
            },
            select.clone(),
        ),
        Grant::new("analyst", Resource::table(DB, "processed"), vec![]),
    ];
    for grant in cases {
        let e = access
            .grant_permissions(&a, grant.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(
                e.code,
                Code::InvalidInputException | Code::EntityNotFoundException
            ),
            "{grant:?}: {e}"
        );
    }
    assert_eq!(
        access.list_permissions(&a, None, None).await.unwrap(),
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_are_stored_in_one_canonical_form() {
    let t = demo_lake().await;
    let a = admin();
    let access = &t.services.access;
    new_principal(&t, "reader").await;
    // The same columns in another order and case land on the same grant.
    for cols in [&["symbol", "price"][..], &["PRICE", "symbol", "symbol"][..]] {
        access
            .grant_permissions(
                &a,
                Grant::new("reader", columns(cols), vec![Permission::Select]),
            )
            .await
            .unwrap();
    }
    // An empty exclusion list is the whole table.
    access
        .grant_permissions(
            &a,
            Grant::new(
                "reader",
                Resource::TableWithColumns {
                    database_name: DB.into(),
                    name: "processed".into(),
                    column_names: None,
                    column_wildcard: Some(ColumnWildcard {
                        excluded_column_names: vec![],
                    }),
                },
                vec![Permission::Describe],
            ),
        )
        .await
        .unwrap();
    let mine = access
        .list_permissions(&a, Some("reader"), None)
        .await
        .unwrap();
    assert_eq!(mine.len(), 2, "{mine:#?}");
    assert_eq!(mine[0].resource, Resource::table(DB, "processed"));
    assert_eq!(mine[0].permissions, [Permission::Describe]);
    assert_eq!(mine[1].resource, columns(&["price", "symbol"]));
    // A principal lists its own grants only.
    let e = access
        .list_permissions(&Principal::new("reader"), Some("analyst"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
    let own = access
        .list_permissions(&Principal::new("reader"), None, None)
        .await
        .unwrap();
    assert_eq!(own, mine);
    // Revoking the columns granted (in any spelling) ends them.
    access
        .revoke_permissions(
            &a,
            Grant::new(
                "reader",
                columns(&["SYMBOL", "price"]),
                vec![Permission::Select],
            ),
        )
        .await
        .unwrap();
    // With nothing granted the table is gone for the reader: refused exactly as a table that
    // never existed is.
    let refused = query(&t, "reader", &format!("SELECT symbol FROM {T}"))
        .await
        .unwrap_err();
    let never = T.replace("processed", "never_existed");
    let made_up = query(&t, "reader", &format!("SELECT symbol FROM {never}"))
        .await
        .unwrap_err();
    assert_eq!(refused.code, made_up.code, "{refused}");
    assert_eq!(
        refused.message.replace("processed", "X"),
        made_up.message.replace("never_existed", "X")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_inherit_downward_and_are_overridden_below() {
    let t = demo_lake().await;
    let a = admin();
    let access = &t.services.access;
    access
        .create_lf_tag(&a, "sensitivity", &["public".into(), "private".into()])
        .await
        .unwrap();
    access
        .add_lf_tags_to_resource(
            &a,
            DB,
            None,
            &[],
            &[("sensitivity".into(), "public".into())],
        )
        .await
        .unwrap();
    access
        .add_lf_tags_to_resource(
            &a,
            DB,
            Some("processed"),
            &["price".into(), "trader".into()],
            &[("sensitivity".into(), "private".into())],
        )
        .await
        .unwrap();
    new_principal(&t, "public-reader").await;
    let public = Resource::LfTagPolicy {
        resource_type: "TABLE".into(),
        expression: vec![LfTag {
            tag_key: "sensitivity".into(),
            tag_values: vec!["public".into()],
        }],
    };
    access
        .grant_permissions(
            &a,
            Grant::new("public-reader", public, vec![Permission::Select]),
        )
        .await
        .unwrap();
    let seen = query(&t, "public-reader", &format!("SELECT * FROM {T} LIMIT 1"))
        .await
        .unwrap();
    assert!(seen.columns.contains(&"symbol".to_string()));
    assert!(!seen.columns.contains(&"price".to_string()));
    assert!(!seen.columns.contains(&"trader".to_string()));
    let tags = access
        .get_resource_lf_tags(&a, DB, "processed")
        .await
        .unwrap();
    let price = tags.iter().find(|(c, _)| c == "price").unwrap();
    assert_eq!(price.1[0].tag_value, "private");
    assert_eq!(price.1[0].inherited_from, None);
    let symbol = tags.iter().find(|(c, _)| c == "symbol").unwrap();
    assert_eq!(symbol.1[0].tag_value, "public");
    assert_eq!(
        symbol.1[0].inherited_from.as_deref(),
        Some(&*format!("database {DB}"))
    );
    // An unknown value is refused.
    let e = access
        .add_lf_tags_to_resource(
            &a,
            DB,
            None,
            &[],
            &[("sensitivity".into(), "secret".into())],
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidInputException);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_filters_outside_the_language_are_refused() {
    let t = demo_lake().await;
    let a = admin();
    for bad in [
        "upper(symbol) = 'A'",
        "symbol IN (SELECT symbol FROM x)",
        "no_such_column = 1",
        "symbol = 'a'; DROP TABLE x",
        "price + 1 > 2",
    ] {
        let e = t
            .services
            .access
            .create_data_cells_filter(
                &a,
                DataCellsFilter {
                    table_catalog_id: String::new(),
                    database_name: DB.into(),
                    table_name: "processed".into(),
                    name: "f".into(),
                    row_filter: RowFilter {
                        filter_expression: Some(bad.into()),
                        all_rows_wildcard: None,
                    },
                    column_names: None,
                    column_wildcard: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::InvalidInputException, "{bad}: {e}");
    }
    let filters = t
        .services
        .access
        .list_data_cells_filters(&a, Some((DB, "processed")))
        .await
        .unwrap();
    assert!(filters.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawler_needs_data_location_access_on_a_registered_location() {
    let t = demo_lake().await;
    let a = admin();
    let access = &t.services.access;
    let location = Resource::DataLocation {
        resource_arn: "s3://secure-datalake/processed/".into(),
    };
    access
        .revoke_permissions(
            &a,
            Grant::new(
                "glue-service-role",
                location.clone(),
                vec![Permission::DataLocationAccess],
            ),
        )
        .await
        .unwrap();
    let jobs = &t.services.jobs;
    jobs.start_crawler(&a, "processed-crawler", Default::default())
        .await
        .unwrap();
    let run = eventually("the crawl to finish", || async {
        let c = jobs.get_crawler(&a, "processed-crawler").await.unwrap();
        c.1.filter(|r| r.state.is_finished())
    })
    .await;
    let message = run.error_message.unwrap_or_default();
    assert!(message.contains("DATA_LOCATION_ACCESS"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_rule_and_the_key() {
    let t = demo_lake().await;
    let a = admin();
    let why = t
        .services
        .access
        .explain(&a, "analyst", DB, "processed")
        .await
        .unwrap();
    let symbol = why.columns.iter().find(|c| c.column == "symbol").unwrap();
    assert!(symbol.visible);
    assert!(
        symbol.decided_by[0].contains("SELECT"),
        "{:?}",
        symbol.decided_by
    );
    let price = why.columns.iter().find(|c| c.column == "price").unwrap();
    assert!(!price.visible);
    assert!(
        price.decided_by[0].contains("no grant"),
        "{:?}",
        price.decided_by
    );
    assert_eq!(why.data_read_as, "lakeformation-service-role");
    // The key the table's data is sealed under is named, and usable by the role that reads it.
    assert!(!why.keys.is_empty(), "no key named");
    assert!(
        why.keys
            .iter()
            .all(|k| k.usable && !k.key_id.is_empty() && k.alias.is_some()),
        "{:?}",
        why.keys
    );
    // A principal may explain itself, not others.
    let analyst = Principal::new("analyst");
    assert!(
        t.services
            .access
            .explain(&analyst, "analyst", DB, "processed")
            .await
            .is_ok()
    );
    let e = t
        .services
        .access
        .explain(&analyst, "data-scientist", DB, "processed")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::AccessDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_lake_settings_name_the_admins_and_cannot_lock_the_caller_out() {
    let t = crate::common::new_lake();
    let s = &t.services;
    let a = admin();
    s.iam.create_principal(&a, "steward", false).await.unwrap();
    let names = |settings: lakectl::service::access::DataLakeSettings| -> Vec<String> {
        settings
            .data_lake_admins
            .into_iter()
            .map(|p| p.data_lake_principal_identifier)
            .collect()
    };
    assert_eq!(
        names(s.access.get_data_lake_settings(&a).await.unwrap()),
        ["admin"]
    );

    let err = s
        .access
        .put_data_lake_admins(&a, &["steward".into()])
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidInputException);
    let err = s
        .access
        .put_data_lake_admins(&a, &["admin".into(), "nobody".into()])
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::EntityNotFoundException);
    assert_eq!(
        names(s.access.get_data_lake_settings(&a).await.unwrap()),
        ["admin"]
    );

    s.access
        .put_data_lake_admins(&a, &["admin".into(), "steward".into()])
        .await
        .unwrap();
    assert_eq!(
        names(s.access.get_data_lake_settings(&a).await.unwrap()),
        ["admin", "steward"]
    );
    // The new admin may now change the settings; someone who is not one may not.
    let steward = Principal::new("steward");
    s.access
        .put_data_lake_admins(&steward, &["steward".into()])
        .await
        .unwrap();
    let err = s
        .access
        .put_data_lake_admins(&a, &["admin".into()])
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AccessDenied);
}
