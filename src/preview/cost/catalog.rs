//! The price catalog: hourly on-demand and spot prices per EC2 instance type and
//! region, each GPU instance type's GPUs, and EKS's cluster fee — every figure with
//! the source it was read from. The built-in catalog is `catalog.json` beside this
//! file; `plinth cost --catalog FILE` reads another in the same format.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The catalog compiled into plinth.
const BUILT_IN: &str = include_str!("catalog.json");

/// The name the built-in catalog's errors and reports use.
pub const BUILT_IN_NAME: &str = "src/preview/cost/catalog.json";

/// The only catalog format this plinth reads.
const FORMAT: u32 = 1;

/// Where a figure was read: a public price list's address and the date it gives.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub url: String,
    pub date: String,
    /// What the page or data set is, in a few words.
    #[serde(default)]
    pub about: String,
}

/// One price with the index of its source in [`Catalog::sources`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figure {
    pub price: f64,
    pub source: usize,
}

/// The GPUs one instance of a type carries.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpus {
    /// "A10G", "H100".
    pub model: String,
    pub count: u32,
    /// Memory of one GPU.
    pub memory_mib: u64,
}

/// Whether an instance is bought on demand or as spot capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Market {
    OnDemand,
    Spot,
}

impl Market {
    pub fn label(self) -> &'static str {
        match self {
            Market::OnDemand => "on-demand",
            Market::Spot => "spot",
        }
    }
}

/// A price catalog, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalog {
    /// The file it was read from (or [`BUILT_IN_NAME`]).
    pub origin: String,
    pub name: String,
    pub currency: String,
    /// The region prices are looked up in when neither the resource, the stack nor
    /// `--region` says one.
    pub default_region: String,
    /// What the catalog leaves out and why.
    pub notes: Vec<String>,
    pub sources: Vec<Source>,
    /// (region, instance type) → hourly price.
    on_demand: BTreeMap<(String, String), Figure>,
    spot: BTreeMap<(String, String), Figure>,
    /// region → EKS's hourly fee per cluster.
    eks_cluster: BTreeMap<String, Figure>,
    /// instance type → its GPUs (with the source index).
    gpus: BTreeMap<String, (Gpus, usize)>,
}

/// A catalog that cannot be used: the file and the line and column of the problem
/// (both 0 when the file itself cannot be read).
#[derive(Debug, PartialEq)]
pub struct CatalogError {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.origin, self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.origin, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for CatalogError {}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: u32,
    name: String,
    currency: String,
    default_region: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    price_lists: Vec<PriceList>,
    #[serde(default)]
    gpu_lists: Vec<GpuList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceList {
    source: Source,
    region: String,
    #[serde(default)]
    on_demand: BTreeMap<String, Price>,
    #[serde(default)]
    spot: BTreeMap<String, Price>,
    #[serde(default)]
    eks_cluster_hourly: Option<Price>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GpuList {
    source: Source,
    instance_types: BTreeMap<String, Gpus>,
}

/// A price as the file writes it: a finite number, zero or more.
struct Price(f64);

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
        let p = f64::deserialize(d)?;
        if !p.is_finite() || p < 0.0 {
            return Err(serde::de::Error::custom(format!(
                "a price must be a number zero or more, not {p}"
            )));
        }
        Ok(Price(p))
    }
}

impl Catalog {
    /// The catalog compiled into plinth.
    pub fn built_in() -> Catalog {
        match Catalog::parse(BUILT_IN, BUILT_IN_NAME) {
            Ok(c) => c,
            // The unit tests read the built-in file; a broken one never ships.
            Err(e) => panic!("the built-in catalog does not read: {e}"),
        }
    }

    /// Reads the catalog at `path`.
    pub fn read(path: &std::path::Path) -> Result<Catalog, CatalogError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
            origin: origin.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the catalog: {e}"),
        })?;
        Catalog::parse(&text, &origin)
    }

    /// Reads a catalog from its text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let file: File = serde_json::from_str(text).map_err(|e| CatalogError {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string(),
        })?;
        if file.format != FORMAT {
            let (line, column) = position_of(text, "\"format\"");
            return Err(CatalogError {
                origin: origin.to_string(),
                line,
                column,
                message: format!(
                    "catalog format {} is not one this plinth reads (it reads format {FORMAT})",
                    file.format
                ),
            });
        }
        let mut catalog = Catalog {
            origin: origin.to_string(),
            name: file.name,
            currency: file.currency,
            default_region: file.default_region,
            notes: file.notes,
            sources: Vec::new(),
            on_demand: BTreeMap::new(),
            spot: BTreeMap::new(),
            eks_cluster: BTreeMap::new(),
            gpus: BTreeMap::new(),
        };
        for list in file.price_lists {
            let source = catalog.sources.len();
            catalog.sources.push(list.source);
            let figure = |p: Price| Figure { price: p.0, source };
            for (ty, p) in list.on_demand {
                catalog
                    .on_demand
                    .insert((list.region.clone(), ty), figure(p));
            }
            for (ty, p) in list.spot {
                catalog.spot.insert((list.region.clone(), ty), figure(p));
            }
            if let Some(p) = list.eks_cluster_hourly {
                catalog.eks_cluster.insert(list.region.clone(), figure(p));
            }
        }
        for list in file.gpu_lists {
            let source = catalog.sources.len();
            catalog.sources.push(list.source);
            for (ty, gpus) in list.instance_types {
                if gpus.count == 0 {
                    let (line, column) = position_of(text, &format!("\"{ty}\""));
                    return Err(CatalogError {
                        origin: origin.to_string(),
                        line,
                        column,
                        message: format!("{ty}: a GPU count must be 1 or more"),
                    });
                }
                catalog.gpus.insert(ty, (gpus, source));
            }
        }
        Ok(catalog)
    }

    /// The hourly price of one `instance_type` in `region`, bought on `market`.
    pub fn instance(&self, region: &str, instance_type: &str, market: Market) -> Option<Figure> {
        let prices = match market {
            Market::OnDemand => &self.on_demand,
            Market::Spot => &self.spot,
        };
        prices
            .get(&(region.to_string(), instance_type.to_string()))
            .copied()
    }

    /// EKS's hourly fee for one cluster in `region`.
    pub fn eks_cluster(&self, region: &str) -> Option<Figure> {
        self.eks_cluster.get(region).copied()
    }

    /// The GPUs one `instance_type` carries.
    pub fn gpus(&self, instance_type: &str) -> Option<&Gpus> {
        self.gpus.get(instance_type).map(|(g, _)| g)
    }

    /// How reports name the catalog: its origin and the dates of its sources.
    pub fn describe(&self) -> String {
        let mut dates: Vec<&str> = self.sources.iter().map(|s| s.date.as_str()).collect();
        dates.sort_unstable();
        dates.dedup();
        if dates.is_empty() {
            return format!("{} ({})", self.name, self.origin);
        }
        format!(
            "{} ({}; figures dated {})",
            self.name,
            self.origin,
            dates.join(", ")
        )
    }
}

/// The 1-based line and column of the first `needle` in `text` (1:1 when absent).
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let Some(at) = text.find(needle) else {
        return (1, 1);
    };
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = at - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_reads_and_names_a_source_for_every_figure() {
        let c = Catalog::built_in();
        assert_eq!(c.currency, "USD");
        assert_eq!(c.default_region, "us-east-1");
        let p5 = c
            .instance("us-east-1", "p5.48xlarge", Market::OnDemand)
            .expect("p5 price");
        assert_eq!(p5.price, 55.04);
        assert!(c.sources[p5.source].url.starts_with("https://"));
        assert_eq!(c.gpus("p5.48xlarge").map(|g| g.count), Some(8));
        assert_eq!(c.eks_cluster("us-west-2").map(|f| f.price), Some(0.10));
        for s in &c.sources {
            assert!(s.url.starts_with("https://"), "{s:?}");
            assert_eq!(s.date.len(), 10, "{s:?}");
        }
    }

    #[test]
    fn every_instance_type_the_stacks_use_is_in_the_built_in_catalog() {
        let c = Catalog::built_in();
        for ty in [
            "m6i.xlarge",
            "m5.xlarge",
            "t3.large",
            "g5.xlarge",
            "g5.2xlarge",
            "g5.12xlarge",
            "g6.xlarge",
            "g6e.xlarge",
            "p4d.24xlarge",
            "p5.48xlarge",
        ] {
            assert!(
                c.instance("us-east-1", ty, Market::OnDemand).is_some(),
                "{ty}"
            );
        }
        for gpu in ["g5.2xlarge", "g6.xlarge", "g6e.12xlarge", "p4d.24xlarge"] {
            assert!(c.gpus(gpu).is_some(), "{gpu}");
        }
        assert!(c.gpus("m6i.xlarge").is_none());
    }

    #[test]
    fn every_gpu_type_is_priced_in_each_region_and_spot_is_below_on_demand() {
        let c = Catalog::built_in();
        let regions_of = |prices: &BTreeMap<(String, String), Figure>| {
            let mut regions: Vec<String> = prices.keys().map(|(r, _)| r.clone()).collect();
            regions.dedup();
            regions
        };
        assert_eq!(regions_of(&c.on_demand), ["us-east-1"]);
        assert_eq!(regions_of(&c.spot), ["us-east-1", "us-west-2"]);
        for ty in c.gpus.keys() {
            for region in regions_of(&c.on_demand) {
                assert!(
                    c.instance(&region, ty, Market::OnDemand).is_some(),
                    "{ty} has no on-demand price in {region}"
                );
            }
            for region in regions_of(&c.spot) {
                assert!(
                    c.instance(&region, ty, Market::Spot).is_some(),
                    "{ty} has no spot price in {region}"
                );
            }
        }
        for ((region, ty), spot) in &c.spot {
            if let Some(on_demand) = c.instance(region, ty, Market::OnDemand) {
                assert!(
                    spot.price < on_demand.price,
                    "{ty} in {region}: spot {} is not below on-demand {}",
                    spot.price,
                    on_demand.price
                );
            }
            assert!(c.sources[spot.source].about.contains(region), "{ty}");
        }
        let a10g = c.instance("us-east-1", "g5.2xlarge", Market::Spot);
        assert_eq!(a10g.map(|f| f.price), Some(1.0236));
        assert!(c
            .instance("us-west-2", "m6i.xlarge", Market::OnDemand)
            .is_none());
    }

    #[test]
    fn a_malformed_catalog_is_an_error_at_its_line() {
        let text = "{\n  \"format\": 1,\n  \"name\": \"mine\",\n  \"currency\": \"USD\",\n  \"default_region\": \"us-east-1\",\n  \"price_lists\": [{\"source\": {\"url\": \"u\", \"date\": \"d\"},\n    \"region\": \"us-east-1\",\n    \"on_demand\": {\"m5.large\": \"cheap\"}}]\n}\n";
        let e = Catalog::parse(text, "prices.json").unwrap_err();
        assert_eq!((e.origin.as_str(), e.line), ("prices.json", 8), "{e}");
        assert!(e.to_string().starts_with("prices.json:8:"), "{e}");

        let negative = text.replace("\"cheap\"", "-1");
        let e = Catalog::parse(&negative, "prices.json").unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert!(e.message.contains("zero or more"), "{e}");

        let e = Catalog::parse("{\"format\": 1,\n \"nmae\": 1}", "x.json").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("nmae"), "{e}");

        let e = Catalog::read(std::path::Path::new("/nonexistent/prices.json")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/prices.json: cannot read the catalog: "),
            "{e}"
        );

        let e = Catalog::parse(
            "{\"format\": 2, \"name\": \"n\", \"currency\": \"USD\", \"default_region\": \"r\"}",
            "x.json",
        )
        .unwrap_err();
        assert!(e.message.contains("format 2"), "{e}");
    }
}
