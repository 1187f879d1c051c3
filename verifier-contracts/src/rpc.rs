//! A real chain over JSON-RPC (alloy; `http://`, or `https://` with rustls and the system's
//! root certificates): deploy a verifier, ask it about a proof with `eth_call`, and verify a
//! proof in a transaction.
//!
//! Every function blocks: it runs its own single-threaded tokio runtime, so callers stay
//! synchronous. Each one gives up after [`RPC_TIMEOUT`] in all (a node that never answers, or
//! a transaction that is never mined, is an error, not a hang).
//!
//! A verifier accepts when the call succeeds and returns ABI `true` (zkonnx's) or nothing
//! (snark-verifier's); it refuses by reverting, or by running out of gas (snark-verifier's
//! burns all the gas it is given on some bad proofs), so calls and transactions carry an
//! explicit gas cap. Before calling, the
//! address must hold code: `eth_call` to an empty account "succeeds" with no output, which
//! would read as acceptance.
//!
//! URLs in errors are shown as scheme, host and port only: hosted nodes put API keys in the path.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use alloy::network::{ReceiptResponse, TransactionBuilder};
pub use alloy::primitives::{Address, TxHash};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use alloy::transports::RpcError;

use crate::ContractError;

/// How long one function (a call, or sending a transaction and waiting for its receipt) may take.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(120);

/// Gas cap for verifier calls and transactions unless the caller says otherwise: a few times
/// what the fixtures' verifiers use (about 0.5M), far below a block.
pub const DEFAULT_VERIFY_GAS: u64 = 3_000_000;

/// A secp256k1 key that signs transactions. Its `Debug` shows the address only.
#[derive(Clone)]
pub struct Signer(PrivateKeySigner);

impl Signer {
    /// Parses 32 bytes of hex, with or without `0x`, surrounding whitespace ignored. The error
    /// never repeats the input.
    pub fn from_hex(key: &str) -> Result<Self, ContractError> {
        PrivateKeySigner::from_str(key.trim())
            .map(Signer)
            .map_err(|e| ContractError::PrivateKey { reason: e.to_string() })
    }

    /// The account that pays.
    pub fn address(&self) -> Address {
        self.0.address()
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("address", &self.address()).finish_non_exhaustive()
    }
}

/// A mined deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deployment {
    /// Where the verifier lives.
    pub address: Address,
    /// The deployment transaction.
    pub tx_hash: TxHash,
    /// Gas the deployment used.
    pub gas_used: u64,
}

/// What a verifier said to an `eth_call`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// The call succeeded with no output or ABI `true`.
    pub accepted: bool,
    /// The node's `eth_estimateGas` for the same call, when it accepted.
    pub gas_estimate: Option<u64>,
    /// Why it was refused: the node's error message, or the unexpected output.
    pub reason: Option<String>,
}

/// A mined verifying transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TxOutcome {
    /// The transaction.
    pub tx_hash: TxHash,
    /// The receipt's status: `true` is 1 (the verifier accepted).
    pub success: bool,
    /// Gas the transaction used.
    pub gas_used: u64,
}

/// The chain's id (`eth_chainId`); also a cheap "is the node up" probe.
pub fn chain_id(rpc_url: &str) -> Result<u64, ContractError> {
    let ep = parse_url(rpc_url)?;
    let provider = ep.root();
    block_on(&ep, async { provider.get_chain_id().await.map_err(|e| ep.err("eth_chainId", e)) })
}

/// The runtime code at `address` (`eth_getCode` at the latest block; empty for an account
/// without code).
pub fn code_at(rpc_url: &str, address: Address) -> Result<Vec<u8>, ContractError> {
    let ep = parse_url(rpc_url)?;
    let provider = ep.root();
    block_on(&ep, async {
        let code = provider.get_code_at(address).await.map_err(|e| ep.err("eth_getCode", e))?;
        Ok(code.to_vec())
    })
}

/// Sends `creation` code from `signer` and waits for the receipt; gas and fees are the node's
/// estimates. An error if the transaction fails or creates no contract.
pub fn deploy(rpc_url: &str, signer: &Signer, creation: &[u8]) -> Result<Deployment, ContractError> {
    let ep = parse_url(rpc_url)?;
    let provider = ProviderBuilder::new().wallet(signer.0.clone()).connect_http(ep.url.clone());
    let tx = TransactionRequest::default().with_deploy_code(creation.to_vec());
    block_on(&ep, async {
        let pending = provider.send_transaction(tx).await.map_err(|e| ep.err("sending the deployment", e))?;
        let tx_hash = *pending.tx_hash();
        let receipt =
            pending.get_receipt().await.map_err(|e| ep.err(&format!("waiting for the receipt of {tx_hash}"), e))?;
        let gas_used = receipt.gas_used();
        match (receipt.status(), receipt.contract_address()) {
            (true, Some(address)) => Ok(Deployment { address, tx_hash, gas_used }),
            (true, None) => Err(ep.err("the deployment", format!("{tx_hash} succeeded but created no contract"))),
            (false, _) => Err(ContractError::DeployFailed { url: ep.shown.clone(), tx: tx_hash.to_string(), gas_used }),
        }
    })
}

/// Asks the verifier at `to` about `calldata` with `eth_call` (at most `gas` gas), after
/// checking that `to` holds code. A refusal is `Ok` with `accepted: false`; only a node that
/// cannot be reached or answers nonsense is an `Err`.
pub fn call_verifier(rpc_url: &str, to: Address, calldata: &[u8], gas: u64) -> Result<Verdict, ContractError> {
    let ep = parse_url(rpc_url)?;
    let provider = ep.root();
    let tx = TransactionRequest::default().with_to(to).with_input(calldata.to_vec()).with_gas_limit(gas);
    block_on(&ep, async {
        require_code(&ep, &provider, to).await?;
        let output = match provider.call(tx.clone()).await {
            Ok(output) => output,
            // the node ran the call and it failed: a revert or running out of gas
            Err(RpcError::ErrorResp(payload)) => {
                return Ok(Verdict { accepted: false, gas_estimate: None, reason: Some(payload.message.to_string()) })
            }
            Err(e) => return Err(ep.err("eth_call", e)),
        };
        if !crate::evm::is_acceptance(&output) {
            let reason = format!("the call succeeded but returned 0x{}", alloy::hex::encode(&output));
            return Ok(Verdict { accepted: false, gas_estimate: None, reason: Some(reason) });
        }
        let gas_estimate = provider.estimate_gas(tx).await.map_err(|e| ep.err("eth_estimateGas", e))?;
        Ok(Verdict { accepted: true, gas_estimate: Some(gas_estimate), reason: None })
    })
}

/// `eth_call` of any contract at `to` (at most `gas` gas), after checking that `to` holds code:
/// its return data. A revert is [`ContractError::Rejected`] with the node's message.
pub fn call(rpc_url: &str, to: Address, calldata: &[u8], gas: u64) -> Result<Vec<u8>, ContractError> {
    let ep = parse_url(rpc_url)?;
    let provider = ep.root();
    let tx = TransactionRequest::default().with_to(to).with_input(calldata.to_vec()).with_gas_limit(gas);
    block_on(&ep, async {
        require_code(&ep, &provider, to).await?;
        match provider.call(tx).await {
            Ok(output) => Ok(output.to_vec()),
            Err(RpcError::ErrorResp(payload)) => Err(ContractError::Rejected { reason: payload.message.to_string() }),
            Err(e) => Err(ep.err("eth_call", e)),
        }
    })
}

/// Verifies `calldata` at `to` in a transaction from `signer` with a gas limit of `gas`, after
/// checking that `to` holds code, and waits for the receipt. A mined transaction is `Ok`
/// whatever its status; read [`TxOutcome::success`].
pub fn send_verify(
    rpc_url: &str,
    signer: &Signer,
    to: Address,
    calldata: &[u8],
    gas: u64,
) -> Result<TxOutcome, ContractError> {
    let ep = parse_url(rpc_url)?;
    let provider = ProviderBuilder::new().wallet(signer.0.clone()).connect_http(ep.url.clone());
    let tx = TransactionRequest::default().with_to(to).with_input(calldata.to_vec()).with_gas_limit(gas);
    block_on(&ep, async {
        require_code(&ep, provider.root(), to).await?;
        let pending = provider.send_transaction(tx).await.map_err(|e| ep.err("sending the transaction", e))?;
        let tx_hash = *pending.tx_hash();
        let receipt =
            pending.get_receipt().await.map_err(|e| ep.err(&format!("waiting for the receipt of {tx_hash}"), e))?;
        Ok(TxOutcome { tx_hash, success: receipt.status(), gas_used: receipt.gas_used() })
    })
}

/// An error unless `address` holds contract code.
async fn require_code(ep: &Endpoint, provider: &RootProvider, address: Address) -> Result<(), ContractError> {
    let code = provider.get_code_at(address).await.map_err(|e| ep.err("eth_getCode", e))?;
    if code.is_empty() {
        return Err(ContractError::NoCode { url: ep.shown.clone(), address: address.to_string() });
    }
    Ok(())
}

/// `rpc_url` as errors and logs show it: scheme, host and port, with `/…` standing for a path
/// or query (where hosted nodes keep API keys); credentials never appear.
pub fn redact_url(rpc_url: &str) -> String {
    match Url::parse(rpc_url.trim()) {
        Ok(url) => redact(&url),
        Err(_) => "(unparsable URL)".into(),
    }
}

fn redact(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    if url.path() != "/" || url.query().is_some() {
        shown.push_str("/…");
    }
    shown
}

/// A parsed node URL with the form errors show.
struct Endpoint {
    url: Url,
    shown: String,
}

impl Endpoint {
    /// An error naming the node; the full URL is scrubbed from the cause too (HTTP errors
    /// repeat it).
    fn err(&self, what: &str, cause: impl fmt::Display) -> ContractError {
        let reason = format!("{what}: {cause}").replace(self.url.as_str(), &self.shown);
        ContractError::Rpc { url: self.shown.clone(), reason }
    }

    fn root(&self) -> RootProvider {
        RootProvider::new_http(self.url.clone())
    }
}

/// Parses and checks the URL.
fn parse_url(rpc_url: &str) -> Result<Endpoint, ContractError> {
    let url = Url::parse(rpc_url.trim())
        .map_err(|e| ContractError::Rpc { url: "(unparsable URL)".into(), reason: format!("not a URL: {e}") })?;
    let shown = redact(&url);
    match url.scheme() {
        "http" | "https" => Ok(Endpoint { url, shown }),
        other => Err(ContractError::Rpc {
            url: shown,
            reason: format!("unsupported scheme {other:?}: use http:// or https://"),
        }),
    }
}

/// Runs `fut` to completion on a fresh single-threaded runtime, giving up after [`RPC_TIMEOUT`].
fn block_on<T>(ep: &Endpoint, fut: impl Future<Output = Result<T, ContractError>>) -> Result<T, ContractError> {
    block_on_within(ep, RPC_TIMEOUT, fut)
}

fn block_on_within<T>(
    ep: &Endpoint,
    limit: Duration,
    fut: impl Future<Output = Result<T, ContractError>>,
) -> Result<T, ContractError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| ep.err("starting tokio", e))?;
    runtime.block_on(async {
        tokio::time::timeout(limit, fut)
            .await
            .unwrap_or_else(|_| Err(ep.err("timed out", format!("no result within {limit:?}"))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // hardhat's and anvil's first development account: public knowledge, never funded anywhere real
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn keys_parse_with_or_without_prefix_and_errors_hide_them() {
        let a = Signer::from_hex(DEV_KEY).unwrap();
        let b = Signer::from_hex(&format!(" {}\n", &DEV_KEY[2..])).unwrap();
        assert_eq!(a.address(), b.address());
        assert_eq!(a.address().to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert!(!format!("{a:?}").contains(&DEV_KEY[2..]), "{a:?}");
        let short = &DEV_KEY[..40];
        let err = Signer::from_hex(short).unwrap_err().to_string();
        assert!(err.contains("private key") && !err.contains(&short[2..]), "{err}");
        assert!(Signer::from_hex(&DEV_KEY.replace('a', "g")).is_err());
    }

    #[test]
    fn urls_lose_their_path_in_errors_and_only_http_and_https_are_accepted() {
        let parse = |url: &str| parse_url(url).map(|ep| ep.shown).map_err(|e| e.to_string());
        assert_eq!(parse("http://127.0.0.1:8545").unwrap(), "http://127.0.0.1:8545");
        assert_eq!(parse("https://eth.example.org/v3/SECRETKEY").unwrap(), "https://eth.example.org/…");
        assert!(parse("ws://localhost:8545").unwrap_err().contains("use http:// or https://"));
        assert!(parse("localhost 8545").unwrap_err().contains("not a URL"));
        assert_eq!(redact_url("http://user:pw@node.example:8545/?key=k"), "http://node.example:8545/…");
    }

    #[test]
    fn a_node_that_never_answers_times_out() {
        // a listener that accepts connections and never replies
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let ep = parse_url(&url).unwrap();
        let provider = ep.root();
        let fut = async { provider.get_chain_id().await.map_err(|e| ep.err("eth_chainId", e)) };
        let err = block_on_within(&ep, Duration::from_millis(300), fut).unwrap_err().to_string();
        assert!(err.contains("timed out") && err.contains(&ep.shown), "{err}");
    }

    #[test]
    fn https_goes_through_tls() {
        use std::io::Write;
        // a plain TCP server on loopback: the TLS handshake fails, and the error names the node
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nnot tls");
            }
        });
        let err = chain_id(&format!("https://127.0.0.1:{port}/key")).unwrap_err().to_string();
        assert!(err.contains(&format!("https://127.0.0.1:{port}/…")) && err.contains("eth_chainId"), "{err}");
        assert!(!err.contains("unsupported scheme"), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn an_unreachable_node_is_an_error_naming_it() {
        // port 9 (discard) on loopback: nothing listens in a test environment
        let err = chain_id("http://127.0.0.1:9").unwrap_err().to_string();
        assert!(err.contains("http://127.0.0.1:9") && err.contains("eth_chainId"), "{err}");
        let err = call_verifier("http://127.0.0.1:9/key", Address::ZERO, &[], 1).unwrap_err().to_string();
        assert!(err.contains("http://127.0.0.1:9/…") && err.contains("eth_getCode"), "{err}");
        assert!(!err.contains("/key"), "the URL's path leaked: {err}");
    }
}
