//! What every ARM call shares: the subscription, the endpoint, the credential and the
//! pipeline, and an authenticated GET for URLs Azure hands out (operation polls).

use std::sync::Arc;

use azure_core::{
    Context, Method, Pipeline, Request, Url,
    auth::TokenCredential,
    headers::{AUTHORIZATION, CONTENT_TYPE, Headers},
};

use crate::{AzureError, AzureErrorKind, errors_map::map_error};

/// The parts of an ARM connection that azcord's own requests need.
pub(crate) struct Arm {
    pub(crate) subscription_id: String,
    pub(crate) endpoint: Url,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) scopes: Vec<String>,
    pub(crate) pipeline: Pipeline,
}

impl Arm {
    /// GETs an absolute URL on the Resource Manager endpoint through the pipeline, with
    /// a token from the credential the azure_mgmt clients use; answers the status,
    /// headers and body of a successful answer.
    pub(crate) async fn get_absolute(
        &self,
        url: &str,
    ) -> Result<(u16, Headers, Vec<u8>), AzureError> {
        let url = self.checked_url(url)?;
        self.send(Method::Get, url, None).await
    }

    /// Sends a request to `path` (from `/subscriptions/…`, with its query) on the
    /// Resource Manager endpoint, with a JSON `body` if given; answers the status,
    /// headers and body of a successful answer.
    pub(crate) async fn send_to_path(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Headers, Vec<u8>), AzureError> {
        let url = self.endpoint.join(path_and_query).map_err(|_| {
            AzureError::new(
                AzureErrorKind::Unexpected,
                format!(
                    "`{}` is not a Resource Manager path",
                    path_and_query.escape_default()
                ),
            )
        })?;
        self.send(method, url, body).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Headers, Vec<u8>), AzureError> {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let token = self
            .credential
            .get_token(&scopes)
            .await
            .map_err(|error| map_error(&error))?;
        let mut request = Request::new(url, method);
        request.insert_header(AUTHORIZATION, format!("Bearer {}", token.token.secret()));
        if let Some(body) = body {
            request.insert_header(CONTENT_TYPE, "application/json");
            request.set_body(body);
        }
        let response = self
            .pipeline
            .send(&Context::new(), &mut request)
            .await
            .map_err(|error| map_error(&error))?;
        let (status, headers, body) = response.deconstruct();
        let body = body.collect().await.map_err(|error| map_error(&error))?;
        Ok((status as u16, headers, body.to_vec()))
    }

    /// `url` parsed, if it is on the Resource Manager endpoint: the token must never
    /// go anywhere else, whatever a response header says.
    fn checked_url(&self, url: &str) -> Result<Url, AzureError> {
        let parsed = Url::parse(url).map_err(|_| {
            AzureError::new(
                AzureErrorKind::Unexpected,
                "azure sent an operation URL that is not a URL",
            )
        })?;
        if same_origin(&parsed, &self.endpoint) {
            Ok(parsed)
        } else {
            Err(AzureError::new(
                AzureErrorKind::Unexpected,
                format!(
                    "azure sent an operation URL on {}, not on the Resource Manager endpoint; it was not followed",
                    parsed.host_str().unwrap_or("no host")
                ),
            ))
        }
    }
}

pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;
    use crate::{config::RetrySettings, credentials::tests::FakeCredential, pipeline};

    /// An endpoint on loopback that counts its connections and drops them at once, or
    /// keeps them open without a word.
    async fn silent_endpoint(drop_at_once: bool) -> (Url, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                if !drop_at_once {
                    open.push(stream);
                }
            }
        });
        (url, connections)
    }

    fn arm(endpoint: &Url) -> Arm {
        let settings = RetrySettings {
            max_retries: 2,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            attempt_timeout: Duration::from_millis(100),
            ..RetrySettings::default()
        };
        let credential: Arc<dyn TokenCredential> = FakeCredential::new(Ok("token"));
        let scopes = vec!["scope".to_owned()];
        let options = pipeline::client_options(
            &settings,
            credential.clone(),
            scopes.clone(),
            azure_core::new_http_client(),
        );
        Arm {
            subscription_id: "sub".into(),
            endpoint: endpoint.clone(),
            credential,
            scopes,
            pipeline: pipeline::pipeline(options),
        }
    }

    #[tokio::test]
    async fn network_failures_are_retried_then_reported() {
        for (drop_at_once, message) in [
            (true, "could not reach Azure"),
            (false, "did not answer within 100 ms"),
        ] {
            let (endpoint, connections) = silent_endpoint(drop_at_once).await;
            let error = arm(&endpoint)
                .get_absolute(endpoint.join("operations/1").unwrap().as_str())
                .await
                .unwrap_err();
            assert_eq!(error.kind, AzureErrorKind::Transport, "{error}");
            assert!(error.message.contains(message), "{error}");
            assert_eq!(
                connections.load(Ordering::SeqCst),
                3,
                "the first attempt and two retries"
            );
        }
    }

    #[tokio::test]
    async fn operation_urls_elsewhere_are_not_followed() {
        let (endpoint, connections) = silent_endpoint(true).await;
        let error = arm(&endpoint)
            .get_absolute("http://127.0.0.2:9/operations/1")
            .await
            .unwrap_err();
        assert_eq!(error.kind, AzureErrorKind::Unexpected);
        assert_eq!(
            error.message,
            "azure sent an operation URL on 127.0.0.2, not on the Resource Manager endpoint; it was not followed"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn tokens_only_go_to_the_endpoint() {
        let endpoint = Url::parse("https://management.azure.com/").unwrap();
        let table = [
            (
                "https://management.azure.com/subscriptions/s/operations/1?api-version=1",
                true,
            ),
            ("https://MANAGEMENT.azure.com:443/x", true),
            ("http://management.azure.com/x", false),
            ("https://management.azure.com.evil.example/x", false),
            ("https://management.azure.com:8443/x", false),
            ("https://evil.example/?https://management.azure.com/", false),
        ];
        for (url, allowed) in table {
            assert_eq!(
                same_origin(&Url::parse(url).unwrap(), &endpoint),
                allowed,
                "{url}"
            );
        }
    }
}
