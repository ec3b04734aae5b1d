//! The deployment file: which MCP server answers for each expert, and how
//! calls to it are limited.
//!
//! ```json
//! {"base_url": "http://127.0.0.1:8800",
//!  "defaults": {"tool": "consult", "timeout_ms": 30000, "max_in_flight": 4,
//!               "circuit_breaker": {"failures": 5, "open_ms": 10000}},
//!  "experts": {
//!    "finance_accountant": {"transport": "stdio", "command": "finance-expert", "args": ["--strict"]},
//!    "marketing_sales": {"transport": "http", "url": "http://127.0.0.1:8801/mcp",
//!                        "headers": {"Authorization": "Bearer ${MARKETING_TOKEN}"}},
//!    "legal_consultant": {"transport": "http"}}}
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use consort_protocol::{ExpertProfile, ProtocolError, did_you_mean, from_json_str};
use serde::Deserialize;

use super::expand::expand;

/// The tool an expert answers on unless its deployment says otherwise.
pub const DEFAULT_CONSULT_TOOL: &str = "consult";

/// How long a call may take unless the deployment says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Calls in flight per expert unless the deployment says otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 4;

/// Which MCP server answers for each expert: read from a deployment file
/// ([`from_json_str`](Self::from_json_str)) or built in code
/// ([`with_expert`](Self::with_expert)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deployment {
    servers: BTreeMap<String, ExpertServer>,
}

/// One expert's server and the limits on calling it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExpertServer {
    /// How to reach it.
    pub transport: Transport,
    /// The consult tool's name.
    pub tool: String,
    /// How long one call may take; then it is cancelled over MCP.
    pub timeout: Duration,
    /// Calls in flight at once, at least 1.
    pub max_in_flight: u32,
    /// When to stop calling it for a while.
    pub circuit_breaker: CircuitConfig,
}

/// How to reach an expert's MCP server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Transport {
    /// A child process speaking MCP on its stdin and stdout; started on the
    /// first call and again after it dies.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Variables added to the inherited environment.
        env: BTreeMap<String, String>,
        /// Its working directory (default: this process's).
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint (needs the `experts-http` feature).
    Http {
        /// The endpoint, `http://host:port/mcp`.
        url: String,
        /// Headers sent with every request (`Authorization`, ...).
        headers: BTreeMap<String, String>,
    },
}

/// The circuit breaker's thresholds: after `failures` failed calls in a row
/// the circuit opens and calls fail fast for `open_for`; then one probe call
/// decides whether it closes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CircuitConfig {
    /// Failed calls in a row that open the circuit, at least 1.
    pub failures: u32,
    /// How long it stays open before a probe.
    pub open_for: Duration,
}

impl CircuitConfig {
    /// Opens after `failures` (at least 1) failed calls in a row, for `open_for`.
    pub fn new(failures: u32, open_for: Duration) -> Self {
        Self {
            failures: failures.max(1),
            open_for,
        }
    }
}

impl Default for CircuitConfig {
    /// 5 failures, open for 10 s.
    fn default() -> Self {
        Self::new(5, Duration::from_secs(10))
    }
}

impl ExpertServer {
    /// An expert started as `command` (no arguments) with the default limits.
    pub fn stdio(command: impl Into<String>) -> Self {
        Self::with_transport(Transport::Stdio {
            command: command.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
        })
    }

    /// An expert at a streamable HTTP `url` with the default limits.
    pub fn http(url: impl Into<String>) -> Self {
        Self::with_transport(Transport::Http {
            url: url.into(),
            headers: BTreeMap::new(),
        })
    }

    fn with_transport(transport: Transport) -> Self {
        Self {
            transport,
            tool: DEFAULT_CONSULT_TOOL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            circuit_breaker: CircuitConfig::default(),
        }
    }

    /// Adds arguments to a stdio expert's command (ignored for HTTP).
    #[must_use]
    pub fn with_args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, more: I) -> Self {
        if let Transport::Stdio { args, .. } = &mut self.transport {
            args.extend(more.into_iter().map(Into::into));
        }
        self
    }

    /// Calls `tool` instead of `consult`.
    #[must_use]
    pub fn with_tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = tool.into();
        self
    }

    /// Cancels a call after `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// At most `max` calls in flight (at least 1).
    #[must_use]
    pub fn with_max_in_flight(mut self, max: u32) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// The circuit breaker's thresholds.
    #[must_use]
    pub fn with_circuit_breaker(mut self, config: CircuitConfig) -> Self {
        self.circuit_breaker = config;
        self
    }
}

impl Deployment {
    /// No experts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the server of expert `id`.
    #[must_use]
    pub fn with_expert(mut self, id: impl Into<String>, server: ExpertServer) -> Self {
        self.servers.insert(id.into(), server);
        self
    }

    /// Reads a deployment file, expanding `${VAR}` from this process's
    /// environment. With a `registry`, every expert must be one of its
    /// profiles (an unknown id is an error with the id it most likely means),
    /// and an `http` expert without a `url` is reached at `base_url` + its
    /// profile's `mcp_endpoint`; without one, every `http` expert needs its
    /// `url`.
    ///
    /// Errors name the JSON path: `experts.legal_consultant.transport: unknown
    /// variant "htp"; did you mean "http"?`.
    pub fn from_json_str(
        text: &str,
        registry: Option<&[ExpertProfile]>,
    ) -> Result<Self, ProtocolError> {
        Self::from_json_str_with_env(text, registry, |name| std::env::var(name).ok())
    }

    /// [`from_json_str`](Self::from_json_str) with variables from `lookup`
    /// instead of the environment.
    pub fn from_json_str_with_env(
        text: &str,
        registry: Option<&[ExpertProfile]>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ProtocolError> {
        let file: DeploymentFile = from_json_str(text)?;
        file.resolve(registry, &lookup)
    }

    /// The server of expert `id`.
    pub fn server(&self, id: &str) -> Option<&ExpertServer> {
        self.servers.get(id)
    }

    /// Every deployed expert with its server, by id.
    pub fn experts(&self) -> impl ExactSizeIterator<Item = (&str, &ExpertServer)> {
        self.servers
            .iter()
            .map(|(id, server)| (id.as_str(), server))
    }

    /// The ids among `needed` that have no server, in the order given.
    pub fn missing<'a>(&self, needed: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        needed
            .into_iter()
            .filter(|id| !self.servers.contains_key(*id))
            .collect()
    }
}

/// The file as written; [`DeploymentFile::resolve`] checks and completes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentFile {
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    defaults: Limits,
    experts: BTreeMap<String, ExpertEntry>,
}

/// The limits that `defaults` sets and each expert may override.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    tool: Option<String>,
    timeout_ms: Option<u64>,
    max_in_flight: Option<u32>,
    circuit_breaker: Option<CircuitFile>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct CircuitFile {
    failures: u32,
    open_ms: u64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TransportKind {
    Stdio,
    Http,
}

/// One expert as written: the transport's fields, then its own limits (the
/// same fields as `defaults`; serde cannot flatten into a type that rejects
/// unknown fields, so they are listed again).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpertEntry {
    transport: TransportKind,
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    tool: Option<String>,
    timeout_ms: Option<u64>,
    max_in_flight: Option<u32>,
    circuit_breaker: Option<CircuitFile>,
}

impl DeploymentFile {
    fn resolve(
        self,
        registry: Option<&[ExpertProfile]>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Deployment, ProtocolError> {
        check_limits(&self.defaults, "defaults")?;
        let base_url = self
            .base_url
            .map(|url| expand(&url, "base_url", lookup))
            .transpose()?;
        let mut servers = BTreeMap::new();
        for (id, entry) in self.experts {
            let path = format!("experts.{id}");
            let profile = match registry {
                None => None,
                Some(profiles) => match profiles.iter().find(|p| p.id.as_str() == id) {
                    Some(profile) => Some(profile),
                    None => {
                        let known = profiles.iter().map(|p| p.id.as_str());
                        let reason = match did_you_mean(&id, known) {
                            Some(near) => {
                                format!("not in the expert registry; did you mean {near:?}?")
                            }
                            None => "not in the expert registry".to_owned(),
                        };
                        return Err(ProtocolError::invalid(path, reason));
                    }
                },
            };
            let server =
                entry.resolve(&path, profile, base_url.as_deref(), &self.defaults, lookup)?;
            servers.insert(id, server);
        }
        Ok(Deployment { servers })
    }
}

impl ExpertEntry {
    fn resolve(
        self,
        path: &str,
        profile: Option<&ExpertProfile>,
        base_url: Option<&str>,
        defaults: &Limits,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ExpertServer, ProtocolError> {
        let own = Limits {
            tool: self.tool,
            timeout_ms: self.timeout_ms,
            max_in_flight: self.max_in_flight,
            circuit_breaker: self.circuit_breaker,
        };
        check_limits(&own, path)?;
        let at = |field: &str| format!("{path}.{field}");
        let only_for = |field: &str, set: bool, transport: &str| {
            if set {
                Err(ProtocolError::invalid(
                    at(field),
                    format!("only an {transport} expert has `{field}`"),
                ))
            } else {
                Ok(())
            }
        };
        let transport = match self.transport {
            TransportKind::Stdio => {
                only_for("url", self.url.is_some(), "http")?;
                only_for("headers", !self.headers.is_empty(), "http")?;
                let Some(command) = self.command else {
                    return Err(ProtocolError::invalid(
                        path,
                        "a stdio expert needs `command`, the program to start",
                    ));
                };
                let command = expand(&command, &at("command"), lookup)?;
                if command.trim().is_empty() {
                    return Err(ProtocolError::invalid(at("command"), "empty command"));
                }
                let args = self
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, arg)| expand(arg, &format!("{path}.args[{i}]"), lookup))
                    .collect::<Result<_, _>>()?;
                let env = self
                    .env
                    .into_iter()
                    .map(|(name, value)| {
                        let value = expand(&value, &format!("{path}.env.{name}"), lookup)?;
                        Ok((name, value))
                    })
                    .collect::<Result<_, ProtocolError>>()?;
                let cwd = self
                    .cwd
                    .map(|cwd| expand(&cwd, &at("cwd"), lookup).map(PathBuf::from))
                    .transpose()?;
                Transport::Stdio {
                    command,
                    args,
                    env,
                    cwd,
                }
            }
            TransportKind::Http => {
                only_for("command", self.command.is_some(), "stdio")?;
                only_for("args", !self.args.is_empty(), "stdio")?;
                only_for("env", !self.env.is_empty(), "stdio")?;
                only_for("cwd", self.cwd.is_some(), "stdio")?;
                let url = match (self.url, base_url, profile) {
                    (Some(url), _, _) => expand(&url, &at("url"), lookup)?,
                    (None, Some(base), Some(profile)) => join_url(base, &profile.mcp_endpoint),
                    (None, _, _) => {
                        return Err(ProtocolError::invalid(
                            path,
                            "an http expert needs `url`, or a top-level `base_url` to which \
                             its registry profile's mcp_endpoint is added",
                        ));
                    }
                };
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ProtocolError::invalid(
                        at("url"),
                        format!("{url:?} is not an http:// or https:// URL"),
                    ));
                }
                let headers = self
                    .headers
                    .into_iter()
                    .map(|(name, value)| {
                        let value = expand(&value, &format!("{path}.headers.{name}"), lookup)?;
                        Ok((name, value))
                    })
                    .collect::<Result<_, ProtocolError>>()?;
                Transport::Http { url, headers }
            }
        };
        let circuit = own.circuit_breaker.or(defaults.circuit_breaker);
        Ok(ExpertServer {
            transport,
            tool: own
                .tool
                .or_else(|| defaults.tool.clone())
                .unwrap_or_else(|| DEFAULT_CONSULT_TOOL.to_owned()),
            timeout: own
                .timeout_ms
                .or(defaults.timeout_ms)
                .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
            max_in_flight: own
                .max_in_flight
                .or(defaults.max_in_flight)
                .unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            circuit_breaker: circuit.map_or_else(CircuitConfig::default, |c| {
                CircuitConfig::new(c.failures, Duration::from_millis(c.open_ms))
            }),
        })
    }
}

/// Rejects limits that cannot work: zero calls in flight, a zero timeout, a
/// circuit that opens after zero failures, an empty tool name.
fn check_limits(limits: &Limits, path: &str) -> Result<(), ProtocolError> {
    let at = |field: &str| format!("{path}.{field}");
    if limits.tool.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(ProtocolError::invalid(at("tool"), "empty tool name"));
    }
    if limits.timeout_ms == Some(0) {
        return Err(ProtocolError::invalid(
            at("timeout_ms"),
            "must be at least 1",
        ));
    }
    if limits.max_in_flight == Some(0) {
        return Err(ProtocolError::invalid(
            at("max_in_flight"),
            "must be at least 1",
        ));
    }
    if limits.circuit_breaker.is_some_and(|c| c.failures == 0) {
        return Err(ProtocolError::invalid(
            at("circuit_breaker.failures"),
            "must be at least 1",
        ));
    }
    Ok(())
}

/// `base` + `endpoint` with exactly one `/` between them.
fn join_url(base: &str, endpoint: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        endpoint.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use consort_protocol::{load_registry, seeds};

    use super::*;

    fn profiles() -> Vec<ExpertProfile> {
        load_registry(seeds::EXPERT_REGISTRY).unwrap()
    }

    fn env(name: &str) -> Option<String> {
        (name == "MARKETING_TOKEN").then(|| "t0k".to_owned())
    }

    fn load(text: &str) -> Result<Deployment, ProtocolError> {
        Deployment::from_json_str_with_env(text, Some(&profiles()), env)
    }

    #[test]
    fn the_issue_example_loads_with_defaults_overrides_and_base_url() {
        let deployment = load(
            r#"{"base_url": "http://127.0.0.1:8800/",
                "defaults": {"tool": "consult", "timeout_ms": 30000, "max_in_flight": 4,
                             "circuit_breaker": {"failures": 5, "open_ms": 10000}},
                "experts": {
                  "finance_accountant": {"transport": "stdio", "command": "finance-expert",
                                         "args": ["--strict"], "env": {"LEDGER": "q3"},
                                         "timeout_ms": 500},
                  "marketing_sales": {"transport": "http", "url": "http://127.0.0.1:8801/mcp",
                                      "headers": {"Authorization": "Bearer ${MARKETING_TOKEN}"}},
                  "legal_consultant": {"transport": "http"}}}"#,
        )
        .unwrap();
        let finance = deployment.server("finance_accountant").unwrap();
        assert_eq!(finance.timeout, Duration::from_millis(500));
        assert_eq!(finance.max_in_flight, 4);
        assert!(
            matches!(&finance.transport, Transport::Stdio { args, .. } if args == &["--strict"])
        );
        let Transport::Http { headers, .. } =
            &deployment.server("marketing_sales").unwrap().transport
        else {
            panic!("marketing is http")
        };
        assert_eq!(headers["Authorization"], "Bearer t0k");
        let legal = deployment.server("legal_consultant").unwrap();
        assert_eq!(
            legal.transport,
            Transport::Http {
                url: "http://127.0.0.1:8800/mcp/experts/legal".into(),
                headers: BTreeMap::new()
            }
        );
        assert_eq!(legal.timeout, Duration::from_secs(30));
        assert_eq!(
            deployment.missing(["legal_consultant", "hr_specialist"]),
            ["hr_specialist"]
        );
    }

    #[test]
    fn mistakes_are_errors_that_name_the_path() {
        let cases = [
            (
                r#"{"experts": {"finance_acountant": {"transport": "stdio", "command": "x"}}}"#,
                "experts.finance_acountant: not in the expert registry; did you mean \"finance_accountant\"?",
            ),
            (
                r#"{"experts": {"finance_accountant": {"transport": "htp"}}}"#,
                "unknown variant",
            ),
            (
                r#"{"experts": {"finance_accountant": {"transport": "stdio"}}}"#,
                "experts.finance_accountant: a stdio expert needs `command`",
            ),
            (
                r#"{"experts": {"finance_accountant": {"transport": "http"}}}"#,
                "needs `url`, or a top-level `base_url`",
            ),
            (
                r#"{"experts": {"finance_accountant": {"transport": "stdio", "command": "x", "url": "http://a"}}}"#,
                "experts.finance_accountant.url: only an http expert has `url`",
            ),
            (
                r#"{"experts": {"finance_accountant": {"transport": "stdio", "command": "x", "max_inflight": 2}}}"#,
                "did you mean \"max_in_flight\"",
            ),
            (
                r#"{"defaults": {"max_in_flight": 0}, "experts": {}}"#,
                "defaults.max_in_flight: must be at least 1",
            ),
            (
                r#"{"experts": {"marketing_sales": {"transport": "http", "url": "http://a", "headers": {"X": "${NOPE}"}}}}"#,
                "experts.marketing_sales.headers.X: environment variable NOPE is not set",
            ),
            (
                r#"{"experts": {"marketing_sales": {"transport": "http", "url": "ftp://a"}}}"#,
                "is not an http:// or https:// URL",
            ),
        ];
        for (text, expected) in cases {
            let err = load(text).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{text}\n  gave: {err}\n  want: {expected}"
            );
        }
    }
}
