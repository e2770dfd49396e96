//! IAM for EKS: `aws_iam_role` and `aws_iam_role_policy_attachment`.

use aws_sdk_iam::types::Tag;
use plinth_provider_sdk::{
    fail, DataSource, Object, PlanRequest, Planned, Resource, Result, Schema, Type, Value,
};

use crate::common::*;

pub fn resources(aws: &Aws) -> Vec<Box<dyn Resource>> {
    vec![
        Box::new(Role(aws.clone())),
        Box::new(RolePolicyAttachment(aws.clone())),
    ]
}

#[allow(dead_code)]
pub fn data_sources(_aws: &Aws) -> Vec<Box<dyn DataSource>> {
    vec![]
}

/// IAM returns policy documents URL-encoded, in the query form (`+` is a space), as
/// Terraform's AWS provider reads them with Go's `url.QueryUnescape`.
fn url_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The document as read, unless it means the same JSON as `configured` (AWS reorders
/// and reformats policies; only a real change should show as drift).
pub fn same_policy(configured: Option<String>, read: String) -> String {
    match configured {
        Some(c) => {
            let a: Option<serde_json::Value> = serde_json::from_str(&c).ok();
            let b: Option<serde_json::Value> = serde_json::from_str(&read).ok();
            if a.is_some() && a == b {
                c
            } else {
                read
            }
        }
        None => read,
    }
}

fn iam_tags(tags: &std::collections::BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

struct Role(Aws);

impl Resource for Role {
    fn type_name(&self) -> &str {
        "aws_iam_role"
    }

    fn schema(&self) -> Schema {
        let mut attrs = vec![
            ("id", computed(Type::String)),
            ("arn", computed(Type::String)),
            ("name", optional_computed(Type::String)),
            ("path", optional_computed(Type::String)),
            ("description", optional(Type::String)),
            ("assume_role_policy", required(Type::String)),
            ("max_session_duration", optional_computed(Type::Number)),
            ("force_detach_policies", optional(Type::Bool)),
            ("unique_id", computed(Type::String)),
            ("create_date", computed(Type::String)),
        ];
        attrs.extend(tag_attributes());
        schema(attrs, vec![])
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["name", "path"]
    }

    fn defaults(&self) -> Vec<(&str, Value)> {
        vec![("path", s("/")), ("max_session_duration", n(3600))]
    }

    fn validate(&self, config: &Object) -> Vec<plinth_provider_sdk::Diagnostic> {
        match config.string("assume_role_policy") {
            Some(doc) if serde_json::from_str::<serde_json::Value>(&doc).is_err() => invalid(
                "assume_role_policy",
                "Invalid policy document",
                "assume_role_policy must be a JSON policy document (jsonencode({...}) writes one).",
            ),
            _ => Vec::new(),
        }
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
        let iam = &self.0.clients()?.iam;
        let name = planned
            .string("name")
            .unwrap_or_else(|| format!("terraform-{}", crate::vpc::unique_suffix()));
        let tags = iam_tags(&all_tags(&self.0, planned));
        run(iam
            .create_role()
            .role_name(&name)
            .path(planned.string("path").unwrap_or_else(|| "/".into()))
            .assume_role_policy_document(planned.require_string("assume_role_policy")?)
            .set_description(planned.string("description"))
            .set_max_session_duration(planned.i64("max_session_duration").map(|d| d as i32))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send())
        .map_err(|e| aws_error("aws_iam_role", "create the role", e))?;
        let mut state = planned.clone();
        state.set("name", s(&name));
        state.set("id", s(&name));
        self.read(&state)?
            .map_or_else(|| fail("Role vanished", name.clone()), Ok)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let iam = &self.0.clients()?.iam;
        let name = current.require_string("id")?;
        let out = match run(iam.get_role().role_name(&name).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws_error("aws_iam_role", "read the role", e)),
        };
        let Some(role) = out.role() else {
            return Ok(None);
        };
        let mut state = current.clone();
        state.set("name", s(role.role_name()));
        state.set("arn", s(role.arn()));
        state.set("path", s(role.path()));
        state.set("unique_id", s(role.role_id()));
        state.set("create_date", s(role.create_date().to_string()));
        state.set("description", opt_s(role.description()));
        state.set(
            "max_session_duration",
            n(i64::from(role.max_session_duration().unwrap_or(3600))),
        );
        if let Some(doc) = role.assume_role_policy_document() {
            let doc = url_decode(doc);
            state.set(
                "assume_role_policy",
                s(same_policy(current.string("assume_role_policy"), doc)),
            );
        }
        let tags = role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        set_read_tags(&self.0, &mut state, current, tags);
        Ok(Some(state))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let iam = &self.0.clients()?.iam;
        let name = prior.require_string("id")?;
        if prior.string("assume_role_policy") != planned.string("assume_role_policy") {
            run(iam
                .update_assume_role_policy()
                .role_name(&name)
                .policy_document(planned.require_string("assume_role_policy")?)
                .send())
            .map_err(|e| aws_error("aws_iam_role", "change the trust policy", e))?;
        }
        if prior.string("description") != planned.string("description")
            || prior.i64("max_session_duration") != planned.i64("max_session_duration")
        {
            run(iam
                .update_role()
                .role_name(&name)
                .description(planned.string("description").unwrap_or_default())
                .set_max_session_duration(planned.i64("max_session_duration").map(|d| d as i32))
                .send())
            .map_err(|e| aws_error("aws_iam_role", "update the role", e))?;
        }
        let (put, remove) = tag_changes(&map_of(prior, "tags_all"), &all_tags(&self.0, planned));
        if !remove.is_empty() {
            run(iam
                .untag_role()
                .role_name(&name)
                .set_tag_keys(Some(remove))
                .send())
            .map_err(|e| aws_error("aws_iam_role", "remove tags", e))?;
        }
        if !put.is_empty() {
            run(iam
                .tag_role()
                .role_name(&name)
                .set_tags(Some(iam_tags(&put)))
                .send())
            .map_err(|e| aws_error("aws_iam_role", "tag the role", e))?;
        }
        self.read(planned)?
            .map_or_else(|| fail("Role vanished", name.clone()), Ok)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let iam = &self.0.clients()?.iam;
        let name = prior.require_string("id")?;
        if prior.bool("force_detach_policies") == Some(true) {
            let attached = run(iam.list_attached_role_policies().role_name(&name).send())
                .map_err(|e| aws_error("aws_iam_role", "list attached policies", e))?;
            for policy in attached.attached_policies() {
                if let Some(arn) = policy.policy_arn() {
                    run(iam
                        .detach_role_policy()
                        .role_name(&name)
                        .policy_arn(arn)
                        .send())
                    .map_err(|e| aws_error("aws_iam_role", "detach a policy", e))?;
                }
            }
        }
        deleted(
            run(iam.delete_role().role_name(&name).send()),
            "aws_iam_role",
            "delete the role",
        )
    }

    fn import(&self, id: &str) -> Result<Object> {
        exists(
            self.read(&crate::vpc::by_id(id))?,
            format!("No role {id} exists."),
        )
    }
}

struct RolePolicyAttachment(Aws);

impl Resource for RolePolicyAttachment {
    fn type_name(&self) -> &str {
        "aws_iam_role_policy_attachment"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("role", required(Type::String)),
                ("policy_arn", required(Type::String)),
            ],
            vec![],
        )
    }

    fn replaced_on(&self) -> Vec<&str> {
        vec!["role", "policy_arn"]
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        let iam = &self.0.clients()?.iam;
        let role = planned.require_string("role")?;
        let arn = planned.require_string("policy_arn")?;
        run(iam
            .attach_role_policy()
            .role_name(&role)
            .policy_arn(&arn)
            .send())
        .map_err(|e| aws_error("aws_iam_role_policy_attachment", "attach the policy", e))?;
        let mut state = planned.clone();
        state.set("id", s(format!("{role}-{}", crate::vpc::unique_suffix())));
        Ok(state)
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let iam = &self.0.clients()?.iam;
        let role = current.require_string("role")?;
        let arn = current.require_string("policy_arn")?;
        let out = match run(iam.list_attached_role_policies().role_name(&role).send()) {
            Ok(o) => o,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(aws_error(
                    "aws_iam_role_policy_attachment",
                    "list the role's policies",
                    e,
                ))
            }
        };
        let attached = out
            .attached_policies()
            .iter()
            .any(|p| p.policy_arn() == Some(arn.as_str()));
        Ok(attached.then(|| current.clone()))
    }

    fn update(&self, _prior: &Object, planned: &Object) -> Result<Object> {
        Ok(planned.clone())
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let iam = &self.0.clients()?.iam;
        let role = prior.require_string("role")?;
        let arn = prior.require_string("policy_arn")?;
        deleted(
            run(iam
                .detach_role_policy()
                .role_name(&role)
                .policy_arn(&arn)
                .send()),
            "aws_iam_role_policy_attachment",
            "detach the policy",
        )
    }

    /// By `ROLE/POLICY_ARN`, as HashiCorp's provider imports it.
    fn import(&self, id: &str) -> Result<Object> {
        let Some((role, arn)) = id.split_once('/') else {
            return fail(
                "Invalid import id",
                format!("Import an attachment as ROLE_NAME/POLICY_ARN, not {id:?}."),
            );
        };
        let mut o = Object(Default::default());
        o.set("role", s(role));
        o.set("policy_arn", s(arn));
        o.set("id", s(format!("{role}-imported")));
        exists(self.read(&o)?, format!("{arn} is not attached to {role}."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_back_url_encoded_match_as_json() {
        let read = url_decode("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D");
        assert_eq!(read, r#"{"Version":"2012-10-17","Statement":[]}"#);
        let configured = "{\n  \"Statement\": [],\n  \"Version\": \"2012-10-17\"\n}".to_string();
        assert_eq!(
            same_policy(Some(configured.clone()), read.clone()),
            configured
        );
        assert_eq!(same_policy(Some("{}".into()), read.clone()), read);
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("a+b%2Bc%20d%zz"), "a b+c d%zz");
    }
}
