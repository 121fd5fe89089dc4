//! `make chaos`: the faults an operator meets, against the release binary, with throwaway
//! PostgreSQL and Redis servers where a scenario restarts them. Prints a table (also written to
//! `target/chaos.md`): scenario, messages, lost, duplicates, recovery time, and fails if any
//! scenario broke its promise. `CHAOS_SCALE=small` (CI) runs every scenario with fewer messages
//! and shorter outages. Built only with `--features chaos`.

#![allow(dead_code)]

#[path = "../api/helpers.rs"]
#[allow(unused_macros, unused_imports)]
mod helpers;
#[path = "../api/legacy.rs"]
mod legacy;
mod process;
#[path = "../api/receiver.rs"]
mod receiver;
mod scenarios;
#[path = "../api/testdb.rs"]
mod testdb;
#[path = "../support/throwaway.rs"]
mod throwaway;

use std::fmt::Write as _;
use std::time::Duration;

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub messages: usize,
    pub lost: usize,
    pub duplicates: usize,
    /// From the end of the fault to the service being whole again.
    pub recovery: Option<Duration>,
    /// What else was checked, or what broke.
    pub notes: String,
    pub ok: bool,
}

/// Run sizes: full for `make chaos`, small for CI.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub small: bool,
}

impl Scale {
    pub fn pick<T>(self, full: T, small: T) -> T {
        if self.small { small } else { full }
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | messages | lost | duplicates | recovery | result | notes |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let recovery = r
            .recovery
            .map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.messages,
            r.lost,
            r.duplicates,
            recovery,
            if r.ok { "ok" } else { "FAIL" },
            r.notes
        );
    }
    out
}

#[actix_rt::test]
async fn chaos() {
    let scale = Scale {
        small: std::env::var("CHAOS_SCALE").is_ok_and(|s| s == "small"),
    };
    let only = std::env::var("CHAOS_ONLY").ok();
    let _ = std::fs::remove_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/target/chaos"));
    let mut rows = Vec::new();
    for (name, run) in scenarios::all() {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        eprintln!("== {name}");
        let row = run(scale).await;
        eprintln!(
            "{}",
            table(std::slice::from_ref(&row)).lines().last().unwrap()
        );
        rows.push(row);
    }
    let text = table(&rows);
    println!("\n{text}");
    let _ = std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/chaos.md"),
        &text,
    );
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.scenario.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "scenarios that broke a promise: {failed:?}"
    );
}
