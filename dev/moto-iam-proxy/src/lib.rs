//! moto's IAM (5.2.5) drops the Tags of CreateSAMLProvider, answers HTTP 500 to TagSAMLProvider,
//! UntagSAMLProvider and ListSAMLProviderTags, and silently replaces a provider created twice under
//! one name. Real IAM does none of that, and the SAML-provider resource relies on tags for
//! ownership. This thin awsQuery layer in front of moto fills the gap; everything else is moto's.
//!
//! It can also make IAM as difficult as the real one may be, each switchable from a test:
//! throttling ([`IamProxy::throttle_next`]), eventual consistency ([`IamProxy::lag`]), small pages
//! ([`IamProxy::page_size`]) and providers appearing under a function's feet
//! ([`IamProxy::intrude_next_create`], [`IamProxy::pair_next_creates`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A thin awsQuery layer in front of moto's IAM. It forwards every call to moto, except that it
/// keeps the tags of SAML providers itself (moto drops CreateSAMLProvider's Tags and answers 500
/// to TagSAMLProvider, UntagSAMLProvider and ListSAMLProviderTags) and, like real IAM, refuses a
/// CreateSAMLProvider for a name already in use (moto silently replaces the provider).
pub struct IamProxy {
    pub endpoint: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    moto: String,
    http: reqwest::Client,
    calls: Mutex<Vec<String>>,
    tags: Mutex<HashMap<String, Vec<(String, String)>>>,
    faults: Mutex<Faults>,
    /// When each provider was created through the proxy (for [`IamProxy::lag`]).
    created_at: Mutex<HashMap<String, Instant>>,
    /// Creates are checked and made one at a time, so a name is never given twice.
    create_lock: tokio::sync::Mutex<()>,
}

/// The difficulties switched on, and how often they were met.
#[derive(Default)]
struct Faults {
    throttle_next: usize,
    throttled: usize,
    lag: Duration,
    hidden: usize,
    page_size: Option<usize>,
    intruder_tags: Option<Vec<(String, String)>>,
    paired_creates: Option<(Arc<tokio::sync::Barrier>, usize)>,
}

impl IamProxy {
    /// Starts the proxy on a free loopback port, in front of moto at `moto_endpoint`.
    pub async fn start(moto_endpoint: &str) -> anyhow::Result<Self> {
        let state = Arc::new(ProxyState {
            moto: moto_endpoint.trim_end_matches('/').to_owned(),
            http: https_client::reqwest_builder().build()?,
            calls: Mutex::new(Vec::new()),
            tags: Mutex::new(HashMap::new()),
            faults: Mutex::new(Faults::default()),
            created_at: Mutex::new(HashMap::new()),
            create_lock: tokio::sync::Mutex::new(()),
        });
        let router = Router::new().fallback(proxy).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            endpoint: format!("http://{address}"),
            state,
        })
    }

    /// The IAM actions called through the proxy, in order.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.state.calls).clone()
    }

    pub fn count(&self, action: &str) -> usize {
        self.calls().iter().filter(|call| *call == action).count()
    }

    pub fn clear_calls(&self) {
        lock(&self.state.calls).clear();
    }

    /// Answers the next `calls` calls (any action) `Throttling` / "Rate exceeded", HTTP 400, as IAM
    /// does when an account's request rate is exceeded.
    pub fn throttle_next(&self, calls: usize) {
        lock(&self.state.faults).throttle_next = calls;
    }

    /// How many calls were answered `Throttling` so far.
    pub fn throttled(&self) -> usize {
        lock(&self.state.faults).throttled
    }

    /// Eventual consistency: for `lag` after its creation through the proxy, a provider is not
    /// listed by ListSAMLProviders and is `NoSuchEntity` to every call naming its ARN, while its
    /// name is already taken. (IAM documents that its changes take time to be visible everywhere;
    /// how long, and which reads lag, it does not say.)
    // assumption: iam-saml-provider-read-lag
    pub fn lag(&self, lag: Duration) {
        lock(&self.state.faults).lag = lag;
    }

    /// How many answers hid a provider because of [`Self::lag`].
    pub fn hidden(&self) -> usize {
        lock(&self.state.faults).hidden
    }

    /// ListSAMLProviderTags answers at most `tags` tags per page (IAM's default page is 100).
    pub fn page_size(&self, tags: usize) {
        lock(&self.state.faults).page_size = Some(tags.max(1));
    }

    /// Just before the next CreateSAMLProvider is handled, a provider of the same name with these
    /// tags appears (made directly in moto): one made between a function's look-up and its create.
    pub fn intrude_next_create(&self, tags: Vec<(String, String)>) {
        lock(&self.state.faults).intruder_tags = Some(tags);
    }

    /// The next two CreateSAMLProvider calls wait for each other, then are handled one after the
    /// other: two creates racing for one name.
    pub fn pair_next_creates(&self) {
        lock(&self.state.faults).paired_creates = Some((Arc::new(tokio::sync::Barrier::new(2)), 2));
    }

    /// The tags the proxy keeps for a provider (None: it never saw the provider created).
    pub fn tags(&self, arn: &str) -> Option<Vec<(String, String)>> {
        lock(&self.state.tags).get(arn).cloned()
    }
}

async fn proxy(State(state): State<Arc<ProxyState>>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, body).await {
        Ok(response) => response,
        Err(error) => iam_error(
            StatusCode::BAD_GATEWAY,
            "ServiceFailure",
            &format!("the IAM proxy could not complete the call through moto: {error:#}"),
        ),
    }
}

async fn handle(state: &ProxyState, headers: &HeaderMap, body: Bytes) -> anyhow::Result<Response> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let action = param(&params, "Action").unwrap_or_default();
    lock(&state.calls).push(action.clone());
    if state.take_throttle() {
        return Ok(iam_error(
            StatusCode::BAD_REQUEST,
            "Throttling",
            "Rate exceeded",
        ));
    }
    let arn = param(&params, "SAMLProviderArn").unwrap_or_default();
    if !arn.is_empty() && state.lagging(&arn) {
        return Ok(iam_error(
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            &format!("SAMLProvider {arn} not found"),
        ));
    }
    match action.as_str() {
        "CreateSAMLProvider" => {
            let name = param(&params, "Name").unwrap_or_default();
            let barrier = state.paired_create();
            if let Some(barrier) = barrier {
                barrier.wait().await;
            }
            let _one_at_a_time = state.create_lock.lock().await;
            let intruder_tags = lock(&state.faults).intruder_tags.take();
            if let Some(tags) = intruder_tags {
                let document = param(&params, "SAMLMetadataDocument").unwrap_or_default();
                let intruder = state.moto_create(&name, &document).await?;
                lock(&state.tags).insert(intruder, tags);
            }
            if state
                .moto_arns()
                .await?
                .iter()
                .any(|arn| arn.ends_with(&format!(":saml-provider/{name}")))
            {
                return Ok(iam_error(
                    StatusCode::CONFLICT,
                    "EntityAlreadyExists",
                    &format!("SAMLProvider {name} already exists"),
                ));
            }
            let (status, content_type, answer) = state.forward(headers, body.clone()).await?;
            if status == StatusCode::OK {
                let text = String::from_utf8_lossy(&answer).into_owned();
                let created = element_texts(&text, "SAMLProviderArn")?
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        anyhow::anyhow!("moto created a provider without an ARN: {text}")
                    })?;
                lock(&state.tags).insert(created.clone(), tag_list(&params, "Tags"));
                lock(&state.created_at).insert(created, Instant::now());
            }
            Ok((status, [(header::CONTENT_TYPE, content_type)], answer).into_response())
        }
        // assumption: iam-saml-provider-tags-via-proxy
        "TagSAMLProvider" | "UntagSAMLProvider" | "ListSAMLProviderTags" => {
            if !state.moto_has(&arn).await? {
                return Ok(iam_error(
                    StatusCode::NOT_FOUND,
                    "NoSuchEntity",
                    &format!("SAMLProvider {arn} not found"),
                ));
            }
            let mut all = lock(&state.tags);
            let tags = all.entry(arn).or_default();
            Ok(match action.as_str() {
                "TagSAMLProvider" => {
                    for (key, value) in tag_list(&params, "Tags") {
                        tags.retain(|(existing, _)| *existing != key);
                        tags.push((key, value));
                    }
                    iam_ok(&action, None)
                }
                "UntagSAMLProvider" => {
                    let keys = member_list(&params, "TagKeys");
                    tags.retain(|(key, _)| !keys.contains(key));
                    iam_ok(&action, None)
                }
                _ => {
                    let page_size = lock(&state.faults).page_size.unwrap_or(100);
                    let max_items = param(&params, "MaxItems")
                        .and_then(|max| max.parse::<usize>().ok())
                        .unwrap_or(100);
                    let start = param(&params, "Marker")
                        .and_then(|marker| marker.parse::<usize>().ok())
                        .unwrap_or(0)
                        .min(tags.len());
                    let end = (start + page_size.min(max_items)).min(tags.len());
                    let more = if end < tags.len() {
                        format!("<IsTruncated>true</IsTruncated><Marker>{end}</Marker>")
                    } else {
                        "<IsTruncated>false</IsTruncated>".to_owned()
                    };
                    let members: String = tags[start..end]
                        .iter()
                        .map(|(key, value)| {
                            format!(
                                "<member><Key>{}</Key><Value>{}</Value></member>",
                                escape(key),
                                escape(value)
                            )
                        })
                        .collect();
                    iam_ok(&action, Some(&format!("<Tags>{members}</Tags>{more}")))
                }
            })
        }
        _ => {
            let (status, content_type, mut answer) = state.forward(headers, body).await?;
            if action == "DeleteSAMLProvider" && status == StatusCode::OK {
                lock(&state.tags).remove(&arn);
            }
            if action == "ListSAMLProviders" && status == StatusCode::OK {
                answer = state.without_lagging(&answer)?;
            }
            Ok((status, [(header::CONTENT_TYPE, content_type)], answer).into_response())
        }
    }
}

impl ProxyState {
    fn take_throttle(&self) -> bool {
        let mut faults = lock(&self.faults);
        if faults.throttle_next == 0 {
            return false;
        }
        faults.throttle_next -= 1;
        faults.throttled += 1;
        true
    }

    /// Whether `arn` is still invisible because of the lag (counted as hidden when it is).
    fn lagging(&self, arn: &str) -> bool {
        let lag = lock(&self.faults).lag;
        let lagging = lock(&self.created_at)
            .get(arn)
            .is_some_and(|created| created.elapsed() < lag);
        if lagging {
            lock(&self.faults).hidden += 1;
        }
        lagging
    }

    fn paired_create(&self) -> Option<Arc<tokio::sync::Barrier>> {
        let mut faults = lock(&self.faults);
        let (barrier, left) = faults.paired_creates.as_mut()?;
        let barrier = Arc::clone(barrier);
        *left -= 1;
        if *left == 0 {
            faults.paired_creates = None;
        }
        Some(barrier)
    }

    /// A ListSAMLProviders answer without the providers still hidden by the lag.
    fn without_lagging(&self, answer: &Bytes) -> anyhow::Result<Bytes> {
        let text = String::from_utf8_lossy(answer).into_owned();
        let document = roxmltree::Document::parse(&text)
            .map_err(|error| anyhow::anyhow!("moto's XML ({error}): {text}"))?;
        let mut hidden_ranges: Vec<std::ops::Range<usize>> = document
            .descendants()
            .filter(|node| node.is_element() && node.tag_name().name() == "member")
            .filter(|member| {
                member
                    .children()
                    .find(|child| child.tag_name().name() == "Arn")
                    .and_then(|arn| arn.text())
                    .is_some_and(|arn| self.lagging(arn))
            })
            .map(|member| member.range())
            .collect();
        if hidden_ranges.is_empty() {
            return Ok(answer.clone());
        }
        hidden_ranges.reverse();
        let mut kept = text.clone();
        for range in hidden_ranges {
            kept.replace_range(range, "");
        }
        Ok(Bytes::from(kept))
    }

    /// A provider made directly in moto; its ARN.
    async fn moto_create(&self, name: &str, document: &str) -> anyhow::Result<String> {
        let form = [
            ("Action", "CreateSAMLProvider"),
            ("Version", "2010-05-08"),
            ("Name", name),
            ("SAMLMetadataDocument", document),
        ];
        let (status, text) = self.moto_call(&form).await?;
        anyhow::ensure!(
            status == StatusCode::OK,
            "CreateSAMLProvider on moto: {status} {text}"
        );
        element_texts(&text, "SAMLProviderArn")?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("moto created a provider without an ARN: {text}"))
    }

    async fn forward(
        &self,
        headers: &HeaderMap,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, String, Bytes)> {
        let mut request = self.http.post(format!("{}/", self.moto)).body(body);
        for (name, value) in headers {
            if name != header::HOST && name != header::CONTENT_LENGTH {
                request = request.header(name, value);
            }
        }
        let answer = request.send().await?;
        let status = StatusCode::from_u16(answer.status().as_u16())?;
        let content_type = answer
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("text/xml")
            .to_owned();
        Ok((status, content_type, answer.bytes().await?))
    }

    /// One IAM call made by the proxy itself (moto routes by the SigV4 scope; it checks no signature).
    async fn moto_call(&self, form: &[(&str, &str)]) -> anyhow::Result<(StatusCode, String)> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer = self
            .http
            .post(format!("{}/", self.moto))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(
                header::AUTHORIZATION,
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body)
            .send()
            .await?;
        Ok((
            StatusCode::from_u16(answer.status().as_u16())?,
            answer.text().await?,
        ))
    }

    async fn moto_arns(&self) -> anyhow::Result<Vec<String>> {
        let (status, text) = self
            .moto_call(&[("Action", "ListSAMLProviders"), ("Version", "2010-05-08")])
            .await?;
        anyhow::ensure!(
            status == StatusCode::OK,
            "ListSAMLProviders on moto: {status} {text}"
        );
        element_texts(&text, "Arn")
    }

    async fn moto_has(&self, arn: &str) -> anyhow::Result<bool> {
        let form = [
            ("Action", "GetSAMLProvider"),
            ("Version", "2010-05-08"),
            ("SAMLProviderArn", arn),
        ];
        Ok(self.moto_call(&form).await?.0 == StatusCode::OK)
    }
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// `Prefix.member.N` values, in N order.
fn member_list(params: &[(String, String)], prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|n| param(params, &format!("{prefix}.member.{n}")))
        .collect()
}

/// `Prefix.member.N.Key` / `.Value` pairs, in N order.
fn tag_list(params: &[(String, String)], prefix: &str) -> Vec<(String, String)> {
    (1..)
        .map_while(|n| {
            let key = param(params, &format!("{prefix}.member.{n}.Key"))?;
            Some((
                key,
                param(params, &format!("{prefix}.member.{n}.Value")).unwrap_or_default(),
            ))
        })
        .collect()
}

fn element_texts(xml: &str, name: &str) -> anyhow::Result<Vec<String>> {
    let document = roxmltree::Document::parse(xml)
        .map_err(|error| anyhow::anyhow!("moto's XML ({error}): {xml}"))?;
    Ok(document
        .descendants()
        .filter(|node| node.is_element() && node.tag_name().name() == name)
        .map(|node| node.text().unwrap_or_default().to_owned())
        .collect())
}

fn iam_ok(action: &str, result: Option<&str>) -> Response {
    let result = result
        .map(|inner| format!("<{action}Result>{inner}</{action}Result>"))
        .unwrap_or_default();
    let body = format!(
        r#"<{action}Response xmlns="{IAM_NS}">{result}<ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></{action}Response>"#
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn iam_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        r#"<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"#,
        escape(message)
    );
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
