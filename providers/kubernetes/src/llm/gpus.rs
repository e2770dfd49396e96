//! The GPU catalog `gpu.type` names: each type's memory and the node label value its
//! nodes carry under `nvidia.com/gpu.product`.
//!
//! Memory is the capacity NVIDIA's datasheet gives (in GB, which for these binary-sized
//! memories is read as GiB); the driver reports a little less, and vLLM's
//! `gpu_memory_utilization` leaves that margin. Labels are the GPU names EC2's
//! `DescribeInstanceTypes` reports (`GpuInfo.Gpus[].Name`), which
//! `stacks/modules/node-pool` writes to `nvidia.com/gpu.product` on GPU nodes; types
//! EC2 does not offer carry the product name NVIDIA's GPU feature discovery writes.

/// One GPU type of the catalog.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuType {
    /// The name `gpu.type` takes.
    pub name: &'static str,
    /// Memory of one GPU, GiB.
    pub memory_gib: f64,
    /// The `nvidia.com/gpu.product` value its nodes are selected by.
    pub label: &'static str,
}

const fn gpu(name: &'static str, memory_gib: f64, label: &'static str) -> GpuType {
    GpuType {
        name,
        memory_gib,
        label,
    }
}

/// Smallest memory first, so that the first type that fits is the cheapest guess.
pub const CATALOG: &[GpuType] = &[
    // NVIDIA T4 Tensor Core GPU datasheet: 16 GB GDDR6. EC2 g4dn: "T4".
    gpu("T4", 16.0, "T4"),
    // NVIDIA V100 Tensor Core GPU datasheet: 16 GB or 32 GB HBM2. EC2 p3: "V100"
    // (16 GB); p3dn: "V100" (32 GB).
    gpu("V100", 16.0, "V100"),
    gpu("V100-32GB", 32.0, "V100"),
    // NVIDIA A10 Tensor Core GPU datasheet: 24 GB GDDR6; the A10G is AWS's variant of
    // it, 24 GB (Amazon EC2 G5 instance page). EC2 g5: "A10G".
    gpu("A10", 24.0, "NVIDIA-A10"),
    gpu("A10G", 24.0, "A10G"),
    // NVIDIA L4 Tensor Core GPU datasheet: 24 GB GDDR6. EC2 g6: "L4".
    gpu("L4", 24.0, "L4"),
    // NVIDIA A100 Tensor Core GPU datasheet: 40 GB HBM2 or 80 GB HBM2e. EC2 p4d
    // (40 GB) and p4de (80 GB) both report "A100".
    gpu("A100-40GB", 40.0, "A100"),
    // NVIDIA L40 GPU datasheet: 48 GB GDDR6.
    gpu("L40", 48.0, "NVIDIA-L40"),
    // NVIDIA L40S GPU datasheet: 48 GB GDDR6. EC2 g6e: "L40S".
    gpu("L40S", 48.0, "L40S"),
    // NVIDIA RTX 6000 Ada Generation datasheet: 48 GB GDDR6.
    gpu("RTX-6000-Ada", 48.0, "NVIDIA-RTX-6000-Ada-Generation"),
    gpu("A100-80GB", 80.0, "A100"),
    // NVIDIA H100 Tensor Core GPU datasheet: 80 GB HBM3 (SXM). EC2 p5: "H100".
    gpu("H100", 80.0, "H100"),
    // NVIDIA H200 Tensor Core GPU datasheet: 141 GB HBM3e. EC2 p5e/p5en: "H200".
    gpu("H200", 141.0, "H200"),
    // NVIDIA DGX B200 datasheet: 1,440 GB for 8 GPUs, 180 GB each. EC2 p6-b200: "B200".
    gpu("B200", 180.0, "B200"),
];

/// The catalog entry `name` names (case-insensitively).
pub fn find(name: &str) -> Option<GpuType> {
    CATALOG
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(name))
        .copied()
}

/// The catalog's names, as an error message lists them.
pub fn names() -> String {
    CATALOG
        .iter()
        .map(|g| g.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_the_common_serving_gpus_with_their_memory() {
        for (name, gib) in [
            ("H100", 80.0),
            ("H200", 141.0),
            ("A100-40GB", 40.0),
            ("A100-80GB", 80.0),
            ("A10G", 24.0),
            ("L4", 24.0),
            ("L40S", 48.0),
            ("T4", 16.0),
        ] {
            assert_eq!(find(name).map(|g| g.memory_gib), Some(gib), "{name}");
        }
        assert_eq!(find("h100").map(|g| g.label), Some("H100"));
        assert_eq!(find("A100-80GB").map(|g| g.label), Some("A100"));
        assert_eq!(find("MI300X"), None);
        assert!(names().starts_with("T4, V100"));
    }

    #[test]
    fn labels_are_valid_kubernetes_label_values() {
        for g in CATALOG {
            assert!(g.label.len() <= 63, "{}", g.label);
            assert!(
                g.label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{}",
                g.label
            );
        }
    }
}
