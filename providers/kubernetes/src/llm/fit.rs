//! Whether a model's weights fit the GPUs a replica gets: its parameter count (from
//! the model id or `model_parameters_b`), the bytes each parameter takes in the
//! chosen `dtype`, and the smallest GPU count in 1, 2, 4, 8 that holds them.
//!
//! Only the weights are counted: the KV cache and activations need room beyond them,
//! which is what vLLM's `gpu_memory_utilization` share left over after the weights
//! goes to. A model that passes this check can still run short of KV cache for a long
//! `max_model_len`; one that fails it cannot load at all.

use std::sync::OnceLock;

use regex::Regex;

use super::gpus::{GpuType, CATALOG};

/// The GPU counts a replica may have: vLLM's tensor parallelism splits the attention
/// heads evenly, and models' head counts are divisible by these.
pub const COUNTS: [i64; 4] = [1, 2, 4, 8];

/// The `vllm.dtype` values and what each means to vLLM.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dtype {
    /// `--dtype auto`: the checkpoint's own type (16-bit for the models served today).
    Auto,
    Bfloat16,
    Float16,
    Float32,
    /// `--quantization fp8`: vLLM quantizes a 16-bit checkpoint to FP8 as it loads it
    /// (or loads an FP8 checkpoint).
    Fp8,
    /// A pre-quantized INT8 (W8A8) checkpoint: vLLM reads its quantization from the
    /// checkpoint's config (LLM Compressor's compressed-tensors format), so only
    /// `--dtype auto` is passed.
    Int8,
    /// `--quantization awq`: a 4-bit AWQ checkpoint.
    Awq,
    /// `--quantization gptq`: a 4-bit GPTQ checkpoint.
    Gptq,
}

impl Dtype {
    pub const NAMES: &'static str = "auto, bfloat16, float16, float32, fp8, int8, awq, gptq";

    pub fn parse(text: &str) -> Option<Dtype> {
        Some(match text.to_ascii_lowercase().as_str() {
            "auto" => Dtype::Auto,
            "bfloat16" => Dtype::Bfloat16,
            "float16" | "half" => Dtype::Float16,
            "float32" | "float" => Dtype::Float32,
            "fp8" => Dtype::Fp8,
            "int8" => Dtype::Int8,
            "awq" => Dtype::Awq,
            "gptq" => Dtype::Gptq,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::Auto => "auto",
            Dtype::Bfloat16 => "bfloat16",
            Dtype::Float16 => "float16",
            Dtype::Float32 => "float32",
            Dtype::Fp8 => "fp8",
            Dtype::Int8 => "int8",
            Dtype::Awq => "awq",
            Dtype::Gptq => "gptq",
        }
    }

    /// Bytes one parameter's weight takes (`auto` is counted as 16-bit).
    pub fn bytes_per_parameter(self) -> f64 {
        match self {
            Dtype::Auto | Dtype::Bfloat16 | Dtype::Float16 => 2.0,
            Dtype::Float32 => 4.0,
            Dtype::Fp8 | Dtype::Int8 => 1.0,
            Dtype::Awq | Dtype::Gptq => 0.5,
        }
    }

    /// The vLLM arguments that ask for this dtype: `--dtype` takes auto, float16,
    /// bfloat16 and float32; fp8, awq and gptq are `--quantization` methods.
    pub fn vllm_args(self) -> Vec<String> {
        let (dtype, quantization) = match self {
            Dtype::Auto | Dtype::Int8 => ("auto", None),
            Dtype::Bfloat16 => ("bfloat16", None),
            Dtype::Float16 => ("float16", None),
            Dtype::Float32 => ("float32", None),
            Dtype::Fp8 => ("auto", Some("fp8")),
            Dtype::Awq => ("auto", Some("awq")),
            Dtype::Gptq => ("auto", Some("gptq")),
        };
        let mut args = vec!["--dtype".to_string(), dtype.to_string()];
        if let Some(q) = quantization {
            args.extend(["--quantization".to_string(), q.to_string()]);
        }
        args
    }

    fn describe(self) -> String {
        match self {
            Dtype::Auto => "16-bit (dtype auto)".into(),
            other => other.name().into(),
        }
    }
}

fn size_pattern() -> Option<&'static Regex> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    PATTERN
        .get_or_init(|| {
            // A size set off by `-`, `_` or `.`: "-70B-", "-1.5B", "_125m", "-8x7B-".
            Regex::new(r"(?i)(?:^|[-_.])(?:(\d+)x)?(\d+(?:\.\d+)?)([bm])(?:$|[-_.])").ok()
        })
        .as_ref()
}

/// Billions of parameters the model id's name says: "Llama-3.1-70B-Instruct" 70,
/// "Qwen2.5-1.5B" 1.5, "opt-125m" 0.125. A mixture of experts "Mixtral-8x7B" reads as
/// 8 × 7 = 56, an upper bound (the experts share their attention layers: Mixtral
/// 8x7B has 46.7B); set `model_parameters_b` for the exact figure. `None` when the
/// name says no size.
pub fn parameters_b(model: &str) -> Option<f64> {
    let name = model.rsplit('/').next().unwrap_or(model);
    let found = size_pattern()?.captures(name)?;
    let size: f64 = found.get(2)?.as_str().parse().ok()?;
    let experts: f64 = match found.get(1) {
        Some(e) => e.as_str().parse().ok()?,
        None => 1.0,
    };
    let unit = match found.get(3)?.as_str() {
        "m" | "M" => 0.001,
        _ => 1.0,
    };
    Some(experts * size * unit)
}

/// GiB the weights take: parameters × bytes per parameter, to one decimal.
pub fn weights_gib(parameters_b: f64, dtype: Dtype) -> f64 {
    tenths(parameters_b * 1e9 * dtype.bytes_per_parameter() / f64::from(1u32 << 30))
}

/// Rounded to one decimal, as the messages and computed attributes show it.
pub fn tenths(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// GiB vLLM may use on `count` GPUs of `gpu` at `utilization`.
pub fn usable_gib(gpu: &GpuType, count: i64, utilization: f64) -> f64 {
    tenths(count as f64 * gpu.memory_gib * utilization)
}

/// The smallest count in [`COUNTS`] whose usable memory holds `weights`.
pub fn smallest_count(weights: f64, gpu: &GpuType, utilization: f64) -> Option<i64> {
    COUNTS
        .into_iter()
        .find(|&c| usable_gib(gpu, c, utilization) >= weights)
}

/// What a replica is asked to hold and on what.
pub struct Request<'a> {
    pub model: &'a str,
    pub parameters_b: f64,
    pub dtype: Dtype,
    pub gpu: &'a GpuType,
    pub count: i64,
    pub utilization: f64,
}

/// `None` when the weights fit; otherwise the message saying by how much they miss
/// and what would hold them: the smallest count of the same GPU, else larger GPU
/// types or a quantized dtype.
pub fn misfit(r: &Request) -> Option<String> {
    let weights = weights_gib(r.parameters_b, r.dtype);
    let usable = usable_gib(r.gpu, r.count, r.utilization);
    if usable >= weights {
        return None;
    }
    let gpu = r.gpu.name;
    let at = format!("at gpu_memory_utilization {:.2}", r.utilization);
    let head = format!(
        "{} needs {weights:.1} GiB for its weights in {}; {} × {gpu} gives {usable:.1} GiB {at}",
        r.model,
        r.dtype.describe(),
        r.count
    );
    if let Some(c) = smallest_count(weights, r.gpu, r.utilization) {
        return Some(format!(
            "{head}; the smallest count that fits is {c} ({c} × {gpu} gives {:.1} GiB): set gpu.count = {c}.",
            usable_gib(r.gpu, c, r.utilization)
        ));
    }
    let mut options = Vec::new();
    let larger: Vec<String> = CATALOG
        .iter()
        .filter(|g| g.memory_gib > r.gpu.memory_gib)
        .filter_map(|g| {
            smallest_count(weights, g, r.utilization).map(|c| {
                format!(
                    "{c} × {} ({:.1} GiB)",
                    g.name,
                    usable_gib(g, c, r.utilization)
                )
            })
        })
        .take(2)
        .collect();
    if !larger.is_empty() {
        options.push(format!("a larger GPU type would: {}", larger.join(" or ")));
    }
    for (smaller, names) in [(Dtype::Fp8, "fp8 or int8"), (Dtype::Awq, "awq or gptq")] {
        if smaller.bytes_per_parameter() >= r.dtype.bytes_per_parameter() {
            continue;
        }
        let w = weights_gib(r.parameters_b, smaller);
        if let Some(c) = smallest_count(w, r.gpu, r.utilization) {
            options.push(format!(
                "a quantized dtype would: in {names} the weights take {w:.1} GiB, which {c} × {gpu} hold"
            ));
            break;
        }
    }
    let advice = if options.is_empty() {
        "no GPU type in the catalog holds them on 8 GPUs: quantize the model or split it across nodes (pipeline parallelism), which this resource does not do".to_string()
    } else {
        options.join("; ")
    };
    Some(format!(
        "{head}; not even 8 × {gpu} ({:.1} GiB) holds them: {advice}.",
        usable_gib(r.gpu, 8, r.utilization)
    ))
}

#[cfg(test)]
mod tests {
    use super::super::gpus::find;
    use super::*;

    fn request<'a>(model: &'a str, gpu: &'a GpuType, count: i64, dtype: Dtype) -> Request<'a> {
        Request {
            model,
            parameters_b: parameters_b(model).unwrap_or(0.0),
            dtype,
            gpu,
            count,
            utilization: 0.9,
        }
    }

    #[test]
    fn parameters_are_read_from_the_model_name() {
        let p = parameters_b;
        assert_eq!(p("meta-llama/Llama-3.1-70B-Instruct"), Some(70.0));
        assert_eq!(p("meta-llama/Llama-3.1-8B-Instruct"), Some(8.0));
        assert_eq!(p("Qwen/Qwen2.5-1.5B-Instruct"), Some(1.5));
        assert_eq!(p("mistralai/Mixtral-8x7B-Instruct-v0.1"), Some(56.0));
        assert_eq!(p("facebook/opt-125m"), Some(0.125));
        assert_eq!(p("google/gemma-2-9b-it"), Some(9.0));
        assert_eq!(p("TheBloke/Llama-2-70B-Chat-AWQ"), Some(70.0));
        assert_eq!(p("openai-community/gpt2"), None);
        assert_eq!(p("org/model-8bit"), None);
    }

    #[test]
    fn weights_take_parameters_times_bytes_per_dtype() {
        assert_eq!(weights_gib(70.0, Dtype::Bfloat16), 130.4);
        assert_eq!(weights_gib(70.0, Dtype::Fp8), 65.2);
        assert_eq!(weights_gib(70.0, Dtype::Awq), 32.6);
        assert_eq!(weights_gib(8.0, Dtype::Float32), 29.8);
        assert_eq!(Dtype::Int8.bytes_per_parameter(), 1.0);
        assert_eq!(Dtype::Gptq.bytes_per_parameter(), 0.5);
    }

    #[test]
    fn a_70b_model_on_one_a10g_names_the_count_that_fits() {
        let a10g = find("A10G").unwrap();
        let msg = misfit(&request(
            "meta-llama/Llama-3.1-70B-Instruct",
            &a10g,
            1,
            Dtype::Bfloat16,
        ))
        .unwrap();
        assert_eq!(
            msg,
            "meta-llama/Llama-3.1-70B-Instruct needs 130.4 GiB for its weights in bfloat16; \
             1 × A10G gives 21.6 GiB at gpu_memory_utilization 0.90; the smallest count that \
             fits is 8 (8 × A10G gives 172.8 GiB): set gpu.count = 8."
        );
        let h100 = find("H100").unwrap();
        assert_eq!(
            misfit(&request(
                "meta-llama/Llama-3.1-70B-Instruct",
                &h100,
                2,
                Dtype::Bfloat16
            )),
            None
        );
    }

    #[test]
    fn when_no_count_fits_the_message_says_what_would() {
        let t4 = find("T4").unwrap();
        let msg = misfit(&request(
            "meta-llama/Llama-3.1-405B-Instruct",
            &t4,
            8,
            Dtype::Bfloat16,
        ))
        .unwrap();
        assert!(msg.contains("not even 8 × T4 (115.2 GiB)"), "{msg}");
        assert!(msg.contains("a larger GPU type would: 8 × H200"), "{msg}");
        // 405B in awq is 188.6 GiB, more than 8 T4s: no quantized option on T4.
        assert!(!msg.contains("quantized"), "{msg}");
        let l40s = find("L40S").unwrap();
        let msg = misfit(&request(
            "meta-llama/Llama-3.1-405B-Instruct",
            &l40s,
            8,
            Dtype::Bfloat16,
        ))
        .unwrap();
        assert!(
            msg.contains("in awq or gptq the weights take 188.6 GiB, which 8 × L40S hold"),
            "{msg}"
        );
    }

    #[test]
    fn awq_fits_where_bfloat16_does_not() {
        let a10g = find("A10G").unwrap();
        let model = "meta-llama/Llama-3.1-70B-Instruct";
        assert!(misfit(&request(model, &a10g, 2, Dtype::Bfloat16)).is_some());
        assert_eq!(misfit(&request(model, &a10g, 2, Dtype::Awq)), None);
    }

    #[test]
    fn dtypes_map_to_the_flags_vllm_takes() {
        assert_eq!(Dtype::Bfloat16.vllm_args(), ["--dtype", "bfloat16"]);
        assert_eq!(Dtype::parse("half"), Some(Dtype::Float16));
        assert_eq!(
            Dtype::Fp8.vllm_args(),
            ["--dtype", "auto", "--quantization", "fp8"]
        );
        assert_eq!(
            Dtype::Awq.vllm_args(),
            ["--dtype", "auto", "--quantization", "awq"]
        );
        assert_eq!(Dtype::Int8.vllm_args(), ["--dtype", "auto"]);
        assert_eq!(Dtype::parse("int4"), None);
    }
}
