//! `Microsoft.Web/sites`: lists, get, and start/stop/restart.
//!
//! The JSON follows API version 2024-04-01 (WebApps.json) as azure_mgmt_web 0.21
//! deserializes it. App Service acts synchronously: `start`, `stop` and `restart`
//! answer 200 with no body and nothing to poll, whatever state the app is in.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::StatusCode;
use serde_json::{Value, json};

use super::{
    SimWebApp, clock,
    compute::require_group,
    error::ArmError,
    paging::{list_body, next_link, page, skip_of},
    server::{Ctx, empty},
    state::{SiteRecord, State, key},
};

const SITE_TYPE: &str = "Microsoft.Web/sites";
const RUNNING: &str = "Running";
const STOPPED: &str = "Stopped";

/// What is posted to `.../sites/{name}/{action}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SiteAction {
    Start,
    Stop,
    Restart,
}

impl SiteAction {
    /// The action a lowercase path segment names.
    pub(crate) fn from_segment(segment: &str) -> Option<Self> {
        match segment {
            "start" => Some(Self::Start),
            "stop" => Some(Self::Stop),
            "restart" => Some(Self::Restart),
            _ => None,
        }
    }
}

/// `GET .../sites` by subscription or resource group, paged.
pub(crate) fn list(
    ctx: &Ctx<'_>,
    state: &State,
    group: Option<&str>,
) -> Result<Response, ArmError> {
    if let Some(group) = group {
        require_group(state, group)?;
    }
    let records: Vec<&SiteRecord> = state
        .web_apps
        .values()
        .filter(|record| {
            group.is_none_or(|group| record.app.resource_group.eq_ignore_ascii_case(group))
        })
        .collect();
    let (records, next) = page(&records, skip_of(ctx.query)?, ctx.config.page_size);
    let values = records
        .into_iter()
        .map(|record| site_json(ctx.subscription(), record))
        .collect();
    let next = next.map(|skip| next_link(ctx.endpoint, ctx.path, ctx.query, skip));
    Ok(Json(list_body(values, next)).into_response())
}

/// `GET .../sites/{name}`.
pub(crate) fn get(
    ctx: &Ctx<'_>,
    state: &State,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let record = find(state, group, name)?;
    Ok(Json(site_json(ctx.subscription(), record)).into_response())
}

/// `POST .../start`, `.../stop` or `.../restart`: done before the answer, 200 with no
/// body, as WebApps.json declares them. Starting a running app or stopping a stopped
/// one changes nothing; restarting a stopped app leaves it stopped.
pub(crate) fn act(
    ctx: &Ctx<'_>,
    state: &mut State,
    group: &str,
    name: &str,
    action: SiteAction,
) -> Result<Response, ArmError> {
    find(state, group, name)?;
    if let Some(record) = state.web_apps.get_mut(&key(group, name)) {
        let wanted = match action {
            SiteAction::Start => Some(RUNNING),
            SiteAction::Stop => Some(STOPPED),
            SiteAction::Restart => None,
        };
        if let Some(wanted) = wanted
            && !record.app.state.eq_ignore_ascii_case(wanted)
        {
            record.app.state = wanted.to_owned();
            record.changed_at = ctx.wall;
        }
        if action == SiteAction::Restart && record.app.state.eq_ignore_ascii_case(RUNNING) {
            record.changed_at = ctx.wall;
        }
    }
    Ok(empty(StatusCode::OK))
}

/// The app, or the 404 ARM sends for a missing group or app.
fn find<'a>(state: &'a State, group: &str, name: &str) -> Result<&'a SiteRecord, ArmError> {
    require_group(state, group)?;
    state
        .web_apps
        .get(&key(group, name))
        .ok_or_else(|| ArmError::resource_not_found(SITE_TYPE, name, group))
}

/// A site as App Service returns it, in a list or alone.
fn site_json(subscription: &str, record: &SiteRecord) -> Value {
    let app: &SimWebApp = &record.app;
    let group = &app.resource_group;
    let host = format!("{}.azurewebsites.net", app.name.to_lowercase());
    json!({
        "id": format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/{SITE_TYPE}/{}", app.name),
        "name": app.name,
        "type": SITE_TYPE,
        "kind": "app,linux",
        "location": app.location,
        "tags": app.tags,
        "properties": {
            "name": app.name,
            "state": app.state,
            "hostNames": [host],
            "enabledHostNames": [host, format!("{}.scm.azurewebsites.net", app.name.to_lowercase())],
            "enabled": true,
            "availabilityState": "Normal",
            "usageState": "Normal",
            "serverFarmId": format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Web/serverfarms/{}", app.plan),
            "reserved": true,
            "lastModifiedTimeUtc": clock::rfc3339(record.changed_at),
            "resourceGroup": group,
            "defaultHostName": host,
            "httpsOnly": true,
        }
    })
}
