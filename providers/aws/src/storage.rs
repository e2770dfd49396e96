//! Model weights and data: `aws_s3_bucket`, `aws_s3_bucket_versioning`,
//! `aws_s3_bucket_lifecycle_configuration`, `aws_s3_bucket_public_access_block`.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    PublicAccessBlockConfiguration, Tag, Tagging, VersioningConfiguration,
};
use plinth_provider_sdk::{
    fail, Block, DataSource, Nesting, Object, PlanRequest, Planned, Resource, Result, Schema, Type,
    Value,
};

use crate::common::*;

pub fn resources(aws: &Aws) -> Vec<Box<dyn Resource>> {
    vec![
        Box::new(Bucket(aws.clone())),
        Box::new(Versioning(aws.clone())),
        Box::new(Lifecycle(aws.clone())),
        Box::new(PublicAccessBlock(aws.clone())),
    ]
}

#[allow(dead_code)]
pub fn data_sources(_aws: &Aws) -> Vec<Box<dyn DataSource>> {
    vec![]
}

fn bucket_object(bucket: &str) -> Object {
    let mut o = Object(Default::default());
    o.set("id", s(bucket));
    o.set("bucket", s(bucket));
    o
}

// ---- aws_s3_bucket -------------------------------------------------------------------------

struct Bucket(Aws);

impl Bucket {
    fn put_tags(
        &self,
        bucket: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        let s3 = &self.0.clients()?.s3;
        if tags.is_empty() {
            return run(s3.delete_bucket_tagging().bucket(bucket).send())
                .map(|_| ())
                .map_err(|e| aws_error("aws_s3_bucket", "remove the bucket's tags", e));
        }
        let set = tags
            .iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| {
                vec![plinth_provider_sdk::Diagnostic::error(
                    "Invalid tags",
                    e.to_string(),
                )]
            })?;
        run(s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging)
            .send())
        .map(|_| ())
        .map_err(|e| aws_error("aws_s3_bucket", "tag the bucket", e))
    }

    /// Empties the bucket, every version of every object, for `force_destroy`.
    fn empty(&self, bucket: &str) -> Result<()> {
        let s3 = &self.0.clients()?.s3;
        loop {
            let out = run(s3.list_object_versions().bucket(bucket).send())
                .map_err(|e| aws_error("aws_s3_bucket", "list the bucket's objects", e))?;
            let mut ids: Vec<aws_sdk_s3::types::ObjectIdentifier> = Vec::new();
            for v in out.versions() {
                if let Some(key) = v.key() {
                    if let Ok(id) = aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(v.version_id().map(str::to_string))
                        .build()
                    {
                        ids.push(id);
                    }
                }
            }
            for m in out.delete_markers() {
                if let Some(key) = m.key() {
                    if let Ok(id) = aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(m.version_id().map(str::to_string))
                        .build()
                    {
                        ids.push(id);
                    }
                }
            }
            if ids.is_empty() {
                return Ok(());
            }
            for chunk in ids.chunks(1000) {
                let delete = aws_sdk_s3::types::Delete::builder()
                    .set_objects(Some(chunk.to_vec()))
                    .build()
                    .map_err(|e| {
                        vec![plinth_provider_sdk::Diagnostic::error(
                            "Cannot empty the bucket",
                            e.to_string(),
                        )]
                    })?;
                run(s3.delete_objects().bucket(bucket).delete(delete).send())
                    .map_err(|e| aws_error("aws_s3_bucket", "delete the bucket's objects", e))?;
            }
        }
    }
}

impl Resource for Bucket {
    fn type_name(&self) -> &str {
        "aws_s3_bucket"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("bucket", optional_computed(Type::String)),
            ("force_destroy", optional(Type::Bool)),
            ("bucket_domain_name", computed(Type::String)),
            ("bucket_regional_domain_name", computed(Type::String)),
            ("region", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(attrs, vec![])
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["bucket"]
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        let creating = request.prior.is_none();
        let mut planned = plan_tagged(self, &self.0, request)?;
        if creating && planned.state.get("bucket").is_null() {
            planned.state.set("bucket", Value::Unknown(Type::String));
        }
        Ok(planned)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let clients = self.0.clients()?;
        let bucket = planned
            .string("bucket")
            .unwrap_or_else(|| format!("terraform-{}", crate::vpc::unique_suffix()));
        let mut request = clients.s3.create_bucket().bucket(&bucket);
        if clients.region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(clients.region.as_str()))
                    .build(),
            );
        }
        run(request.send()).map_err(|e| {
            let mut d = aws_error("aws_s3_bucket", "create the bucket", e);
            if d[0].detail.contains("BucketAlreadyExists") || d[0].detail.contains("BucketAlreadyOwnedByYou") {
                d[0].detail.push_str(&format!("\n\nBucket names are global. To manage the existing bucket, import it: plinth import aws_s3_bucket.<name> {bucket}"));
                d[0].attribute = vec!["bucket".into()];
            }
            d
        })?;
        let tags = all_tags(&self.0, planned);
        if !tags.is_empty() {
            self.put_tags(&bucket, &tags)?;
        }
        let mut state = planned.clone();
        state.set("id", s(&bucket));
        state.set("bucket", s(&bucket));
        self.read(&state)?
            .map_or_else(|| fail("Bucket vanished", bucket.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let clients = self.0.clients()?;
        let bucket = current.require_string("id")?;
        match run(clients.s3.head_bucket().bucket(&bucket).send()) {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_s3_bucket", "read the bucket", e)),
        }
        let region = match run(clients.s3.get_bucket_location().bucket(&bucket).send()) {
            Ok(out) => out
                .location_constraint()
                .map(|l| l.as_str().to_string())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "us-east-1".to_string()),
            Err(_) => clients.region.clone(),
        };
        let tags = match run(clients.s3.get_bucket_tagging().bucket(&bucket).send()) {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            Err(e) if code(&e) == "NoSuchTagSet" || is_not_found(&e) => Default::default(),
            Err(e) => return Err(aws_error("aws_s3_bucket", "read the bucket's tags", e)),
        };
        let mut state = current.clone();
        state.set("bucket", s(&bucket));
        state.set("arn", s(format!("arn:aws:s3:::{bucket}")));
        state.set(
            "bucket_domain_name",
            s(format!("{bucket}.s3.amazonaws.com")),
        );
        state.set(
            "bucket_regional_domain_name",
            s(format!("{bucket}.s3.{region}.amazonaws.com")),
        );
        state.set("region", s(region));
        if state.get("force_destroy").is_null() && current.get("force_destroy").is_null() {
            state.set("force_destroy", Value::Null(Type::Bool));
        }
        set_read_tags(&self.0, &mut state, current, tags);
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let bucket = prior.require_string("id")?;
        let (old, new) = (map_of(prior, "tags_all"), all_tags(&self.0, planned));
        if old != new {
            self.put_tags(&bucket, &new)?;
        }
        self.read(planned)?
            .map_or_else(|| fail("Bucket vanished", bucket.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let s3 = &self.0.clients()?.s3;
        let bucket = prior.require_string("id")?;
        if prior.bool("force_destroy") == Some(true) {
            self.empty(&bucket)?;
        }
        match run(s3.delete_bucket().bucket(&bucket).send()) {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) if code(&e) == "BucketNotEmpty" => {
                let mut d = aws_error("aws_s3_bucket", "delete the bucket", e);
                d[0].detail.push_str("\n\nThe bucket still holds objects. Empty it, or set force_destroy = true and apply before destroying.");
                Err(d)
            }
            Err(e) => Err(aws_error("aws_s3_bucket", "delete the bucket", e)),
        }
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&bucket_object(id))?,
            format!("No bucket {id} exists."),
        )
    }
}

// ---- aws_s3_bucket_versioning -----------------------------------------------------------------

struct Versioning(Aws);

fn versioning_block() -> Block {
    block(vec![("status", required(Type::String))], vec![])
}

impl Versioning {
    fn put(&self, planned: &Object) -> Result<Object> {
        let s3 = &self.0.clients()?.s3;
        let bucket = planned.require_string("bucket")?;
        let status = block_objects(planned, "versioning_configuration")
            .first()
            .and_then(|v| v.string("status"))
            .unwrap_or_else(|| "Enabled".into());
        let configuration = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::from(status.as_str()))
            .build();
        run(s3
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(configuration)
            .send())
        .map_err(|e| aws_error("aws_s3_bucket_versioning", "set versioning", e))?;
        let mut state = planned.clone();
        state.set("id", s(&bucket));
        Ok(state)
    }
}

impl Resource for Versioning {
    fn type_name(&self) -> &str {
        "aws_s3_bucket_versioning"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("bucket", required(Type::String)),
            ],
            vec![("versioning_configuration", single(versioning_block(), true))],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["bucket"]
    }

    fn validate(&self, config: &Object) -> Vec<plinth_provider_sdk::Diagnostic> {
        let bad = block_objects(config, "versioning_configuration")
            .first()
            .and_then(|v| v.string("status"))
            .filter(|s| !["Enabled", "Suspended"].contains(&s.as_str()));
        match bad {
            Some(s) => invalid(
                "versioning_configuration",
                "Invalid versioning status",
                format!("versioning_configuration.status must be Enabled or Suspended, not {s:?}."),
            ),
            None => Vec::new(),
        }
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let s3 = &self.0.clients()?.s3;
        let bucket = current.require_string("id")?;
        let out = match run(s3.get_bucket_versioning().bucket(&bucket).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_s3_bucket_versioning", "read versioning", e)),
        };
        let Some(status) = out.status() else {
            return Ok(None);
        };
        let mut o = Object(Default::default());
        o.set("status", s(status.as_str()));
        let mut state = current.clone();
        state.set("bucket", s(&bucket));
        state.set(
            "versioning_configuration",
            objects_value(&versioning_block(), Nesting::List, vec![o]),
        );
        Ok(Some(state))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    /// Versioning cannot be switched off once on; destroying suspends it, as
    /// HashiCorp's provider does.
    fn delete(&self, prior: &Object) -> Result<()> {
        let s3 = &self.0.clients()?.s3;
        let bucket = prior.require_string("id")?;
        let configuration = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Suspended)
            .build();
        deleted(
            run(s3
                .put_bucket_versioning()
                .bucket(&bucket)
                .versioning_configuration(configuration)
                .send()),
            "aws_s3_bucket_versioning",
            "suspend versioning",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&bucket_object(id))?,
            format!("Bucket {id} has no versioning set."),
        )
    }
}

// ---- aws_s3_bucket_lifecycle_configuration ----------------------------------------------------------

struct Lifecycle(Aws);

fn rule_block() -> Block {
    let days = |name: &'static str| block(vec![(name, optional(Type::Number))], vec![]);
    block(
        vec![
            ("id", required(Type::String)),
            ("status", required(Type::String)),
        ],
        vec![
            (
                "filter",
                single(
                    block(vec![("prefix", optional(Type::String))], vec![]),
                    false,
                ),
            ),
            ("expiration", single(days("days"), false)),
            (
                "noncurrent_version_expiration",
                single(days("noncurrent_days"), false),
            ),
            (
                "abort_incomplete_multipart_upload",
                single(days("days_after_initiation"), false),
            ),
        ],
    )
}

fn first_number(o: &Object, block_name: &str, attribute: &str) -> Option<i32> {
    block_objects(o, block_name)
        .first()
        .and_then(|b| b.i64(attribute))
        .map(|v| v as i32)
}

fn days_object(name: &str, value: Option<i32>) -> Value {
    let inner = block(vec![(name, optional(Type::Number))], vec![]);
    let objects = value
        .map(|v| {
            let mut o = Object(Default::default());
            o.set(name, n(i64::from(v)));
            vec![o]
        })
        .unwrap_or_default();
    objects_value(&inner, Nesting::List, objects)
}

impl Lifecycle {
    fn put(&self, planned: &Object) -> Result<Object> {
        let s3 = &self.0.clients()?.s3;
        let bucket = planned.require_string("bucket")?;
        let mut rules = Vec::new();
        for r in block_objects(planned, "rule") {
            let prefix = block_objects(&r, "filter")
                .first()
                .and_then(|f| f.string("prefix"))
                .unwrap_or_default();
            let mut rule = LifecycleRule::builder()
                .set_id(r.string("id"))
                .status(ExpirationStatus::from(
                    r.string("status").unwrap_or_default().as_str(),
                ))
                .filter(LifecycleRuleFilter::builder().prefix(prefix).build());
            if let Some(days) = first_number(&r, "expiration", "days") {
                rule = rule.expiration(LifecycleExpiration::builder().days(days).build());
            }
            if let Some(days) = first_number(&r, "noncurrent_version_expiration", "noncurrent_days")
            {
                rule = rule.noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(days)
                        .build(),
                );
            }
            if let Some(days) = first_number(
                &r,
                "abort_incomplete_multipart_upload",
                "days_after_initiation",
            ) {
                rule = rule.abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(days)
                        .build(),
                );
            }
            rules.push(rule.build().map_err(|e| {
                vec![plinth_provider_sdk::Diagnostic::error(
                    "Invalid lifecycle rule",
                    e.to_string(),
                )
                .at("rule")]
            })?);
        }
        let configuration = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|e| {
                vec![plinth_provider_sdk::Diagnostic::error(
                    "Invalid lifecycle rules",
                    e.to_string(),
                )]
            })?;
        run(s3
            .put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(configuration)
            .send())
        .map_err(|e| {
            aws_error(
                "aws_s3_bucket_lifecycle_configuration",
                "set lifecycle rules",
                e,
            )
        })?;
        let mut state = planned.clone();
        state.set("id", s(&bucket));
        Ok(state)
    }
}

impl Resource for Lifecycle {
    fn type_name(&self) -> &str {
        "aws_s3_bucket_lifecycle_configuration"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("bucket", required(Type::String)),
            ],
            vec![("rule", NestedBlockExt::at_least_one(rule_block()))],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["bucket"]
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let s3 = &self.0.clients()?.s3;
        let bucket = current.require_string("id")?;
        let out = match run(s3
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send())
        {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(aws_error(
                    "aws_s3_bucket_lifecycle_configuration",
                    "read lifecycle rules",
                    e,
                ))
            }
        };
        let rules: Vec<Object> = out
            .rules()
            .iter()
            .map(|r| {
                let mut o = Object(Default::default());
                o.set("id", opt_s(r.id()));
                o.set("status", s(r.status().as_str()));
                let prefix = r.filter().and_then(|f| f.prefix()).map(str::to_string);
                let filter_block = block(vec![("prefix", optional(Type::String))], vec![]);
                let mut f = Object(Default::default());
                f.set("prefix", opt_s(prefix));
                o.set(
                    "filter",
                    objects_value(&filter_block, Nesting::List, vec![f]),
                );
                o.set(
                    "expiration",
                    days_object("days", r.expiration().and_then(|e| e.days())),
                );
                o.set(
                    "noncurrent_version_expiration",
                    days_object(
                        "noncurrent_days",
                        r.noncurrent_version_expiration()
                            .and_then(|e| e.noncurrent_days()),
                    ),
                );
                o.set(
                    "abort_incomplete_multipart_upload",
                    days_object(
                        "days_after_initiation",
                        r.abort_incomplete_multipart_upload()
                            .and_then(|a| a.days_after_initiation()),
                    ),
                );
                o
            })
            .collect();
        let mut state = current.clone();
        state.set("bucket", s(&bucket));
        state.set("rule", objects_value(&rule_block(), Nesting::List, rules));
        Ok(Some(state))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let s3 = &self.0.clients()?.s3;
        let bucket = prior.require_string("id")?;
        deleted(
            run(s3.delete_bucket_lifecycle().bucket(&bucket).send()),
            "aws_s3_bucket_lifecycle_configuration",
            "delete lifecycle rules",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&bucket_object(id))?,
            format!("Bucket {id} has no lifecycle rules."),
        )
    }
}

struct NestedBlockExt;

impl NestedBlockExt {
    fn at_least_one(inner: Block) -> plinth_provider_sdk::NestedBlock {
        plinth_provider_sdk::NestedBlock {
            min_items: 1,
            ..list_of(inner)
        }
    }
}

// ---- aws_s3_bucket_public_access_block -------------------------------------------------------------

struct PublicAccessBlock(Aws);

const ACCESS_FLAGS: [&str; 4] = [
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
];

impl Resource for PublicAccessBlock {
    fn type_name(&self) -> &str {
        "aws_s3_bucket_public_access_block"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("bucket", required(Type::String)),
        ];
        attrs.extend(
            ACCESS_FLAGS
                .iter()
                .map(|f| (*f, optional_computed(Type::Bool))),
        );
        schema(attrs, vec![])
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["bucket"]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        ACCESS_FLAGS.iter().map(|f| (*f, b(false))).collect()
    }

    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        Ok(plinth_provider_sdk::default_plan(
            self,
            &self.schema(),
            request,
        ))
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let s3 = &self.0.clients()?.s3;
        let bucket = current.require_string("id")?;
        let out = match run(s3.get_public_access_block().bucket(&bucket).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) || code(&e) == "NoSuchPublicAccessBlockConfiguration" => {
                return Ok(None)
            }
            Err(e) => {
                return Err(aws_error(
                    "aws_s3_bucket_public_access_block",
                    "read the settings",
                    e,
                ))
            }
        };
        let Some(c) = out.public_access_block_configuration() else {
            return Ok(None);
        };
        let mut state = current.clone();
        state.set("bucket", s(&bucket));
        state.set(
            "block_public_acls",
            b(c.block_public_acls().unwrap_or(false)),
        );
        state.set(
            "block_public_policy",
            b(c.block_public_policy().unwrap_or(false)),
        );
        state.set(
            "ignore_public_acls",
            b(c.ignore_public_acls().unwrap_or(false)),
        );
        state.set(
            "restrict_public_buckets",
            b(c.restrict_public_buckets().unwrap_or(false)),
        );
        Ok(Some(state))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        self.put(planned)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let s3 = &self.0.clients()?.s3;
        let bucket = prior.require_string("id")?;
        deleted(
            run(s3.delete_public_access_block().bucket(&bucket).send()),
            "aws_s3_bucket_public_access_block",
            "delete the settings",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&bucket_object(id))?,
            format!("Bucket {id} has no public access block."),
        )
    }
}

impl PublicAccessBlock {
    fn put(&self, planned: &Object) -> Result<Object> {
        let s3 = &self.0.clients()?.s3;
        let bucket = planned.require_string("bucket")?;
        let flag = |name: &str| planned.bool(name).unwrap_or(false);
        let configuration = PublicAccessBlockConfiguration::builder()
            .block_public_acls(flag("block_public_acls"))
            .block_public_policy(flag("block_public_policy"))
            .ignore_public_acls(flag("ignore_public_acls"))
            .restrict_public_buckets(flag("restrict_public_buckets"))
            .build();
        run(s3
            .put_public_access_block()
            .bucket(&bucket)
            .public_access_block_configuration(configuration)
            .send())
        .map_err(|e| aws_error("aws_s3_bucket_public_access_block", "set the settings", e))?;
        let mut state = planned.clone();
        state.set("id", s(&bucket));
        Ok(state)
    }
}
