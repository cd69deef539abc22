//! Glue's workflow and trigger operations (`AWSGlue.CreateWorkflow`, `StartWorkflowRun`, …) on
//! the lake server, so the AWS CLI, boto3 and lakectl's AWS backend drive the lake's workflows.
//! A run started here is driven by the server: StartWorkflowRun answers at once.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{Call, empty, output};
use crate::service::Result;
use crate::service::workflows::{Action, Predicate, TriggerSpec, TriggerType};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateWorkflowInput {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    default_run_properties: BTreeMap<String, String>,
    #[serde(default)]
    max_concurrent_runs: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameInput {
    name: String,
    #[serde(default)]
    include_graph: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RunInput {
    name: String,
    run_id: String,
    #[serde(default)]
    include_graph: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RunPropertiesInput {
    name: String,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_properties: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTriggerInput {
    name: String,
    #[serde(default)]
    workflow_name: Option<String>,
    #[serde(rename = "Type")]
    kind: TriggerType,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    schedule: Option<String>,
    actions: Vec<Action>,
    #[serde(default)]
    predicate: Option<Predicate>,
    #[serde(default)]
    start_on_creation: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct GetTriggersInput {
    dependent_job_name: Option<String>,
}

/// Answers a workflow or trigger operation; `None` when `call` is none of them.
pub async fn call(call: &Call<'_>) -> Option<Result<Value>> {
    let w = &call.router.services.workflows;
    let by = call.principal;
    let answer = async {
        match call.operation {
            "CreateWorkflow" => {
                let i: CreateWorkflowInput = call.input()?;
                w.create_workflow(
                    by,
                    &i.name,
                    i.description,
                    i.default_run_properties,
                    i.max_concurrent_runs,
                )
                .await?;
                output(json!({"Name": i.name}))
            }
            "GetWorkflow" => {
                let i: NameInput = call.input()?;
                output(json!({"Workflow": w.get_workflow(by, &i.name, i.include_graph).await?}))
            }
            "ListWorkflows" => output(json!({"Workflows": w.list_workflows(by).await?})),
            "DeleteWorkflow" => {
                let i: NameInput = call.input()?;
                w.delete_workflow(by, &i.name).await?;
                output(json!({"Name": i.name}))
            }
            "CreateTrigger" => {
                let i: CreateTriggerInput = call.input()?;
                let name = i.name.clone();
                w.create_trigger(
                    by,
                    TriggerSpec {
                        name: i.name,
                        workflow_name: i.workflow_name,
                        kind: i.kind,
                        description: i.description,
                        schedule: i.schedule,
                        actions: i.actions,
                        predicate: i.predicate,
                        start_on_creation: i.start_on_creation,
                    },
                )
                .await?;
                output(json!({"Name": name}))
            }
            "GetTrigger" => {
                let i: NameInput = call.input()?;
                output(json!({"Trigger": w.get_trigger(by, &i.name).await?}))
            }
            "GetTriggers" => {
                let i: GetTriggersInput = call.input().unwrap_or_default();
                output(
                    json!({"Triggers": w.get_triggers(by, i.dependent_job_name.as_deref()).await?}),
                )
            }
            "StartTrigger" | "StopTrigger" | "DeleteTrigger" => {
                let i: NameInput = call.input()?;
                match call.operation {
                    "StartTrigger" => w.start_trigger(by, &i.name).await?,
                    "StopTrigger" => w.stop_trigger(by, &i.name).await?,
                    _ => w.delete_trigger(by, &i.name).await?,
                }
                output(json!({"Name": i.name}))
            }
            "StartWorkflowRun" => {
                let i: RunPropertiesInput = call.input()?;
                let id = w.start_workflow_run(by, &i.name, i.run_properties).await?;
                output(json!({"RunId": id}))
            }
            "GetWorkflowRun" => {
                let i: RunInput = call.input()?;
                output(
                    json!({"Run": w.get_workflow_run(by, &i.name, &i.run_id, i.include_graph).await?}),
                )
            }
            "GetWorkflowRuns" => {
                let i: NameInput = call.input()?;
                output(json!({"Runs": w.get_workflow_runs(by, &i.name).await?}))
            }
            "StopWorkflowRun" => {
                let i: RunInput = call.input()?;
                w.stop_workflow_run(by, &i.name, &i.run_id).await?;
                empty()
            }
            "GetWorkflowRunProperties" => {
                let i: RunInput = call.input()?;
                output(
                    json!({"RunProperties": w.get_workflow_run_properties(by, &i.name, &i.run_id).await?}),
                )
            }
            "PutWorkflowRunProperties" => {
                let i: RunPropertiesInput = call.input()?;
                let run_id = i.run_id.unwrap_or_default();
                w.put_workflow_run_properties(by, &i.name, &run_id, i.run_properties)
                    .await?;
                empty()
            }
            _ => Err(call.unknown("Glue")),
        }
    };
    OPERATIONS.contains(&call.operation).then_some(())?;
    Some(answer.await)
}

const OPERATIONS: &[&str] = &[
    "CreateWorkflow",
    "GetWorkflow",
    "ListWorkflows",
    "DeleteWorkflow",
    "CreateTrigger",
    "GetTrigger",
    "GetTriggers",
    "StartTrigger",
    "StopTrigger",
    "DeleteTrigger",
    "StartWorkflowRun",
    "GetWorkflowRun",
    "GetWorkflowRuns",
    "StopWorkflowRun",
    "GetWorkflowRunProperties",
    "PutWorkflowRunProperties",
];
