//! A local development chain: the npm `hardhat` node pinned in the repository's `package.json`
//! (installed by `npm ci`), run offline on a free loopback port with the config in
//! `verifier-contracts/hardhat/`. Tests and the dApp example deploy verifiers to it; dropping
//! the [`HardhatNode`] kills the process.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{rpc, ContractError};

/// Hardhat's development accounts #0 and #1: publicly known keys, worthless anywhere real.
pub const DEV_KEYS: [&str; 2] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
];
/// The chain id of a hardhat node.
pub const HARDHAT_CHAIN_ID: u64 = 31337;
/// How long the node may take to answer after starting.
const START_LIMIT: Duration = Duration::from_secs(60);

/// The repository root as this crate was built in (where `node_modules/` is).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running hardhat node.
#[derive(Debug)]
pub struct HardhatNode {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for HardhatNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup_err(reason: String) -> ContractError {
    ContractError::Rpc { url: "hardhat".into(), reason }
}

impl HardhatNode {
    /// Starts `hardhat node` on a free loopback port, logging to `log_dir/hardhat.log`; it
    /// answers once [`Self::wait_ready`] returns. Fails, naming `npm ci`, without Node.js or the
    /// installed hardhat.
    pub fn start(log_dir: &Path) -> Result<Self, ContractError> {
        let root = repo_root();
        let cli = root.join("node_modules/hardhat/internal/cli/bootstrap.js");
        if !cli.is_file() {
            return Err(setup_err(format!(
                "{} is missing: run `npm ci` at the repository root ({}) to install the pinned hardhat",
                cli.display(),
                root.display()
            )));
        }
        let node_ok = Command::new("node").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
        if !node_ok {
            return Err(setup_err("Node.js (`node`) is not on PATH: install Node >= 20, then run `npm ci`".into()));
        }
        let io = |e: std::io::Error| setup_err(e.to_string());
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(io)?.port();
        let log = log_dir.join("hardhat.log");
        let out = File::create(&log).map_err(io)?;
        let err = out.try_clone().map_err(io)?;
        let config = root.join("verifier-contracts/hardhat/hardhat.config.js");
        let child = Command::new("node")
            .arg(&cli)
            .arg("--config")
            .arg(&config)
            .args(["node", "--hostname", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(root.join("verifier-contracts/hardhat"))
            .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| setup_err(format!("starting hardhat: {e}")))?;
        Ok(Self { child, url: format!("http://127.0.0.1:{port}"), log })
    }

    /// The node's JSON-RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits until the node answers `eth_chainId` with hardhat's id; returns the seconds it took.
    pub fn wait_ready(&mut self) -> Result<f64, ContractError> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(setup_err(format!("hardhat exited ({status}) before answering:\n{}", self.log_text())));
            }
            match rpc::chain_id(&self.url) {
                Ok(HARDHAT_CHAIN_ID) => return Ok(start.elapsed().as_secs_f64()),
                Ok(id) => return Err(setup_err(format!("the node answered chain id {id}, not hardhat's"))),
                Err(e) if start.elapsed() > START_LIMIT => {
                    return Err(setup_err(format!(
                        "hardhat did not answer within {START_LIMIT:?} ({e}):\n{}",
                        self.log_text()
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    /// What the node logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
