//! Kubernetes: `aws_eks_cluster`, `aws_eks_node_group` (GPU pools: instance types,
//! AMI type, on-demand or spot, scaling, labels, taints, update settings) and the data
//! source `aws_eks_cluster`. Creation and deletion wait for EKS to finish.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, ClusterStatus, NodegroupScalingConfig, NodegroupStatus,
    NodegroupUpdateConfig, Taint, TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
    VpcConfigRequest,
};
use plinth_provider_sdk::{
    fail, Block, DataSource, Diagnostic, Nesting, Object, PlanRequest, Planned, Resource, Result,
    Schema, Type, Value,
};

use crate::common::*;

pub fn resources(aws: &Aws) -> Vec<Box<dyn Resource>> {
    vec![
        Box::new(Cluster(aws.clone())),
        Box::new(NodeGroup(aws.clone())),
    ]
}

pub fn data_sources(aws: &Aws) -> Vec<Box<dyn DataSource>> {
    vec![Box::new(ClusterData(aws.clone()))]
}

fn hash_map(map: BTreeMap<String, String>) -> HashMap<String, String> {
    map.into_iter().collect()
}

fn tree(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn eks_retag(
    aws: &Shared,
    address: &str,
    arn: &str,
    prior: &Object,
    planned: &Object,
) -> Result<()> {
    let eks = &aws.clients()?.eks;
    let (put, remove) = tag_changes(&map_of(prior, "tags_all"), &all_tags(aws, planned));
    if !remove.is_empty() {
        run(eks
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send())
        .map_err(|e| aws_error(address, "remove tags", e))?;
    }
    if !put.is_empty() {
        run(eks
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(hash_map(put)))
            .send())
        .map_err(|e| aws_error(address, "tag", e))?;
    }
    Ok(())
}

// ---- aws_eks_cluster ----------------------------------------------------------------------

struct Cluster(Aws);

fn vpc_config_block() -> Block {
    block(
        vec![
            ("subnet_ids", required(string_set())),
            ("security_group_ids", optional(string_set())),
            ("endpoint_private_access", optional_computed(Type::Bool)),
            ("endpoint_public_access", optional_computed(Type::Bool)),
            ("public_access_cidrs", optional_computed(string_set())),
            ("cluster_security_group_id", computed(Type::String)),
            ("vpc_id", computed(Type::String)),
        ],
        vec![],
    )
}

fn certificate_type() -> Type {
    Type::list(Type::Object(
        [("data".to_string(), Type::String)].into_iter().collect(),
    ))
}

fn vpc_request(o: &Object) -> VpcConfigRequest {
    let groups = strings_of(o, "security_group_ids");
    let cidrs = strings_of(o, "public_access_cidrs");
    VpcConfigRequest::builder()
        .set_subnet_ids(Some(strings_of(o, "subnet_ids")))
        .set_security_group_ids((!groups.is_empty()).then_some(groups))
        .set_endpoint_private_access(o.bool("endpoint_private_access"))
        .set_endpoint_public_access(o.bool("endpoint_public_access"))
        .set_public_access_cidrs((!cidrs.is_empty()).then_some(cidrs))
        .build()
}

/// A cluster as the resource and the data source show it.
fn cluster_state(state: &mut Object, c: &aws_sdk_eks::types::Cluster) {
    state.set("arn", opt_s(c.arn()));
    state.set("name", opt_s(c.name()));
    state.set("version", opt_s(c.version()));
    state.set("endpoint", opt_s(c.endpoint()));
    state.set("role_arn", opt_s(c.role_arn()));
    state.set("status", opt_s(c.status().map(|s| s.as_str())));
    state.set("platform_version", opt_s(c.platform_version()));
    let ca = c
        .certificate_authority()
        .and_then(|ca| ca.data())
        .map(|d| {
            vec![Value::Object(
                [("data".to_string(), s(d))].into_iter().collect(),
            )]
        })
        .unwrap_or_default();
    state.set(
        "certificate_authority",
        Value::List(
            Type::Object([("data".to_string(), Type::String)].into_iter().collect()),
            ca,
        ),
    );
}

fn vpc_config_object(v: &aws_sdk_eks::types::VpcConfigResponse, prior: Option<&Object>) -> Object {
    let mut o = Object(Default::default());
    o.set("subnet_ids", strings_set(v.subnet_ids().iter().cloned()));
    let groups = v.security_group_ids();
    let configured_groups = prior.map(|p| p.get("security_group_ids"));
    o.set(
        "security_group_ids",
        if groups.is_empty() && configured_groups.as_ref().is_none_or(Value::is_null) {
            Value::Null(string_set())
        } else {
            strings_set(groups.iter().cloned())
        },
    );
    o.set("endpoint_private_access", b(v.endpoint_private_access()));
    o.set("endpoint_public_access", b(v.endpoint_public_access()));
    o.set(
        "public_access_cidrs",
        strings_set(v.public_access_cidrs().iter().cloned()),
    );
    o.set(
        "cluster_security_group_id",
        opt_s(v.cluster_security_group_id()),
    );
    o.set("vpc_id", opt_s(v.vpc_id()));
    o
}

impl Resource for Cluster {
    fn type_name(&self) -> &str {
        "aws_eks_cluster"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("name", required(Type::String)),
            ("role_arn", required(Type::String)),
            ("version", optional_computed(Type::String)),
            ("enabled_cluster_log_types", optional(string_set())),
            ("endpoint", computed(Type::String)),
            ("status", computed(Type::String)),
            ("platform_version", computed(Type::String)),
            ("certificate_authority", computed(certificate_type())),
        ];
        attrs.extend(tag_attributes());
        schema(
            attrs,
            vec![("vpc_config", single(vpc_config_block(), true)), timeouts()],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["name", "role_arn"]
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        let creating = request.prior.is_none();
        let prior_vpc = request
            .prior
            .and_then(|p| block_objects(p, "vpc_config").into_iter().next());
        let mut planned = plan_tagged(self, &self.0, request)?;
        if creating {
            let configs: Vec<Object> = block_objects(&planned.state, "vpc_config")
                .into_iter()
                .map(|mut v| {
                    for (name, default) in [
                        ("endpoint_private_access", b(false)),
                        ("endpoint_public_access", b(true)),
                        ("public_access_cidrs", strings_set(["0.0.0.0/0"])),
                    ] {
                        if v.is_null(name) {
                            v.set(name, default);
                        }
                    }
                    v.set("cluster_security_group_id", Value::Unknown(Type::String));
                    v.set("vpc_id", Value::Unknown(Type::String));
                    v
                })
                .collect();
            planned.state.set(
                "vpc_config",
                objects_value(&vpc_config_block(), Nesting::List, configs),
            );
        } else if let Some(prior) = prior_vpc {
            // Subnets and security groups cannot change in place.
            let now = block_objects(&planned.state, "vpc_config");
            let moved = |name: &str| {
                now.first()
                    .is_some_and(|n| !n.get(name).strict_equal(&prior.get(name)))
            };
            if moved("subnet_ids") || moved("security_group_ids") {
                planned.requires_replace.push("vpc_config".into());
            }
        }
        Ok(planned)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let eks = &self.0.clients()?.eks;
        let name = planned.require_string("name")?;
        let vpc = block_objects(planned, "vpc_config")
            .into_iter()
            .next()
            .unwrap_or_else(|| Object(Default::default()));
        let tags = all_tags(&self.0, planned);
        let logging = strings_of(planned, "enabled_cluster_log_types");
        let mut request = eks
            .create_cluster()
            .name(&name)
            .role_arn(planned.require_string("role_arn")?)
            .set_version(planned.string("version"))
            .resources_vpc_config(vpc_request(&vpc))
            .set_tags((!tags.is_empty()).then(|| hash_map(tags)));
        if !logging.is_empty() {
            request = request.logging(log_setup(&logging));
        }
        run(request.send()).map_err(|e| aws_error("aws_eks_cluster", "create the cluster", e))?;
        let limit = timeout(planned, "create", Duration::from_secs(30 * 60));
        self.wait_active(&name, limit)?;
        let mut state = planned.clone();
        state.set("id", s(&name));
        self.read(&state)?
            .map_or_else(|| fail("Cluster vanished", name.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let eks = &self.0.clients()?.eks;
        let name = current.require_string("id")?;
        let out = match run(eks.describe_cluster().name(&name).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_eks_cluster", "read the cluster", e)),
        };
        let Some(c) = out.cluster() else {
            return Ok(None);
        };
        if c.status() == Some(&ClusterStatus::Deleting) {
            return Ok(None);
        }
        let mut state = current.clone();
        cluster_state(&mut state, c);
        if let Some(v) = c.resources_vpc_config() {
            let prior = block_objects(current, "vpc_config").into_iter().next();
            state.set(
                "vpc_config",
                objects_value(
                    &vpc_config_block(),
                    Nesting::List,
                    vec![vpc_config_object(v, prior.as_ref())],
                ),
            );
        }
        let enabled: Vec<String> = c
            .logging()
            .map(|l| {
                l.cluster_logging()
                    .iter()
                    .filter(|s| s.enabled() == Some(true))
                    .flat_map(|s| s.types().iter().map(|t| t.as_str().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if !enabled.is_empty() || !current.is_null("enabled_cluster_log_types") {
            state.set("enabled_cluster_log_types", strings_set(enabled));
        }
        set_read_tags(&self.0, &mut state, current, tree(c.tags()));
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let eks = &self.0.clients()?.eks;
        let name = prior.require_string("id")?;
        let limit = timeout(planned, "update", Duration::from_secs(60 * 60));
        if planned.is_known("version") && prior.string("version") != planned.string("version") {
            if let Some(version) = planned.string("version") {
                run(eks
                    .update_cluster_version()
                    .name(&name)
                    .version(version)
                    .send())
                .map_err(|e| aws_error("aws_eks_cluster", "upgrade the cluster", e))?;
                self.wait_active(&name, limit)?;
            }
        }
        let (old, new) = (
            block_objects(prior, "vpc_config"),
            block_objects(planned, "vpc_config"),
        );
        if let (Some(old), Some(new)) = (old.first(), new.first()) {
            let access = [
                "endpoint_private_access",
                "endpoint_public_access",
                "public_access_cidrs",
            ];
            if access.iter().any(|a| !old.get(a).strict_equal(&new.get(a))) {
                let cidrs = strings_of(new, "public_access_cidrs");
                let request = VpcConfigRequest::builder()
                    .set_endpoint_private_access(new.bool("endpoint_private_access"))
                    .set_endpoint_public_access(new.bool("endpoint_public_access"))
                    .set_public_access_cidrs((!cidrs.is_empty()).then_some(cidrs))
                    .build();
                run(eks
                    .update_cluster_config()
                    .name(&name)
                    .resources_vpc_config(request)
                    .send())
                .map_err(|e| aws_error("aws_eks_cluster", "change endpoint access", e))?;
                self.wait_active(&name, limit)?;
            }
        }
        if strings_of(prior, "enabled_cluster_log_types")
            != strings_of(planned, "enabled_cluster_log_types")
        {
            let logging = strings_of(planned, "enabled_cluster_log_types");
            run(eks
                .update_cluster_config()
                .name(&name)
                .logging(log_setup(&logging))
                .send())
            .map_err(|e| aws_error("aws_eks_cluster", "change control plane logging", e))?;
            self.wait_active(&name, limit)?;
        }
        let arn = prior.require_string("arn")?;
        eks_retag(&self.0, "aws_eks_cluster", &arn, prior, planned)?;
        self.read(planned)?
            .map_or_else(|| fail("Cluster vanished", name.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let eks = &self.0.clients()?.eks;
        let name = prior.require_string("id")?;
        match run(eks.delete_cluster().name(&name).send()) {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(aws_error("aws_eks_cluster", "delete the cluster", e)),
        }
        let limit = timeout(prior, "delete", Duration::from_secs(15 * 60));
        wait_for(
            &format!("EKS cluster {name} to be deleted"),
            limit,
            || match run(eks.describe_cluster().name(&name).send()) {
                Err(e) if is_not_found(&e) => Ok(Some(())),
                Err(e) => Err(aws_error("aws_eks_cluster", "read the cluster", e)),
                Ok(_) => Ok(None),
            },
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&crate::vpc::by_id(id))?,
            format!("No EKS cluster {id} exists."),
        )
    }
}

fn log_setup(types: &[String]) -> aws_sdk_eks::types::Logging {
    let setup = aws_sdk_eks::types::LogSetup::builder()
        .set_types(Some(
            types
                .iter()
                .map(|t| aws_sdk_eks::types::LogType::from(t.as_str()))
                .collect(),
        ))
        .enabled(true)
        .build();
    aws_sdk_eks::types::Logging::builder()
        .cluster_logging(setup)
        .build()
}

impl Cluster {
    fn wait_active(&self, name: &str, limit: Duration) -> Result<()> {
        let eks = &self.0.clients()?.eks;
        wait_for(&format!("EKS cluster {name} to be ACTIVE"), limit, || {
            let out = run(eks.describe_cluster().name(name).send())
                .map_err(|e| aws_error("aws_eks_cluster", "read the cluster", e))?;
            match out.cluster().and_then(|c| c.status()) {
                Some(ClusterStatus::Active) => Ok(Some(())),
                Some(ClusterStatus::Failed) => fail(
                    "EKS cluster failed",
                    format!("aws_eks_cluster: EKS reports {name} as FAILED; see the cluster's health in the EKS console."),
                ),
                _ => Ok(None),
            }
        })
    }
}

// ---- aws_eks_node_group -----------------------------------------------------------------------

struct NodeGroup(Aws);

fn scaling_block() -> Block {
    block(
        vec![
            ("desired_size", required(Type::Number)),
            ("max_size", required(Type::Number)),
            ("min_size", required(Type::Number)),
        ],
        vec![],
    )
}

fn update_config_block() -> Block {
    block(
        vec![
            ("max_unavailable", optional(Type::Number)),
            ("max_unavailable_percentage", optional(Type::Number)),
        ],
        vec![],
    )
}

fn taint_block() -> Block {
    block(
        vec![
            ("key", required(Type::String)),
            ("value", optional(Type::String)),
            ("effect", required(Type::String)),
        ],
        vec![],
    )
}

const TAINT_EFFECTS: [&str; 3] = ["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"];

fn taints_of(o: &Object) -> Vec<Taint> {
    block_objects(o, "taint")
        .iter()
        .map(|t| {
            Taint::builder()
                .set_key(t.string("key"))
                .set_value(t.string("value"))
                .set_effect(t.string("effect").map(|e| TaintEffect::from(e.as_str())))
                .build()
        })
        .collect()
}

fn scaling_of(o: &Object) -> Option<NodegroupScalingConfig> {
    block_objects(o, "scaling_config").first().map(|s| {
        NodegroupScalingConfig::builder()
            .set_desired_size(s.i64("desired_size").map(|v| v as i32))
            .set_max_size(s.i64("max_size").map(|v| v as i32))
            .set_min_size(s.i64("min_size").map(|v| v as i32))
            .build()
    })
}

fn update_config_of(o: &Object) -> Option<NodegroupUpdateConfig> {
    block_objects(o, "update_config").first().map(|u| {
        NodegroupUpdateConfig::builder()
            .set_max_unavailable(u.i64("max_unavailable").map(|v| v as i32))
            .set_max_unavailable_percentage(u.i64("max_unavailable_percentage").map(|v| v as i32))
            .build()
    })
}

/// `cluster:node-group`, the id HashiCorp's provider gives node groups.
fn split_id(id: &str) -> Result<(String, String)> {
    match id.split_once(':') {
        Some((c, g)) if !c.is_empty() && !g.is_empty() => Ok((c.to_string(), g.to_string())),
        _ => fail(
            "Invalid node group id",
            format!("A node group id is CLUSTER_NAME:NODE_GROUP_NAME, not {id:?}."),
        ),
    }
}

impl NodeGroup {
    fn wait_active(&self, cluster: &str, group: &str, limit: Duration) -> Result<()> {
        let eks = &self.0.clients()?.eks;
        wait_for(
            &format!("EKS node group {cluster}:{group} to be ACTIVE"),
            limit,
            || {
                let out = run(eks
                    .describe_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(group)
                    .send())
                .map_err(|e| aws_error("aws_eks_node_group", "read the node group", e))?;
                let ng = out.nodegroup();
                match ng.and_then(|n| n.status()) {
                    Some(NodegroupStatus::Active) => Ok(Some(())),
                    Some(NodegroupStatus::CreateFailed) | Some(NodegroupStatus::Degraded) => {
                        let issues: Vec<String> = ng
                            .and_then(|n| n.health())
                            .map(|h| {
                                h.issues()
                                    .iter()
                                    .map(|i| {
                                        format!(
                                            "{}: {}",
                                            i.code().map(|c| c.as_str()).unwrap_or(""),
                                            i.message().unwrap_or("")
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        fail(
                            "EKS node group failed",
                            format!(
                                "aws_eks_node_group: {cluster}:{group} did not become ACTIVE: {}",
                                if issues.is_empty() {
                                    "no reason given".to_string()
                                } else {
                                    issues.join("; ")
                                }
                            ),
                        )
                    }
                    _ => Ok(None),
                }
            },
        )
    }

    /// Plan-time checks against EC2: every instance type exists, and each fits the AMI
    /// type (architecture, GPU or not).
    fn check_types(&self, config: &Object) -> Result<()> {
        if !config.is_known("instance_types") {
            return Ok(());
        }
        let types = strings_of(config, "instance_types");
        crate::ec2::check_instance_types(&self.0, &types, "instance_types")?;
        let Some(ami) = config.string("ami_type") else {
            return Ok(());
        };
        if types.is_empty() || ami == "CUSTOM" {
            return Ok(());
        }
        let infos = crate::ec2::describe_instance_types(&self.0, &types)?
            .map_err(|e| aws_error("aws_eks_node_group", "look up the instance types", e))?;
        let arm_ami = ami.contains("ARM") || ami.contains("arm64");
        let gpu_ami = ami.contains("GPU") || ami.contains("NVIDIA");
        for info in &infos {
            let name = info.instance_type().map(|t| t.as_str()).unwrap_or("");
            let arches: Vec<&str> = info
                .processor_info()
                .map(|p| {
                    p.supported_architectures()
                        .iter()
                        .map(|a| a.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let arm_type = arches.contains(&"arm64") && !arches.contains(&"x86_64");
            let gpu_type = info.gpu_info().is_some_and(|g| !g.gpus().is_empty());
            let problem = if arm_type != arm_ami {
                Some(format!(
                    "{name} is an {} instance type but ami_type {ami} is for {}.",
                    if arm_type { "arm64" } else { "x86_64" },
                    if arm_ami { "arm64" } else { "x86_64" }
                ))
            } else if gpu_ami && !gpu_type {
                Some(format!(
                    "ami_type {ami} is for GPU instances, and {name} has no GPU."
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(vec![Diagnostic::error(
                    "Instance type does not fit the AMI type",
                    format!("{problem} Choose an ami_type that matches the instance types (GPU pools: AL2_x86_64_GPU or AL2023_x86_64_NVIDIA; Graviton: AL2_ARM_64 or AL2023_ARM_64_STANDARD)."),
                )
                .at("ami_type")]);
            }
        }
        Ok(())
    }
}

impl Resource for NodeGroup {
    fn type_name(&self) -> &str {
        "aws_eks_node_group"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("cluster_name", required(Type::String)),
            ("node_group_name", optional_computed(Type::String)),
            ("node_role_arn", required(Type::String)),
            ("subnet_ids", required(string_set())),
            ("instance_types", optional_computed(string_list())),
            ("ami_type", optional_computed(Type::String)),
            ("capacity_type", optional_computed(Type::String)),
            ("disk_size", optional_computed(Type::Number)),
            ("labels", optional(string_map())),
            ("version", optional_computed(Type::String)),
            ("release_version", optional_computed(Type::String)),
            ("status", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(
            attrs,
            vec![
                ("scaling_config", single(scaling_block(), true)),
                ("update_config", single(update_config_block(), false)),
                (
                    "taint",
                    NestedBlock {
                        max_items: 50,
                        ..set_of(taint_block())
                    },
                ),
                timeouts(),
            ],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec![
            "cluster_name",
            "node_group_name",
            "node_role_arn",
            "subnet_ids",
            "instance_types",
            "ami_type",
            "capacity_type",
            "disk_size",
        ]
    }

    fn validate(&self, config: &Object) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        if let Some(c) = config.string("capacity_type") {
            if c != "ON_DEMAND" && c != "SPOT" && c != "CAPACITY_BLOCK" {
                problems.extend(invalid(
                    "capacity_type",
                    "Invalid capacity_type",
                    format!("capacity_type must be ON_DEMAND, SPOT or CAPACITY_BLOCK, not {c:?}."),
                ));
            }
        }
        for taint in block_objects(config, "taint") {
            if let Some(effect) = taint.string("effect") {
                if !TAINT_EFFECTS.contains(&effect.as_str()) {
                    problems.push(
                        Diagnostic::error(
                            "Invalid taint effect",
                            format!(
                                "A taint's effect must be one of {}, not {effect:?}.",
                                TAINT_EFFECTS.join(", ")
                            ),
                        )
                        .at("taint"),
                    );
                }
            }
        }
        if let Some(s) = block_objects(config, "scaling_config").first() {
            let (min, max, desired) = (s.i64("min_size"), s.i64("max_size"), s.i64("desired_size"));
            if let (Some(min), Some(max), Some(desired)) = (min, max, desired) {
                if !(min <= desired && desired <= max) || max < 1 {
                    problems.push(
                        Diagnostic::error(
                            "Invalid scaling_config",
                            format!("scaling_config needs min_size ≤ desired_size ≤ max_size and max_size ≥ 1; it has min {min}, desired {desired}, max {max}."),
                        )
                        .at("scaling_config"),
                    );
                }
            }
        }
        problems
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        self.check_types(request.config)?;
        let creating = request.prior.is_none();
        let mut planned = plan_tagged(self, &self.0, request)?;
        if creating {
            for (name, default) in [("capacity_type", s("ON_DEMAND")), ("disk_size", n(20))] {
                if planned.state.get(name).is_null() || !planned.state.get(name).is_known() {
                    planned.state.set(name, default);
                }
            }
            if planned.state.get("instance_types").is_null() {
                planned
                    .state
                    .set("instance_types", strings_list(["t3.medium"]));
            }
            if planned.state.get("node_group_name").is_null() {
                planned
                    .state
                    .set("node_group_name", Value::Unknown(Type::String));
            }
        }
        Ok(planned)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let eks = &self.0.clients()?.eks;
        let cluster = planned.require_string("cluster_name")?;
        let group = planned
            .string("node_group_name")
            .unwrap_or_else(|| format!("terraform-{}", crate::vpc::unique_suffix()));
        let tags = all_tags(&self.0, planned);
        let labels = map_of(planned, "labels");
        let taints = taints_of(planned);
        let types = strings_of(planned, "instance_types");
        run(eks
            .create_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(&group)
            .node_role(planned.require_string("node_role_arn")?)
            .set_subnets(Some(strings_of(planned, "subnet_ids")))
            .set_instance_types((!types.is_empty()).then_some(types))
            .set_ami_type(planned.string("ami_type").map(|a| AmiTypes::from(a.as_str())))
            .set_capacity_type(planned.string("capacity_type").map(|c| CapacityTypes::from(c.as_str())))
            .set_disk_size(planned.i64("disk_size").map(|d| d as i32))
            .set_scaling_config(scaling_of(planned))
            .set_update_config(update_config_of(planned))
            .set_labels((!labels.is_empty()).then(|| hash_map(labels)))
            .set_taints((!taints.is_empty()).then_some(taints))
            .set_version(planned.string("version"))
            .set_release_version(planned.string("release_version"))
            .set_tags((!tags.is_empty()).then(|| hash_map(tags)))
            .send())
        .map_err(|e| {
            let mut d = aws_error("aws_eks_node_group", "create the node group", e);
            if d[0].detail.contains("No cluster found") || d[0].detail.contains("ResourceNotFoundException") {
                d[0].detail.push_str(&format!(
                    "\n\nThe cluster {cluster:?} does not exist: check cluster_name (refer to aws_eks_cluster.<name>.name so the cluster is created first)."
                ));
                d[0].attribute = vec!["cluster_name".into()];
            }
            d
        })?;
        let limit = timeout(planned, "create", Duration::from_secs(60 * 60));
        self.wait_active(&cluster, &group, limit)?;
        let mut state = planned.clone();
        state.set("id", s(format!("{cluster}:{group}")));
        state.set("node_group_name", s(&group));
        self.read(&state)?
            .map_or_else(|| fail("Node group vanished", group.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let eks = &self.0.clients()?.eks;
        let (cluster, group) = split_id(&current.require_string("id")?)?;
        let out = match run(eks
            .describe_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(&group)
            .send())
        {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_eks_node_group", "read the node group", e)),
        };
        let Some(ng) = out.nodegroup() else {
            return Ok(None);
        };
        if ng.status() == Some(&NodegroupStatus::Deleting) {
            return Ok(None);
        }
        let mut state = current.clone();
        state.set("arn", opt_s(ng.nodegroup_arn()));
        state.set("cluster_name", opt_s(ng.cluster_name()));
        state.set("node_group_name", opt_s(ng.nodegroup_name()));
        state.set("node_role_arn", opt_s(ng.node_role()));
        state.set("subnet_ids", strings_set(ng.subnets().iter().cloned()));
        state.set(
            "instance_types",
            strings_list(ng.instance_types().iter().cloned()),
        );
        state.set("ami_type", opt_s(ng.ami_type().map(|a| a.as_str())));
        state.set(
            "capacity_type",
            opt_s(ng.capacity_type().map(|c| c.as_str())),
        );
        if let Some(size) = ng.disk_size() {
            state.set("disk_size", n(i64::from(size)));
        }
        state.set("status", opt_s(ng.status().map(|s| s.as_str())));
        state.set("version", opt_s(ng.version()));
        state.set("release_version", opt_s(ng.release_version()));
        let labels = tree(ng.labels());
        if labels.is_empty() && current.is_null("labels") {
            state.set("labels", Value::Null(string_map()));
        } else {
            state.set("labels", string_map_value(&labels));
        }
        if let Some(sc) = ng.scaling_config() {
            let mut o = Object(Default::default());
            o.set("desired_size", n(i64::from(sc.desired_size().unwrap_or(0))));
            o.set("max_size", n(i64::from(sc.max_size().unwrap_or(0))));
            o.set("min_size", n(i64::from(sc.min_size().unwrap_or(0))));
            state.set(
                "scaling_config",
                objects_value(&scaling_block(), Nesting::List, vec![o]),
            );
        }
        if let Some(uc) = ng.update_config() {
            let mut o = Object(Default::default());
            o.set(
                "max_unavailable",
                uc.max_unavailable()
                    .map_or(Value::Null(Type::Number), |v| n(i64::from(v))),
            );
            o.set(
                "max_unavailable_percentage",
                uc.max_unavailable_percentage()
                    .map_or(Value::Null(Type::Number), |v| n(i64::from(v))),
            );
            state.set(
                "update_config",
                objects_value(&update_config_block(), Nesting::List, vec![o]),
            );
        } else if state.get("update_config").is_null() {
            // An import reads from an id alone: without this it kept `null`, which
            // planned as a change to the empty block list a configuration decodes to.
            state.set(
                "update_config",
                objects_value(&update_config_block(), Nesting::List, vec![]),
            );
        }
        let taints: Vec<Object> = ng
            .taints()
            .iter()
            .map(|t| {
                let mut o = Object(Default::default());
                o.set("key", opt_s(t.key()));
                o.set("value", opt_s(t.value()));
                o.set("effect", opt_s(t.effect().map(|e| e.as_str())));
                o
            })
            .collect();
        state.set("taint", objects_value(&taint_block(), Nesting::Set, taints));
        set_read_tags(&self.0, &mut state, current, tree(ng.tags()));
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let eks = &self.0.clients()?.eks;
        let (cluster, group) = split_id(&prior.require_string("id")?)?;
        let limit = timeout(planned, "update", Duration::from_secs(60 * 60));
        let changed = |name: &str| !prior.get(name).strict_equal(&planned.get(name));
        if changed("scaling_config")
            || changed("labels")
            || changed("taint")
            || changed("update_config")
        {
            let mut request = eks
                .update_nodegroup_config()
                .cluster_name(&cluster)
                .nodegroup_name(&group);
            if changed("scaling_config") {
                request = request.set_scaling_config(scaling_of(planned));
            }
            if changed("update_config") {
                request = request.set_update_config(update_config_of(planned));
            }
            if changed("labels") {
                let (put, remove) =
                    tag_changes(&map_of(prior, "labels"), &map_of(planned, "labels"));
                request = request.labels(
                    UpdateLabelsPayload::builder()
                        .set_add_or_update_labels((!put.is_empty()).then(|| hash_map(put)))
                        .set_remove_labels((!remove.is_empty()).then_some(remove))
                        .build(),
                );
            }
            if changed("taint") {
                let (old, new) = (taints_of(prior), taints_of(planned));
                let add: Vec<Taint> = new.iter().filter(|t| !old.contains(t)).cloned().collect();
                let remove: Vec<Taint> = old
                    .iter()
                    .filter(|t| {
                        !new.iter()
                            .any(|n| n.key() == t.key() && n.effect() == t.effect())
                    })
                    .cloned()
                    .collect();
                request = request.taints(
                    UpdateTaintsPayload::builder()
                        .set_add_or_update_taints((!add.is_empty()).then_some(add))
                        .set_remove_taints((!remove.is_empty()).then_some(remove))
                        .build(),
                );
            }
            run(request.send())
                .map_err(|e| aws_error("aws_eks_node_group", "update the node group", e))?;
            self.wait_active(&cluster, &group, limit)?;
        }
        if (changed("version") || changed("release_version")) && planned.is_known("version") {
            run(eks
                .update_nodegroup_version()
                .cluster_name(&cluster)
                .nodegroup_name(&group)
                .set_version(planned.string("version"))
                .set_release_version(
                    planned
                        .string("release_version")
                        .filter(|_| changed("release_version")),
                )
                .send())
            .map_err(|e| aws_error("aws_eks_node_group", "upgrade the node group", e))?;
            self.wait_active(&cluster, &group, limit)?;
        }
        let arn = prior.require_string("arn")?;
        eks_retag(&self.0, "aws_eks_node_group", &arn, prior, planned)?;
        let mut state = self
            .read(planned)?
            .map_or_else(|| fail("Node group vanished", group.clone()), Ok)?;
        if state.get("update_config").is_null() {
            state.set("update_config", planned.get("update_config"));
        }
        Ok(state)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let eks = &self.0.clients()?.eks;
        let (cluster, group) = split_id(&prior.require_string("id")?)?;
        match run(eks
            .delete_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(&group)
            .send())
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(aws_error("aws_eks_node_group", "delete the node group", e)),
        }
        let limit = timeout(prior, "delete", Duration::from_secs(60 * 60));
        wait_for(
            &format!("EKS node group {cluster}:{group} to be deleted"),
            limit,
            || match run(eks
                .describe_nodegroup()
                .cluster_name(&cluster)
                .nodegroup_name(&group)
                .send())
            {
                Err(e) if is_not_found(&e) => Ok(Some(())),
                Err(e) => Err(aws_error("aws_eks_node_group", "read the node group", e)),
                Ok(_) => Ok(None),
            },
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        split_id(id)?;
        exists(
            self.read(&crate::vpc::by_id(id))?,
            format!("No node group {id} exists."),
        )
    }
}

use plinth_provider_sdk::NestedBlock;

// ---- data source aws_eks_cluster -----------------------------------------------------------

struct ClusterData(Aws);

fn vpc_config_type() -> Type {
    Type::list(vpc_config_block().implied_type())
}

impl DataSource for ClusterData {
    fn type_name(&self) -> &str {
        "aws_eks_cluster"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("name", required(Type::String)),
                ("arn", computed(Type::String)),
                ("version", computed(Type::String)),
                ("endpoint", computed(Type::String)),
                ("role_arn", computed(Type::String)),
                ("status", computed(Type::String)),
                ("platform_version", computed(Type::String)),
                ("certificate_authority", computed(certificate_type())),
                ("vpc_config", computed(vpc_config_type())),
                ("tags", computed(string_map())),
            ],
            vec![],
        )
    }

    fn read(&self, config: &Object) -> Result<Object> {
        let eks = &self.0.clients()?.eks;
        let name = config.require_string("name")?;
        let out = run(eks.describe_cluster().name(&name).send()).map_err(|e| {
            let mut d = aws_error("data.aws_eks_cluster", "read the cluster", e);
            d[0].attribute = vec!["name".into()];
            d
        })?;
        let Some(c) = out.cluster() else {
            return fail("No such cluster", format!("No EKS cluster {name} exists."));
        };
        let mut state = config.clone();
        state.set("id", s(&name));
        cluster_state(&mut state, c);
        let vpc = c
            .resources_vpc_config()
            .map(|v| vec![vpc_config_object(v, None).into_value()])
            .unwrap_or_default();
        state.set(
            "vpc_config",
            Value::List(vpc_config_block().implied_type(), vpc),
        );
        state.set("tags", string_map_value(&tree(c.tags())));
        Ok(state)
    }
}
