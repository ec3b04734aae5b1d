//! Operating runs from the command line: Ctrl-C and SIGTERM pause a run
//! that an immediate `resume` continues, a refused `resume` says whose lease
//! it waits for and `--wait` waits for it, `resume` keeps the run's
//! settings, progress on stderr, the backend from `CONSORT_REDIS_URL`, and
//! `rediss://` against a TLS redis-server; a run that rides through a Redis
//! restart and a freeze; a wrong password.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;
use std::time::Duration;

use consort_state::testkit::{RedisServer, redis_server_available};
use serde_json::Value;
use support::{Files, Redis, Running, code, consort, ok, stderr};

/// `consort workflow run ladder.json ...` with simulated steps of `delay_ms`.
fn run_ladder(f: &Files, redis: &Redis, run_id: &str, delay_ms: &str, extra: &[&str]) -> Command {
    let mut command = support::command();
    command
        .args(["workflow", "run", &f.path("ladder.json"), "--experts"])
        .arg(f.path("registry.json"))
        .args(["--simulate", "--delay-ms", delay_ms, "--run-id", run_id])
        .args(redis.args())
        .args(extra);
    command
}

/// `consort workflow <args> <store>`, which must succeed; its JSON output.
fn json(redis: &Redis, args: &[&str]) -> Value {
    let out = ok(&consort(&[args, &redis.args()[..], &["--json"]].concat()));
    serde_json::from_str(&out).unwrap()
}

fn completed_before(line: &str, n: usize) -> bool {
    line.contains(": completed (") && line.contains(&format!("({n} of 40)"))
}

#[test]
fn ctrl_c_pauses_a_run_and_an_immediate_resume_finishes_it() {
    let Some(redis) = Redis::or_skip("ctrl_c_pauses_a_run_and_an_immediate_resume_finishes_it")
    else {
        return;
    };
    let f = Files::new();
    for (signal, exit) in [("INT", 130), ("TERM", 143)] {
        let run_id = format!("sig-{signal}");
        let mut run = Running::spawn(&mut run_ladder(
            &f,
            &redis,
            &run_id,
            "150",
            &["--concurrency", "2"],
        ));
        run.wait_for(|line| completed_before(line, 4));
        run.signal(signal);
        let (code, _, err) = run.finish();
        assert_eq!(code, Some(exit), "{err}");
        assert!(
            err.contains(&format!(
                "run {run_id} paused; consort workflow resume {run_id} continues it"
            )),
            "{err}"
        );
        let paused = json(&redis, &["workflow", "status", &run_id]);
        assert_eq!(paused["state"], "paused", "{paused}");
        assert!(
            paused.get("owner").is_none(),
            "the lease is released: {paused}"
        );
        // The steps in flight were let finish: nothing is left running.
        let states: Vec<&str> = paused["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert!(!states.contains(&"running"), "{states:?}");
        let done_before = states.iter().filter(|s| **s == "completed").count();
        assert!((4..40).contains(&done_before), "{states:?}");

        // At once, without waiting for any lease.
        let resumed = json(&redis, &["workflow", "resume", &run_id, "--simulate", "-q"]);
        assert_eq!(resumed["state"], "completed", "{resumed}");
        for step in resumed["steps"].as_array().unwrap() {
            assert_eq!(step["attempts"], 1, "no step ran twice: {step}");
        }
    }
}

#[test]
fn a_second_ctrl_c_abandons_the_steps_in_flight() {
    let Some(redis) = Redis::or_skip("a_second_ctrl_c_abandons_the_steps_in_flight") else {
        return;
    };
    let f = Files::new();
    // Steps of a minute: the grace period would not see them end.
    let mut run = Running::spawn(&mut run_ladder(&f, &redis, "stuck", "60000", &[]));
    run.wait_for(|line| line.contains("step 2 Rung 2: started"));
    run.signal("INT");
    run.wait_for(|line| line.contains("pausing run stuck"));
    run.signal("INT");
    let (code, _, err) = run.finish();
    assert_eq!(code, Some(130), "{err}");
    let paused = json(&redis, &["workflow", "status", "stuck"]);
    assert_eq!(paused["state"], "paused");
    assert_eq!(paused["steps"][0]["state"], "running");
    assert_eq!(paused["steps"][0]["attempts"], 1);
    // A resume runs the abandoned steps again, with their next attempt.
    let resumed = json(
        &redis,
        &[
            "workflow",
            "resume",
            "stuck",
            "--simulate",
            "-q",
            "--delay-ms",
            "1",
        ],
    );
    assert_eq!(resumed["state"], "completed");
    assert_eq!(resumed["steps"][0]["attempts"], 2);
}

#[test]
fn a_refused_resume_names_the_holder_and_wait_waits_for_its_lease() {
    let Some(redis) =
        Redis::or_skip("a_refused_resume_names_the_holder_and_wait_waits_for_its_lease")
    else {
        return;
    };
    let f = Files::new();
    let mut run = Running::spawn(&mut run_ladder(
        &f,
        &redis,
        "orphan",
        "200",
        &["--lease-ttl", "3s"],
    ));
    run.wait_for(|line| completed_before(line, 2));
    run.signal("KILL");
    let (killed, ..) = run.finish();
    assert_eq!(killed, None, "killed by a signal");

    let status = ok(&consort(
        &[&["workflow", "status", "orphan"][..], &redis.args()].concat(),
    ));
    assert!(status.contains("driven by engine-"), "{status}");
    assert!(status.contains("unless renewed"), "{status}");

    let refused = consort(
        &[
            &["workflow", "resume", "orphan", "--simulate"][..],
            &redis.args(),
        ]
        .concat(),
    );
    assert_eq!(code(&refused), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("is being driven by \"engine-"), "{err}");
    assert!(err.contains("its lease lapses in"), "{err}");
    assert!(err.contains("s unless renewed"), "{err}");
    assert!(err.contains("--wait"), "{err}");

    let waited = consort(
        &[
            &[
                "workflow",
                "resume",
                "orphan",
                "--simulate",
                "--wait=30s",
                "--json",
            ][..],
            &redis.args(),
        ]
        .concat(),
    );
    let err = stderr(&waited);
    assert!(
        err.contains("waiting up to 30 s for the lease to lapse"),
        "{err}"
    );
    let done: Value = serde_json::from_str(&ok(&waited)).unwrap();
    assert_eq!(done["state"], "completed");
}

#[test]
fn resume_keeps_the_runs_settings_and_records_an_override() {
    let Some(redis) = Redis::or_skip("resume_keeps_the_runs_settings_and_records_an_override")
    else {
        return;
    };
    let f = Files::new();
    let mut run = Running::spawn(&mut run_ladder(
        &f,
        &redis,
        "limited",
        "100",
        &["--concurrency", "1", "--max-attempts", "5"],
    ));
    run.wait_for(|line| completed_before(line, 2));
    run.signal("INT");
    assert_eq!(run.finish().0, Some(130));

    // No flag: the run's concurrency of 1, not the default of 16.
    let mut resume = support::command();
    resume
        .args([
            "workflow",
            "resume",
            "limited",
            "--simulate",
            "--delay-ms",
            "100",
        ])
        .args(redis.args());
    let mut resumed = Running::spawn(&mut resume);
    resumed.wait_for(|line| completed_before(line, 6));
    resumed.signal("INT");
    assert_eq!(resumed.finish().0, Some(130));
    let status = json(&redis, &["workflow", "status", "limited"]);
    assert_eq!(status["settings"]["concurrency"], 1, "{status}");
    assert_eq!(status["settings"]["retry"]["max_attempts"], 5, "{status}");
    assert!(status.get("settings_changes").is_none(), "{status}");
    let mut spans: Vec<(f64, f64)> = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "completed")
        .map(|s| (seconds(&s["started_at"]), seconds(&s["finished_at"])))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "two steps overlapped: {pair:?}");
    }

    // An explicit flag changes it, and the run says so.
    let done = json(
        &redis,
        &[
            "workflow",
            "resume",
            "limited",
            "--simulate",
            "-q",
            "--concurrency",
            "4",
        ],
    );
    assert_eq!(done["state"], "completed");
    assert_eq!(done["settings"]["concurrency"], 4);
    let change = &done["settings_changes"][0];
    assert_eq!(change["before"]["concurrency"], 1, "{done}");
    assert_eq!(change["after"]["concurrency"], 4, "{done}");
    let table = ok(&consort(
        &[&["workflow", "status", "limited"][..], &redis.args()].concat(),
    ));
    assert!(table.contains("settings: concurrency 4"), "{table}");
    assert!(table.contains("(was concurrency 1"), "{table}");
}

/// Seconds of an RFC 3339 UTC timestamp within its day (the test runs are
/// short; enough to order them).
fn seconds(timestamp: &Value) -> f64 {
    let text = timestamp.as_str().unwrap();
    let time = text.trim_end_matches('Z').split_once('T').unwrap().1;
    time.split(':')
        .map(|p| p.parse::<f64>().unwrap())
        .fold(0.0, |acc, part| acc * 60.0 + part)
}

#[test]
fn progress_goes_to_stderr_unless_quiet() {
    let f = Files::new();
    let args = [
        "workflow",
        "run",
        &f.path("marketing.json"),
        "--experts",
        &f.path("registry.json"),
        "--simulate",
        "--run-id",
        "shown",
    ];
    let shown = consort(&args);
    ok(&shown);
    let err = stderr(&shown);
    for line in [
        "run shown started (0 of 5 steps done)",
        "step 2 Strategy Development: started, attempt 1",
        "step 2 Strategy Development: completed (2 of 5)",
        "run shown completed (5 of 5 steps done)",
    ] {
        assert!(
            err.lines().any(|l| l == line),
            "{line:?} missing from:\n{err}"
        );
    }
    let quiet = consort(&[&args[..], &["--quiet"]].concat());
    ok(&quiet);
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn the_backend_url_may_come_from_the_environment() {
    let Some(redis) = Redis::or_skip("the_backend_url_may_come_from_the_environment") else {
        return;
    };
    let f = Files::new();
    let with_env = |args: &[&str]| {
        support::command()
            .env("CONSORT_REDIS_URL", &redis.url)
            .args(args)
            .args(["--namespace", &redis.namespace])
            .output()
            .unwrap()
    };
    ok(&with_env(&[
        "workflow",
        "run",
        &f.path("marketing.json"),
        "--experts",
        &f.path("registry.json"),
        "--simulate",
        "--run-id",
        "env-1",
        "-q",
    ]));
    // Another process finds the run through the same variable.
    let status = ok(&with_env(&["workflow", "status", "env-1"]));
    assert!(status.contains("completed, 100% complete"), "{status}");
    // The URL is not shown by --help.
    let help = with_env(&["workflow", "status", "--help"]);
    assert!(
        !support::stdout(&help).contains(&redis.url),
        "{}",
        support::stdout(&help)
    );
    assert!(support::stdout(&help).contains("CONSORT_REDIS_URL"));
}

/// A redis-server serving TLS only, with a certificate made by openssl for
/// `localhost` and signed by a CA of its own; killed on drop.
struct TlsRedis {
    dir: tempfile::TempDir,
    port: u16,
    server: std::process::Child,
}

impl TlsRedis {
    /// `None` (with a SKIP line) without openssl or a TLS-capable
    /// redis-server, unless `CONSORT_REQUIRE_REDIS=1` requires them.
    fn start() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        std::fs::write(
            dir.path().join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        let certified = openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "1",
            "-subj",
            "/CN=consort-test-ca",
        ]) && openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]) && openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let server = certified
            .then(|| {
                Command::new("redis-server")
                    .args(["--port", "0", "--tls-port", &port.to_string()])
                    .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                    .args([
                        "--tls-cert-file",
                        "server.crt",
                        "--tls-key-file",
                        "server.key",
                    ])
                    .args(["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"])
                    .current_dir(dir.path())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .ok()
            })
            .flatten();
        let Some(mut server) = server else {
            return skip("openssl and a redis-server are needed");
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline || server.try_wait().unwrap().is_some() {
                let _ = server.kill();
                return skip("redis-server did not serve TLS (built without it?)");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some(Self { dir, port, server })
    }

    fn url(&self) -> String {
        format!("rediss://localhost:{}/", self.port)
    }

    fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.crt")
    }
}

fn skip(why: &str) -> Option<TlsRedis> {
    assert!(
        std::env::var("CONSORT_REQUIRE_REDIS").as_deref() != Ok("1"),
        "rediss_urls_connect_over_tls: {why}"
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!("SKIP rediss_urls_connect_over_tls: {why}");
    }
    None
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[test]
fn rediss_urls_connect_over_tls() {
    let Some(server) = TlsRedis::start() else {
        return;
    };
    let f = Files::new();
    let run = |trusted: bool| {
        let mut command = support::command();
        if trusted {
            // rustls-native-certs reads the trusted roots from here too.
            command.env("SSL_CERT_FILE", server.ca());
        }
        command
            .args(["workflow", "run", &f.path("marketing.json"), "--experts"])
            .arg(f.path("registry.json"))
            .args(["--simulate", "-q", "--backend", &server.url()])
            .output()
            .unwrap()
    };
    let done = ok(&run(true));
    assert!(done.contains("completed, 100% complete"), "{done}");
    // The certificate is checked: an unknown CA is refused.
    let refused = run(false);
    assert_eq!(code(&refused), Some(1));
    assert!(
        stderr(&refused).contains("certificate"),
        "{}",
        stderr(&refused)
    );
}

/// A redis-server of the test's own, durable (append-only file) or not;
/// `None` and a SKIP line without redis-server, unless
/// `CONSORT_REQUIRE_REDIS=1`.
fn own_server(test: &str, durable: bool) -> Option<RedisServer> {
    if !redis_server_available() {
        assert!(
            std::env::var("CONSORT_REQUIRE_REDIS").as_deref() != Ok("1"),
            "{test}: no redis-server on PATH"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIP {test}: no redis-server on PATH");
        }
        return None;
    }
    Some(if durable {
        RedisServer::start_durable()
    } else {
        RedisServer::start()
    })
}

/// Something done to a server while a run uses it.
type Fault = dyn Fn(&mut RedisServer);

#[test]
fn a_cli_run_rides_through_a_redis_restart_and_a_freeze() {
    let Some(mut server) = own_server("a_cli_run_rides_through_a_redis_restart_and_a_freeze", true)
    else {
        return;
    };
    let f = Files::new();
    let url = server.url();
    let faults: [(&str, &Fault); 2] = [
        ("restart", &|server| {
            server.kill();
            std::thread::sleep(Duration::from_secs(3));
            server.start_again();
        }),
        ("freeze", &|server| {
            server.pause();
            std::thread::sleep(Duration::from_secs(3));
            server.resume();
        }),
    ];
    for (name, fault) in faults {
        let mut command = support::command();
        command
            .args(["workflow", "run", &f.path("ladder.json"), "--experts"])
            .arg(f.path("registry.json"))
            .args(["--simulate", "--delay-ms", "50", "--concurrency", "2"])
            .args(["--run-id", name, "--backend", &url, "--json"]);
        let mut run = Running::spawn(&mut command);
        run.wait_for(|line| completed_before(line, 10));
        fault(&mut server);
        let (code, out, err) = run.finish();
        assert_eq!(code, Some(0), "{name}: {err}");
        let status: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(status["state"], "completed", "{name}");
        let attempts: Vec<u64> = status["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["attempts"].as_u64().unwrap())
            .collect();
        assert!(attempts.iter().all(|a| *a == 1), "{name}: {attempts:?}");
    }
}

#[test]
fn a_wrong_password_is_an_authentication_failure() {
    let Some(server) = own_server("a_wrong_password_is_an_authentication_failure", false) else {
        return;
    };
    server.require_password("s3cret-word");
    let f = Files::new();
    let run = |url: String| {
        support::command()
            .env("CONSORT_REDIS_URL", url)
            .args(["workflow", "run", &f.path("marketing.json"), "--experts"])
            .arg(f.path("registry.json"))
            .args(["--simulate", "-q"])
            .output()
            .unwrap()
    };
    let port = server.port();
    let refused = run(format!("redis://:wrong-word@127.0.0.1:{port}/"));
    assert_eq!(code(&refused), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("unavailable"), "{err}");
    assert!(!err.contains("wrong-word"), "the password leaked: {err}");
    let done = ok(&run(format!("redis://:s3cret-word@127.0.0.1:{port}/")));
    assert!(done.contains("completed, 100% complete"), "{done}");
}
