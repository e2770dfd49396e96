//! Networking: `aws_vpc`, `aws_subnet`, `aws_internet_gateway`, `aws_route_table`,
//! `aws_route_table_association`, `aws_security_group`, `aws_security_group_rule`.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification,
    Tenancy, UserIdGroupPair,
};
use plinth_provider_sdk::{
    fail, Nesting, Object, PlanRequest, Planned, Resource, Result, Schema, Type, Value,
};

use crate::common::*;

pub fn resources(aws: &Aws) -> Vec<Box<dyn Resource>> {
    vec![
        Box::new(Vpc(aws.clone())),
        Box::new(Subnet(aws.clone())),
        Box::new(InternetGateway(aws.clone())),
        Box::new(RouteTable(aws.clone())),
        Box::new(RouteTableAssociation(aws.clone())),
        Box::new(SecurityGroup(aws.clone())),
        Box::new(SecurityGroupRule(aws.clone())),
    ]
}

// ---- EC2 tags, shared by every EC2 resource ------------------------------------------

pub fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> Option<TagSpecification> {
    (!tags.is_empty()).then(|| {
        TagSpecification::builder()
            .resource_type(kind)
            .set_tags(Some(ec2_tags(tags)))
            .build()
    })
}

pub fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// Brings an EC2 object's tags from `prior`'s `tags_all` to `planned`'s.
pub fn retag(
    aws: &Shared,
    address: &str,
    id: &str,
    prior: &Object,
    planned: &Object,
) -> Result<()> {
    let old = map_of(prior, "tags_all");
    let new = all_tags(aws, planned);
    let (put, remove) = tag_changes(&old, &new);
    let ec2 = &aws.clients()?.ec2;
    if !remove.is_empty() {
        let keys = remove
            .iter()
            .map(|k| Tag::builder().key(k).build())
            .collect();
        run(ec2.delete_tags().resources(id).set_tags(Some(keys)).send())
            .map_err(|e| aws_error(address, "remove tags", e))?;
    }
    if !put.is_empty() {
        run(ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(ec2_tags(&put)))
            .send())
        .map_err(|e| aws_error(address, "tag", e))?;
    }
    Ok(())
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn flag(value: bool) -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(value).build()
}

fn arn(aws: &Shared, service_path: &str, owner: &str) -> Result<String> {
    let region = &aws.clients()?.region;
    Ok(format!("arn:aws:ec2:{region}:{owner}:{service_path}"))
}

// ---- aws_vpc ----------------------------------------------------------------------------

struct Vpc(Aws);

impl Resource for Vpc {
    fn type_name(&self) -> &str {
        "aws_vpc"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("cidr_block", required(Type::String)),
            ("instance_tenancy", optional_computed(Type::String)),
            ("enable_dns_support", optional_computed(Type::Bool)),
            ("enable_dns_hostnames", optional_computed(Type::Bool)),
            ("main_route_table_id", computed(Type::String)),
            ("default_security_group_id", computed(Type::String)),
            ("owner_id", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(attrs, vec![])
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["cidr_block", "instance_tenancy"]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![
            ("instance_tenancy", s("default")),
            ("enable_dns_support", b(true)),
            ("enable_dns_hostnames", b(false)),
        ]
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        plan_tagged(self, &self.0, request)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let tenancy = planned
            .string("instance_tenancy")
            .unwrap_or_else(|| "default".into());
        let out = run(ec2
            .create_vpc()
            .cidr_block(planned.require_string("cidr_block")?)
            .instance_tenancy(Tenancy::from(tenancy.as_str()))
            .set_tag_specifications(
                tag_spec(ResourceType::Vpc, &all_tags(&self.0, planned)).map(|t| vec![t]),
            )
            .send())
        .map_err(|e| aws_error("aws_vpc", "create the VPC", e))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_string();
        self.set_dns(&id, None, planned)?;
        let mut state = planned.clone();
        state.set("id", s(&id));
        self.read(&state)?.map_or_else(
            || {
                fail(
                    "VPC vanished",
                    format!("{id} was created but cannot be read back."),
                )
            },
            Ok,
        )
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ec2 = &self.0.clients()?.ec2;
        let id = current.require_string("id")?;
        let out = match run(ec2.describe_vpcs().vpc_ids(&id).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_vpc", "read the VPC", e)),
        };
        let Some(vpc) = out.vpcs().first() else {
            return Ok(None);
        };
        let owner = vpc.owner_id().unwrap_or_default().to_string();
        let mut state = current.clone();
        state.set("cidr_block", opt_s(vpc.cidr_block()));
        state.set(
            "instance_tenancy",
            opt_s(vpc.instance_tenancy().map(|t| t.as_str())),
        );
        state.set("owner_id", s(&owner));
        state.set("arn", s(arn(&self.0, &format!("vpc/{id}"), &owner)?));
        for (name, attribute) in [
            (
                "enable_dns_support",
                aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport,
            ),
            (
                "enable_dns_hostnames",
                aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames,
            ),
        ] {
            let out = run(ec2
                .describe_vpc_attribute()
                .vpc_id(&id)
                .attribute(attribute)
                .send())
            .map_err(|e| aws_error("aws_vpc", "read the VPC's DNS settings", e))?;
            let value = out
                .enable_dns_support()
                .or(out.enable_dns_hostnames())
                .and_then(|v| v.value());
            state.set(name, value.map_or(Value::Null(Type::Bool), b));
        }
        let main = run(ec2
            .describe_route_tables()
            .filters(filter("vpc-id", &id))
            .filters(filter("association.main", "true"))
            .send())
        .map_err(|e| aws_error("aws_vpc", "read the VPC's main route table", e))?;
        state.set(
            "main_route_table_id",
            opt_s(main.route_tables().first().and_then(|r| r.route_table_id())),
        );
        let groups = run(ec2
            .describe_security_groups()
            .filters(filter("vpc-id", &id))
            .filters(filter("group-name", "default"))
            .send())
        .map_err(|e| aws_error("aws_vpc", "read the VPC's default security group", e))?;
        state.set(
            "default_security_group_id",
            opt_s(groups.security_groups().first().and_then(|g| g.group_id())),
        );
        set_read_tags(&self.0, &mut state, current, tags_of(vpc.tags()));
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let id = prior.require_string("id")?;
        self.set_dns(&id, Some(prior), planned)?;
        retag(&self.0, "aws_vpc", &id, prior, planned)?;
        self.read(planned)?
            .map_or_else(|| fail("VPC vanished", format!("{id} is gone.")), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        deleted(
            run(ec2.delete_vpc().vpc_id(&id).send()),
            "aws_vpc",
            "delete the VPC",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        let mut o = Object(Default::default());
        o.set("id", s(id));
        exists(self.read(&o)?, format!("No VPC {id} exists."))
    }
}

impl Vpc {
    fn set_dns(&self, id: &str, prior: Option<&Object>, planned: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        for name in ["enable_dns_support", "enable_dns_hostnames"] {
            let want = planned.bool(name);
            let had = prior.map_or(Some(name == "enable_dns_support"), |p| p.bool(name));
            let Some(want) = want.filter(|w| Some(*w) != had) else {
                continue;
            };
            let call = ec2.modify_vpc_attribute().vpc_id(id);
            let call = if name == "enable_dns_support" {
                call.enable_dns_support(flag(want))
            } else {
                call.enable_dns_hostnames(flag(want))
            };
            run(call.send())
                .map_err(|e| aws_error("aws_vpc", "change the VPC's DNS settings", e))?;
        }
        Ok(())
    }
}

/// An empty object with only `id` set, to read or import by.
pub fn by_id(id: &str) -> Object {
    let mut o = Object(Default::default());
    o.set("id", s(id));
    o
}

// ---- aws_subnet -------------------------------------------------------------------------

struct Subnet(Aws);

impl Resource for Subnet {
    fn type_name(&self) -> &str {
        "aws_subnet"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("vpc_id", required(Type::String)),
            ("cidr_block", required(Type::String)),
            ("availability_zone", optional_computed(Type::String)),
            ("availability_zone_id", computed(Type::String)),
            ("map_public_ip_on_launch", optional_computed(Type::Bool)),
            ("owner_id", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(attrs, vec![])
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["vpc_id", "cidr_block", "availability_zone"]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![("map_public_ip_on_launch", b(false))]
    }

    fn validate(&self, config: &Object) -> Vec<plinth_provider_sdk::Diagnostic> {
        match config.string("cidr_block") {
            Some(c) if parse_cidr(&c).is_none() => invalid(
                "cidr_block",
                "Invalid CIDR block",
                format!("{c:?} is not an IPv4 CIDR block such as \"10.0.1.0/24\"."),
            ),
            _ => Vec::new(),
        }
    }

    /// When the VPC already exists, checks at plan that the subnet fits inside it.
    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        if let (Some(vpc), Some(cidr)) = (
            request.config.string("vpc_id"),
            request.config.string("cidr_block"),
        ) {
            self.check_inside(&vpc, &cidr)?;
        }
        plan_tagged(self, &self.0, request)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let out = run(ec2
            .create_subnet()
            .vpc_id(planned.require_string("vpc_id")?)
            .cidr_block(planned.require_string("cidr_block")?)
            .set_availability_zone(planned.string("availability_zone"))
            .set_tag_specifications(
                tag_spec(ResourceType::Subnet, &all_tags(&self.0, planned)).map(|t| vec![t]),
            )
            .send())
        .map_err(|e| {
            let mut d = aws_error("aws_subnet", "create the subnet", e);
            if d[0].detail.contains("InvalidSubnet.Range") {
                d[0].detail.push_str(
                    "\n\nA subnet's cidr_block must lie inside its VPC's CIDR block (and not overlap another subnet).",
                );
                d[0].attribute = vec!["cidr_block".into()];
            }
            d
        })?;
        let id = out
            .subnet()
            .and_then(|v| v.subnet_id())
            .unwrap_or_default()
            .to_string();
        if planned.bool("map_public_ip_on_launch") == Some(true) {
            run(ec2
                .modify_subnet_attribute()
                .subnet_id(&id)
                .map_public_ip_on_launch(flag(true))
                .send())
            .map_err(|e| aws_error("aws_subnet", "set map_public_ip_on_launch", e))?;
        }
        let mut state = planned.clone();
        state.set("id", s(&id));
        self.read(&state)?
            .map_or_else(|| fail("Subnet vanished", id.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ec2 = &self.0.clients()?.ec2;
        let id = current.require_string("id")?;
        let out = match run(ec2.describe_subnets().subnet_ids(&id).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_subnet", "read the subnet", e)),
        };
        let Some(sub) = out.subnets().first() else {
            return Ok(None);
        };
        let mut state = current.clone();
        let owner = sub.owner_id().unwrap_or_default().to_string();
        state.set("vpc_id", opt_s(sub.vpc_id()));
        state.set("cidr_block", opt_s(sub.cidr_block()));
        state.set("availability_zone", opt_s(sub.availability_zone()));
        state.set("availability_zone_id", opt_s(sub.availability_zone_id()));
        state.set(
            "map_public_ip_on_launch",
            b(sub.map_public_ip_on_launch().unwrap_or(false)),
        );
        state.set("owner_id", s(&owner));
        state.set(
            "arn",
            opt_s(sub.subnet_arn().map(str::to_string)).or_else_string(|| {
                arn(&self.0, &format!("subnet/{id}"), &owner).unwrap_or_default()
            }),
        );
        set_read_tags(&self.0, &mut state, current, tags_of(sub.tags()));
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        if let Some(want) = planned.bool("map_public_ip_on_launch") {
            if prior.bool("map_public_ip_on_launch") != Some(want) {
                run(ec2
                    .modify_subnet_attribute()
                    .subnet_id(&id)
                    .map_public_ip_on_launch(flag(want))
                    .send())
                .map_err(|e| aws_error("aws_subnet", "set map_public_ip_on_launch", e))?;
            }
        }
        retag(&self.0, "aws_subnet", &id, prior, planned)?;
        self.read(planned)?
            .map_or_else(|| fail("Subnet vanished", id.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        deleted(
            run(ec2.delete_subnet().subnet_id(&id).send()),
            "aws_subnet",
            "delete the subnet",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(self.read(&by_id(id))?, format!("No subnet {id} exists."))
    }
}

/// An IPv4 CIDR block as (network, prefix length).
pub fn parse_cidr(text: &str) -> Option<(u32, u32)> {
    let (ip, len) = text.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((u32::from(ip), len))
}

fn contains(outer: (u32, u32), inner: (u32, u32)) -> bool {
    let mask = |len: u32| if len == 0 { 0 } else { u32::MAX << (32 - len) };
    inner.1 >= outer.1 && inner.0 & mask(outer.1) == outer.0 & mask(outer.1)
}

impl Subnet {
    fn check_inside(&self, vpc: &str, cidr: &str) -> Result<()> {
        let Some(inner) = parse_cidr(cidr) else {
            return Ok(());
        };
        let ec2 = &self.0.clients()?.ec2;
        let out = match run(ec2.describe_vpcs().vpc_ids(vpc).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => {
                return Err(invalid(
                    "vpc_id",
                    "No such VPC",
                    format!("aws_subnet: VPC {vpc} does not exist in this region."),
                ))
            }
            Err(e) => return Err(aws_error("aws_subnet", "read the subnet's VPC", e)),
        };
        let Some(v) = out.vpcs().first() else {
            return Ok(());
        };
        let blocks: Vec<String> = v
            .cidr_block_association_set()
            .iter()
            .filter_map(|a| a.cidr_block().map(str::to_string))
            .chain(v.cidr_block().map(str::to_string))
            .collect();
        if blocks
            .iter()
            .filter_map(|b| parse_cidr(b))
            .any(|outer| contains(outer, inner))
        {
            return Ok(());
        }
        Err(invalid(
            "cidr_block",
            "Subnet outside its VPC",
            format!(
                "aws_subnet: {cidr} does not lie inside VPC {vpc} ({}). Choose a cidr_block within the VPC's range, e.g. with cidrsubnet().",
                blocks.join(", ")
            ),
        ))
    }
}

/// `Value::Null` replaced by a computed string.
trait OrElseString {
    fn or_else_string(self, f: impl FnOnce() -> String) -> Value;
}

impl OrElseString for Value {
    fn or_else_string(self, f: impl FnOnce() -> String) -> Value {
        if self.is_null() {
            s(f())
        } else {
            self
        }
    }
}

// ---- aws_internet_gateway ----------------------------------------------------------------

struct InternetGateway(Aws);

impl Resource for InternetGateway {
    fn type_name(&self) -> &str {
        "aws_internet_gateway"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("vpc_id", optional(Type::String)),
            ("owner_id", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(attrs, vec![])
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        plan_tagged(self, &self.0, request)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let out = run(ec2
            .create_internet_gateway()
            .set_tag_specifications(
                tag_spec(ResourceType::InternetGateway, &all_tags(&self.0, planned))
                    .map(|t| vec![t]),
            )
            .send())
        .map_err(|e| aws_error("aws_internet_gateway", "create the internet gateway", e))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_string();
        if let Some(vpc) = planned.string("vpc_id") {
            self.attach(&id, &vpc)?;
        }
        let mut state = planned.clone();
        state.set("id", s(&id));
        self.read(&state)?
            .map_or_else(|| fail("Internet gateway vanished", id.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ec2 = &self.0.clients()?.ec2;
        let id = current.require_string("id")?;
        let out = match run(ec2
            .describe_internet_gateways()
            .internet_gateway_ids(&id)
            .send())
        {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_internet_gateway", "read the gateway", e)),
        };
        let Some(gw) = out.internet_gateways().first() else {
            return Ok(None);
        };
        let owner = gw.owner_id().unwrap_or_default().to_string();
        let mut state = current.clone();
        state.set(
            "vpc_id",
            opt_s(gw.attachments().first().and_then(|a| a.vpc_id())),
        );
        state.set("owner_id", s(&owner));
        state.set(
            "arn",
            s(arn(&self.0, &format!("internet-gateway/{id}"), &owner)?),
        );
        set_read_tags(&self.0, &mut state, current, tags_of(gw.tags()));
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let id = prior.require_string("id")?;
        let (old, new) = (prior.string("vpc_id"), planned.string("vpc_id"));
        if old != new {
            if let Some(vpc) = old {
                self.detach(&id, &vpc)?;
            }
            if let Some(vpc) = new {
                self.attach(&id, &vpc)?;
            }
        }
        retag(&self.0, "aws_internet_gateway", &id, prior, planned)?;
        self.read(planned)?
            .map_or_else(|| fail("Internet gateway vanished", id.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        if let Some(vpc) = prior.string("vpc_id") {
            self.detach(&id, &vpc)?;
        }
        deleted(
            run(ec2
                .delete_internet_gateway()
                .internet_gateway_id(&id)
                .send()),
            "aws_internet_gateway",
            "delete the gateway",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&by_id(id))?,
            format!("No internet gateway {id} exists."),
        )
    }
}

impl InternetGateway {
    fn attach(&self, id: &str, vpc: &str) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        run(ec2
            .attach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc)
            .send())
        .map(|_| ())
        .map_err(|e| aws_error("aws_internet_gateway", "attach the gateway to its VPC", e))
    }

    fn detach(&self, id: &str, vpc: &str) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        match run(ec2
            .detach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc)
            .send())
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) || code(&e) == "Gateway.NotAttached" => Ok(()),
            Err(e) => Err(aws_error("aws_internet_gateway", "detach the gateway", e)),
        }
    }
}

// ---- aws_route_table ----------------------------------------------------------------------

struct RouteTable(Aws);

fn route_block() -> plinth_provider_sdk::Block {
    block(
        vec![
            ("cidr_block", optional(Type::String)),
            ("gateway_id", optional(Type::String)),
            ("nat_gateway_id", optional(Type::String)),
        ],
        vec![],
    )
}

fn route_key(o: &Object) -> (Option<String>, Option<String>, Option<String>) {
    (
        o.string("cidr_block"),
        o.string("gateway_id"),
        o.string("nat_gateway_id"),
    )
}

impl Resource for RouteTable {
    fn type_name(&self) -> &str {
        "aws_route_table"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("vpc_id", required(Type::String)),
            ("owner_id", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(attrs, vec![("route", set_of(route_block()))])
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["vpc_id"]
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        plan_tagged(self, &self.0, request)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let out = run(ec2
            .create_route_table()
            .vpc_id(planned.require_string("vpc_id")?)
            .set_tag_specifications(
                tag_spec(ResourceType::RouteTable, &all_tags(&self.0, planned)).map(|t| vec![t]),
            )
            .send())
        .map_err(|e| aws_error("aws_route_table", "create the route table", e))?;
        let id = out
            .route_table()
            .and_then(|r| r.route_table_id())
            .unwrap_or_default()
            .to_string();
        for route in block_objects(planned, "route") {
            self.add_route(&id, &route)?;
        }
        let mut state = planned.clone();
        state.set("id", s(&id));
        self.read(&state)?
            .map_or_else(|| fail("Route table vanished", id.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ec2 = &self.0.clients()?.ec2;
        let id = current.require_string("id")?;
        let out = match run(ec2.describe_route_tables().route_table_ids(&id).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_route_table", "read the route table", e)),
        };
        let Some(table) = out.route_tables().first() else {
            return Ok(None);
        };
        let owner = table.owner_id().unwrap_or_default().to_string();
        let routes = table
            .routes()
            .iter()
            .filter(|r| r.gateway_id() != Some("local"))
            .map(|r| {
                let mut o = Object(Default::default());
                o.set("cidr_block", opt_s(r.destination_cidr_block()));
                o.set("gateway_id", opt_s(r.gateway_id()));
                o.set("nat_gateway_id", opt_s(r.nat_gateway_id()));
                o
            })
            .collect();
        let mut state = current.clone();
        state.set("vpc_id", opt_s(table.vpc_id()));
        state.set("owner_id", s(&owner));
        state.set(
            "arn",
            s(arn(&self.0, &format!("route-table/{id}"), &owner)?),
        );
        state.set("route", objects_value(&route_block(), Nesting::Set, routes));
        set_read_tags(&self.0, &mut state, current, tags_of(table.tags()));
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        let old = block_objects(prior, "route");
        let new = block_objects(planned, "route");
        let new_keys: Vec<_> = new.iter().map(route_key).collect();
        let old_keys: Vec<_> = old.iter().map(route_key).collect();
        for route in old.iter().filter(|r| !new_keys.contains(&route_key(r))) {
            if let Some(cidr) = route.string("cidr_block") {
                match run(ec2
                    .delete_route()
                    .route_table_id(&id)
                    .destination_cidr_block(cidr)
                    .send())
                {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(aws_error("aws_route_table", "delete a route", e)),
                }
            }
        }
        for route in new.iter().filter(|r| !old_keys.contains(&route_key(r))) {
            self.add_route(&id, route)?;
        }
        retag(&self.0, "aws_route_table", &id, prior, planned)?;
        self.read(planned)?
            .map_or_else(|| fail("Route table vanished", id.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        deleted(
            run(ec2.delete_route_table().route_table_id(&id).send()),
            "aws_route_table",
            "delete the route table",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&by_id(id))?,
            format!("No route table {id} exists."),
        )
    }
}

impl RouteTable {
    fn add_route(&self, id: &str, route: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        run(ec2
            .create_route()
            .route_table_id(id)
            .set_destination_cidr_block(route.string("cidr_block"))
            .set_gateway_id(route.string("gateway_id"))
            .set_nat_gateway_id(route.string("nat_gateway_id"))
            .send())
        .map(|_| ())
        .map_err(|e| aws_error("aws_route_table", "add a route", e))
    }
}

// ---- aws_route_table_association -------------------------------------------------------------

struct RouteTableAssociation(Aws);

impl Resource for RouteTableAssociation {
    fn type_name(&self) -> &str {
        "aws_route_table_association"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("subnet_id", required(Type::String)),
                ("route_table_id", required(Type::String)),
            ],
            vec![],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["subnet_id"]
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let out = run(ec2
            .associate_route_table()
            .subnet_id(planned.require_string("subnet_id")?)
            .route_table_id(planned.require_string("route_table_id")?)
            .send())
        .map_err(|e| {
            aws_error(
                "aws_route_table_association",
                "associate the route table",
                e,
            )
        })?;
        let mut state = planned.clone();
        state.set("id", opt_s(out.association_id()));
        Ok(state)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ec2 = &self.0.clients()?.ec2;
        let id = current.require_string("id")?;
        let out = run(ec2
            .describe_route_tables()
            .filters(filter("association.route-table-association-id", &id))
            .send())
        .map_err(|e| aws_error("aws_route_table_association", "read the association", e))?;
        let found = out.route_tables().iter().find_map(|t| {
            t.associations()
                .iter()
                .find(|a| a.route_table_association_id() == Some(id.as_str()))
        });
        let Some(association) = found else {
            return Ok(None);
        };
        let mut state = current.clone();
        state.set("subnet_id", opt_s(association.subnet_id()));
        state.set("route_table_id", opt_s(association.route_table_id()));
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        let out = run(ec2
            .replace_route_table_association()
            .association_id(&id)
            .route_table_id(planned.require_string("route_table_id")?)
            .send())
        .map_err(|e| aws_error("aws_route_table_association", "change the route table", e))?;
        let mut state = planned.clone();
        state.set("id", opt_s(out.new_association_id()));
        Ok(state)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        deleted(
            run(ec2.disassociate_route_table().association_id(&id).send()),
            "aws_route_table_association",
            "disassociate",
        )
    }

    /// By `SUBNET_ID/ROUTE_TABLE_ID`, as HashiCorp's provider imports it.
    fn import(&self, id: &str) -> Result<Object> {
        let Some((subnet, table)) = id.split_once('/') else {
            return fail(
                "Invalid import id",
                format!("Import an association as SUBNET_ID/ROUTE_TABLE_ID, not {id:?}."),
            );
        };
        let ec2 = &self.0.clients()?.ec2;
        let out = run(ec2.describe_route_tables().route_table_ids(table).send())
            .map_err(|e| aws_error("aws_route_table_association", "read the route table", e))?;
        let association = out.route_tables().iter().find_map(|t| {
            t.associations()
                .iter()
                .find(|a| a.subnet_id() == Some(subnet))
                .and_then(|a| a.route_table_association_id())
        });
        match association {
            Some(a) => exists(self.read(&by_id(a))?, format!("No association {id}.")),
            None => fail(
                "Cannot import",
                format!("{subnet} is not associated with {table}."),
            ),
        }
    }
}

// ---- aws_security_group and aws_security_group_rule -------------------------------------------

struct SecurityGroup(Aws);

/// The `ingress` and `egress` blocks of `aws_security_group`. A group's rules are
/// managed only where its configuration writes such blocks: a group without them
/// leaves its rules to `aws_security_group_rule` (and to anyone else) and never
/// reads them, so rules added by separate resources are no drift. Where blocks are
/// written, reality is read rule by rule and a rule added outside is drift the next
/// apply removes. Write one block per protocol and port range.
fn rule_block() -> plinth_provider_sdk::Block {
    block(
        vec![
            ("from_port", required(Type::Number)),
            ("to_port", required(Type::Number)),
            ("protocol", required(Type::String)),
            ("cidr_blocks", optional(string_list())),
            ("ipv6_cidr_blocks", optional(string_list())),
            ("security_groups", optional(string_set())),
            ("self", optional(Type::Bool)),
            ("description", optional(Type::String)),
        ],
        vec![],
    )
}

const RULE_KINDS: [&str; 2] = ["ingress", "egress"];

/// One rule block as the EC2 API takes it.
fn block_permission(group: &str, o: &Object) -> IpPermission {
    let description = o.string("description");
    let mut p = IpPermission::builder()
        .ip_protocol(o.string("protocol").unwrap_or_else(|| "-1".into()))
        .from_port(o.i64("from_port").unwrap_or(0) as i32)
        .to_port(o.i64("to_port").unwrap_or(0) as i32);
    for cidr in strings_of(o, "cidr_blocks") {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description.clone())
                .build(),
        );
    }
    for cidr in strings_of(o, "ipv6_cidr_blocks") {
        p = p.ipv6_ranges(
            aws_sdk_ec2::types::Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description.clone())
                .build(),
        );
    }
    let mut groups = strings_of(o, "security_groups");
    if o.bool("self") == Some(true) {
        groups.push(group.to_string());
    }
    for g in groups {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(description.clone())
                .build(),
        );
    }
    p.build()
}

/// A rule as the EC2 API reports it, as one block.
fn permission_block(group: &str, p: &IpPermission) -> Object {
    let mut o = Object::from_value(&Value::Object(Default::default()));
    let all = p.ip_protocol() == Some("-1");
    o.set("protocol", opt_s(p.ip_protocol()));
    o.set(
        "from_port",
        n(if all {
            0
        } else {
            i64::from(p.from_port().unwrap_or(0))
        }),
    );
    o.set(
        "to_port",
        n(if all {
            0
        } else {
            i64::from(p.to_port().unwrap_or(0))
        }),
    );
    let cidrs: Vec<&str> = p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).collect();
    let v6: Vec<&str> = p
        .ipv6_ranges()
        .iter()
        .filter_map(|r| r.cidr_ipv6())
        .collect();
    let others: Vec<&str> = p
        .user_id_group_pairs()
        .iter()
        .filter_map(|g| g.group_id())
        .filter(|g| *g != group)
        .collect();
    let own = p
        .user_id_group_pairs()
        .iter()
        .any(|g| g.group_id() == Some(group));
    let list = |items: &[&str]| {
        if items.is_empty() {
            Value::Null(string_list())
        } else {
            strings_list(items.iter().copied())
        }
    };
    o.set("cidr_blocks", list(&cidrs));
    o.set("ipv6_cidr_blocks", list(&v6));
    o.set(
        "security_groups",
        if others.is_empty() {
            Value::Null(string_set())
        } else {
            strings_set(others)
        },
    );
    o.set(
        "self",
        if own {
            b(true)
        } else {
            Value::Null(Type::Bool)
        },
    );
    let description = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.description())
        .chain(p.ipv6_ranges().iter().filter_map(|r| r.description()))
        .chain(
            p.user_id_group_pairs()
                .iter()
                .filter_map(|g| g.description()),
        )
        .next();
    o.set("description", opt_s(description));
    o
}

/// Two rule blocks are the same rule (nulls and empty lists alike).
fn same_rule(a: &Object, b: &Object) -> bool {
    let key = |o: &Object| {
        let mut cidrs = strings_of(o, "cidr_blocks");
        cidrs.sort();
        let mut v6 = strings_of(o, "ipv6_cidr_blocks");
        v6.sort();
        let mut groups = strings_of(o, "security_groups");
        groups.sort();
        (
            o.string("protocol"),
            o.i64("from_port"),
            o.i64("to_port"),
            cidrs,
            v6,
            groups,
            o.bool("self") == Some(true),
            o.string("description"),
        )
    };
    key(a) == key(b)
}

impl SecurityGroup {
    /// Makes the group's `kind` rules `want`, from `have`: revokes what is not wanted,
    /// then authorizes what is missing.
    fn set_rules(&self, group: &str, kind: &str, have: &[Object], want: &[Object]) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let what = |verb: &str| format!("{verb} the {kind} rules");
        let revoke: Vec<IpPermission> = have
            .iter()
            .filter(|h| !want.iter().any(|w| same_rule(h, w)))
            .map(|h| block_permission(group, h))
            .collect();
        let add: Vec<IpPermission> = want
            .iter()
            .filter(|w| !have.iter().any(|h| same_rule(h, w)))
            .map(|w| block_permission(group, w))
            .collect();
        if !revoke.is_empty() {
            let done = if kind == "egress" {
                run(ec2
                    .revoke_security_group_egress()
                    .group_id(group)
                    .set_ip_permissions(Some(revoke))
                    .send())
                .map(|_| ())
                .map_err(|e| aws_error("aws_security_group", &what("revoke"), e))
            } else {
                run(ec2
                    .revoke_security_group_ingress()
                    .group_id(group)
                    .set_ip_permissions(Some(revoke))
                    .send())
                .map(|_| ())
                .map_err(|e| aws_error("aws_security_group", &what("revoke"), e))
            };
            done?;
        }
        if !add.is_empty() {
            let done = if kind == "egress" {
                run(ec2
                    .authorize_security_group_egress()
                    .group_id(group)
                    .set_ip_permissions(Some(add))
                    .send())
                .map(|_| ())
                .map_err(|e| aws_error("aws_security_group", &what("add"), e))
            } else {
                run(ec2
                    .authorize_security_group_ingress()
                    .group_id(group)
                    .set_ip_permissions(Some(add))
                    .send())
                .map(|_| ())
                .map_err(|e| aws_error("aws_security_group", &what("add"), e))
            };
            done?;
        }
        Ok(())
    }
}

impl Resource for SecurityGroup {
    fn type_name(&self) -> &str {
        "aws_security_group"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("name", optional_computed(Type::String)),
            ("description", optional_computed(Type::String)),
            ("vpc_id", optional_computed(Type::String)),
            ("owner_id", computed(Type::String)),
            ("revoke_rules_on_delete", optional(Type::Bool)),
        ];
        attrs.extend(tag_attributes());
        schema(
            attrs,
            RULE_KINDS
                .iter()
                .map(|kind| (*kind, set_of(rule_block())))
                .collect(),
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["name", "description", "vpc_id"]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![("description", s("Managed by Terraform"))]
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        let creating = request.prior.is_none();
        let mut planned = plan_tagged(self, &self.0, request)?;
        if creating && planned.state.get("name").is_null() {
            planned.state.set("name", Value::Unknown(Type::String));
        }
        Ok(planned)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let name = planned
            .string("name")
            .unwrap_or_else(|| format!("terraform-{}", unique_suffix()));
        let out = run(ec2
            .create_security_group()
            .group_name(&name)
            .description(
                planned
                    .string("description")
                    .unwrap_or_else(|| "Managed by Terraform".into()),
            )
            .set_vpc_id(planned.string("vpc_id"))
            .set_tag_specifications(
                tag_spec(ResourceType::SecurityGroup, &all_tags(&self.0, planned)).map(|t| vec![t]),
            )
            .send())
        .map_err(|e| aws_error("aws_security_group", "create the security group", e))?;
        let mut state = planned.clone();
        state.set("id", opt_s(out.group_id()));
        state.set("name", s(&name));
        let id = out.group_id().unwrap_or_default().to_string();
        for kind in RULE_KINDS {
            let want = block_objects(planned, kind);
            if want.is_empty() {
                continue;
            }
            // A new group in a VPC allows all egress; written egress blocks replace it.
            let have = if kind == "egress" {
                let mut all = Object::from_value(&Value::Object(Default::default()));
                all.set("protocol", s("-1"));
                all.set("from_port", n(0));
                all.set("to_port", n(0));
                all.set("cidr_blocks", strings_list(["0.0.0.0/0"]));
                vec![all]
            } else {
                Vec::new()
            };
            self.set_rules(&id, kind, &have, &want)?;
        }
        self.read(&state)?
            .map_or_else(|| fail("Security group vanished", id.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ec2 = &self.0.clients()?.ec2;
        let id = current.require_string("id")?;
        let out = match run(ec2.describe_security_groups().group_ids(&id).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(aws_error(
                    "aws_security_group",
                    "read the security group",
                    e,
                ))
            }
        };
        let Some(group) = out.security_groups().first() else {
            return Ok(None);
        };
        let owner = group.owner_id().unwrap_or_default().to_string();
        let mut state = current.clone();
        state.set("name", opt_s(group.group_name()));
        state.set("description", opt_s(group.description()));
        state.set("vpc_id", opt_s(group.vpc_id()));
        state.set("owner_id", s(&owner));
        state.set(
            "arn",
            s(arn(&self.0, &format!("security-group/{id}"), &owner)?),
        );
        set_read_tags(&self.0, &mut state, current, tags_of(group.tags()));
        let inner = rule_block();
        for kind in RULE_KINDS {
            if block_objects(current, kind).is_empty() {
                continue;
            }
            let rules = if kind == "egress" {
                group.ip_permissions_egress()
            } else {
                group.ip_permissions()
            };
            let blocks = rules.iter().map(|p| permission_block(&id, p)).collect();
            state.set(kind, objects_value(&inner, Nesting::Set, blocks));
        }
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let id = prior.require_string("id")?;
        retag(&self.0, "aws_security_group", &id, prior, planned)?;
        for kind in RULE_KINDS {
            let have = block_objects(prior, kind);
            let want = block_objects(planned, kind);
            if !have.is_empty() || !want.is_empty() {
                self.set_rules(&id, kind, &have, &want)?;
            }
        }
        self.read(planned)?
            .map_or_else(|| fail("Security group vanished", id.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let id = prior.require_string("id")?;
        deleted(
            run(ec2.delete_security_group().group_id(&id).send()),
            "aws_security_group",
            "delete the security group",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&by_id(id))?,
            format!("No security group {id} exists."),
        )
    }
}

/// A suffix unique enough for generated names (time-based, as HashiCorp's are).
pub fn unique_suffix() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}{:09}", now.as_secs(), now.subsec_nanos())
}

struct SecurityGroupRule(Aws);

impl SecurityGroupRule {
    fn permission(o: &Object) -> Result<IpPermission> {
        let mut p = IpPermission::builder()
            .ip_protocol(o.require_string("protocol")?)
            .from_port(o.i64("from_port").unwrap_or(0) as i32)
            .to_port(o.i64("to_port").unwrap_or(0) as i32);
        for cidr in strings_of(o, "cidr_blocks") {
            let mut range = IpRange::builder().cidr_ip(cidr);
            if let Some(d) = o.string("description") {
                range = range.description(d);
            }
            p = p.ip_ranges(range.build());
        }
        let source = if o.bool("self") == Some(true) {
            o.string("security_group_id")
        } else {
            o.string("source_security_group_id")
        };
        if let Some(group) = source {
            p = p.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build());
        }
        Ok(p.build())
    }

    fn rule_id(o: &Object) -> String {
        let mut cidrs = strings_of(o, "cidr_blocks");
        cidrs.sort();
        format!(
            "sgrule-{}-{}-{}-{}-{}-{}",
            o.string("security_group_id").unwrap_or_default(),
            o.string("type").unwrap_or_default(),
            o.string("protocol").unwrap_or_default(),
            o.i64("from_port").unwrap_or(0),
            o.i64("to_port").unwrap_or(0),
            cidrs.join("_").replace('/', ":")
                + &o.string("source_security_group_id").unwrap_or_default()
                + if o.bool("self") == Some(true) {
                    "self"
                } else {
                    ""
                },
        )
    }
}

impl Resource for SecurityGroupRule {
    fn type_name(&self) -> &str {
        "aws_security_group_rule"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("type", required(Type::String)),
                ("security_group_id", required(Type::String)),
                ("protocol", required(Type::String)),
                ("from_port", required(Type::Number)),
                ("to_port", required(Type::Number)),
                ("cidr_blocks", optional(string_list())),
                ("source_security_group_id", optional_computed(Type::String)),
                ("self", optional(Type::Bool)),
                ("description", optional(Type::String)),
            ],
            vec![],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec![
            "type",
            "security_group_id",
            "protocol",
            "from_port",
            "to_port",
            "cidr_blocks",
            "source_security_group_id",
            "self",
            "description",
        ]
    }

    fn validate(&self, config: &Object) -> Vec<plinth_provider_sdk::Diagnostic> {
        match config.string("type").as_deref() {
            None | Some("ingress") | Some("egress") => Vec::new(),
            Some(other) => invalid(
                "type",
                "Invalid rule type",
                format!("type must be \"ingress\" or \"egress\", not {other:?}."),
            ),
        }
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ec2 = &self.0.clients()?.ec2;
        let group = planned.require_string("security_group_id")?;
        let permission = Self::permission(planned)?;
        let what = "add the rule";
        if planned.string("type").as_deref() == Some("egress") {
            run(ec2
                .authorize_security_group_egress()
                .group_id(&group)
                .ip_permissions(permission)
                .send())
            .map_err(|e| aws_error("aws_security_group_rule", what, e))?;
        } else {
            run(ec2
                .authorize_security_group_ingress()
                .group_id(&group)
                .ip_permissions(permission)
                .send())
            .map_err(|e| aws_error("aws_security_group_rule", what, e))?;
        }
        let mut state = planned.clone();
        state.set("id", s(Self::rule_id(planned)));
        if state.get("source_security_group_id").is_unknown_or_null() {
            state.set("source_security_group_id", Value::Null(Type::String));
        }
        Ok(state)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ec2 = &self.0.clients()?.ec2;
        let group = current.require_string("security_group_id")?;
        let out = match run(ec2.describe_security_groups().group_ids(&group).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_security_group_rule", "read the rules", e)),
        };
        let Some(g) = out.security_groups().first() else {
            return Ok(None);
        };
        let rules = if current.string("type").as_deref() == Some("egress") {
            g.ip_permissions_egress()
        } else {
            g.ip_permissions()
        };
        let want = Self::permission(current)?;
        let present = rules.iter().any(|p| {
            p.ip_protocol() == want.ip_protocol()
                && (want.ip_protocol() == Some("-1")
                    || (p.from_port() == want.from_port() && p.to_port() == want.to_port()))
                && want.ip_ranges().iter().all(|r| {
                    p.ip_ranges()
                        .iter()
                        .any(|have| have.cidr_ip() == r.cidr_ip())
                })
                && want.user_id_group_pairs().iter().all(|r| {
                    p.user_id_group_pairs()
                        .iter()
                        .any(|have| have.group_id() == r.group_id())
                })
        });
        Ok(present.then(|| current.clone()))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        Ok(planned.clone())
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ec2 = &self.0.clients()?.ec2;
        let group = prior.require_string("security_group_id")?;
        let permission = Self::permission(prior)?;
        let what = "remove the rule";
        let gone = |found: bool, d: Vec<plinth_provider_sdk::Diagnostic>| {
            if found {
                Ok(())
            } else {
                Err(d)
            }
        };
        if prior.string("type").as_deref() == Some("egress") {
            run(ec2
                .revoke_security_group_egress()
                .group_id(&group)
                .ip_permissions(permission)
                .send())
            .map(|_| ())
            .or_else(|e| {
                gone(
                    is_not_found(&e),
                    aws_error("aws_security_group_rule", what, e),
                )
            })
        } else {
            run(ec2
                .revoke_security_group_ingress()
                .group_id(&group)
                .ip_permissions(permission)
                .send())
            .map(|_| ())
            .or_else(|e| {
                gone(
                    is_not_found(&e),
                    aws_error("aws_security_group_rule", what, e),
                )
            })
        }
    }
}

trait UnknownOrNull {
    fn is_unknown_or_null(&self) -> bool;
}

impl UnknownOrNull for Value {
    fn is_unknown_or_null(&self) -> bool {
        self.is_null() || !self.is_known()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_fit_inside_their_vpc() {
        let vpc = parse_cidr("10.40.0.0/16").expect("cidr");
        assert!(contains(vpc, parse_cidr("10.40.16.0/20").expect("cidr")));
        assert!(!contains(vpc, parse_cidr("10.41.0.0/24").expect("cidr")));
        assert!(!contains(vpc, parse_cidr("10.0.0.0/8").expect("cidr")));
        assert!(contains(parse_cidr("0.0.0.0/0").expect("cidr"), vpc));
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("10.0.0/16"), None);
    }
}
