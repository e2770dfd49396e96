//! `plinth/aws`: the AWS resources an AI platform is built from (VPC and subnets, EC2
//! instances, EKS clusters and GPU node groups, ECR repositories, S3 buckets, IAM roles),
//! with the attribute names of HashiCorp's AWS provider so configurations port over.
//! Built on the AWS SDK for Rust; every endpoint can be pointed elsewhere (an emulator
//! such as moto) by `endpoints { … }` or `AWS_ENDPOINT_URL`.

mod common;
mod ec2;
mod eks;
mod iam;
mod inventory;
mod registry;
mod storage;
mod vpc;

use std::sync::Arc;

use common::{block, optional, single, string_map, Aws, Settings, Shared};
use plinth_provider_sdk::{
    serve, DataSource, Diagnostic, ListRequest, Listing, NestedBlock, Nesting, Object, Provider,
    Resource, Schema, Type,
};

fn main() -> std::process::ExitCode {
    serve(AwsProvider {
        aws: Arc::new(Shared::default()),
    })
}

struct AwsProvider {
    aws: Aws,
}

const SERVICES: [&str; 5] = ["ec2", "eks", "ecr", "iam", "s3"];

impl Provider for AwsProvider {
    fn schema(&self) -> Schema {
        let endpoints = block(
            SERVICES
                .iter()
                .map(|s| (*s, optional(Type::String)))
                .collect(),
            vec![],
        );
        let default_tags = block(vec![("tags", optional(string_map()))], vec![]);
        common::schema(
            vec![
                ("region", optional(Type::String)),
                ("profile", optional(Type::String)),
                ("access_key", optional(Type::String)),
                ("secret_key", optional(Type::String)),
                ("token", optional(Type::String)),
                ("max_retries", optional(Type::Number)),
            ],
            vec![
                (
                    "endpoints",
                    NestedBlock {
                        nesting: Nesting::Set,
                        ..single(endpoints, false)
                    },
                ),
                ("default_tags", single(default_tags, false)),
            ],
        )
    }

    /// HashiCorp's `provider_meta "aws"` block, which the terraform-aws-modules declare:
    /// `user_agent`, the calling module's product tokens. Accepted; the SDK's HTTP
    /// client sends its own user agent.
    fn meta_schema(&self) -> Option<Schema> {
        Some(common::schema(
            vec![("user_agent", optional(common::string_list()))],
            vec![],
        ))
    }

    fn configure(&self, config: &Object) -> Vec<Diagnostic> {
        let endpoints = common::block_objects(config, "endpoints")
            .into_iter()
            .flat_map(|e| {
                SERVICES
                    .iter()
                    .filter_map(|s| e.string(s).map(|url| (s.to_string(), url)))
                    .collect::<Vec<_>>()
            })
            .collect();
        let default_tags = common::block_objects(config, "default_tags")
            .first()
            .map(|d| common::map_of(d, "tags"))
            .unwrap_or_default();
        let max_retries = match config.i64("max_retries") {
            Some(n) if !(0..=100).contains(&n) => {
                return vec![Diagnostic::error(
                    "Invalid max_retries",
                    format!("max_retries must be between 0 and 100; it is {n}."),
                )
                .at("max_retries")]
            }
            Some(n) => n as u32 + 1,
            None => 25,
        };
        let settings = Settings {
            region: config.string("region"),
            profile: config.string("profile"),
            access_key: config.string("access_key"),
            secret_key: config.string("secret_key"),
            token: config.string("token"),
            endpoints,
            default_tags,
            max_retries,
        };
        // A plugin process serves one provider configuration, configured once.
        let _ = self.aws.settings.set(settings);
        Vec::new()
    }

    /// AWS throttles bursts per account and API; 16 calls at once stays well inside
    /// the EC2 and EKS request-rate limits, and throttled calls are retried with backoff.
    fn max_concurrency(&self) -> Option<usize> {
        Some(16)
    }

    fn resources(&self) -> Vec<Box<dyn Resource>> {
        all_resources(&self.aws)
    }

    fn list(&self, request: &ListRequest) -> Option<Listing> {
        Some(inventory::list(&self.aws, &self.resources(), request))
    }

    fn data_sources(&self) -> Vec<Box<dyn DataSource>> {
        let a = &self.aws;
        let mut all: Vec<Box<dyn DataSource>> = Vec::new();
        all.extend(ec2::data_sources(a));
        all.extend(eks::data_sources(a));
        all
    }
}

fn all_resources(a: &Aws) -> Vec<Box<dyn Resource>> {
    let mut all: Vec<Box<dyn Resource>> = Vec::new();
    all.extend(vpc::resources(a));
    all.extend(ec2::resources(a));
    all.extend(iam::resources(a));
    all.extend(eks::resources(a));
    all.extend(registry::resources(a));
    all.extend(storage::resources(a));
    all
}

#[cfg(test)]
mod tests {
    use super::{AwsProvider, Provider, Shared};
    use std::sync::Arc;

    /// A default the provider fills in is a value the configuration did not write:
    /// Terraform accepts it in a plan only for a computed attribute ("planned value
    /// for a non-computed attribute", as image_tag_mutability once was).
    #[test]
    fn every_defaulted_attribute_is_computed() {
        let provider = AwsProvider {
            aws: Arc::new(Shared::default()),
        };
        for resource in provider.resources() {
            let schema = resource.schema();
            for (name, _) in resource.defaults() {
                let attribute = schema.block.attributes.get(name);
                assert!(
                    attribute.is_some_and(|a| a.computed && a.optional),
                    "{}.{name} has a default but is not optional and computed",
                    resource.type_name()
                );
            }
        }
    }
}
