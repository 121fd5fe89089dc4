//! The `herald` command line (clap): `serve` (the default) runs the service, `migrate`
//! prepares the database, `sink` runs the demo webhook receiver, `openapi` writes the document,
//! `health` probes an instance. Configuration comes from the environment (`herald serve --help`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use herald::config::parse_duration;
use herald::sink::SinkOptions;
use herald::{Application, Settings, telemetry};

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "Reliable message dispatch from PostgreSQL to a webhook",
    after_help = "Without a command, herald serves. Configuration is read from the environment: `herald serve --help` lists it."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the dispatcher and its HTTP API (the default)
    #[command(after_help = herald::config::variables_help())]
    Serve,
    /// Apply database migrations and exit (DATABASE_URL)
    Migrate,
    /// Run a webhook receiver for demos and benchmarks: POST any path, GET /stats
    Sink {
        /// Port to listen on (127.0.0.1 and every other address)
        #[arg(long, default_value_t = 9090)]
        port: u16,
        /// Share of requests answered 500, from 0 to 1
        #[arg(long, default_value_t = 0.0, value_parser = failure_rate)]
        failure_rate: f64,
        /// Wait this long before answering, e.g. 50ms
        #[arg(long, default_value = "0ms", value_parser = latency)]
        latency: Duration,
    },
    /// Write openapi.json and openapi.yaml to DIR
    Openapi {
        #[arg(default_value = "swagger")]
        dir: PathBuf,
    },
    /// Exit 0 if URL (default: this instance's /health, from LISTEN_ADDR) answers 2xx
    Health { url: Option<String> },
}

fn failure_rate(raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| "expected a number from 0 to 1".into())
}

fn latency(raw: &str) -> Result<Duration, String> {
    match raw.trim() {
        "0" | "0ms" => Ok(Duration::ZERO),
        other => parse_duration(other).ok_or_else(|| "expected a duration such as 50ms".into()),
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::Sink {
            port,
            failure_rate,
            latency,
        } => {
            sink(SinkOptions {
                addr: ([0, 0, 0, 0], port).into(),
                failure_rate,
                latency,
            })
            .await
        }
        Command::Openapi { dir } => openapi(&dir),
        Command::Health { url } => health(url).await,
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
    let (_, applied) = herald::db::open(&settings.database).await?;
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

fn openapi(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("openapi.json"), herald::http::docs::openapi_json())?;
    std::fs::write(dir.join("openapi.yaml"), herald::http::docs::openapi_yaml())?;
    println!("wrote {0}/openapi.json and {0}/openapi.yaml", dir.display());
    Ok(())
}

/// A probe for container healthchecks: no curl needed in the image.
async fn health(url: Option<String>) -> anyhow::Result<()> {
    let url = match url {
        Some(url) => url,
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

async fn sink(opts: SinkOptions) -> anyhow::Result<()> {
    telemetry::init(herald::config::LogFormat::Pretty);
    let (server, port) = herald::sink::start(opts)?;
    tracing::info!(port, "sink listening: POST any path, GET /stats");
    server.await?;
    Ok(())
}
