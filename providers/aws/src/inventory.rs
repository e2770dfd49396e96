//! Listing for `plinth drift --unmanaged` (plinth's `Inventory` service): the objects
//! of the types this provider manages, less what AWS makes by itself (the default
//! VPC and its subnets, each VPC's `default` security group, main route tables,
//! service-linked roles) and what state holds. Each object left is imported as
//! `import` would (its own type's read) and its configuration is that state's
//! arguments, so the plan after importing it changes nothing.

use std::collections::BTreeMap;

use plinth_provider_sdk::{config_from_state, Diagnostic, ListRequest, Listed, Listing, Resource};

use crate::common::*;
use crate::vpc::tags_of;

/// The types listed, in the order they are listed.
pub const LISTED: [&str; 10] = [
    "aws_vpc",
    "aws_subnet",
    "aws_security_group",
    "aws_route_table",
    "aws_instance",
    "aws_eks_cluster",
    "aws_eks_node_group",
    "aws_ecr_repository",
    "aws_s3_bucket",
    "aws_iam_role",
];

/// One object found: its type, the id its import takes (the `id` state holds), a
/// suggested name, and its tags when the listing call already returned them.
#[derive(Clone, Debug, PartialEq)]
struct Found {
    type_name: &'static str,
    id: String,
    name: String,
    tags: Option<BTreeMap<String, String>>,
}

impl Found {
    fn new(type_name: &'static str, id: &str, name: Option<&str>) -> Found {
        Found {
            type_name,
            id: id.to_string(),
            name: name.filter(|n| !n.is_empty()).unwrap_or(id).to_string(),
            tags: None,
        }
    }

    /// An EC2 object: named by its `Name` tag, else its id.
    fn ec2(type_name: &'static str, id: &str, tags: BTreeMap<String, String>) -> Found {
        let mut f = Found::new(type_name, id, tags.get("Name").map(String::as_str));
        f.tags = Some(tags);
        f
    }
}

pub fn list(aws: &Shared, resources: &[Box<dyn Resource>], request: &ListRequest) -> Listing {
    let mut found = Vec::new();
    let mut diagnostics = Vec::new();
    for type_name in LISTED.iter().filter(|t| request.wants(t)) {
        match find(aws, type_name) {
            Ok(f) => found.extend(f),
            Err(d) => diagnostics.extend(d),
        }
    }
    let mut objects = Vec::new();
    for f in found {
        if request.is_managed(f.type_name, &f.id) {
            continue;
        }
        // Tags the listing returned filter before the (slower) read.
        if f.tags.as_ref().is_some_and(|t| !request.tags_match(t)) {
            continue;
        }
        let Some(resource) = resources.iter().find(|r| r.type_name() == f.type_name) else {
            continue;
        };
        let state = match resource.import(&f.id) {
            Ok(s) => s,
            Err(d) => {
                diagnostics.extend(d.into_iter().map(|d| {
                    Diagnostic::warning(
                        format!("{} {} not listed", f.type_name, f.id),
                        format!("{}: {}", d.summary, d.detail),
                    )
                }));
                continue;
            }
        };
        let (config, _) = config_from_state(&resource.schema().block, &state, skipped(f.type_name));
        let listed = Listed {
            type_name: f.type_name.to_string(),
            id: state.string("id").unwrap_or_else(|| f.id.clone()),
            import_id: f.id.clone(),
            name: f.name.clone(),
            tags: map_of(&state, "tags_all"),
            config,
            note: String::new(),
        };
        request.keep(listed, &mut objects);
    }
    Listing {
        objects,
        diagnostics,
    }
}

/// Arguments left out of a type's configuration: one of two that conflict (a name
/// and its prefix), set from the other.
fn skipped(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "aws_security_group" | "aws_iam_role" => &["name_prefix"],
        "aws_s3_bucket" => &["bucket_prefix"],
        _ => &[],
    }
}

/// The objects of one type, less those AWS makes by itself.
fn find(aws: &Shared, type_name: &'static str) -> plinth_provider_sdk::Result<Vec<Found>> {
    let clients = aws.clients()?;
    let mut out = Vec::new();
    match type_name {
        "aws_vpc" => {
            let pages = run(clients
                .ec2
                .describe_vpcs()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list VPCs", e))?;
            for v in pages.iter().flat_map(|p| p.vpcs()) {
                if made_by_aws::vpc(v) {
                    continue;
                }
                if let Some(id) = v.vpc_id() {
                    out.push(Found::ec2(type_name, id, tags_of(v.tags())));
                }
            }
        }
        "aws_subnet" => {
            let pages = run(clients
                .ec2
                .describe_subnets()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list subnets", e))?;
            for s in pages.iter().flat_map(|p| p.subnets()) {
                if made_by_aws::subnet(s) {
                    continue;
                }
                if let Some(id) = s.subnet_id() {
                    out.push(Found::ec2(type_name, id, tags_of(s.tags())));
                }
            }
        }
        "aws_security_group" => {
            let pages = run(clients
                .ec2
                .describe_security_groups()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list security groups", e))?;
            for g in pages.iter().flat_map(|p| p.security_groups()) {
                if made_by_aws::security_group(g) {
                    continue;
                }
                if let Some(id) = g.group_id() {
                    let mut f = Found::ec2(type_name, id, tags_of(g.tags()));
                    if !f.tags.as_ref().is_some_and(|t| t.contains_key("Name")) {
                        f.name = g.group_name().unwrap_or(id).to_string();
                    }
                    out.push(f);
                }
            }
        }
        "aws_route_table" => {
            let pages = run(clients
                .ec2
                .describe_route_tables()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list route tables", e))?;
            for t in pages.iter().flat_map(|p| p.route_tables()) {
                if made_by_aws::route_table(t) {
                    continue;
                }
                if let Some(id) = t.route_table_id() {
                    out.push(Found::ec2(type_name, id, tags_of(t.tags())));
                }
            }
        }
        "aws_instance" => {
            use aws_sdk_ec2::types::InstanceStateName as S;
            let pages = run(clients
                .ec2
                .describe_instances()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list instances", e))?;
            let instances = pages
                .iter()
                .flat_map(|p| p.reservations())
                .flat_map(|r| r.instances());
            for i in instances {
                let gone = matches!(
                    i.state().and_then(|s| s.name()),
                    Some(S::Terminated | S::ShuttingDown)
                );
                if let (false, Some(id)) = (gone, i.instance_id()) {
                    out.push(Found::ec2(type_name, id, tags_of(i.tags())));
                }
            }
        }
        "aws_eks_cluster" | "aws_eks_node_group" => {
            let pages = run(clients
                .eks
                .list_clusters()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list EKS clusters", e))?;
            for cluster in pages.iter().flat_map(|p| p.clusters()) {
                if type_name == "aws_eks_cluster" {
                    out.push(Found::new(type_name, cluster, None));
                    continue;
                }
                let groups = run(clients
                    .eks
                    .list_nodegroups()
                    .cluster_name(cluster)
                    .into_paginator()
                    .send()
                    .try_collect())
                .map_err(|e| aws_error(type_name, "list node groups", e))?;
                for g in groups.iter().flat_map(|p| p.nodegroups()) {
                    let id = format!("{cluster}:{g}");
                    out.push(Found::new(type_name, &id, Some(&format!("{cluster}_{g}"))));
                }
            }
        }
        "aws_ecr_repository" => {
            let pages = run(clients
                .ecr
                .describe_repositories()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list repositories", e))?;
            for r in pages.iter().flat_map(|p| p.repositories()) {
                if let Some(name) = r.repository_name() {
                    out.push(Found::new(type_name, name, None));
                }
            }
        }
        "aws_s3_bucket" => {
            let pages = run(clients
                .s3
                .list_buckets()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list buckets", e))?;
            for b in pages.iter().flat_map(|p| p.buckets()) {
                if let Some(name) = b.name() {
                    out.push(Found::new(type_name, name, None));
                }
            }
        }
        "aws_iam_role" => {
            let pages = run(clients
                .iam
                .list_roles()
                .into_paginator()
                .send()
                .try_collect())
            .map_err(|e| aws_error(type_name, "list roles", e))?;
            for r in pages.iter().flat_map(|p| p.roles()) {
                if !made_by_aws::role_path(r.path()) {
                    out.push(Found::new(type_name, r.role_name(), None));
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// What AWS makes by itself, which no stack is expected to manage.
mod made_by_aws {
    use aws_sdk_ec2::types::{RouteTable, SecurityGroup, Subnet, Vpc};

    /// The region's default VPC.
    pub fn vpc(v: &Vpc) -> bool {
        v.is_default() == Some(true)
    }

    /// A default VPC's subnets (one per availability zone).
    pub fn subnet(s: &Subnet) -> bool {
        s.default_for_az() == Some(true)
    }

    /// Every VPC's `default` group.
    pub fn security_group(g: &SecurityGroup) -> bool {
        g.group_name() == Some("default")
    }

    /// A VPC's main route table.
    pub fn route_table(t: &RouteTable) -> bool {
        t.associations().iter().any(|a| a.main() == Some(true))
    }

    /// Service-linked roles live under `/aws-service-role/`.
    pub fn role_path(path: &str) -> bool {
        path.starts_with("/aws-service-role/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_aws_makes_by_itself_is_left_out() {
        use aws_sdk_ec2::types::{RouteTable, RouteTableAssociation, SecurityGroup, Subnet, Vpc};
        assert!(made_by_aws::vpc(&Vpc::builder().is_default(true).build()));
        assert!(!made_by_aws::vpc(&Vpc::builder().is_default(false).build()));
        assert!(made_by_aws::subnet(
            &Subnet::builder().default_for_az(true).build()
        ));
        assert!(!made_by_aws::subnet(&Subnet::builder().build()));
        assert!(made_by_aws::security_group(
            &SecurityGroup::builder().group_name("default").build()
        ));
        assert!(!made_by_aws::security_group(
            &SecurityGroup::builder().group_name("web").build()
        ));
        let main = RouteTableAssociation::builder().main(true).build();
        let other = RouteTableAssociation::builder().main(false).build();
        assert!(made_by_aws::route_table(
            &RouteTable::builder().associations(main).build()
        ));
        assert!(!made_by_aws::route_table(
            &RouteTable::builder().associations(other).build()
        ));
        assert!(made_by_aws::role_path(
            "/aws-service-role/eks.amazonaws.com/"
        ));
        assert!(!made_by_aws::role_path("/"));
    }

    #[test]
    fn ec2_objects_are_named_by_their_name_tag_else_their_id() {
        let named = Found::ec2(
            "aws_vpc",
            "vpc-1",
            BTreeMap::from([("Name".to_string(), "core".to_string())]),
        );
        assert_eq!(named.name, "core");
        assert_eq!(
            Found::ec2("aws_vpc", "vpc-2", BTreeMap::new()).name,
            "vpc-2"
        );
        assert_eq!(Found::new("aws_s3_bucket", "b", Some("")).name, "b");
    }

    #[test]
    fn every_listed_type_is_one_the_provider_manages() {
        let aws = std::sync::Arc::new(Shared::default());
        let names: Vec<String> = crate::all_resources(&aws)
            .iter()
            .map(|r| r.type_name().to_string())
            .collect();
        for t in LISTED {
            assert!(names.iter().any(|n| n == t), "{t}");
        }
    }
}
