//! `herald [serve]` runs the service, `herald migrate` prepares the database and exits,
//! `herald sink` runs the demo webhook receiver. Configuration comes from the environment.

use std::process::ExitCode;

use herald::config::parse_duration;
use herald::sink::SinkOptions;
use herald::{Application, Settings, telemetry};

const USAGE: &str = "\
usage: herald [serve]                 run the dispatcher and its HTTP API
       herald migrate                 apply database migrations and exit
       herald sink [--port 9090] [--failure-rate 0.0] [--latency 0ms]
                                      run a webhook receiver for demos and benchmarks
       herald openapi [DIR]           write openapi.json and openapi.yaml to DIR (default swagger/)
       herald health [URL]            exit 0 if URL (default: this instance's /health) answers 2xx
Configuration is read from the environment; see README.md.";

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    let result = match command {
        "serve" => serve().await,
        "migrate" => migrate().await,
        "sink" => sink(&args[1..]).await,
        "health" => health(args.get(1)).await,
        "openapi" => openapi(args.get(1).map(String::as_str).unwrap_or("swagger")),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(anyhow::anyhow!("unknown command '{other}'\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn settings() -> anyhow::Result<Settings> {
    let settings = Settings::from_env().map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
    telemetry::init(settings.log_format);
    Ok(settings)
}

async fn serve() -> anyhow::Result<()> {
    let app = Application::build(settings()?).await?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn migrate() -> anyhow::Result<()> {
    let settings = settings()?;
    let store = herald::db::PgStore::new(
        settings.database.url.expose(),
        1,
        std::time::Duration::from_secs(5),
    );
    let applied =
        tokio::task::spawn_blocking(move || store.migrate(settings.content_max_chars)).await??;
    println!(
        "migrations applied: {}",
        if applied.is_empty() {
            "none pending".into()
        } else {
            applied.join(", ")
        }
    );
    Ok(())
}

fn openapi(dir: &str) -> anyhow::Result<()> {
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("openapi.json"), herald::http::docs::openapi_json())?;
    std::fs::write(dir.join("openapi.yaml"), herald::http::docs::openapi_yaml())?;
    println!("wrote {0}/openapi.json and {0}/openapi.yaml", dir.display());
    Ok(())
}

/// A probe for container healthchecks: no curl needed in the image.
async fn health(url: Option<&String>) -> anyhow::Result<()> {
    let url = match url {
        Some(url) => url.clone(),
        None => {
            let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "0.0.0.0:8080".into());
            let port = listen.rsplit(':').next().unwrap_or("8080");
            format!("http://127.0.0.1:{port}/health")
        }
    };
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?
        .get(&url)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url} answered {}",
        response.status()
    );
    Ok(())
}

async fn sink(args: &[String]) -> anyhow::Result<()> {
    telemetry::init(herald::config::LogFormat::Pretty);
    let mut opts = SinkOptions::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--port" => {
                opts.port = value
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--port expects a port number"))?
            }
            "--failure-rate" => {
                opts.failure_rate = value
                    .parse()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| anyhow::anyhow!("--failure-rate expects a number from 0 to 1"))?
            }
            "--latency" => {
                opts.latency = if value.trim() == "0" || value.trim() == "0ms" {
                    std::time::Duration::ZERO
                } else {
                    parse_duration(value).ok_or_else(|| {
                        anyhow::anyhow!("--latency expects a duration such as 50ms")
                    })?
                }
            }
            other => anyhow::bail!("unknown option '{other}'\n{USAGE}"),
        }
    }
    let (server, port) = herald::sink::start(opts)?;
    tracing::info!(port, "sink listening: POST any path, GET /stats");
    server.await?;
    Ok(())
}
