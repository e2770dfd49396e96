//! Container images: `aws_ecr_repository` and `aws_ecr_lifecycle_policy`.

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Tag,
};
use plinth_provider_sdk::{
    fail, Block, DataSource, Nesting, Object, PlanRequest, Planned, Resource, Result, Schema, Type,
    Value,
};

use crate::common::*;
use crate::iam::same_policy;
use crate::vpc::by_id;

pub fn resources(aws: &Aws) -> Vec<Box<dyn Resource>> {
    vec![
        Box::new(Repository(aws.clone())),
        Box::new(LifecyclePolicy(aws.clone())),
    ]
}

#[allow(dead_code)]
pub fn data_sources(_aws: &Aws) -> Vec<Box<dyn DataSource>> {
    vec![]
}

fn ecr_tags(tags: &std::collections::BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

fn scanning_block() -> Block {
    block(vec![("scan_on_push", required(Type::Bool))], vec![])
}

fn encryption_block() -> Block {
    block(
        vec![
            ("encryption_type", optional_computed(Type::String)),
            ("kms_key", optional_computed(Type::String)),
        ],
        vec![],
    )
}

const MUTABILITY: [&str; 2] = ["MUTABLE", "IMMUTABLE"];

struct Repository(Aws);

impl Repository {
    fn scanning(o: &Object) -> bool {
        block_objects(o, "image_scanning_configuration")
            .first()
            .and_then(|s| s.bool("scan_on_push"))
            .unwrap_or(false)
    }
}

impl Resource for Repository {
    fn type_name(&self) -> &str {
        "aws_ecr_repository"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("name", required(Type::String)),
            ("image_tag_mutability", optional_computed(Type::String)),
            ("force_delete", optional(Type::Bool)),
            ("registry_id", computed(Type::String)),
            ("repository_url", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(
            attrs,
            vec![
                (
                    "image_scanning_configuration",
                    single(scanning_block(), false),
                ),
                (
                    "encryption_configuration",
                    single(encryption_block(), false),
                ),
            ],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["name", "encryption_configuration"]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![("image_tag_mutability", s("MUTABLE"))]
    }

    fn validate(&self, config: &Object) -> Vec<plinth_provider_sdk::Diagnostic> {
        match config.string("image_tag_mutability") {
            Some(m) if !MUTABILITY.contains(&m.as_str()) => invalid(
                "image_tag_mutability",
                "Invalid image_tag_mutability",
                format!("image_tag_mutability must be MUTABLE or IMMUTABLE, not {m:?}."),
            ),
            _ => Vec::new(),
        }
    }

    /// `encryption_configuration` left out of the configuration stays out of the plan:
    /// a provider may not plan a block the configuration does not write (Terraform
    /// refuses the plan: "block count in plan (1) disagrees with count in config
    /// (0)"). The repository is then made with AWS's default, AES256, and removing the
    /// block later replaces nothing.
    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        let creating = request.prior.is_none();
        let unwritten = block_objects(request.config, "encryption_configuration").is_empty();
        let mut planned = plan_tagged(self, &self.0, request)?;
        if unwritten {
            planned.state.set(
                "encryption_configuration",
                objects_value(&encryption_block(), Nesting::List, Vec::new()),
            );
            planned
                .requires_replace
                .retain(|a| a != "encryption_configuration");
            return Ok(planned);
        }
        if creating {
            let mut enc = block_objects(&planned.state, "encryption_configuration")
                .into_iter()
                .next()
                .unwrap_or_else(|| Object(Default::default()));
            if enc.is_null("kms_key") {
                let kms = enc.string("encryption_type").as_deref() == Some("KMS");
                enc.set(
                    "kms_key",
                    if kms {
                        Value::Unknown(Type::String)
                    } else {
                        Value::Null(Type::String)
                    },
                );
            }
            if enc.is_null("encryption_type") {
                enc.set("encryption_type", s("AES256"));
            }
            planned.state.set(
                "encryption_configuration",
                objects_value(&encryption_block(), Nesting::List, vec![enc]),
            );
        }
        Ok(planned)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let ecr = &self.0.clients()?.ecr;
        let name = planned.require_string("name")?;
        let tags = ecr_tags(&all_tags(&self.0, planned));
        let encryption = block_objects(planned, "encryption_configuration")
            .first()
            .and_then(|e| {
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::from(
                        e.string("encryption_type")
                            .unwrap_or_else(|| "AES256".into())
                            .as_str(),
                    ))
                    .set_kms_key(e.string("kms_key"))
                    .build()
                    .ok()
            });
        run(ecr
            .create_repository()
            .repository_name(&name)
            .image_tag_mutability(ImageTagMutability::from(
                planned
                    .string("image_tag_mutability")
                    .unwrap_or_else(|| "MUTABLE".into())
                    .as_str(),
            ))
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(Self::scanning(planned))
                    .build(),
            )
            .set_encryption_configuration(encryption)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send())
        .map_err(|e| aws_error("aws_ecr_repository", "create the repository", e))?;
        let mut state = planned.clone();
        state.set("id", s(&name));
        self.read(&state)?
            .map_or_else(|| fail("Repository vanished", name.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ecr = &self.0.clients()?.ecr;
        let name = current.require_string("id")?;
        let out = match run(ecr.describe_repositories().repository_names(&name).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_ecr_repository", "read the repository", e)),
        };
        let Some(repo) = out.repositories().first() else {
            return Ok(None);
        };
        let arn = repo.repository_arn().unwrap_or_default().to_string();
        let mut state = current.clone();
        state.set("name", opt_s(repo.repository_name()));
        state.set("arn", s(&arn));
        state.set("registry_id", opt_s(repo.registry_id()));
        state.set("repository_url", opt_s(repo.repository_uri()));
        state.set(
            "image_tag_mutability",
            opt_s(repo.image_tag_mutability().map(|m| m.as_str())),
        );
        let scan = repo
            .image_scanning_configuration()
            .map(|c| c.scan_on_push())
            .unwrap_or(false);
        // Written as a block only when on or when the configuration writes it, so an
        // absent block (an empty list) reads back the same.
        let written = !block_objects(current, "image_scanning_configuration").is_empty();
        let scanning = if scan || written {
            let mut o = Object(Default::default());
            o.set("scan_on_push", b(scan));
            vec![o]
        } else {
            Vec::new()
        };
        state.set(
            "image_scanning_configuration",
            objects_value(&scanning_block(), Nesting::List, scanning),
        );
        // Read back as a block when the state has one (the configuration writes it)
        // or the repository is not on AWS's default, so a repository made without the
        // block reads back the same.
        let written = !block_objects(current, "encryption_configuration").is_empty();
        let default = |e: &aws_sdk_ecr::types::EncryptionConfiguration| {
            e.encryption_type().as_str() == "AES256"
        };
        let shown = repo
            .encryption_configuration()
            .filter(|e| written || !default(e));
        if shown.is_none() {
            // Absent, as a plan of a configuration without the block has it (an
            // imported object's stub has it null).
            state.set(
                "encryption_configuration",
                objects_value(&encryption_block(), Nesting::List, Vec::new()),
            );
        }
        if let Some(enc) = shown {
            let mut o = Object(Default::default());
            o.set("encryption_type", s(enc.encryption_type().as_str()));
            o.set("kms_key", opt_s(enc.kms_key()));
            state.set(
                "encryption_configuration",
                objects_value(&encryption_block(), Nesting::List, vec![o]),
            );
        }
        let tags = run(ecr.list_tags_for_resource().resource_arn(&arn).send())
            .map_err(|e| aws_error("aws_ecr_repository", "read the repository's tags", e))?
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        set_read_tags(&self.0, &mut state, current, tags);
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let ecr = &self.0.clients()?.ecr;
        let name = prior.require_string("id")?;
        if prior.string("image_tag_mutability") != planned.string("image_tag_mutability") {
            run(ecr
                .put_image_tag_mutability()
                .repository_name(&name)
                .image_tag_mutability(ImageTagMutability::from(
                    planned
                        .string("image_tag_mutability")
                        .unwrap_or_else(|| "MUTABLE".into())
                        .as_str(),
                ))
                .send())
            .map_err(|e| aws_error("aws_ecr_repository", "change tag mutability", e))?;
        }
        if Self::scanning(prior) != Self::scanning(planned) {
            run(ecr
                .put_image_scanning_configuration()
                .repository_name(&name)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(Self::scanning(planned))
                        .build(),
                )
                .send())
            .map_err(|e| aws_error("aws_ecr_repository", "change scan on push", e))?;
        }
        let arn = prior.require_string("arn")?;
        let (put, remove) = tag_changes(&map_of(prior, "tags_all"), &all_tags(&self.0, planned));
        if !remove.is_empty() {
            run(ecr
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send())
            .map_err(|e| aws_error("aws_ecr_repository", "remove tags", e))?;
        }
        if !put.is_empty() {
            run(ecr
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(ecr_tags(&put)))
                .send())
            .map_err(|e| aws_error("aws_ecr_repository", "tag the repository", e))?;
        }
        self.read(planned)?
            .map_or_else(|| fail("Repository vanished", name.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ecr = &self.0.clients()?.ecr;
        let name = prior.require_string("id")?;
        let force = prior.bool("force_delete").unwrap_or(false);
        match run(ecr
            .delete_repository()
            .repository_name(&name)
            .force(force)
            .send())
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) if code(&e) == "RepositoryNotEmptyException" => {
                let mut d = aws_error("aws_ecr_repository", "delete the repository", e);
                d[0].detail.push_str("\n\nThe repository still holds images. Delete them, or set force_delete = true and apply before destroying.");
                Err(d)
            }
            Err(e) => Err(aws_error("aws_ecr_repository", "delete the repository", e)),
        }
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&by_id(id))?,
            format!("No repository {id} exists."),
        )
    }
}

struct LifecyclePolicy(Aws);

impl Resource for LifecyclePolicy {
    fn type_name(&self) -> &str {
        "aws_ecr_lifecycle_policy"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("repository", required(Type::String)),
                ("policy", required(Type::String)),
                ("registry_id", computed(Type::String)),
            ],
            vec![],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["repository"]
    }

    fn validate(&self, config: &Object) -> Vec<plinth_provider_sdk::Diagnostic> {
        match config.string("policy") {
            Some(p) if serde_json::from_str::<serde_json::Value>(&p).is_err() => invalid(
                "policy",
                "Invalid lifecycle policy",
                "policy must be a JSON lifecycle policy (jsonencode({ rules = [...] }) writes one).",
            ),
            _ => Vec::new(),
        }
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let ecr = &self.0.clients()?.ecr;
        let repo = current.require_string("id")?;
        let out = match run(ecr.get_lifecycle_policy().repository_name(&repo).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_ecr_lifecycle_policy", "read the policy", e)),
        };
        let mut state = current.clone();
        state.set("repository", opt_s(out.repository_name()));
        state.set("registry_id", opt_s(out.registry_id()));
        if let Some(text) = out.lifecycle_policy_text() {
            state.set(
                "policy",
                s(same_policy(current.string("policy"), text.to_string())),
            );
        }
        Ok(Some(state))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let ecr = &self.0.clients()?.ecr;
        let repo = prior.require_string("id")?;
        deleted(
            run(ecr.delete_lifecycle_policy().repository_name(&repo).send()),
            "aws_ecr_lifecycle_policy",
            "delete the policy",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&by_id(id))?,
            format!("Repository {id} has no lifecycle policy."),
        )
    }
}

impl LifecyclePolicy {
    fn put(&self, planned: &Object) -> Result<Object> {
        let ecr = &self.0.clients()?.ecr;
        let repo = planned.require_string("repository")?;
        let out = run(ecr
            .put_lifecycle_policy()
            .repository_name(&repo)
            .lifecycle_policy_text(planned.require_string("policy")?)
            .send())
        .map_err(|e| aws_error("aws_ecr_lifecycle_policy", "set the lifecycle policy", e))?;
        let mut state = planned.clone();
        state.set("id", s(&repo));
        state.set("registry_id", opt_s(out.registry_id()));
        Ok(state)
    }
}
