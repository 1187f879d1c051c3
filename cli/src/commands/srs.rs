//! `srs gen` and `srs reduce`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx_prover::{generate_dev_srs, load_srs_for};
use zkonnx_verifier::srs::{write_srs, SrsOrigin};

use crate::common::{srs_cache, Phase};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum SrsCommand {
    /// Generate the INSECURE development SRS (known seed; for tests and demos only).
    Gen {
        /// log2 of the SRS size.
        #[arg(long, short = 'k')]
        logrows: u32,
        /// Output file (default: the SRS cache, where other commands look).
        #[arg(short = 'O', long)]
        output: Option<PathBuf>,
    },
    /// Reduce an SRS file to a smaller size.
    Reduce {
        /// The SRS to reduce (zkonnx or raw halo2 format).
        #[arg(long)]
        srs: PathBuf,
        /// The smaller log2 size.
        #[arg(long, short = 'k')]
        logrows: u32,
        /// Output file.
        #[arg(short = 'O', long)]
        output: PathBuf,
    },
}

pub(crate) fn run(c: SrsCommand) -> Result<()> {
    match c {
        SrsCommand::Gen { logrows, output } => {
            let path = match output {
                Some(p) => p,
                None => srs_cache()?.path(logrows),
            };
            let phase = Phase::start(&format!("generating development SRS k={logrows}"));
            let params = generate_dev_srs(logrows)?;
            write_srs(&path, &params, SrsOrigin::InsecureDev)?;
            let secs = phase.finish();
            eprintln!(
                "wrote INSECURE development SRS k={logrows} to {} in {secs:.1}s (never use it in production)",
                path.display()
            );
        }
        SrsCommand::Reduce { srs, logrows, output } => {
            let (params, origin) = load_srs_for(&srs, logrows).with_context(|| format!("reading {}", srs.display()))?;
            write_srs(&output, &params, origin)?;
            eprintln!("wrote k={logrows} SRS to {}", output.display());
        }
    }
    Ok(())
}
