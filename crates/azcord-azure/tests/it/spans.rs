//! Every ARM call has an `azure.arm` span named after its operation, with the status
//! and correlation id, and no log or span ever holds the token.

use std::sync::{Arc, Mutex};

use azcord_azure::{ResourceGroupName, VmAction, VmName};
use tracing::{
    Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

use crate::support::{connect_to, sim_config, start};

/// The fields of one span, in the order they were recorded.
type SpanFields = Vec<(String, String)>;

/// The fields of every `azure.arm` span, in the order the spans were created.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanFields>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

struct Index(usize);

/// Everything any span or event of any target and level says, as text.
#[derive(Clone, Default)]
pub(crate) struct Everything(Arc<Mutex<String>>);

impl Everything {
    /// What was said so far.
    pub(crate) fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    fn add(&self, record: impl FnOnce(&mut dyn Visit)) {
        let mut fields = Vec::new();
        record(&mut Fields(&mut fields));
        let mut text = self.0.lock().unwrap();
        for (name, value) in fields {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
}

impl<S: Subscriber> Layer<S> for Everything {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, _: &span::Id, _: Context<'_, S>) {
        self.add(|visit| attrs.record(visit));
    }

    fn on_record(&self, _: &span::Id, values: &span::Record<'_>, _: Context<'_, S>) {
        self.add(|visit| values.record(visit));
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        self.add(|visit| event.record(visit));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "azure.arm" {
            return;
        }
        let mut spans = self.0.lock().unwrap();
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        spans.push(fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Index(spans.len() - 1));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(Index(index)) = span.extensions().get::<Index>().map(|index| Index(index.0))
        else {
            return;
        };
        values.record(&mut Fields(&mut self.0.lock().unwrap()[index]));
    }
}

fn field<'a>(span: &'a [(String, String)], name: &str) -> Option<&'a str> {
    span.iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn arm_calls_have_spans_without_tokens() {
    let (spans, everything) = (Spans::default(), Everything::default());
    let _guard = tracing_subscriber::registry()
        .with(spans.clone())
        .with(everything.clone())
        .set_default();
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let group = ResourceGroupName::new("prod-data").unwrap();

    let pending = azure
        .vms
        .begin(&group, &VmName::new("db-2").unwrap(), VmAction::Start)
        .await
        .unwrap();
    azure.operations.poll(&pending).await.unwrap();
    sim.fail_next(1, 409, "Conflict", "busy");
    azure
        .vms
        .begin(&group, &VmName::new("db-1").unwrap(), VmAction::PowerOff)
        .await
        .unwrap_err();

    let spans = spans.0.lock().unwrap().clone();
    let summary: Vec<String> = spans
        .iter()
        .map(|span| {
            let get = |name| field(span, name).unwrap_or("-");
            format!(
                "{} | {} {} | {} | attempts {} | {} {}",
                get("otel.name"),
                get("azure.resource_group"),
                get("azure.resource"),
                get("http.response.status_code"),
                get("azure.attempts"),
                get("error.type"),
                get("azure.error_code"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "POST Microsoft.Compute/virtualMachines/start | prod-data db-2 | 202 | attempts 1 | - -",
            "GET Microsoft.Compute/locations/operations | - westeurope | 200 | attempts 1 | - -",
            "POST Microsoft.Compute/virtualMachines/powerOff | prod-data db-1 | 409 | attempts 1 | Refused Conflict",
        ]
    );
    for span in &spans {
        assert!(
            field(span, "azure.correlation_id").is_some_and(|id| id.len() >= 32),
            "{span:?}"
        );
        assert!(
            span.iter()
                .all(|(name, value)| !name.contains("auth") && !value.contains("Bearer")),
            "{span:?}"
        );
    }
    assert_eq!(field(&spans[2], "error.message"), Some("busy"));

    // azure_core logs each request at debug level with the `Authorization` header in
    // clear; azcord keeps the token out of the request it logs.
    let everything = everything.0.lock().unwrap();
    assert!(
        everything.contains("the following request will be passed to the transport policy"),
        "debug logs captured"
    );
    assert!(
        !everything.contains("Bearer sim."),
        "a token reached the logs"
    );
    assert!(everything.contains("Bearer <held by azcord until sent>"));
}
