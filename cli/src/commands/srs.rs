//! `srs gen`, `srs reduce`, `srs import` and `srs fetch`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zkonnx::lower::prover::{generate_dev_srs, load_srs_for};
use zkonnx::lower::verifier::ptau::PtauFile;
use zkonnx::lower::verifier::srs::{write_srs, SrsOrigin};
use zkonnx::ppot::PpotSource;

use crate::common::Phase;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum SrsCommand {
    /// Generate the INSECURE development SRS (known seed; for tests and demos only); taken from the
    /// cache when it holds this size, or reduced from a larger cached one.
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
    /// Download the Perpetual Powers of Tau SRS for circuits of 2^K rows (the public ceremony's
    /// `powersOfTau28_hez_final_KK.ptau`, its BLAKE2b hash checked against the one the snarkjs
    /// README publishes), import it and cache it; prints the path to pass as `--srs`.
    Fetch {
        /// log2 of the circuit size (the settings' logrows; the power-8 file serves k < 8).
        #[arg(long, short = 'k')]
        logrows: u32,
        /// A mirror holding the same files (default: the address the snarkjs README gives).
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// Also copy the SRS here (it stays cached either way).
        #[arg(short = 'O', long)]
        output: Option<PathBuf>,
    },
    /// Import an SRS from a snarkjs `.ptau` file of a public Powers of Tau ceremony (BN254),
    /// e.g. the Perpetual Powers of Tau `powersOfTau28_hez_final_XX.ptau` files.
    Import {
        /// The `.ptau` file.
        #[arg(long)]
        ptau: PathBuf,
        /// log2 of the SRS size (default: the file's power, at most 26).
        #[arg(long, short = 'k')]
        logrows: Option<u32>,
        /// Output file.
        #[arg(short = 'O', long)]
        output: PathBuf,
    },
}

pub(crate) fn run(c: SrsCommand) -> Result<()> {
    match c {
        SrsCommand::Gen { logrows, output } => {
            // the development SRS is deterministic: a cached one, or a cached larger one reduced,
            // equals a fresh one and takes seconds instead of minutes
            let phase = Phase::start(&format!("preparing development SRS k={logrows}"));
            let path = match (zkonnx::dev_cache(), output) {
                (Ok(cache), None) => cache.ensure(logrows)?,
                (Ok(cache), Some(path)) => {
                    write_srs(&path, &cache.dev_srs(logrows)?, SrsOrigin::InsecureDev)?;
                    path
                }
                (Err(_), Some(path)) => {
                    write_srs(&path, &generate_dev_srs(logrows)?, SrsOrigin::InsecureDev)?;
                    path
                }
                (Err(e), None) => return Err(e.into()),
            };
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
        SrsCommand::Import { ptau, logrows, output } => import(&ptau, logrows, &output)?,
        SrsCommand::Fetch { logrows, mirror, output } => {
            let source = mirror.map_or_else(PpotSource::new, |url| PpotSource::new().with_base_url(url));
            eprintln!("fetching {} (k={logrows})", source.url(PpotSource::power_for(logrows)));
            let progress = crate::common::Spinners::default();
            let path = zkonnx::ppot::fetch_to(logrows, &source, &zkonnx::dev_cache()?, output.as_deref(), &progress)?;
            eprintln!("Perpetual Powers of Tau SRS k={logrows} (hash checked); pass it as --srs {}", path.display());
            println!("{}", path.display());
        }
    }
    Ok(())
}

/// `srs import`: checks the `.ptau` file, builds the SRS for `logrows` and writes it.
fn import(ptau: &Path, logrows: Option<u32>, output: &Path) -> Result<()> {
    let mut file = PtauFile::open(ptau)?;
    let k = logrows.unwrap_or(file.max_k());
    let basis = if file.has_lagrange_basis() {
        "Lagrange basis read from the file"
    } else {
        "Lagrange basis computed by an inverse FFT over G1 (slow for large k; a prepared *_final.ptau file avoids it)"
    };
    let phase = Phase::start(&format!("importing k={k} from {} (power {}; {basis})", ptau.display(), file.power()));
    let params = file.read_params(k)?;
    write_srs(output, &params, SrsOrigin::Imported)?;
    let secs = phase.finish();
    eprintln!(
        "imported k={k} SRS from {} (power {}, ceremony power {}; {basis}) to {} in {secs:.1}s",
        ptau.display(),
        file.power(),
        file.ceremony_power(),
        output.display()
    );
    Ok(())
}
