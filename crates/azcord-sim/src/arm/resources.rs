//! `Microsoft.Resources`: resource groups (minimal) and template deployments.
//!
//! A deployment `PUT` answers 201 (200 when it replaces one) with
//! `provisioningState: Accepted` and an `Azure-AsyncOperation` URL under
//! `.../deployments/{name}/operationStatuses/{id}`. The template is evaluated then (see
//! [`super::template`]): an invalid one is refused with 400 `InvalidTemplate`. The
//! deployment runs for `config.transition`; then its resources are created (see
//! [`super::deploy`]) and it succeeds, or it fails with `DeploymentFailed`.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use super::{
    DeploymentState, SimDeployment, SimResourceGroup, clock,
    compute::require_group,
    error::{ArmError, retry_after_headers},
    ident,
    paging::{list_body, next_link, page, skip_of},
    server::Ctx,
    state::{DeploymentRecord, Effect, State, key},
    template::{self, DEPLOYMENT_TYPE, Plan, Target, World},
};

/// `GET /subscriptions/{sub}/resourcegroups`, paged.
pub(crate) fn list_groups(ctx: &Ctx<'_>, state: &State) -> Result<Response, ArmError> {
    let groups: Vec<&SimResourceGroup> = state.resource_groups.values().collect();
    let (groups, next) = page(&groups, skip_of(ctx.query)?, ctx.config.page_size);
    let values = groups
        .into_iter()
        .map(|group| group_json(ctx.subscription(), group))
        .collect();
    let next = next.map(|skip| next_link(ctx.endpoint, ctx.path, ctx.query, skip));
    Ok(Json(list_body(values, next)).into_response())
}

/// `GET /subscriptions/{sub}/resourcegroups/{group}`.
pub(crate) fn get_group(ctx: &Ctx<'_>, state: &State, name: &str) -> Result<Response, ArmError> {
    let group = require_group(state, name)?;
    Ok(Json(group_json(ctx.subscription(), group)).into_response())
}

/// `PUT /subscriptions/{sub}/resourcegroups/{group}` with `{"location", "tags"?}`:
/// 201 when created, 200 when updated (tags only; the location cannot change).
pub(crate) fn put_group(
    ctx: &Ctx<'_>,
    state: &mut State,
    name: &str,
) -> Result<Response, ArmError> {
    let body = json_body(ctx)?;
    let location = body
        .get("location")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            )
        })?;
    let tags: std::collections::BTreeMap<String, String> = body
        .get("tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let status = match state.resource_groups.get_mut(&name.to_lowercase()) {
        Some(existing) if !existing.location.eq_ignore_ascii_case(location) => {
            return Err(ArmError::conflict(
                "InvalidResourceGroupLocation",
                &format!(
                    "Invalid resource group location '{location}'. The Resource group already exists \
                     in location '{}'.",
                    existing.location
                ),
            ));
        }
        Some(existing) => {
            existing.tags = tags;
            StatusCode::OK
        }
        None => {
            let group = SimResourceGroup {
                tags,
                ..SimResourceGroup::new(name, location)
            };
            state.resource_groups.insert(name.to_lowercase(), group);
            StatusCode::CREATED
        }
    };
    let group = require_group(state, name)?;
    Ok((status, Json(group_json(ctx.subscription(), group))).into_response())
}

/// `PUT .../providers/Microsoft.Resources/deployments/{name}` with
/// `{"properties": {"mode", "template" | "templateLink", "parameters"?}}`.
pub(crate) fn put_deployment(
    ctx: &Ctx<'_>,
    state: &mut State,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    require_group(state, group)?;
    let body = json_body(ctx)?;
    let properties = body
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ArmError::invalid_request_content("Required property 'properties' not found in JSON")
        })?;
    let mode = properties
        .get("mode")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ArmError::invalid_request_content("Required property 'mode' not found in JSON")
        })?;
    let mode = ["Incremental", "Complete"]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(mode))
        .ok_or_else(|| {
            ArmError::invalid_request_content(&format!(
                "Error converting value \"{mode}\" to type 'DeploymentMode'"
            ))
        })?;
    let template = properties.get("template").cloned();
    let template_link = properties.get("templateLink").cloned();
    if template.is_none() && template_link.is_none() {
        return Err(ArmError::bad_request(
            "InvalidDeployment",
            "The deployment must have either a 'template' or a 'templateLink' property.",
        ));
    }
    if let Some(active) = state.deployment(group, name)
        && active.deployment.state == DeploymentState::Running
    {
        return Err(ArmError::conflict(
            "DeploymentActive",
            &format!(
                "Unable to edit or replace deployment '{name}': previous deployment from '{}' is \
                 still active (state: Running). Please see https://aka.ms/arm-deploy for usage details.",
                clock::rfc3339(active.started_at)
            ),
        ));
    }
    let plan = match &template {
        Some(template) => {
            let target = Target {
                subscription: ctx.subscription().to_owned(),
                tenant: ctx.config.tenant_id.clone(),
                group: require_group(state, group)?.clone(),
                deployment: name.to_owned(),
            };
            let resource = |id: &str| state.resource_json(ctx.subscription(), id);
            let group = |name: &str| state.resource_group(name).cloned();
            let world = World {
                resource: &resource,
                group: &group,
            };
            let provided = properties
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new()));
            template::plan(template, &provided, &target, &world)
                .map_err(|detail| ArmError::with_detail(StatusCode::BAD_REQUEST, detail))?
        }
        None => Plan::default(),
    };
    let wanted = key(group, name);
    let before = state.deployments.len();
    state
        .deployments
        .retain(|record| key(&record.deployment.resource_group, &record.deployment.name) != wanted);
    let status = if state.deployments.len() < before {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let operation = state.start_operation(
        ctx.now,
        ctx.wall,
        ctx.config.transition,
        Effect::Deployment {
            key: wanted.clone(),
        },
    );
    let record = DeploymentRecord {
        deployment: SimDeployment {
            resource_group: group.to_owned(),
            name: name.to_owned(),
            template: template.unwrap_or(Value::Null),
            parameters: properties
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
            state: DeploymentState::Running,
            error: None,
            output_resources: Vec::new(),
        },
        id: format!(
            "/subscriptions/{}/resourceGroups/{group}/providers/{DEPLOYMENT_TYPE}/{name}",
            ctx.subscription()
        ),
        plan,
        outcomes: Vec::new(),
        mode: mode.to_owned(),
        template_link,
        correlation_id: ident::random_guid(),
        operation: operation.clone(),
        started_at: ctx.wall,
        ended_at: None,
        error: None,
    };
    let body = deployment_json(ctx, &record, DeploymentState::Accepted);
    state.deployments.push(record);

    let url = format!(
        "{}subscriptions/{}/resourcegroups/{group}/providers/{DEPLOYMENT_TYPE}/{name}/operationStatuses/{operation}?api-version={}",
        ctx.endpoint,
        ctx.subscription(),
        ctx.api_version
    );
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&url) {
        headers.insert(HeaderName::from_static("azure-asyncoperation"), value);
    }
    headers.extend(retry_after_headers(ctx.config.retry_after));
    Ok(response)
}

/// `GET .../providers/Microsoft.Resources/deployments/{name}`.
pub(crate) fn get_deployment(
    ctx: &Ctx<'_>,
    state: &State,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let record = find_deployment(state, group, name)?;
    let body = deployment_json(ctx, record, record.deployment.state);
    Ok(Json(body).into_response())
}

/// `GET .../deployments/{name}/operations`: one operation per resource once the
/// deployment ended, each with its `targetResource` and, if it failed, `statusMessage.error`.
pub(crate) fn list_deployment_operations(
    state: &State,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let record = find_deployment(state, group, name)?;
    let values: Vec<Value> = record
        .outcomes
        .iter()
        .map(|outcome| {
            let mut properties = json!({
                "provisioningOperation": "Create",
                "provisioningState": if outcome.failure.is_some() { "Failed" } else { "Succeeded" },
                "timestamp": clock::rfc3339(outcome.at),
                "duration": clock::iso_duration(
                    outcome.at.duration_since(record.started_at).unwrap_or_default()
                ),
                "trackingId": ident::stable_guid(&outcome.operation_id),
                "statusCode": if outcome.failure.is_some() { "BadRequest" } else { "OK" },
                "targetResource": {
                    "id": outcome.id,
                    "resourceType": outcome.resource_type,
                    "resourceName": outcome.name,
                },
            });
            if let Some(failure) = &outcome.failure {
                properties["statusMessage"] =
                    json!({ "status": "Failed", "error": failure.to_json() });
            }
            json!({
                "id": format!("{}/operations/{}", record.id, outcome.operation_id),
                "operationId": outcome.operation_id,
                "properties": properties,
            })
        })
        .collect();
    Ok(Json(json!({ "value": values })).into_response())
}

/// The deployment, or ARM's 404s for a missing group or deployment.
fn find_deployment<'a>(
    state: &'a State,
    group: &str,
    name: &str,
) -> Result<&'a DeploymentRecord, ArmError> {
    require_group(state, group)?;
    state.deployment(group, name).ok_or_else(|| {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "DeploymentNotFound",
            &format!("Deployment '{name}' could not be found."),
        )
    })
}

/// The request body as JSON, or 400 `InvalidRequestContent`.
fn json_body(ctx: &Ctx<'_>) -> Result<Value, ArmError> {
    serde_json::from_slice(ctx.body)
        .map_err(|error| ArmError::invalid_request_content(&error.to_string()))
}

fn group_json(subscription: &str, group: &SimResourceGroup) -> Value {
    let mut body = json!({
        "id": format!("/subscriptions/{subscription}/resourceGroups/{}", group.name),
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": group.location,
        "properties": { "provisioningState": "Succeeded" },
    });
    if !group.tags.is_empty() {
        body["tags"] = json!(group.tags);
    }
    body
}

/// A deployment as ARM returns it, showing `state`.
fn deployment_json(ctx: &Ctx<'_>, record: &DeploymentRecord, state: DeploymentState) -> Value {
    let deployment = &record.deployment;
    let ended_or_now = record.ended_at.unwrap_or(ctx.wall);
    let duration = ended_or_now
        .duration_since(record.started_at)
        .unwrap_or_default();
    let template_hash = ident::stable_number(&deployment.template.to_string()).to_string();
    // Secure parameters show their type only, as ARM does; without a template (a
    // templateLink) they are echoed as sent.
    let parameters = if deployment.template.is_null() {
        deployment.parameters.clone()
    } else {
        Value::Object(record.plan.parameters.clone())
    };
    let mut properties = json!({
        "templateHash": template_hash,
        "parameters": parameters,
        "mode": record.mode,
        "provisioningState": state.as_str(),
        "timestamp": clock::rfc3339(ended_or_now),
        "duration": clock::iso_duration(duration),
        "correlationId": record.correlation_id,
        "providers": [],
        "dependencies": [],
    });
    if let Some(link) = &record.template_link {
        properties["templateLink"] = link.clone();
    }
    if state == DeploymentState::Succeeded {
        properties["outputs"] = Value::Object(record.plan.outputs.clone());
        properties["outputResources"] = deployment
            .output_resources
            .iter()
            .map(|id| json!({ "id": id }))
            .collect();
    }
    if let Some(error) = &record.error {
        properties["error"] = error.to_json();
    }
    json!({
        "id": record.id,
        "name": deployment.name,
        "type": DEPLOYMENT_TYPE,
        "properties": properties,
    })
}
