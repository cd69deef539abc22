//! The `lakeformation` and `athena` commands: who may see what, and SQL that honours it. Kept
//! beside `commands` so neither file grows past reading.

use clap::{Args, Subcommand};

/// The resource a grant is about: exactly one of these.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false, id = "resource")]
pub struct ResourceArgs {
    /// Every database and table (DESCRIBE or ALL only)
    #[arg(long)]
    pub catalog: bool,
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
    /// A table; with --columns or --excluded-columns, some of its columns
    #[arg(long, value_name = "DB.TABLE")]
    pub table: Option<String>,
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub data_location: Option<String>,
    /// Tables and columns whose tags match: `K=V1,V2;K2=V` (AND across keys, OR within one)
    #[arg(long, value_name = "EXPR")]
    pub lf_tag_expression: Option<String>,
    /// A data cells filter (name its table with --filter-table when several tables have one
    /// of that name)
    #[arg(long, value_name = "NAME")]
    pub data_cells_filter: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct GrantArgs {
    /// Who gains (or loses) the permissions
    #[arg(long)]
    pub principal: String,
    /// ALL, SELECT, DESCRIBE, ALTER, DROP, INSERT, DELETE, CREATE_TABLE, DATA_LOCATION_ACCESS
    #[arg(long, value_delimiter = ',', required = true)]
    pub permissions: Vec<String>,
    /// The grantee may grant these permissions on (revoke: take back only the grant option)
    #[arg(long)]
    pub grant_option: bool,
    #[command(flatten)]
    pub resource: ResourceArgs,
    /// With --table: only these columns
    #[arg(
        long,
        value_delimiter = ',',
        requires = "table",
        conflicts_with = "excluded_columns"
    )]
    pub columns: Vec<String>,
    /// With --table: every column but these
    #[arg(long, value_delimiter = ',', requires = "table")]
    pub excluded_columns: Vec<String>,
    /// The table a --data-cells-filter belongs to
    #[arg(long, value_name = "DB.TABLE")]
    pub filter_table: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LakeFormationCommand {
    /// Put an S3 location under Lake Formation: queries read it as ROLE (default
    /// lakeformation-service-role), and tables over it need DATA_LOCATION_ACCESS
    RegisterResource {
        #[arg(long, value_name = "s3://BUCKET/PREFIX")]
        resource_arn: String,
        /// The principal that reads the location for queries
        #[arg(long, default_value = "lakeformation-service-role")]
        role_arn: String,
    },
    /// The registered locations and their roles
    ListResources,
    /// Who administers the lake
    GetDataLakeSettings,
    /// Make exactly these principals the lake's admins (the caller must stay one)
    PutDataLakeSettings {
        #[arg(long, value_delimiter = ',', required = true)]
        admins: Vec<String>,
    },
    /// Grant permissions on one resource. Only lake admins and holders of the grant option may
    GrantPermissions(GrantArgs),
    /// Take permissions back (or, with --grant-option alone, only the right to grant them)
    RevokePermissions(GrantArgs),
    /// Grants, by principal and resource (yours only, unless you are a lake admin)
    ListPermissions {
        #[arg(long)]
        principal: Option<String>,
        #[arg(long, value_name = "DB.TABLE")]
        table: Option<String>,
    },
    /// An LF-tag and the values it may take
    CreateLfTag {
        #[arg(long)]
        key: String,
        #[arg(long, value_delimiter = ',', required = true)]
        values: Vec<String>,
    },
    /// The LF-tags and their values
    ListLfTags,
    /// Tag a database, a table, or columns of a table; lower levels inherit and may override
    AddLfTagsToResource {
        #[arg(
            long,
            value_name = "DB",
            conflicts_with = "table",
            required_unless_present = "table"
        )]
        database: Option<String>,
        #[arg(long, value_name = "DB.TABLE")]
        table: Option<String>,
        #[arg(long, value_delimiter = ',', requires = "table")]
        columns: Vec<String>,
        /// K=V (repeat, or separate with commas)
        #[arg(long, value_delimiter = ',', required = true)]
        lf_tags: Vec<String>,
    },
    /// The tags of a table and its columns, inherited ones marked
    GetResourceLfTags {
        #[arg(long, value_name = "DB.TABLE")]
        table: String,
    },
    /// Rows (a filter over the table's columns) by columns of one table
    CreateDataCellsFilter {
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "DB.TABLE")]
        table: String,
        /// Comparisons, IN, BETWEEN, LIKE, IS [NOT] NULL, NOT, AND, OR; TRUE for every row
        #[arg(long, value_name = "EXPR")]
        row_filter: String,
        #[arg(long, value_delimiter = ',', conflicts_with = "excluded_columns")]
        columns: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        excluded_columns: Vec<String>,
    },
    /// The data cells filters (lake admins), of one table or all
    ListDataCellsFilter {
        #[arg(long, value_name = "DB.TABLE")]
        table: Option<String>,
    },
    /// Delete a filter, and the grants made through it
    DeleteDataCellsFilter {
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "DB.TABLE")]
        table: String,
    },
    /// Per column: visible or not, and the grant, tag or filter that decided; the rows in force;
    /// whether the data's keys can be used; and which IAM policy and statement allow (or nothing
    /// allows) querying the table. A non-admin explains only itself and sees only what it may:
    /// without DESCRIBE, the columns it cannot see are counted ("N more columns are not visible
    /// to you"), not named; a table it holds nothing on answers as one that does not exist
    Explain {
        #[arg(long)]
        principal: String,
        #[arg(long, value_name = "DB.TABLE")]
        table: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AthenaCommand {
    /// A work group: where results go, and the key they are encrypted under
    CreateWorkGroup {
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "s3://BUCKET/PREFIX/")]
        output_location: String,
        #[arg(long)]
        sse_kms_key_id: Option<String>,
    },
    /// The work groups' names and states (`get-work-group` shows one's configuration)
    ListWorkGroups,
    /// A work group: its output location, result key and limits (lakectl's own under
    /// `Configuration.Lakectl`)
    GetWorkGroup {
        #[arg(long)]
        work_group: String,
    },
    /// A work group's limits: Athena's bytes-scanned cutoff, and on the local lake lakectl's own
    /// memory limit and timeout per query
    UpdateWorkGroup {
        #[arg(long)]
        work_group: String,
        /// Athena's shape: `BytesScannedCutoffPerQuery=N` (at least 10000000) or
        /// `RemoveBytesScannedCutoffPerQuery=true`, or the same as JSON
        #[arg(long, value_name = "SHORTHAND|JSON")]
        configuration_updates: Option<String>,
        /// lakectl extension (local lake only; not an Athena setting): the memory one query may
        /// use, in bytes (default 2 GiB, at most 64 GiB); past it the query fails with
        /// EXCEEDED_MEMORY_LIMIT
        #[arg(long, value_name = "BYTES")]
        query_memory_limit_bytes: Option<u64>,
        /// lakectl extension (local lake only; not an Athena setting): how long one query may
        /// run, in seconds (default 1800, at most 14400); past it the query fails with
        /// EXCEEDED_TIME_LIMIT
        #[arg(long, value_name = "SECONDS")]
        query_timeout_seconds: Option<u64>,
    },
    /// Run a query as the acting principal. Results go to OUTPUT/PRINCIPAL/ID.csv, encrypted;
    /// on the local lake the query runs in this process, which stays until it ends
    StartQueryExecution {
        #[arg(long)]
        query_string: String,
        #[arg(long, default_value = "primary")]
        work_group: String,
        /// The database unqualified table names are in (Athena's QueryExecutionContext)
        #[arg(long)]
        database: Option<String>,
        /// Wait for the query to end and print its execution
        #[arg(long)]
        wait: bool,
    },
    /// A query's state, reason, data scanned and time (yours only, unless you are a lake admin)
    GetQueryExecution {
        #[arg(long)]
        query_execution_id: String,
    },
    /// Results in Athena's ResultSet shape; the first page starts with the header row
    GetQueryResults {
        #[arg(long)]
        query_execution_id: String,
        #[arg(long)]
        next_token: Option<String>,
        #[arg(long, default_value_t = 1000)]
        max_results: usize,
    },
    /// Your query executions, newest first (every principal's for lake admins)
    ListQueryExecutions {
        #[arg(long)]
        work_group: Option<String>,
    },
    /// Stop a running query; it ends CANCELLED and writes no results
    StopQueryExecution {
        #[arg(long)]
        query_execution_id: String,
    },
    /// Shorthand: run SQL, wait, print {"Columns":[…],"Rows":[[…]…]}
    ///
    /// SQL is one SELECT (WITH, UNION and subqueries included) over DB.TABLE names (quote names
    /// with dashes: "my-db".t). The query sees only the tables, columns and rows the acting
    /// principal was granted; `detokenize(column)` reads tokens back for a principal allowed
    /// kms:Decrypt on their key. EXPLAIN, DDL, DML, COPY, SET and file or URL tables are refused.
    Query {
        sql: String,
        #[arg(long, default_value = "primary")]
        work_group: String,
        #[arg(long)]
        database: Option<String>,
    },
}

impl LakeFormationCommand {
    pub fn changes_anything(&self) -> bool {
        !matches!(
            self,
            LakeFormationCommand::ListResources
                | LakeFormationCommand::GetDataLakeSettings
                | LakeFormationCommand::ListPermissions { .. }
                | LakeFormationCommand::ListLfTags
                | LakeFormationCommand::GetResourceLfTags { .. }
                | LakeFormationCommand::ListDataCellsFilter { .. }
                | LakeFormationCommand::Explain { .. }
        )
    }
}

impl AthenaCommand {
    /// Queries change nothing in the lake's data; they do write results, which is what the
    /// console's read-only mode allows (previewing is its purpose).
    pub fn changes_anything(&self) -> bool {
        matches!(
            self,
            AthenaCommand::CreateWorkGroup { .. } | AthenaCommand::UpdateWorkGroup { .. }
        )
    }
}
