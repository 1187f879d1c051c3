//! `ops`: list the ONNX ops this release lowers.

use anyhow::Result;

#[derive(clap::Args, Debug)]
pub(crate) struct OpsArgs {
    /// Only the ops whose name contains this (case-insensitive), e.g. `pool`.
    filter: Option<String>,
    /// Print JSON (`[{"op", "family", "forms", "limits"}]`) instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: &OpsArgs) -> Result<()> {
    let filter = a.filter.as_deref().unwrap_or("").to_lowercase();
    let mut ops: Vec<&zkonnx::OpSupport> =
        zkonnx::supported_ops().filter(|o| o.op.to_lowercase().contains(&filter)).collect();
    ops.sort_by_key(|o| o.op);
    if a.json {
        let rows: Vec<serde_json::Value> = ops
            .iter()
            .map(|o| serde_json::json!({ "op": o.op, "family": o.family, "forms": o.forms, "limits": o.limits }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for o in &ops {
        println!("{:<24} {:<11} {}", o.op, o.family, o.forms);
        if !o.limits.is_empty() {
            println!("{:<36} limits: {}", "", o.limits);
        }
    }
    println!("{} ONNX op types (`zkonnx table -M model.onnx` names a model's unsupported nodes)", ops.len());
    Ok(())
}
