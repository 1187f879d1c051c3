//! MSM (BN254 G1) and NTT (BN254 Fr) times, CPU against GPU, log n = 16..=24 by default.
//!
//! `cargo bench -p zkonnx-gpu --features cuda --bench msm_ntt` (the GPU column needs the feature and a
//! GPU; without them only the CPU is timed). `-- 16 18 20` picks sizes. Each figure is the median of
//! `ZKONNX_BENCH_REPS` (default 3) runs after one warm-up, including host-device copies and layout
//! conversion; every GPU result is checked equal to the CPU's. Prints a markdown table and one JSON
//! line per size.

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::time::Instant;

use halo2curves::group::Curve;
use zkonnx_gpu::sample::{points, scalars};
use zkonnx_gpu::{CpuEngine, Direction, Engine};

fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn gpu_engine() -> Option<Box<dyn Engine>> {
    #[cfg(feature = "cuda")]
    match zkonnx_gpu::CudaEngine::new() {
        Ok(e) => return Some(Box::new(e)),
        Err(e) => eprintln!("no GPU column: {e}"),
    }
    #[cfg(not(feature = "cuda"))]
    eprintln!("no GPU column: built without the `cuda` feature");
    None
}

fn main() {
    let logs: Vec<u32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let logs = if logs.is_empty() { (16..=24).collect() } else { logs };
    let reps = std::env::var("ZKONNX_BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let cpu = CpuEngine;
    let gpu = gpu_engine();
    let gpu_name = gpu.as_ref().map_or_else(|| "-".to_owned(), |g| g.name());
    println!("| log n | MSM CPU ms | MSM GPU ms | MSM CPU/GPU | NTT CPU ms | NTT GPU ms | NTT CPU/GPU | equal |");
    println!("|---|---|---|---|---|---|---|---|");
    for log_n in logs {
        let n = 1usize << log_n;
        let bases = points(n, u64::from(log_n));
        let scalars = scalars(n, u64::from(log_n));
        let msm_cpu = median_ms(reps, || drop(cpu.msm(&scalars, &bases)));
        let mut values = scalars.clone();
        let ntt_cpu = median_ms(reps, || drop(cpu.ntt(&mut values, Direction::Forward)));
        let (mut msm_gpu, mut ntt_gpu, mut equal) = (f64::NAN, f64::NAN, None);
        if let Some(g) = &gpu {
            msm_gpu = median_ms(reps, || drop(g.msm(&scalars, &bases)));
            ntt_gpu = median_ms(reps, || drop(g.ntt(&mut values, Direction::Forward)));
            let msm_eq = g.msm(&scalars, &bases).ok().map(|p| p.to_affine())
                == cpu.msm(&scalars, &bases).ok().map(|p| p.to_affine());
            let (mut a, mut b) = (scalars.clone(), scalars.clone());
            let ntt_eq =
                g.ntt(&mut a, Direction::Forward).is_ok() && cpu.ntt(&mut b, Direction::Forward).is_ok() && a == b;
            equal = Some(msm_eq && ntt_eq);
        }
        let eq = equal.map_or("-", |e| if e { "yes" } else { "NO" });
        let cell = |x: f64| if x.is_finite() { format!("{x:.1}") } else { "-".to_owned() };
        let ratio = |x: f64| if x.is_finite() { format!("{x:.1}x") } else { "-".to_owned() };
        println!(
            "| {log_n} | {} | {} | {} | {} | {} | {} | {eq} |",
            cell(msm_cpu),
            cell(msm_gpu),
            ratio(msm_cpu / msm_gpu),
            cell(ntt_cpu),
            cell(ntt_gpu),
            ratio(ntt_cpu / ntt_gpu)
        );
        println!(
            "{{\"log_n\":{log_n},\"cpu\":\"{}\",\"gpu\":\"{gpu_name}\",\"msm_cpu_ms\":{msm_cpu:.3},\"msm_gpu_ms\":{},\"ntt_cpu_ms\":{ntt_cpu:.3},\"ntt_gpu_ms\":{},\"equal\":{}}}",
            cpu.name(),
            json_num(msm_gpu),
            json_num(ntt_gpu),
            equal.map_or("null".to_owned(), |e| e.to_string())
        );
    }
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "null".to_owned()
    }
}
