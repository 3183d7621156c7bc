//! Template deployments evaluated as ARM does: parameters, variables, expressions, `copy`
//! loops, conditions and nested inline deployments, planned into the resources to create.
//!
//! Planning is pure: it reads existing resources through a lookup and returns a
//! [`Plan`], which [`super::deploy`] applies when the deployment succeeds. A template
//! that uses something the simulator does not know (a function, a parameter, a
//! variable) is refused with `InvalidTemplate`, so nothing is silently ignored.
//!
//! Messages follow ARM's wording (`Deployment template validation failed: '...'.`)
//! without the line and column numbers, which the simulator does not track.

use serde_json::{Map, Value, json};

use super::{
    SimResourceGroup,
    error::ErrorDetail,
    expr::{self, Expr, TemplateString},
    ident,
};

/// The type of a template deployment, also a nested deployment resource.
pub(crate) const DEPLOYMENT_TYPE: &str = "Microsoft.Resources/deployments";
/// How deep variables and nested deployments may go.
const MAX_DEPTH: usize = 32;

/// Where a deployment runs.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) subscription: String,
    pub(crate) tenant: String,
    pub(crate) group: SimResourceGroup,
    pub(crate) deployment: String,
}

/// What planning reads of the world: existing resources by id (full JSON) and groups.
pub(crate) struct World<'a> {
    pub(crate) resource: &'a dyn Fn(&str) -> Option<Value>,
    pub(crate) group: &'a dyn Fn(&str) -> Option<SimResourceGroup>,
}

/// A deployment, evaluated.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Plan {
    /// In the order they were evaluated.
    pub(crate) resources: Vec<PlannedResource>,
    /// `{name: {type, value}}`, secure outputs left out as ARM does.
    pub(crate) outputs: Map<String, Value>,
    /// The parameters as a deployment `GET` shows them: `{name: {type, value}}`, and
    /// only `{type}` for secure ones.
    pub(crate) parameters: Map<String, Value>,
}

/// One resource a deployment creates or updates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PlannedResource {
    pub(crate) id: String,
    /// e.g. `Microsoft.ContainerInstance/containerGroups`.
    pub(crate) resource_type: String,
    /// The full name, `parent/child` for child resources.
    pub(crate) name: String,
    /// The resource group it lands in.
    pub(crate) resource_group: String,
    /// The evaluated resource declaration (`dependsOn`, `copy`, `condition` removed).
    pub(crate) body: Value,
    /// What `reference(id, apiVersion, 'Full')` returns once it exists.
    pub(crate) full: Value,
    /// Set when the resource cannot be deployed (e.g. it references a missing resource).
    pub(crate) failure: Option<ErrorDetail>,
    /// `dependsOn`, evaluated: ids or names of resources of the same deployment.
    pub(crate) depends_on: Vec<String>,
}

/// Plans a template deployment; an `InvalidTemplate` error if the template or its
/// parameters are not valid.
pub(crate) fn plan(
    template: &Value,
    provided: &Value,
    target: &Target,
    world: &World<'_>,
) -> Result<Plan, ErrorDetail> {
    let mut planner = Planner {
        target,
        world,
        planned: Vec::new(),
    };
    let (scope, shown) = planner.scope(template, provided, &target.group, 0)?;
    planner.resources(template, &scope, &target.group, 0)?;
    let mut outputs = Map::new();
    if let Some(declared) = template.get("outputs").and_then(Value::as_object) {
        for (name, output) in declared {
            let kind = output
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("string");
            let evaluated = planner
                .eval_value(output.get("value").unwrap_or(&Value::Null), &scope, 0)
                .map_err(|error| error.into_detail(&format!("outputs.{name}")))?;
            if !kind.to_ascii_lowercase().starts_with("secure") {
                outputs.insert(
                    name.clone(),
                    json!({ "type": display_type(kind), "value": evaluated }),
                );
            }
        }
    }
    Ok(Plan {
        resources: planner.planned,
        outputs,
        parameters: shown,
    })
}

/// An evaluation failure.
#[derive(Clone, Debug, PartialEq)]
enum EvalError {
    /// The template is wrong: `InvalidTemplate`.
    Invalid(String),
    /// A referenced resource does not exist (yet): the resource fails at run time.
    NotFound(ErrorDetail),
}

impl EvalError {
    fn into_detail(self, path: &str) -> ErrorDetail {
        match self {
            Self::Invalid(message) => invalid_template(&message, path),
            Self::NotFound(detail) => detail,
        }
    }
}

/// ARM's `InvalidTemplate` with its `TemplateViolation` path.
pub(crate) fn invalid_template(message: &str, path: &str) -> ErrorDetail {
    ErrorDetail {
        additional_info: vec![json!({
            "type": "TemplateViolation",
            "info": { "lineNumber": 0, "linePosition": 0, "path": path },
        })],
        ..ErrorDetail::new(
            "InvalidTemplate",
            &format!("Deployment template validation failed: '{message}'."),
        )
    }
}

type Eval<T> = Result<T, EvalError>;

/// What expressions see: parameters, variables and the current copy indexes.
struct Scope {
    group: SimResourceGroup,
    deployment: String,
    parameters: Map<String, Value>,
    variables: Map<String, Value>,
    copy: Vec<(String, i64)>,
}

impl Scope {
    fn with_copy(&self, name: &str, index: i64) -> Self {
        let mut copy = self.copy.clone();
        copy.push((name.to_owned(), index));
        Self {
            group: self.group.clone(),
            deployment: self.deployment.clone(),
            parameters: self.parameters.clone(),
            variables: self.variables.clone(),
            copy,
        }
    }
}

struct Planner<'a> {
    target: &'a Target,
    world: &'a World<'a>,
    planned: Vec<PlannedResource>,
}

impl Planner<'_> {
    /// The scope of a (nested) template, and its parameters as a `GET` shows them.
    fn scope(
        &self,
        template: &Value,
        provided: &Value,
        group: &SimResourceGroup,
        depth: usize,
    ) -> Result<(Scope, Map<String, Value>), ErrorDetail> {
        if !template.is_object() {
            return Err(invalid_template(
                "The template must be a JSON object.",
                "properties.template",
            ));
        }
        let declared = template
            .get("parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let provided = provided.as_object().cloned().unwrap_or_default();
        let unknown: Vec<&str> = provided
            .keys()
            .filter(|name| {
                !declared
                    .keys()
                    .any(|known| known.eq_ignore_ascii_case(name))
            })
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            return Err(invalid_template(
                &format!(
                    "The template parameters '{}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-pass-parameter-values for usage details.",
                    unknown.join(", "),
                    known.join(", ")
                ),
                "properties.parameters",
            ));
        }
        let mut scope = Scope {
            group: group.clone(),
            deployment: self.target.deployment.clone(),
            parameters: Map::new(),
            variables: template
                .get("variables")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            copy: Vec::new(),
        };
        let mut shown = Map::new();
        for (name, declaration) in &declared {
            let path = format!("properties.template.parameters.{name}");
            let kind = declaration
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let given = provided
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value);
            let value = match given {
                Some(entry) => match entry.get("value") {
                    Some(value) => value.clone(),
                    None => {
                        return Err(invalid_template(
                            &format!(
                                "The value for the template parameter '{name}' is not provided: the simulator takes parameters as {{\"value\": ...}} only, not Key Vault references."
                            ),
                            &path,
                        ));
                    }
                },
                None => match declaration.get("defaultValue") {
                    Some(default) => self
                        .eval_value(default, &scope, depth)
                        .map_err(|error| error.into_detail(&path))?,
                    None => {
                        return Err(invalid_template(
                            &format!(
                                "The value for the template parameter '{name}' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."
                            ),
                            &path,
                        ));
                    }
                },
            };
            check_type(name, kind, &value).map_err(|message| invalid_template(&message, &path))?;
            if let Some(allowed) = declaration.get("allowedValues").and_then(Value::as_array)
                && !allowed.contains(&value)
            {
                let list: Vec<String> = allowed.iter().map(display).collect();
                return Err(invalid_template(
                    &format!(
                        "The provided value '{}' for the template parameter '{name}' is not valid. The parameter value is not part of the allowed value(s): '{}'.",
                        display(&value),
                        list.join(",")
                    ),
                    &path,
                ));
            }
            if kind.to_ascii_lowercase().starts_with("secure") {
                shown.insert(name.clone(), json!({ "type": display_type(kind) }));
            } else {
                shown.insert(
                    name.clone(),
                    json!({ "type": display_type(kind), "value": value }),
                );
            }
            scope.parameters.insert(name.clone(), value);
        }
        Ok((scope, shown))
    }

    /// Plans a template's `resources` into `group`, retrying the ones that reference a
    /// resource planned later.
    fn resources(
        &mut self,
        template: &Value,
        scope: &Scope,
        group: &SimResourceGroup,
        depth: usize,
    ) -> Result<(), ErrorDetail> {
        let resources = match template.get("resources") {
            None => return Ok(()),
            Some(Value::Array(resources)) => resources.clone(),
            Some(_) => {
                return Err(invalid_template(
                    "The simulator takes 'resources' as an array only (no symbolic names).",
                    "properties.template.resources",
                ));
            }
        };
        let mut pending: Vec<(usize, Value)> = resources.into_iter().enumerate().collect();
        loop {
            let mut deferred = Vec::new();
            let before = pending.len();
            for (index, resource) in pending {
                let mark = self.planned.len();
                match self.resource(&resource, scope, group, depth) {
                    Ok(()) => {}
                    Err(EvalError::Invalid(message)) => {
                        return Err(invalid_template(
                            &message,
                            &format!("properties.template.resources[{index}]"),
                        ));
                    }
                    Err(EvalError::NotFound(detail)) => {
                        self.planned.truncate(mark);
                        deferred.push((index, resource, detail));
                    }
                }
            }
            if deferred.is_empty() {
                return Ok(());
            }
            if deferred.len() == before {
                for (_, resource, detail) in deferred {
                    self.record_failure(&resource, scope, group, detail);
                }
                return Ok(());
            }
            pending = deferred
                .into_iter()
                .map(|(index, resource, _)| (index, resource))
                .collect();
        }
    }

    /// Plans one resource declaration: its condition, copies and nested deployment.
    fn resource(
        &mut self,
        resource: &Value,
        scope: &Scope,
        group: &SimResourceGroup,
        depth: usize,
    ) -> Eval<()> {
        let Some(declaration) = resource.as_object() else {
            return Err(EvalError::Invalid(
                "A template resource must be a JSON object.".to_owned(),
            ));
        };
        if let Some(copy) = declaration.get("copy") {
            let name = copy
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| EvalError::Invalid("The copy loop has no 'name'.".to_owned()))?;
            let count = self.eval_value(copy.get("count").unwrap_or(&Value::Null), scope, depth)?;
            let count = count.as_i64().ok_or_else(|| {
                EvalError::Invalid(format!(
                    "The copy count of loop '{name}' must be an integer, not '{}'.",
                    display(&count)
                ))
            })?;
            for index in 0..count.max(0) {
                self.instance(declaration, &scope.with_copy(name, index), group, depth)?;
            }
            return Ok(());
        }
        self.instance(declaration, scope, group, depth)
    }

    fn instance(
        &mut self,
        declaration: &Map<String, Value>,
        scope: &Scope,
        group: &SimResourceGroup,
        depth: usize,
    ) -> Eval<()> {
        if let Some(condition) = declaration.get("condition") {
            let condition = self.eval_value(condition, scope, depth)?;
            if condition == Value::Bool(false) {
                return Ok(());
            }
        }
        let resource_type = self.eval_string(declaration.get("type"), scope, depth, "type")?;
        let nested = resource_type.eq_ignore_ascii_case(DEPLOYMENT_TYPE);
        let mut body = Map::new();
        for (key, value) in declaration {
            match key.as_str() {
                "copy" | "condition" | "dependsOn" | "comments" => {}
                "properties" if nested => {
                    let mut properties = Map::new();
                    for (key, value) in value.as_object().into_iter().flatten() {
                        if key == "template" {
                            properties.insert(key.clone(), value.clone());
                        } else {
                            properties.insert(key.clone(), self.eval_value(value, scope, depth)?);
                        }
                    }
                    body.insert(key.clone(), Value::Object(properties));
                }
                _ => {
                    body.insert(key.clone(), self.eval_value(value, scope, depth)?);
                }
            }
        }
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                EvalError::Invalid(format!(
                    "The resource of type '{resource_type}' has no 'name'."
                ))
            })?
            .to_owned();
        let placement = match body.get("resourceGroup").and_then(Value::as_str) {
            Some(other) if nested => match (self.world.group)(other) {
                Some(found) => found,
                None => {
                    return Err(EvalError::NotFound(ErrorDetail::new(
                        "ResourceGroupNotFound",
                        &format!("Resource group '{other}' could not be found."),
                    )));
                }
            },
            _ => group.clone(),
        };
        let id = match body.get("scope").and_then(Value::as_str) {
            Some(parent) => extension_id(parent, &resource_type, &name)?,
            None => group_resource_id(
                &self.target.subscription,
                &placement.name,
                &resource_type,
                &name,
            )?,
        };
        let depends_on = declaration
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| self.eval_value(item, scope, depth).ok())
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect();
        let full = self.full(&id, &resource_type, &body);
        let template = body
            .get("properties")
            .and_then(|properties| properties.get("template"))
            .cloned();
        let mut stored = body.clone();
        if let Some(properties) = stored.get_mut("properties").and_then(Value::as_object_mut) {
            properties.remove("template");
        }
        self.planned.push(PlannedResource {
            id,
            resource_type,
            name,
            resource_group: placement.name.clone(),
            body: Value::Object(stored),
            full,
            failure: None,
            depends_on,
        });
        if let Some(template) = template.filter(|_| nested) {
            if depth >= MAX_DEPTH {
                return Err(EvalError::Invalid(
                    "Nested deployments go too deep.".to_owned(),
                ));
            }
            let properties = body.get("properties").cloned().unwrap_or_default();
            let inner = properties
                .pointer("/expressionEvaluationOptions/scope")
                .and_then(Value::as_str)
                .is_some_and(|scope| scope.eq_ignore_ascii_case("inner"));
            let result = if inner {
                let parameters = properties.get("parameters").cloned().unwrap_or_default();
                let nested_scope = self
                    .scope(&template, &parameters, &placement, depth + 1)
                    .map(|(mut nested, _)| {
                        nested.deployment.clone_from(&body_name(&body));
                        nested
                    });
                match nested_scope {
                    Ok(nested_scope) => {
                        self.resources(&template, &nested_scope, &placement, depth + 1)
                    }
                    Err(error) => Err(error),
                }
            } else {
                self.resources(&template, scope, &placement, depth + 1)
            };
            result.map_err(|detail| EvalError::Invalid(unwrap_validation(&detail)))?;
        }
        Ok(())
    }

    /// A resource that could not be evaluated, recorded as a failed operation.
    fn record_failure(
        &mut self,
        resource: &Value,
        scope: &Scope,
        group: &SimResourceGroup,
        detail: ErrorDetail,
    ) {
        let resource_type = self
            .eval_string(resource.get("type"), scope, 0, "type")
            .unwrap_or_default();
        let name = self
            .eval_string(resource.get("name"), scope, 0, "name")
            .unwrap_or_default();
        let id = group_resource_id(
            &self.target.subscription,
            &group.name,
            &resource_type,
            &name,
        )
        .unwrap_or_default();
        self.planned.push(PlannedResource {
            failure: Some(detail.with_target(&id)),
            id,
            resource_type,
            name,
            resource_group: group.name.clone(),
            body: Value::Null,
            full: Value::Null,
            depends_on: Vec::new(),
        });
    }

    /// What `reference(..., 'Full')` returns for a planned resource: its declaration with
    /// the id, a system-assigned identity's ids and `provisioningState`.
    fn full(&self, id: &str, resource_type: &str, body: &Map<String, Value>) -> Value {
        let mut full = body.clone();
        full.insert("id".to_owned(), json!(id));
        full.insert("type".to_owned(), json!(resource_type));
        if let Some(identity) = full.get_mut("identity").and_then(Value::as_object_mut)
            && identity
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.to_ascii_lowercase().contains("systemassigned"))
        {
            let existing = (self.world.resource)(id);
            let kept = |field: &str| {
                existing
                    .as_ref()
                    .and_then(|resource| resource.pointer(&format!("/identity/{field}")))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let principal = kept("principalId")
                .unwrap_or_else(|| ident::stable_guid(&format!("{}/identity", id.to_lowercase())));
            identity.insert("principalId".to_owned(), json!(principal));
            identity.insert(
                "tenantId".to_owned(),
                json!(kept("tenantId").unwrap_or_else(|| self.target.tenant.clone())),
            );
        }
        let properties = full
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert("provisioningState".to_owned(), json!("Succeeded"));
        }
        let mut full = Value::Object(full);
        strip_secrets(&mut full);
        full
    }

    fn eval_string(
        &self,
        value: Option<&Value>,
        scope: &Scope,
        depth: usize,
        field: &str,
    ) -> Eval<String> {
        let value = self.eval_value(value.unwrap_or(&Value::Null), scope, depth)?;
        match value {
            Value::String(text) => Ok(text),
            other => Err(EvalError::Invalid(format!(
                "The resource '{field}' must be a string, not '{}'.",
                display(&other)
            ))),
        }
    }

    /// Evaluates every expression in a JSON value, expanding property `copy` arrays.
    fn eval_value(&self, value: &Value, scope: &Scope, depth: usize) -> Eval<Value> {
        match value {
            Value::String(text) => match expr::classify(text) {
                TemplateString::Literal(text) => Ok(Value::String(text.into_owned())),
                TemplateString::Expression(inner) => {
                    let parsed = expr::parse(inner).map_err(EvalError::Invalid)?;
                    self.eval(&parsed, scope, depth)
                }
            },
            Value::Array(items) => items
                .iter()
                .map(|item| self.eval_value(item, scope, depth))
                .collect::<Eval<Vec<Value>>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, value) in map {
                    if key == "copy"
                        && let Value::Array(loops) = value
                    {
                        for copy in loops {
                            let (name, items) = self.property_copy(copy, scope, depth)?;
                            out.insert(name, Value::Array(items));
                        }
                        continue;
                    }
                    out.insert(key.clone(), self.eval_value(value, scope, depth)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// A property `copy` entry `{name, count, input}`: the property and its items.
    fn property_copy(
        &self,
        copy: &Value,
        scope: &Scope,
        depth: usize,
    ) -> Eval<(String, Vec<Value>)> {
        let name = copy
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| EvalError::Invalid("A property copy has no 'name'.".to_owned()))?;
        let count = self
            .eval_value(copy.get("count").unwrap_or(&Value::Null), scope, depth)?
            .as_i64()
            .ok_or_else(|| {
                EvalError::Invalid(format!(
                    "The copy count of property '{name}' must be an integer."
                ))
            })?;
        let input = copy.get("input").unwrap_or(&Value::Null);
        let items = (0..count.max(0))
            .map(|index| self.eval_value(input, &scope.with_copy(name, index), depth))
            .collect::<Eval<Vec<Value>>>()?;
        Ok((name.to_owned(), items))
    }

    fn eval(&self, expr: &Expr, scope: &Scope, depth: usize) -> Eval<Value> {
        match expr {
            Expr::String(text) => Ok(json!(text)),
            Expr::Integer(number) => Ok(json!(number)),
            Expr::Bool(flag) => Ok(json!(flag)),
            Expr::Null => Ok(Value::Null),
            Expr::Property { of, name } => property(&self.eval(of, scope, depth)?, name),
            Expr::Index { of, index } => {
                let of = self.eval(of, scope, depth)?;
                let index = self.eval(index, scope, depth)?;
                match (&of, &index) {
                    (Value::Array(items), Value::Number(number)) => number
                        .as_u64()
                        .and_then(|at| items.get(usize::try_from(at).ok()?))
                        .cloned()
                        .ok_or_else(|| {
                            EvalError::Invalid(format!(
                                "The language expression index '{number}' is out of bounds of an array of {} items.",
                                items.len()
                            ))
                        }),
                    (Value::Object(_), Value::String(name)) => property(&of, name),
                    _ => Err(EvalError::Invalid(format!(
                        "The language expression cannot index a '{}' with a '{}'.",
                        kind_of(&of),
                        kind_of(&index)
                    ))),
                }
            }
            Expr::Call { function, args } => self.call(function, args, scope, depth),
        }
    }

    fn call(&self, function: &str, args: &[Expr], scope: &Scope, depth: usize) -> Eval<Value> {
        let lower = function.to_ascii_lowercase();
        // `if` evaluates only the branch it takes.
        if lower == "if" {
            let [condition, yes, no] = args else {
                return Err(arity(function, "3"));
            };
            return match self.eval(condition, scope, depth)? {
                Value::Bool(true) => self.eval(yes, scope, depth),
                Value::Bool(false) => self.eval(no, scope, depth),
                other => Err(EvalError::Invalid(format!(
                    "The template language function 'if' expects its first parameter to be a boolean, not '{}'.",
                    kind_of(&other)
                ))),
            };
        }
        let values = args
            .iter()
            .map(|arg| self.eval(arg, scope, depth))
            .collect::<Eval<Vec<Value>>>()?;
        let string_arg = |at: usize| -> Eval<&str> {
            values.get(at).and_then(Value::as_str).ok_or_else(|| {
                EvalError::Invalid(format!(
                    "The template language function '{function}' expects its parameter {} to be a string.",
                    at + 1
                ))
            })
        };
        let count = |wanted: std::ops::RangeInclusive<usize>, text: &str| -> Eval<()> {
            if wanted.contains(&values.len()) {
                Ok(())
            } else {
                Err(arity(function, text))
            }
        };
        match lower.as_str() {
            "parameters" => {
                count(1..=1, "1")?;
                let name = string_arg(0)?;
                scope
                    .parameters
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.clone())
                    .ok_or_else(|| {
                        EvalError::Invalid(format!(
                            "The template parameter '{name}' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details."
                        ))
                    })
            }
            "variables" => {
                count(1..=1, "1")?;
                let name = string_arg(0)?;
                let raw = scope
                    .variables
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.clone())
                    .ok_or_else(|| {
                        EvalError::Invalid(format!(
                            "The template variable '{name}' is not found. Please see https://aka.ms/arm-syntax-variables for usage details."
                        ))
                    })?;
                if depth >= MAX_DEPTH {
                    return Err(EvalError::Invalid(format!(
                        "The template variable '{name}' refers to itself."
                    )));
                }
                self.eval_value(&raw, scope, depth + 1)
            }
            "concat" => {
                if values.iter().all(Value::is_array) && !values.is_empty() {
                    Ok(Value::Array(
                        values
                            .iter()
                            .flat_map(|value| value.as_array().cloned().unwrap_or_default())
                            .collect(),
                    ))
                } else {
                    Ok(json!(values.iter().map(display).collect::<String>()))
                }
            }
            "format" => {
                let text = string_arg(0)?;
                format_composite(text, &values[1..]).map(Value::String)
            }
            "resourcegroup" => {
                count(0..=0, "0")?;
                let group = &scope.group;
                Ok(json!({
                    "id": format!("/subscriptions/{}/resourceGroups/{}", self.target.subscription, group.name),
                    "name": group.name,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": group.location,
                    "tags": group.tags,
                    "properties": { "provisioningState": "Succeeded" },
                }))
            }
            "subscription" => {
                count(0..=0, "0")?;
                Ok(json!({
                    "id": format!("/subscriptions/{}", self.target.subscription),
                    "subscriptionId": self.target.subscription,
                    "tenantId": self.target.tenant,
                    "displayName": "azcord simulated subscription",
                }))
            }
            "deployment" => {
                count(0..=0, "0")?;
                Ok(json!({
                    "name": scope.deployment,
                    "properties": { "templateLink": null },
                }))
            }
            "resourceid" => {
                let texts = strings(function, &values)?;
                let at = texts
                    .iter()
                    .position(|text| text.contains('/'))
                    .ok_or_else(|| arity(function, "a resource type"))?;
                let (subscription, group) = match &texts[..at] {
                    [] => (self.target.subscription.as_str(), scope.group.name.as_str()),
                    [group] => (self.target.subscription.as_str(), *group),
                    [subscription, group] => (*subscription, *group),
                    _ => return Err(arity(function, "at most 2 before the resource type")),
                };
                let path = provider_path(texts[at], &texts[at + 1..])?;
                Ok(json!(format!(
                    "/subscriptions/{subscription}/resourceGroups/{group}/providers/{path}"
                )))
            }
            "subscriptionresourceid" => {
                let texts = strings(function, &values)?;
                let at = texts
                    .iter()
                    .position(|text| text.contains('/'))
                    .ok_or_else(|| arity(function, "a resource type"))?;
                let subscription = match &texts[..at] {
                    [] => self.target.subscription.as_str(),
                    [subscription] => *subscription,
                    _ => return Err(arity(function, "at most 1 before the resource type")),
                };
                let path = provider_path(texts[at], &texts[at + 1..])?;
                Ok(json!(format!(
                    "/subscriptions/{subscription}/providers/{path}"
                )))
            }
            "extensionresourceid" => {
                let texts = strings(function, &values)?;
                let [parent, resource_type, names @ ..] = texts.as_slice() else {
                    return Err(arity(function, "at least 3"));
                };
                let path = provider_path(resource_type, names)?;
                Ok(json!(format!("{parent}/providers/{path}")))
            }
            "guid" => {
                let texts = strings(function, &values)?;
                if texts.is_empty() {
                    return Err(arity(function, "at least 1"));
                }
                Ok(json!(ident::stable_guid(&texts.join("-"))))
            }
            "uniquestring" => {
                let texts = strings(function, &values)?;
                let mut number = ident::stable_number(&texts.join("-"));
                let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
                let mut out = String::new();
                for _ in 0..13 {
                    out.push(char::from(
                        alphabet[usize::try_from(number % 32).unwrap_or(0)],
                    ));
                    number /= 32;
                }
                Ok(json!(out))
            }
            "reference" => {
                count(1..=3, "1 to 3")?;
                let target = string_arg(0)?;
                let full = values
                    .get(2)
                    .and_then(Value::as_str)
                    .is_some_and(|mode| mode.eq_ignore_ascii_case("full"));
                let found = self.lookup(target, scope)?;
                Ok(if full {
                    found
                } else {
                    found.get("properties").cloned().unwrap_or(Value::Null)
                })
            }
            "copyindex" => {
                let (name, offset) = match values.as_slice() {
                    [] => (None, 0),
                    [Value::Number(offset)] => (None, offset.as_i64().unwrap_or(0)),
                    [Value::String(name)] => (Some(name.as_str()), 0),
                    [Value::String(name), Value::Number(offset)] => {
                        (Some(name.as_str()), offset.as_i64().unwrap_or(0))
                    }
                    _ => return Err(arity(function, "a loop name and/or an offset")),
                };
                let index = match name {
                    None => scope.copy.last().map(|(_, index)| *index),
                    Some(name) => scope
                        .copy
                        .iter()
                        .rev()
                        .find(|(loop_name, _)| loop_name.eq_ignore_ascii_case(name))
                        .map(|(_, index)| *index),
                }
                .ok_or_else(|| {
                    EvalError::Invalid(
                        "The template function 'copyIndex' is not expected at this location. Please see https://aka.ms/arm-copy for usage details.".to_owned(),
                    )
                })?;
                Ok(json!(index + offset))
            }
            "length" => {
                count(1..=1, "1")?;
                match &values[0] {
                    Value::String(text) => Ok(json!(text.chars().count())),
                    Value::Array(items) => Ok(json!(items.len())),
                    Value::Object(map) => Ok(json!(map.len())),
                    other => Err(EvalError::Invalid(format!(
                        "The template language function 'length' expects an array, object or string, not '{}'.",
                        kind_of(other)
                    ))),
                }
            }
            "tolower" => Ok(json!(string_arg(0)?.to_lowercase())),
            "toupper" => Ok(json!(string_arg(0)?.to_uppercase())),
            "string" => {
                count(1..=1, "1")?;
                Ok(json!(display(&values[0])))
            }
            "int" => {
                count(1..=1, "1")?;
                match &values[0] {
                    Value::Number(number) => Ok(json!(number.as_i64().unwrap_or_default())),
                    Value::String(text) => text.trim().parse::<i64>().map(|n| json!(n)).map_err(|_| {
                        EvalError::Invalid(format!("The template language function 'int' cannot convert '{text}' to an integer."))
                    }),
                    other => Err(EvalError::Invalid(format!("The template language function 'int' cannot convert a '{}'.", kind_of(other)))),
                }
            }
            "json" => {
                let text = string_arg(0)?;
                serde_json::from_str(text).map_err(|error| {
                    EvalError::Invalid(format!(
                        "The template language function 'json' got invalid JSON: {error}."
                    ))
                })
            }
            "equals" => {
                count(2..=2, "2")?;
                Ok(json!(values[0] == values[1]))
            }
            "empty" => {
                count(1..=1, "1")?;
                Ok(json!(match &values[0] {
                    Value::Null => true,
                    Value::String(text) => text.is_empty(),
                    Value::Array(items) => items.is_empty(),
                    Value::Object(map) => map.is_empty(),
                    _ => false,
                }))
            }
            "not" => match values.as_slice() {
                [Value::Bool(flag)] => Ok(json!(!flag)),
                _ => Err(arity(function, "1 boolean")),
            },
            "and" | "or" => {
                let flags = values
                    .iter()
                    .map(Value::as_bool)
                    .collect::<Option<Vec<bool>>>()
                    .filter(|flags| flags.len() >= 2)
                    .ok_or_else(|| arity(function, "at least 2 booleans"))?;
                Ok(json!(if lower == "and" {
                    flags.iter().all(|flag| *flag)
                } else {
                    flags.iter().any(|flag| *flag)
                }))
            }
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            "null" => Ok(Value::Null),
            "coalesce" => Ok(values
                .into_iter()
                .find(|value| !value.is_null())
                .unwrap_or(Value::Null)),
            "createarray" => Ok(Value::Array(values)),
            "createobject" => {
                if values.len() % 2 != 0 {
                    return Err(arity(function, "an even number"));
                }
                let mut map = Map::new();
                for pair in values.chunks(2) {
                    let key = pair[0]
                        .as_str()
                        .ok_or_else(|| arity(function, "string keys"))?;
                    map.insert(key.to_owned(), pair[1].clone());
                }
                Ok(Value::Object(map))
            }
            "union" => {
                if values.iter().all(Value::is_object) {
                    let mut map = Map::new();
                    for value in &values {
                        for (key, item) in value.as_object().into_iter().flatten() {
                            map.insert(key.clone(), item.clone());
                        }
                    }
                    Ok(Value::Object(map))
                } else if values.iter().all(Value::is_array) {
                    let mut items: Vec<Value> = Vec::new();
                    for item in values
                        .iter()
                        .flat_map(|value| value.as_array().cloned().unwrap_or_default())
                    {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                    Ok(Value::Array(items))
                } else {
                    Err(arity(function, "all objects or all arrays"))
                }
            }
            "contains" => {
                count(2..=2, "2")?;
                Ok(json!(match (&values[0], &values[1]) {
                    (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                    (Value::Array(items), item) => items.contains(item),
                    (Value::Object(map), Value::String(key)) => map.contains_key(key),
                    _ => false,
                }))
            }
            "replace" => {
                count(3..=3, "3")?;
                Ok(json!(
                    string_arg(0)?.replace(string_arg(1)?, string_arg(2)?)
                ))
            }
            "split" => {
                count(2..=2, "2")?;
                Ok(json!(
                    string_arg(0)?.split(string_arg(1)?).collect::<Vec<_>>()
                ))
            }
            "join" => {
                count(2..=2, "2")?;
                let items = values[0]
                    .as_array()
                    .ok_or_else(|| arity(function, "an array first"))?;
                Ok(json!(
                    items
                        .iter()
                        .map(display)
                        .collect::<Vec<_>>()
                        .join(string_arg(1)?)
                ))
            }
            "first" | "last" => {
                count(1..=1, "1")?;
                let pick = |items: &[Value]| {
                    if lower == "first" {
                        items.first().cloned()
                    } else {
                        items.last().cloned()
                    }
                };
                Ok(match &values[0] {
                    Value::Array(items) => pick(items).unwrap_or(Value::Null),
                    Value::String(text) => {
                        let chars: Vec<Value> =
                            text.chars().map(|c| json!(c.to_string())).collect();
                        pick(&chars).unwrap_or_else(|| json!(""))
                    }
                    _ => return Err(arity(function, "an array or a string")),
                })
            }
            _ => Err(EvalError::Invalid(format!(
                "The template function '{function}' is not known to the simulator (an unknown function fails here so that nothing is silently ignored). Please see https://aka.ms/arm-functions for usage details."
            ))),
        }
    }

    /// The full JSON of the resource `target` names: an id, or the name of a resource
    /// planned in this deployment.
    fn lookup(&self, target: &str, scope: &Scope) -> Eval<Value> {
        let planned = self.planned.iter().rev().find(|resource| {
            resource.failure.is_none()
                && (resource.id.eq_ignore_ascii_case(target)
                    || (!target.starts_with('/') && resource.name.eq_ignore_ascii_case(target)))
        });
        if let Some(resource) = planned {
            return Ok(resource.full.clone());
        }
        if target.starts_with('/')
            && let Some(found) = (self.world.resource)(target)
        {
            return Ok(found);
        }
        Err(EvalError::NotFound(not_found(target, &scope.group.name)))
    }
}

/// Removes what a resource provider never returns (ACI's `secureValue`s and registry
/// passwords), since `reference()` reads the resource as a `GET` would.
fn strip_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("secureValue");
            map.remove("password");
            map.values_mut().for_each(strip_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_secrets),
        _ => {}
    }
}

/// ARM's `ResourceNotFound` for an id (or a bare name in `group`).
fn not_found(target: &str, group: &str) -> ErrorDetail {
    let (group, resource) = match target.split_once("/providers/") {
        Some((prefix, rest)) => (
            prefix.rsplit('/').next().unwrap_or(group).to_owned(),
            rest.to_owned(),
        ),
        None => (group.to_owned(), target.to_owned()),
    };
    ErrorDetail::new(
        "ResourceNotFound",
        &format!(
            "The Resource '{resource}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// `of.name`, matching the name in any case as ARM does.
fn property(of: &Value, name: &str) -> Eval<Value> {
    let Value::Object(map) = of else {
        return Err(EvalError::Invalid(format!(
            "The language expression property '{name}' can't be evaluated, property name must be accessed on an object, not '{}'.",
            kind_of(of)
        )));
    };
    map.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
        .ok_or_else(|| {
            let available: Vec<&str> = map.keys().map(String::as_str).collect();
            EvalError::Invalid(format!(
                "The language expression property '{name}' doesn't exist, available properties are '{}'.",
                available.join(", ")
            ))
        })
}

fn body_name(body: &Map<String, Value>) -> String {
    body.get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The message inside an `InvalidTemplate` detail, to re-wrap it with an outer path.
fn unwrap_validation(detail: &ErrorDetail) -> String {
    detail
        .message
        .strip_prefix("Deployment template validation failed: '")
        .and_then(|rest| rest.strip_suffix("'."))
        .unwrap_or(&detail.message)
        .to_owned()
}

fn arity(function: &str, wanted: &str) -> EvalError {
    EvalError::Invalid(format!(
        "Unable to evaluate template language function '{function}': it expects {wanted} parameter(s). Please see https://aka.ms/arm-functions for usage details."
    ))
}

fn strings<'v>(function: &str, values: &'v [Value]) -> Eval<Vec<&'v str>> {
    values
        .iter()
        .map(|value| {
            value.as_str().ok_or_else(|| {
                EvalError::Invalid(format!(
                    "The template language function '{function}' expects string parameters, not '{}'.",
                    kind_of(value)
                ))
            })
        })
        .collect()
}

/// `Microsoft.X/a/b` with names `n1`, `n2` → `Microsoft.X/a/n1/b/n2`.
fn provider_path(resource_type: &str, names: &[&str]) -> Eval<String> {
    let segments: Vec<&str> = resource_type.split('/').collect();
    let Some((namespace, types)) = segments.split_first() else {
        return Err(EvalError::Invalid(format!(
            "The resource type '{resource_type}' is not valid."
        )));
    };
    let names: Vec<&str> = names.iter().flat_map(|name| name.split('/')).collect();
    if types.len() != names.len() || types.is_empty() {
        return Err(EvalError::Invalid(format!(
            "Unable to evaluate the template language function 'resourceId': the type '{resource_type}' requires '{}' resource name argument(s).",
            types.len()
        )));
    }
    let mut path = (*namespace).to_owned();
    for (kind, name) in types.iter().zip(names) {
        path.push_str(&format!("/{kind}/{name}"));
    }
    Ok(path)
}

fn group_resource_id(
    subscription: &str,
    group: &str,
    resource_type: &str,
    name: &str,
) -> Eval<String> {
    let path = provider_path(resource_type, &[name])?;
    Ok(format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/{path}"
    ))
}

fn extension_id(parent: &str, resource_type: &str, name: &str) -> Eval<String> {
    let path = provider_path(resource_type, &[name])?;
    Ok(format!("{}/providers/{path}", parent.trim_end_matches('/')))
}

/// .NET composite formatting as `format()` does it: `{0}`, `{1:...}`, `{{` and `}}`.
fn format_composite(text: &str, args: &[Value]) -> Eval<String> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut inside = String::new();
                for next in chars.by_ref() {
                    if next == '}' {
                        break;
                    }
                    inside.push(next);
                }
                let index: usize = inside
                    .split([':', ','])
                    .next()
                    .and_then(|number| number.trim().parse().ok())
                    .ok_or_else(|| {
                        EvalError::Invalid(format!("The format string '{text}' is not valid."))
                    })?;
                let arg = args.get(index).ok_or_else(|| {
                    EvalError::Invalid(format!(
                        "The format string '{text}' refers to argument {index}, but only {} were given.",
                        args.len()
                    ))
                })?;
                out.push_str(&display(arg));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// A value as `string()` and `concat()` write it.
fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// A parameter type as deployments show it: `String`, `SecureString`, `Int`, ...
fn display_type(kind: &str) -> String {
    match kind.to_ascii_lowercase().as_str() {
        "string" => "String",
        "securestring" => "SecureString",
        "int" => "Int",
        "bool" => "Bool",
        "object" => "Object",
        "secureobject" => "SecureObject",
        "array" => "Array",
        _ => kind,
    }
    .to_owned()
}

/// ARM's check of a parameter value against its declared type.
fn check_type(name: &str, kind: &str, value: &Value) -> Result<(), String> {
    let (fits, expected) = match kind.to_ascii_lowercase().as_str() {
        "string" | "securestring" => (value.is_string(), "String, Uri"),
        "int" => (value.is_i64() || value.is_u64(), "Integer"),
        "bool" => (value.is_boolean(), "Boolean"),
        "object" | "secureobject" => (value.is_object(), "Object"),
        "array" => (value.is_array(), "Array"),
        _ => {
            return Err(format!(
                "The template parameter '{name}' has type '{kind}', which is not one of 'string, securestring, int, bool, object, secureObject, array'."
            ));
        }
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "Template parameter JToken type is not valid. Expected '{expected}'. Actual '{}'. Please see https://aka.ms/resource-manager-parameter-files for usage details.",
            kind_of(value)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            subscription: "sub".to_owned(),
            tenant: "tenant".to_owned(),
            group: SimResourceGroup::new("delivery", "westeurope"),
            deployment: "azcord-1".to_owned(),
        }
    }

    fn plan_of(template: &Value, parameters: &Value) -> Result<Plan, ErrorDetail> {
        let nothing = |_: &str| None;
        let groups = |name: &str| {
            name.eq_ignore_ascii_case("other")
                .then(|| SimResourceGroup::new("other", "northeurope"))
        };
        plan(
            template,
            parameters,
            &target(),
            &World {
                resource: &nothing,
                group: &groups,
            },
        )
    }

    /// Evaluates one expression in a template with parameters `a` = "Web", `n` = 2 and
    /// variables `list` = ["x", "y"], `obj` = {"k": "v"}.
    fn eval(expression: &str) -> Result<Value, String> {
        let template = json!({
            "parameters": {
                "a": { "type": "string" },
                "n": { "type": "int", "defaultValue": 2 },
            },
            "variables": { "list": ["x", "y"], "obj": { "k": "v" }, "derived": "[concat(parameters('a'), '-', variables('obj').k)]" },
            "outputs": { "out": { "type": "object", "value": { "v": expression } } },
        });
        plan_of(&template, &json!({ "a": { "value": "Web" } }))
            .map(|plan| plan.outputs["out"]["value"]["v"].clone())
            .map_err(|error| error.message)
    }

    #[test]
    fn functions_evaluate_as_arm_does() {
        let cases = [
            ("[parameters('a')]", json!("Web")),
            ("[parameters('N')]", json!(2)),
            ("[variables('derived')]", json!("Web-v")),
            ("[concat('a', parameters('n'), true())]", json!("a2True")),
            (
                "[concat(variables('list'), createArray('z'))]",
                json!(["x", "y", "z"]),
            ),
            ("[format('{0}-{1}{{x}}', 'a', 3)]", json!("a-3{x}")),
            ("[resourceGroup().name]", json!("delivery")),
            ("[resourceGroup().location]", json!("westeurope")),
            ("[subscription().subscriptionId]", json!("sub")),
            (
                "[resourceId('Microsoft.ContainerInstance/containerGroups', 'cg')]",
                json!(
                    "/subscriptions/sub/resourceGroups/delivery/providers/Microsoft.ContainerInstance/containerGroups/cg"
                ),
            ),
            (
                "[resourceId('other', 'Microsoft.Network/virtualNetworks/subnets', 'v', 's')]",
                json!(
                    "/subscriptions/sub/resourceGroups/other/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
                ),
            ),
            (
                "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac')]",
                json!(
                    "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/b24988ac"
                ),
            ),
            (
                "[extensionResourceId('/x/y', 'Microsoft.Authorization/locks', 'l')]",
                json!("/x/y/providers/Microsoft.Authorization/locks/l"),
            ),
            ("[length(variables('list'))]", json!(2)),
            ("[toLower(parameters('a'))]", json!("web")),
            ("[string(variables('obj'))]", json!("{\"k\":\"v\"}")),
            (
                "[if(equals(parameters('n'), 2), 'two', parameters('missing'))]",
                json!("two"),
            ),
            ("[empty('')]", json!(true)),
            ("[empty(variables('list'))]", json!(false)),
            ("[variables('list')[1]]", json!("y")),
            ("[variables('obj')['k']]", json!("v")),
            ("[equals(guid('a', 'b'), guid('a', 'b'))]", json!(true)),
            ("[[literal]", json!("[literal]")),
        ];
        for (expression, expected) in cases {
            assert_eq!(eval(expression), Ok(expected), "{expression}");
        }
    }

    #[test]
    fn unknown_names_are_invalid_templates() {
        let cases = [
            (
                "[parameters('missing')]",
                "The template parameter 'missing' is not found.",
            ),
            (
                "[variables('missing')]",
                "The template variable 'missing' is not found.",
            ),
            (
                "[listKeys('x', '2024')]",
                "The template function 'listKeys' is not known to the simulator",
            ),
            (
                "[variables('obj').nope]",
                "The language expression property 'nope' doesn't exist, available properties are 'k'.",
            ),
            (
                "[copyIndex()]",
                "The template function 'copyIndex' is not expected at this location.",
            ),
            ("[concat('a']", "is not valid"),
        ];
        for (expression, wanted) in cases {
            let error = eval(expression).expect_err(expression);
            assert!(
                error.starts_with("Deployment template validation failed: '"),
                "{error}"
            );
            assert!(error.contains(wanted), "{expression}: {error}");
        }
    }

    #[test]
    fn parameters_are_checked_against_the_declaration() {
        let template = json!({ "parameters": {
            "image": { "type": "string" },
            "replicas": { "type": "int", "defaultValue": 1, "allowedValues": [1, 2] },
            "token": { "type": "securestring" },
        }});
        let cases = [
            (
                json!({ "token": { "value": "s" } }),
                "The value for the template parameter 'image' is not provided.",
            ),
            (
                json!({ "image": { "value": 3 }, "token": { "value": "s" } }),
                "Expected 'String, Uri'. Actual 'Integer'.",
            ),
            (
                json!({ "image": { "value": "i" }, "token": { "value": "s" }, "extra": { "value": 1 } }),
                "The template parameters 'extra' in the parameters file are not valid",
            ),
            (
                json!({ "image": { "value": "i" }, "token": { "value": "s" }, "replicas": { "value": 3 } }),
                "is not part of the allowed value(s): '1,2'",
            ),
        ];
        for (parameters, wanted) in cases {
            let error = plan_of(&template, &parameters).expect_err(wanted);
            assert_eq!(error.code, "InvalidTemplate");
            assert!(error.message.contains(wanted), "{}", error.message);
        }
        let plan = plan_of(
            &template,
            &json!({ "image": { "value": "i" }, "token": { "value": "s3cret" } }),
        )
        .unwrap();
        assert_eq!(
            Value::Object(plan.parameters),
            json!({
                "image": { "type": "String", "value": "i" },
                "replicas": { "type": "Int", "value": 1 },
                "token": { "type": "SecureString" },
            })
        );
    }

    #[test]
    fn copies_conditions_references_and_nested_deployments_are_planned() {
        let template = json!({
            "parameters": { "count": { "type": "int" } },
            "resources": [
                {
                    "type": "Microsoft.Authorization/roleAssignments",
                    "apiVersion": "2022-04-01",
                    "name": "[guid(resourceGroup().id, 'reader')]",
                    "dependsOn": ["[resourceId('Microsoft.ContainerInstance/containerGroups', 'bot')]"],
                    "properties": {
                        "principalId": "[reference(resourceId('Microsoft.ContainerInstance/containerGroups', 'bot'), '2023-05-01', 'Full').identity.principalId]",
                    },
                },
                {
                    "type": "Microsoft.ContainerInstance/containerGroups",
                    "apiVersion": "2023-05-01",
                    "name": "bot",
                    "location": "[resourceGroup().location]",
                    "identity": { "type": "SystemAssigned" },
                    "properties": { "containers": [] },
                },
                {
                    "type": "Microsoft.Storage/storageAccounts",
                    "name": "[concat('st', copyIndex(1))]",
                    "copy": { "name": "stores", "count": "[parameters('count')]" },
                    "properties": { "n": "[copyIndex('stores')]" },
                },
                {
                    "condition": false,
                    "type": "Microsoft.Storage/storageAccounts",
                    "name": "skipped",
                },
                {
                    "type": "Microsoft.Resources/deployments",
                    "apiVersion": "2022-09-01",
                    "name": "grant",
                    "resourceGroup": "other",
                    "properties": {
                        "mode": "Incremental",
                        "expressionEvaluationOptions": { "scope": "inner" },
                        "parameters": { "principal": { "value": "[reference('bot', '2023-05-01', 'Full').identity.principalId]" } },
                        "template": {
                            "parameters": { "principal": { "type": "string" } },
                            "resources": [{
                                "type": "Microsoft.Authorization/roleAssignments",
                                "name": "[guid(resourceGroup().id, parameters('principal'))]",
                                "properties": { "principalId": "[parameters('principal')]", "group": "[resourceGroup().name]" },
                            }],
                        },
                    },
                },
            ],
        });
        let plan = plan_of(&template, &json!({ "count": { "value": 2 } })).unwrap();
        let summary: Vec<(String, String, String)> = plan
            .resources
            .iter()
            .map(|resource| {
                (
                    resource.resource_type.clone(),
                    resource.name.clone(),
                    resource.resource_group.clone(),
                )
            })
            .collect();
        let principal = plan.resources[0].full["identity"]["principalId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(plan.resources[0].full["identity"]["tenantId"], "tenant");
        let guid = |seed: &str| ident::stable_guid(seed);
        assert_eq!(
            summary,
            [
                (
                    "Microsoft.ContainerInstance/containerGroups",
                    "bot",
                    "delivery"
                ),
                ("Microsoft.Storage/storageAccounts", "st1", "delivery"),
                ("Microsoft.Storage/storageAccounts", "st2", "delivery"),
                ("Microsoft.Resources/deployments", "grant", "other"),
                (
                    "Microsoft.Authorization/roleAssignments",
                    &*guid(&format!(
                        "/subscriptions/sub/resourceGroups/other-{principal}"
                    )),
                    "other"
                ),
                (
                    "Microsoft.Authorization/roleAssignments",
                    &*guid("/subscriptions/sub/resourceGroups/delivery-reader"),
                    "delivery"
                ),
            ]
            .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
        );
        assert_eq!(plan.resources[2].body["properties"]["n"], 1);
        assert_eq!(
            plan.resources[4].body["properties"],
            json!({ "principalId": principal, "group": "other" })
        );
        assert_eq!(
            plan.resources[5].body["properties"]["principalId"],
            json!(principal)
        );
        assert!(
            plan.resources
                .iter()
                .all(|resource| resource.failure.is_none())
        );
        assert!(
            plan.resources[3].body["properties"]
                .get("template")
                .is_none()
        );
    }

    #[test]
    fn a_reference_to_a_missing_resource_fails_that_resource_at_run_time() {
        let template = json!({ "resources": [{
            "type": "Microsoft.Authorization/roleAssignments",
            "name": "r",
            "properties": { "p": "[reference(resourceId('Microsoft.ContainerInstance/containerGroups', 'gone'), '2023-05-01', 'Full').identity]" },
        }]});
        let plan = plan_of(&template, &json!({})).unwrap();
        let failure = plan.resources[0].failure.clone().unwrap();
        assert_eq!(failure.code, "ResourceNotFound");
        assert!(
            failure.message.contains(
                "'Microsoft.ContainerInstance/containerGroups/gone' under resource group 'delivery'"
            ),
            "{}",
            failure.message
        );
        assert_eq!(
            failure.target.as_deref(),
            Some(plan.resources[0].id.as_str())
        );
    }
}
