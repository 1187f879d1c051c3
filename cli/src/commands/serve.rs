//! `serve`: the HTTP/JSON proving service (`zkonnx_service`) over artifact folders.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use zkonnx_service::{shutdown_signal, Config, Service};

use crate::common::{srs_source, Spinners};

/// The environment variable a token is read from when no `--token-file` is given.
const TOKEN_ENV: &str = "ZKONNX_SERVICE_TOKEN";

#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// An artifact folder to serve (what `zkonnx run --out` wrote), as DIR (id: the folder's
    /// name) or ID=DIR; repeat for more models.
    #[arg(long = "model", short = 'm', required = true)]
    models: Vec<String>,
    /// Address to listen on; a non-loopback one needs a token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder for the job database (`jobs.sqlite`).
    #[arg(long = "data-dir", default_value = "zkonnx-service")]
    data_dir: PathBuf,
    /// File holding the bearer token clients must send (else $ZKONNX_SERVICE_TOKEN; without
    /// either, no auth, and only a loopback address is allowed).
    #[arg(long = "token-file")]
    token_file: Option<PathBuf>,
    /// SRS file (default: the cached INSECURE development SRS).
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Largest request body in bytes.
    #[arg(long = "max-body-bytes", default_value_t = 16 << 20)]
    max_body_bytes: usize,
    /// Seconds a synchronous prove request may take (then 503; jobs have no limit).
    #[arg(long = "timeout-secs", default_value_t = 300)]
    timeout_secs: u64,
    /// Memory for proofs in MiB [default: what is available at start].
    #[arg(long = "memory-mb")]
    memory_mb: Option<u32>,
    /// Proofs running at once at most.
    #[arg(long = "max-concurrent", default_value_t = 2)]
    max_concurrent: usize,
    /// Proofs waiting for admission at most (then 429).
    #[arg(long = "max-queue", default_value_t = 256)]
    max_queue: usize,
}

pub(crate) fn run(a: ServeArgs) -> Result<()> {
    let models = a
        .models
        .iter()
        .map(|m| match m.split_once('=') {
            Some((id, dir)) => Ok((id.to_string(), PathBuf::from(dir))),
            None => {
                let dir = PathBuf::from(m);
                let id =
                    dir.file_name().and_then(|n| n.to_str()).with_context(|| format!("--model {m}: no folder name"))?;
                Ok((id.to_string(), dir))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let token = match &a.token_file {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("reading the token file {}", p.display()))?),
        None => std::env::var(TOKEN_ENV).ok(),
    };
    let mut config = Config::new(models, a.data_dir.clone(), srs_source(a.srs.as_deref())?);
    config.listen = a.listen;
    config.token = token.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    config.max_body_bytes = a.max_body_bytes;
    config.request_timeout = Duration::from_secs(a.timeout_secs);
    config.memory_budget_mb = a.memory_mb;
    config.max_concurrent = a.max_concurrent;
    config.max_queue = a.max_queue;
    if a.max_concurrent == 0 {
        bail!("--max-concurrent must be at least 1");
    }
    let auth = if config.token.is_some() { "bearer token required" } else { "no auth (loopback only)" };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let service = Service::bind(config, Box::new(Spinners::default())).await?;
        let addr = service.local_addr()?;
        // one line on stdout for scripts (and tests) to find the address
        println!("listening on http://{addr}");
        eprintln!("zkonnx serve: {auth}; jobs in {}; SIGTERM or Ctrl-C stops", a.data_dir.display());
        service.run(shutdown_signal()).await?;
        eprintln!("zkonnx serve: stopped");
        Ok::<_, anyhow::Error>(())
    })
}
