//! Models bigger than one circuit: `split`, `prove-segment`, `aggregate` (and the `--split` forms
//! of `run`, `gen-witness`, `verify`, `create-evm-verifier`), over `zkonnx::split`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zkonnx::lower::verifier::{read_json, write_json};
use zkonnx::split::{segment_proof_path, segment_witness_path, AggregatedProof, Split, SplitOptions, SplitPolicy};
use zkonnx::{Model, Witness};

use crate::common::{srs_source, RunArgsFlags, Spinners};

/// How to split: the policy flags shared by `split` and `run --split`.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct SplitFlags {
    /// Split into this many segments (of about equal rows).
    #[arg(long)]
    pub(crate) segments: Option<usize>,
    /// Cut as few times as keeps every segment's (and aggregation step's) predicted peak memory
    /// within this many MiB (default: the memory available).
    #[arg(long, value_name = "MIB")]
    pub(crate) max_memory: Option<f64>,
    /// Cut as few times as keeps every segment within 2^K rows.
    #[arg(long, value_name = "K")]
    pub(crate) max_logrows: Option<u32>,
    /// Cut after these ONNX nodes (comma-separated, in the model's order; `zkonnx table` lists them).
    #[arg(long, value_delimiter = ',')]
    pub(crate) cut: Vec<String>,
    /// Proofs each aggregation node verifies.
    #[arg(long, default_value_t = zkonnx::split::DEFAULT_FAN_IN)]
    pub(crate) fan_in: usize,
    /// log2 of the rows of the aggregation circuits.
    #[arg(long, default_value_t = zkonnx::split::DEFAULT_AGGREGATION_K)]
    pub(crate) aggregation_logrows: u32,
    /// At least this many advice columns in the root aggregation circuit (default: as many as it
    /// needs). Pinned, the aggregated proofs' EVM verifier costs the same gas for any number of
    /// segments.
    #[arg(long, default_value_t = 0)]
    pub(crate) root_advice: usize,
}

impl SplitFlags {
    /// The library's options; `count` is `run --split N` (a number of segments), if given.
    pub(crate) fn options(&self, count: Option<usize>) -> Result<SplitOptions> {
        let chosen = [count.or(self.segments).is_some(), self.max_logrows.is_some(), !self.cut.is_empty()];
        if chosen.iter().filter(|&&c| c).count() > 1 {
            anyhow::bail!("choose one of a number of segments, --max-logrows and --cut");
        }
        let policy = if let Some(n) = count.or(self.segments) {
            SplitPolicy::Segments(n)
        } else if let Some(k) = self.max_logrows {
            SplitPolicy::MaxLogrows(k)
        } else if !self.cut.is_empty() {
            SplitPolicy::After(self.cut.clone())
        } else {
            SplitPolicy::Auto { max_memory_mb: self.max_memory }
        };
        let mut o = SplitOptions::new(policy);
        o.fan_in = self.fan_in;
        o.aggregation_k = self.aggregation_logrows;
        o.root_advice = self.root_advice;
        Ok(o)
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct SplitArgs {
    /// The ONNX model.
    #[arg(short = 'M', long)]
    model: PathBuf,
    /// Calibration sample (EZKL input format); without it the settings are the defaults and flags.
    #[arg(short = 'D', long = "data")]
    data: Option<PathBuf>,
    /// The split folder to write.
    #[arg(long, default_value = "zkonnx-split")]
    out: PathBuf,
    /// SRS file for the segments' keys (default: the cached development SRS).
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Write the segments without making their keys.
    #[arg(long)]
    no_setup: bool,
    /// Make the keys even when a segment's estimated peak memory exceeds the memory available.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    split: SplitFlags,
    #[command(flatten)]
    flags: RunArgsFlags,
}

pub(crate) fn split(a: SplitArgs) -> Result<()> {
    let options = a.flags.options()?;
    let model = Model::load(&a.model, &options.dims).with_context(|| format!("model {}", a.model.display()))?;
    let settings = match &a.data {
        Some(d) => model.settings(&[zkonnx::read_inputs(d)?], &options)?,
        None => model.default_settings(&options)?,
    };
    let compiled = model.compile(settings)?;
    let split = Split::create(&a.out, &compiled, &a.split.options(None)?)?;
    print_plan(&split)?;
    if !a.no_setup {
        let progress = Spinners::default();
        for j in 0..split.len() {
            let settings = split.segment_model(j)?.settings;
            zkonnx::memory::check(&settings, zkonnx::memory::Step::Setup, a.force, &progress)
                .with_context(|| format!("segment {j}'s keys"))?;
        }
        let srs = srs_source(a.srs.as_deref())?.load(split.max_logrows(), &progress)?;
        split.setup(&srs, &progress)?;
        eprintln!("made the segments' keys; the aggregation's are made by the first `zkonnx aggregate`");
    }
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

fn print_plan(split: &Split) -> Result<()> {
    let estimate = split.estimate()?;
    eprintln!("{} segments:", split.len());
    for (j, (s, e)) in split.manifest().segments.iter().zip(&estimate.segments).enumerate() {
        eprintln!(
            "  segment {j}: logrows {}, {} tensors in, {} out, setup {:.0} MiB, prove {:.0} MiB (est)",
            s.logrows,
            s.carries_in.len(),
            s.carries_out.len(),
            e.1,
            e.2
        );
    }
    let plan = &split.manifest().plan;
    eprintln!(
        "aggregation: {} nodes in {} levels, fan-in {}:",
        plan.nodes.len(),
        plan.depth(),
        split.manifest().fan_in
    );
    for (i, (items, n)) in plan.nodes.iter().zip(&estimate.nodes).enumerate() {
        eprintln!(
            "  node {i}: {items:?}, logrows {}, ~{:.1}M cells, {} columns, prove {:.0} MiB, {:.0} s (est)",
            n.k,
            n.cells / 1e6,
            n.columns,
            n.prove_mb,
            n.prove_seconds
        );
    }
    Ok(())
}

/// `gen-witness --split DIR`: every segment's witness in a folder.
pub(crate) fn witnesses(split: &Path, data: &Path, out: &Path) -> Result<()> {
    let split = Split::open(split)?;
    let inputs = zkonnx::read_inputs(data)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let ws = split.witnesses(&inputs)?;
    for (j, w) in ws.iter().enumerate() {
        write_json(&segment_witness_path(out, j), w)?;
    }
    eprintln!("outputs: {:?}", ws.last().map(|w| &w.output_floats));
    eprintln!("wrote {} segment witnesses to {}", ws.len(), out.display());
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct ProveSegmentArgs {
    /// The split folder.
    #[arg(long)]
    split: PathBuf,
    /// Which segment (from 0).
    #[arg(long)]
    segment: usize,
    /// The segment's witness (default: `witness-<segment>.json` in the split folder).
    #[arg(short = 'W', long)]
    witness: Option<PathBuf>,
    /// Where to write the proof (default: `proof-<segment>.json` beside the witness). An existing
    /// proof of the same segment and witness that verifies is kept.
    #[arg(short = 'O', long)]
    output: Option<PathBuf>,
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Prove even when the estimated peak memory exceeds the memory available.
    #[arg(long)]
    force: bool,
}

pub(crate) fn prove_segment(a: ProveSegmentArgs) -> Result<()> {
    let split = Split::open(&a.split)?;
    let compiled = split.segment_model(a.segment)?;
    zkonnx::memory::check(&compiled.settings, zkonnx::memory::Step::Prove, a.force, &Spinners::default())?;
    let witness_path = a.witness.clone().unwrap_or_else(|| segment_witness_path(&a.split, a.segment));
    let out = a
        .output
        .clone()
        .unwrap_or_else(|| segment_proof_path(witness_path.parent().unwrap_or(Path::new(".")), a.segment));
    let witness: Witness = read_json(&witness_path)?;
    let progress = Spinners::default();
    let logrows = split.manifest().segments.get(a.segment).map_or(0, |s| s.logrows);
    let srs = srs_source(a.srs.as_deref())?.load(logrows.max(1), &progress)?;
    let start = std::time::Instant::now();
    split.prove_segment(a.segment, &witness, &srs, &out, &progress)?;
    eprintln!("segment {}: wrote {} ({:.2} s)", a.segment, out.display(), start.elapsed().as_secs_f64());
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct AggregateArgs {
    /// The split folder.
    #[arg(long)]
    split: PathBuf,
    /// The folder with the segment proofs (`proof-<j>.json`; default: the split folder); the
    /// aggregated proof goes there as `aggregated.json`.
    #[arg(long)]
    proofs: Option<PathBuf>,
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Aggregate even when the estimated peak memory exceeds the memory available.
    #[arg(long)]
    force: bool,
}

pub(crate) fn aggregate(a: AggregateArgs) -> Result<()> {
    let split = Split::open(&a.split)?;
    let peak = split.estimate()?.nodes.iter().map(|n| n.prove_mb).fold(0.0, f64::max);
    zkonnx::memory::check_mb("aggregation", peak, split.manifest().aggregation_k, a.force, &Spinners::default())?;
    let run = a.proofs.clone().unwrap_or_else(|| a.split.clone());
    let progress = Spinners::default();
    let srs = srs_source(a.srs.as_deref())?.load(split.max_logrows(), &progress)?;
    let start = std::time::Instant::now();
    let proof = split.aggregate(&run, &srs, &progress)?;
    eprintln!(
        "aggregated {} segment proofs: {} ({} public values, {} proof bytes, {:.1} s); public outputs {:?}",
        split.len(),
        run.join("aggregated.json").display(),
        proof.instances.len(),
        proof.proof_bytes()?.len(),
        start.elapsed().as_secs_f64(),
        proof.outputs
    );
    Ok(())
}

/// `verify --split DIR --proof aggregated.json`.
pub(crate) fn verify(split: &Path, proof: &Path, srs: Option<&Path>) -> Result<()> {
    let split = Split::open(split)?;
    let p: AggregatedProof = read_json(proof)?;
    let srs = srs_source(srs)?.load(split.manifest().aggregation_k, &Spinners::default())?;
    split.verify(&p, &srs).with_context(|| format!("{} against {}", proof.display(), split.dir().display()))?;
    eprintln!(
        "verified: {} is a valid aggregated proof of {} segments; public outputs {:?}",
        proof.display(),
        p.segments,
        p.outputs
    );
    Ok(())
}
