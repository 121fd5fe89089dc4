//! The binary as an operator runs it: configuration errors, migrate, SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_herald");

fn run_with(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn a_bad_configuration_value_stops_startup_with_a_clear_message() {
    for (var, value, expected) in [
        (
            "BATCH_SIZE",
            "lots",
            "invalid BATCH_SIZE='lots': expected a whole number from 1 to 1000",
        ),
        (
            "SCHEDULER_INTERVAL",
            "2 weeks-ish",
            "invalid SCHEDULER_INTERVAL='2 weeks-ish': expected a positive duration",
        ),
        (
            "WEBHOOK_URL",
            "not a url",
            "invalid WEBHOOK_URL='not a url': expected an http:// or https:// URL",
        ),
    ] {
        let out = run_with(&[(var, value)], &[]);
        assert!(!out.status.success(), "{var} should stop startup");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{var}: {stderr}");
    }
}

#[test]
fn a_bad_secret_is_named_but_never_printed() {
    let out = run_with(&[("WEBHOOK_SECRET", "whsec_%%%not-base64%%%")], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid WEBHOOK_SECRET"), "{stderr}");
    assert!(!stderr.contains("not-base64"), "{stderr}");
}

#[test]
fn an_unknown_command_is_refused() {
    let out = run_with(&[], &["fly"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'fly'"));
}

#[test]
fn every_subcommand_answers_help_without_running() {
    for command in ["serve", "migrate", "sink", "openapi", "health"] {
        let started = Instant::now();
        // A database that cannot exist: had `serve` or `migrate` started, they would fail.
        let out = run_with(
            &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
            &[command, "--help"],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command} --help: {out:?}");
        assert!(
            stdout.contains(&format!("Usage: herald {command}")),
            "{stdout}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{command} --help ran"
        );
    }
    let serve = run_with(&[], &["serve", "--help"]);
    let text = String::from_utf8_lossy(&serve.stdout);
    for var in ["DATABASE_URL", "WEBHOOK_TIMEOUT", "API_TOKEN"] {
        assert!(text.contains(var), "serve --help shows {var}: {text}");
    }
}

#[test]
fn migrate_prepares_a_database_and_is_idempotent() {
    let db = TestDb::create();
    let first = run_with(&[("DATABASE_URL", &db.url)], &["migrate"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("migrations applied: 2026"));
    let second = run_with(&[("DATABASE_URL", &db.url)], &["migrate"]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("none pending"));
    assert_eq!(db.count("true"), 0);
}

#[test]
fn sigterm_stops_the_service_with_exit_code_zero() {
    let db = TestDb::create();
    let mut child = Command::new(BIN)
        .envs([
            ("DATABASE_URL", db.url.as_str()),
            ("LISTEN_ADDR", "127.0.0.1:0"),
            ("PRODUCER_ENABLED", "false"),
            ("RUST_LOG", "info"),
            ("REDIS_URL", &redis_url()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ready once the migrations ran and the dispatch row exists.
    let deadline = Instant::now() + Duration::from_secs(20);
    while db
        .exec("SELECT 1 FROM dispatch_state")
        .map(|n| n == 0)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "herald did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "herald did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(stderr.contains("shutdown complete"), "{stderr}");
}
