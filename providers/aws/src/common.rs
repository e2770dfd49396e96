//! What every resource of the provider shares: the provider's settings and the AWS
//! clients built from them, schema shorthands, tags, AWS errors as diagnostics, and
//! waiting on asynchronous states.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use plinth_provider_sdk::{
    default_plan, Attribute, Diagnostic, Object, PlanRequest, Planned, Resource, Result, Value,
};

/// The provider's configuration, as `configure` received it.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub token: Option<String>,
    pub endpoints: BTreeMap<String, String>,
    pub default_tags: BTreeMap<String, String>,
    pub max_retries: u32,
}

pub struct Clients {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
}

/// Shared by the provider and every resource type: settings arrive with
/// `configure`; clients are built on first use, on a blocking thread.
#[derive(Default)]
pub struct Shared {
    pub settings: OnceLock<Settings>,
    clients: OnceLock<Clients>,
    /// DescribeInstanceTypes answers, by type: the plan's checks, the data source and
    /// apply's second plan of each node group ask about the same types.
    pub instance_types: std::sync::Mutex<BTreeMap<String, aws_sdk_ec2::types::InstanceTypeInfo>>,
}

pub type Aws = Arc<Shared>;

/// Runs an AWS call to completion from a resource method (which the SDK runs on a
/// blocking thread of the provider's runtime).
pub fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

impl Shared {
    pub fn settings(&self) -> Settings {
        self.settings.get().cloned().unwrap_or_default()
    }

    pub fn clients(&self) -> Result<&Clients> {
        if let Some(c) = self.clients.get() {
            return Ok(c);
        }
        let built = run(build_clients(self.settings()))?;
        Ok(self.clients.get_or_init(|| built))
    }

    pub fn default_tags(&self) -> BTreeMap<String, String> {
        self.settings().default_tags
    }
}

/// The one HTTP client every AWS call uses (credential providers included): hyper 1
/// and rustls over aws-lc, trusting the system's certificates.
fn https_client() -> aws_sdk_ec2::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_https()
}

async fn build_clients(settings: Settings) -> Result<Clients> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_retries.max(1)));
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let (Some(access), Some(secret)) = (&settings.access_key, &settings.secret_key) {
        loader = loader.credentials_provider(aws_sdk_ec2::config::Credentials::new(
            access,
            secret,
            settings.token.clone(),
            None,
            "plinth-provider-configuration",
        ));
    }
    let config = loader.load().await;
    let Some(region) = config.region().map(|r| r.to_string()) else {
        return Err(vec![Diagnostic::error(
            "No AWS region",
            "Set `region` in the provider block, or AWS_REGION in the environment.",
        )
        .at("region")]);
    };
    let endpoint = |service: &str| settings.endpoints.get(service).cloned();
    let mut ec2 = aws_sdk_ec2::config::Builder::from(&config);
    if let Some(url) = endpoint("ec2") {
        ec2 = ec2.endpoint_url(url);
    }
    let mut eks = aws_sdk_eks::config::Builder::from(&config);
    if let Some(url) = endpoint("eks") {
        eks = eks.endpoint_url(url);
    }
    let mut ecr = aws_sdk_ecr::config::Builder::from(&config);
    if let Some(url) = endpoint("ecr") {
        ecr = ecr.endpoint_url(url);
    }
    let mut iam = aws_sdk_iam::config::Builder::from(&config);
    if let Some(url) = endpoint("iam") {
        iam = iam.endpoint_url(url);
    }
    let mut s3 = aws_sdk_s3::config::Builder::from(&config);
    let custom_s3 = endpoint("s3").or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    if let Some(url) = endpoint("s3") {
        s3 = s3.endpoint_url(url);
    }
    // An emulator or a private endpoint serves buckets by path, not by host name.
    s3 = s3.force_path_style(custom_s3.is_some());
    Ok(Clients {
        region,
        ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
        eks: aws_sdk_eks::Client::from_conf(eks.build()),
        ecr: aws_sdk_ecr::Client::from_conf(ecr.build()),
        iam: aws_sdk_iam::Client::from_conf(iam.build()),
        s3: aws_sdk_s3::Client::from_conf(s3.build()),
    })
}

// ---- errors -------------------------------------------------------------------------

/// The AWS error code of a failed call (`InvalidVpcID.NotFound`), if it has one.
pub fn code<E: ProvideErrorMetadata>(e: &E) -> &str {
    e.code().unwrap_or("")
}

/// Codes that mean "the thing is gone".
pub fn is_not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    let c = code(e);
    c.ends_with(".NotFound")
        || c.ends_with("NotFoundException")
        || matches!(
            c,
            "NoSuchEntity" | "NoSuchBucket" | "NotFound" | "NoSuchLifecycleConfiguration"
        )
}

/// A failed AWS call as a diagnostic that names the resource and says what to do.
pub fn aws_error<E>(resource: &str, action: &str, e: E) -> Vec<Diagnostic>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().unwrap_or("").to_string();
    let message = match e.message() {
        Some(m) => m.to_string(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    };
    let advice = advice(&code, &message);
    let detail = if code.is_empty() {
        format!("{resource}: {action} failed: {message}{advice}")
    } else {
        format!("{resource}: {action} failed: {code}: {message}{advice}")
    };
    vec![Diagnostic::error(
        format!("AWS refused to {action}"),
        detail,
    )]
}

fn advice(code: &str, message: &str) -> String {
    let text = match code {
        "InsufficientInstanceCapacity" => {
            "AWS has no capacity for this instance type in this availability zone now. Try another availability zone (subnet), another instance type, or a capacity reservation, then apply again."
        }
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => {
            "The credentials in use lack a permission this needs. Grant the action named above to the IAM identity plinth runs as."
        }
        "VcpuLimitExceeded" | "InstanceLimitExceeded" | "ResourceLimitExceeded" | "LimitExceededException"
        | "ServiceQuotaExceededException" | "VpcLimitExceeded" | "AddressLimitExceeded"
        | "RepositoryLimitExceededException" | "TooManyBuckets" => {
            "An account quota is reached. Request an increase in the Service Quotas console, or remove unused resources, then apply again."
        }
        "InvalidParameterException" | "InvalidParameterValue" | "InvalidParameterCombination"
            if message.to_ascii_lowercase().contains("ami") && message.to_ascii_lowercase().contains("instance") =>
        {
            "The instance type does not fit the AMI type: GPU instance types need a GPU AMI type (AL2_x86_64_GPU or AL2023_x86_64_NVIDIA), Graviton types an ARM64 one."
        }
        "RequestLimitExceeded" | "Throttling" | "ThrottlingException" | "TooManyRequestsException" => {
            "AWS throttled the calls even after retries. Lower --parallelism or raise `max_retries` in the provider block."
        }
        _ => return String::new(),
    };
    format!("\n\n{text}")
}

/// A delete call's outcome: done, or already gone, or an error naming the resource.
pub fn deleted<T, E>(result: std::result::Result<T, E>, address: &str, action: &str) -> Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error(address, action, e)),
    }
}

/// What `import` found: the object, or an error saying nothing is there.
pub fn exists(found: Option<Object>, missing: String) -> Result<Object> {
    found.ok_or_else(|| vec![Diagnostic::error("Cannot import", missing)])
}

/// An error of ours (not AWS's) about an attribute.
pub fn invalid(attribute: &str, summary: &str, detail: impl Into<String>) -> Vec<Diagnostic> {
    vec![Diagnostic::error(summary, detail).at(attribute)]
}

// ---- schema ---------------------------------------------------------------------------

pub use plinth_provider_sdk::shape::*;

pub fn tag_attributes() -> Vec<(&'static str, Attribute)> {
    vec![
        ("tags", optional(string_map())),
        ("tags_all", computed(string_map())),
    ]
}

// ---- tags -----------------------------------------------------------------------------

/// `tags_all`: the provider's default tags under the resource's own.
pub fn all_tags(aws: &Shared, o: &Object) -> BTreeMap<String, String> {
    let mut all = aws.default_tags();
    all.extend(map_of(o, "tags"));
    all
}

/// The default plan, with `tags_all` worked out (known on every plan).
pub fn plan_tagged<R: Resource + ?Sized>(
    resource: &R,
    aws: &Shared,
    request: PlanRequest,
) -> Result<Planned> {
    let config = request.config.clone();
    let mut planned = default_plan(resource, &resource.schema(), request);
    if config.is_known("tags") {
        planned
            .state
            .set("tags_all", string_map_value(&all_tags(aws, &config)));
    }
    Ok(planned)
}

/// What to put on and take off to go from tags `old` to `new`.
pub fn tag_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let put = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    (put, remove)
}

/// In a read state: `tags` are the object's tags less the provider's defaults (unless
/// the configuration sets the same key), `tags_all` all of them.
pub fn set_read_tags(
    aws: &Shared,
    state: &mut Object,
    prior: &Object,
    actual: BTreeMap<String, String>,
) {
    let defaults = aws.default_tags();
    let own = map_of(prior, "tags");
    let tags: BTreeMap<String, String> = actual
        .iter()
        .filter(|(k, v)| own.contains_key(*k) || defaults.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if tags.is_empty() && prior.is_null("tags") {
        state.set("tags", Value::Null(string_map()));
    } else {
        state.set("tags", string_map_value(&tags));
    }
    state.set("tags_all", string_map_value(&actual));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_as_terraform_writes_them() {
        assert_eq!(duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(duration("30"), None);
        assert_eq!(duration("5d"), None);
    }

    #[test]
    fn errors_say_what_to_do() {
        assert!(advice("InsufficientInstanceCapacity", "").contains("another availability zone"));
        assert!(advice("VcpuLimitExceeded", "").contains("Service Quotas"));
        assert!(advice("UnauthorizedOperation", "").contains("permission"));
        assert!(advice(
            "InvalidParameterException",
            "Instance type p5.48xlarge is not supported for AMI type AL2_x86_64"
        )
        .contains("GPU AMI type"));
        assert!(advice("InvalidParameterException", "subnet is missing").is_empty());
    }

    #[test]
    fn tag_changes_put_new_and_changed_and_remove_gone() {
        let old: BTreeMap<String, String> = [("a", "1"), ("b", "2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let new: BTreeMap<String, String> = [("b", "3"), ("c", "4")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (put, remove) = tag_changes(&old, &new);
        assert_eq!(put, new);
        assert_eq!(remove, vec!["a".to_string()]);
    }
}
