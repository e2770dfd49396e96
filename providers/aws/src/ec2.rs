//! Compute: `aws_instance`, and the data sources `aws_availability_zones` and
//! `aws_ec2_instance_type` (vCPUs, memory, GPU count, model and memory).

use std::time::Duration;

use aws_sdk_ec2::types::{Filter, InstanceStateName, InstanceType, ResourceType};
use base64::Engine as _;
use plinth_provider_sdk::{
    fail, DataSource, Nesting, Object, PlanRequest, Planned, Resource, Result, Schema, Type,
};

use crate::common::*;
use crate::vpc::{by_id, retag, tag_spec, tags_of};

pub fn resources(aws: &Aws) -> Vec<Box<dyn Resource>> {
    vec![Box::new(Instance(aws.clone()))]
}

pub fn data_sources(aws: &Aws) -> Vec<Box<dyn DataSource>> {
    vec![
        Box::new(AvailabilityZones(aws.clone())),
        Box::new(InstanceTypeData(aws.clone())),
    ]
}

/// Checks that every instance type exists in the region, so a typo fails at plan, at
/// the attribute's line, instead of minutes into an apply.
pub fn check_instance_types(aws: &Shared, types: &[String], attribute: &str) -> Result<()> {
    if types.is_empty() {
        return Ok(());
    }
    match describe_instance_types(aws, types)? {
        Ok(infos) => {
            let known: Vec<&str> = infos
                .iter()
                .filter_map(|t| t.instance_type().map(|t| t.as_str()))
                .collect();
            match types.iter().find(|t| !known.contains(&t.as_str())) {
                None => Ok(()),
                Some(missing) => Err(unknown_type(missing, attribute)),
            }
        }
        Err(e) if code(&e) == "InvalidInstanceType" => {
            let missing = types.first().cloned().unwrap_or_default();
            let named = e
                .message()
                .and_then(|m| types.iter().find(|t| m.contains(t.as_str())).cloned());
            Err(unknown_type(&named.unwrap_or(missing), attribute))
        }
        Err(e) => Err(aws_error(attribute, "look up the instance type", e)),
    }
}

use aws_sdk_ec2::error::ProvideErrorMetadata as _;

type DescribeTypesError = aws_sdk_ec2::error::SdkError<
    aws_sdk_ec2::operation::describe_instance_types::DescribeInstanceTypesError,
>;

/// DescribeInstanceTypes for `types`, asking AWS only about those this provider
/// process has not seen yet. The outer error is a client that could not be built.
pub fn describe_instance_types(
    aws: &Shared,
    types: &[String],
) -> Result<std::result::Result<Vec<aws_sdk_ec2::types::InstanceTypeInfo>, DescribeTypesError>> {
    let cached = |aws: &Shared| {
        let cache = aws.instance_types.lock().unwrap_or_else(|e| e.into_inner());
        let found: Vec<_> = types.iter().filter_map(|t| cache.get(t).cloned()).collect();
        let missing: Vec<String> = types
            .iter()
            .filter(|t| !cache.contains_key(*t))
            .cloned()
            .collect();
        (found, missing)
    };
    let (_, missing) = cached(aws);
    if !missing.is_empty() {
        let ec2 = &aws.clients()?.ec2;
        let request = ec2.describe_instance_types().set_instance_types(Some(
            missing
                .iter()
                .map(|t| InstanceType::from(t.as_str()))
                .collect(),
        ));
        match run(request.send()) {
            Ok(out) => {
                let mut cache = aws.instance_types.lock().unwrap_or_else(|e| e.into_inner());
                for info in out.instance_types() {
                    if let Some(t) = info.instance_type() {
                        cache.insert(t.as_str().to_string(), info.clone());
                    }
                }
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(cached(aws).0))
}

fn unknown_type(name: &str, attribute: &str) -> Vec<plinth_provider_sdk::Diagnostic> {
    invalid(
        attribute,
        "Unknown instance type",
        format!(
            "{name:?} is not an EC2 instance type offered in this region. GPU types include p5.48xlarge (8× H100), p4d.24xlarge (8× A100), g5.xlarge (1× A10G) and g6.xlarge (1× L4)."
        ),
    )
}

// ---- aws_instance --------------------------------------------------------------------------

struct Instance(Aws);

impl Instance {
    fn wait_state(&self, id: &str, want: InstanceStateName, limit: Duration) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        wait_for(
            &format!("instance {id} to be {}", want.as_str()),
            limit,
            || {
                let out = match run(ec2.describe_instances().instance_ids(id).send()) {
                    Ok(o) => o,
                    Err(e) if is_not_found(&e) => return Ok(None),
                    Err(e) => return Err(aws_error("aws_instance", "read the instance", e)),
                };
                let state = out
                    .reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .find_map(|i| i.state().and_then(|s| s.name()).cloned());
                Ok((state.as_ref() == Some(&want)).then_some(()))
            },
        )
    }
}

impl Resource for Instance {
    fn type_name(&self) -> &str {
        "aws_instance"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("ami", required(Type::String)),
            ("instance_type", required(Type::String)),
            ("subnet_id", optional_computed(Type::String)),
            ("vpc_security_group_ids", optional_computed(string_set())),
            ("associate_public_ip_address", optional_computed(Type::Bool)),
            ("key_name", optional_computed(Type::String)),
            ("user_data", optional(Type::String)),
            ("private_ip", computed(Type::String)),
            ("public_ip", computed(Type::String)),
            ("instance_state", computed(Type::String)),
            ("availability_zone", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(attrs, vec![timeouts()])
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec![
            "ami",
            "subnet_id",
            "associate_public_ip_address",
            "key_name",
            "user_data",
        ]
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        if let Some(t) = request.config.string("instance_type") {
            check_instance_types(&self.0, &[t], "instance_type")?;
        }
        plan_tagged(self, &self.0, request)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let groups = strings_of(planned, "vpc_security_group_ids");
        let user_data = planned
            .string("user_data")
            .map(|u| base64::engine::general_purpose::STANDARD.encode(u));
        let out = run(ec2
            .run_instances()
            .image_id(planned.require_string("ami")?)
            .instance_type(InstanceType::from(
                planned.require_string("instance_type")?.as_str(),
            ))
            .min_count(1)
            .max_count(1)
            .set_subnet_id(planned.string("subnet_id"))
            .set_security_group_ids((!groups.is_empty()).then_some(groups))
            .set_key_name(planned.string("key_name"))
            .set_user_data(user_data)
            .set_tag_specifications(
                tag_spec(ResourceType::Instance, &all_tags(&self.0, planned)).map(|t| vec![t]),
            )
            .send())
        .map_err(|e| aws_error("aws_instance", "launch the instance", e))?;
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .unwrap_or_default()
            .to_string();
        let limit = timeout(planned, "create", Duration::from_secs(600));
        self.wait_state(&id, InstanceStateName::Running, limit)?;
        let mut state = planned.clone();
        state.set("id", s(&id));
        self.read(&state)?
            .map_or_else(|| fail("Instance vanished", id.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let clients = self.0.clients()?;
        let id = current.require_string("id")?;
        let out = match run(clients.ec2.describe_instances().instance_ids(&id).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_instance", "read the instance", e)),
        };
        let Some((owner, instance)) = out.reservations().iter().find_map(|r| {
            r.instances()
                .first()
                .map(|i| (r.owner_id().unwrap_or_default().to_string(), i))
        }) else {
            return Ok(None);
        };
        let state_name = instance.state().and_then(|s| s.name()).cloned();
        if matches!(
            state_name,
            Some(InstanceStateName::Terminated) | Some(InstanceStateName::ShuttingDown)
        ) {
            return Ok(None);
        }
        let mut state = current.clone();
        state.set("ami", opt_s(instance.image_id()));
        state.set(
            "instance_type",
            opt_s(instance.instance_type().map(|t| t.as_str())),
        );
        state.set("subnet_id", opt_s(instance.subnet_id()));
        state.set(
            "vpc_security_group_ids",
            strings_set(
                instance
                    .security_groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string)),
            ),
        );
        state.set(
            "associate_public_ip_address",
            b(instance.public_ip_address().is_some()),
        );
        state.set("key_name", opt_s(instance.key_name()));
        let user_data = run(clients
            .ec2
            .describe_instance_attribute()
            .instance_id(&id)
            .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
            .send())
        .map_err(|e| aws_error("aws_instance", "read the instance's user data", e))?
        .user_data()
        .and_then(|u| u.value())
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        state.set("user_data", opt_s(user_data));
        state.set("private_ip", opt_s(instance.private_ip_address()));
        state.set("public_ip", opt_s(instance.public_ip_address()));
        state.set(
            "instance_state",
            opt_s(state_name.as_ref().map(|s| s.as_str())),
        );
        state.set(
            "availability_zone",
            opt_s(instance.placement().and_then(|p| p.availability_zone())),
        );
        state.set(
            "arn",
            s(format!(
                "arn:aws:ec2:{}:{owner}:instance/{id}",
                clients.region
            )),
        );
        set_read_tags(&self.0, &mut state, current, tags_of(instance.tags()));
        Ok(Some(state))
    }

    /// A new instance type stops the instance, changes it and starts it again, as
    /// HashiCorp's provider does.
    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        let limit = timeout(planned, "update", Duration::from_secs(600));
        if prior.string("instance_type") != planned.string("instance_type") {
            run(ec2.stop_instances().instance_ids(&id).send())
                .map_err(|e| aws_error("aws_instance", "stop the instance to resize it", e))?;
            self.wait_state(&id, InstanceStateName::Stopped, limit)?;
            run(ec2
                .modify_instance_attribute()
                .instance_id(&id)
                .instance_type(
                    aws_sdk_ec2::types::AttributeValue::builder()
                        .value(planned.require_string("instance_type")?)
                        .build(),
                )
                .send())
            .map_err(|e| aws_error("aws_instance", "change the instance type", e))?;
            run(ec2.start_instances().instance_ids(&id).send())
                .map_err(|e| aws_error("aws_instance", "start the instance again", e))?;
            self.wait_state(&id, InstanceStateName::Running, limit)?;
        }
        let (old, new) = (
            strings_of(prior, "vpc_security_group_ids"),
            strings_of(planned, "vpc_security_group_ids"),
        );
        if old != new && planned.is_known("vpc_security_group_ids") && !new.is_empty() {
            run(ec2
                .modify_instance_attribute()
                .instance_id(&id)
                .set_groups(Some(new))
                .send())
            .map_err(|e| aws_error("aws_instance", "change the security groups", e))?;
        }
        retag(&self.0, "aws_instance", &id, prior, planned)?;
        self.read(planned)?
            .map_or_else(|| fail("Instance vanished", id.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        match run(ec2.terminate_instances().instance_ids(&id).send()) {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(aws_error("aws_instance", "terminate the instance", e)),
        }
        let limit = timeout(prior, "delete", Duration::from_secs(1200));
        self.wait_state(&id, InstanceStateName::Terminated, limit)
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(self.read(&by_id(id))?, format!("No instance {id} exists."))
    }
}

// ---- data sources -------------------------------------------------------------------------

struct AvailabilityZones(Aws);

impl DataSource for AvailabilityZones {
    fn type_name(&self) -> &str {
        "aws_availability_zones"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("state", optional(Type::String)),
                ("names", computed(string_list())),
                ("zone_ids", computed(string_list())),
            ],
            vec![],
        )
    }

    fn read(&self, config: &Object) -> Result<Object> {
        let clients = self.0.clients()?;
        let mut request = clients.ec2.describe_availability_zones();
        if let Some(state) = config.string("state") {
            request = request.filters(Filter::builder().name("state").values(state).build());
        }
        let out = run(request.send())
            .map_err(|e| aws_error("data.aws_availability_zones", "list availability zones", e))?;
        let mut zones: Vec<(String, String)> = out
            .availability_zones()
            .iter()
            .map(|z| {
                (
                    z.zone_name().unwrap_or_default().to_string(),
                    z.zone_id().unwrap_or_default().to_string(),
                )
            })
            .collect();
        zones.sort();
        let mut state = config.clone();
        state.set("id", s(&clients.region));
        state.set("names", strings_list(zones.iter().map(|z| z.0.clone())));
        state.set("zone_ids", strings_list(zones.iter().map(|z| z.1.clone())));
        Ok(state)
    }
}

struct InstanceTypeData(Aws);

fn gpu_block() -> plinth_provider_sdk::Block {
    block(
        vec![
            ("count", computed(Type::Number)),
            ("manufacturer", computed(Type::String)),
            ("memory_size", computed(Type::Number)),
            ("name", computed(Type::String)),
        ],
        vec![],
    )
}

impl DataSource for InstanceTypeData {
    fn type_name(&self) -> &str {
        "aws_ec2_instance_type"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("instance_type", required(Type::String)),
                ("default_vcpus", computed(Type::Number)),
                ("memory_size", computed(Type::Number)),
                ("total_gpu_memory", computed(Type::Number)),
                ("current_generation", computed(Type::Bool)),
                ("supported_architectures", computed(string_list())),
            ],
            vec![("gpus", set_of(gpu_block()))],
        )
    }

    fn read(&self, config: &Object) -> Result<Object> {
        let name = config.require_string("instance_type")?;
        check_instance_types(&self.0, std::slice::from_ref(&name), "instance_type")?;
        let infos =
            describe_instance_types(&self.0, std::slice::from_ref(&name))?.map_err(|e| {
                aws_error(
                    "data.aws_ec2_instance_type",
                    "describe the instance type",
                    e,
                )
            })?;
        let Some(info) = infos.first() else {
            return Err(unknown_type(&name, "instance_type"));
        };
        let gpus = info
            .gpu_info()
            .map(|g| {
                g.gpus()
                    .iter()
                    .map(|d| {
                        let mut o = Object(Default::default());
                        o.set("count", n(i64::from(d.count().unwrap_or(0))));
                        o.set("manufacturer", opt_s(d.manufacturer()));
                        o.set(
                            "memory_size",
                            n(i64::from(
                                d.memory_info().and_then(|m| m.size_in_mib()).unwrap_or(0),
                            )),
                        );
                        o.set("name", opt_s(d.name()));
                        o
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut state = config.clone();
        state.set("id", s(&name));
        state.set(
            "default_vcpus",
            n(i64::from(
                info.v_cpu_info()
                    .and_then(|v| v.default_v_cpus())
                    .unwrap_or(0),
            )),
        );
        state.set(
            "memory_size",
            n(info
                .memory_info()
                .and_then(|m| m.size_in_mib())
                .unwrap_or(0)),
        );
        state.set(
            "total_gpu_memory",
            n(i64::from(
                info.gpu_info()
                    .and_then(|g| g.total_gpu_memory_in_mib())
                    .unwrap_or(0),
            )),
        );
        state.set(
            "current_generation",
            b(info.current_generation().unwrap_or(false)),
        );
        state.set(
            "supported_architectures",
            strings_list(
                info.processor_info()
                    .map(|p| {
                        p.supported_architectures()
                            .iter()
                            .map(|a| a.as_str().to_string())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            ),
        );
        state.set("gpus", objects_value(&gpu_block(), Nesting::Set, gpus));
        Ok(state)
    }
}
