//! IP network functions: cidrhost, cidrnetmask, cidrsubnet, cidrsubnets, and
//! OpenTofu's cidrcontains, for IPv4 and IPv6 prefixes (addresses as integers of 32 or
//! 128 bits).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{bool_ty, fixed, p, str_arg, string_ty, variadic, FnError, Function};
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

/// A prefix: its network address (host bits cleared), the address width, the length.
#[derive(Clone, Copy)]
struct Prefix {
    net: u128,
    bits: u32,
    len: u32,
}

impl Prefix {
    fn parse(text: &str, arg: usize) -> Result<Prefix, FnError> {
        let bad = || {
            FnError::arg(
                arg,
                format!("Invalid value for \"prefix\" parameter: invalid CIDR address: {text}."),
            )
        };
        let (ip, len) = text.split_once('/').ok_or_else(bad)?;
        let ip: IpAddr = ip.parse().map_err(|_| bad())?;
        let len: u32 = len.parse().map_err(|_| bad())?;
        let (addr, bits) = match ip {
            IpAddr::V4(a) => (u32::from(a) as u128, 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        if len > bits {
            return Err(bad());
        }
        let p = Prefix { net: 0, bits, len };
        Ok(Prefix {
            net: addr & p.mask(len),
            ..p
        })
    }

    fn mask(&self, len: u32) -> u128 {
        let all = if self.bits == 32 {
            u32::MAX as u128
        } else {
            u128::MAX
        };
        all & !all.checked_shr(len).unwrap_or(0)
    }

    fn size(&self, len: u32) -> u128 {
        let host = self.bits - len;
        if host >= 128 {
            u128::MAX
        } else {
            1u128 << host
        }
    }

    fn ip(&self, addr: u128) -> String {
        if self.bits == 32 {
            Ipv4Addr::from(addr as u32).to_string()
        } else {
            Ipv6Addr::from(addr).to_string()
        }
    }

    fn show(&self, net: u128, len: u32) -> String {
        format!("{}/{len}", self.ip(net))
    }
}

fn int(args: &[Value], i: usize, name: &str) -> Result<i128, FnError> {
    args[i]
        .as_number()
        .and_then(|n| n.to_i64())
        .map(i128::from)
        .ok_or_else(|| {
            FnError::arg(
                i,
                format!("Invalid value for \"{name}\" parameter: a whole number is required."),
            )
        })
}

fn cidrhost(args: &[Value]) -> Result<Value, FnError> {
    let prefix = Prefix::parse(str_arg(args, 0), 0)?;
    let host = int(args, 1, "hostnum")?;
    let size = prefix.size(prefix.len);
    let fits = if host >= 0 {
        (host as u128) < size
    } else {
        host.unsigned_abs() <= size
    };
    if !fits || size == u128::MAX {
        return Err(FnError::call(format!(
            "Invalid function argument: prefix of {} bits cannot accommodate a host numbered {host}.",
            prefix.len
        )));
    }
    let offset = if host >= 0 {
        host as u128
    } else {
        size - host.unsigned_abs()
    };
    Ok(Value::String(prefix.ip(prefix.net + offset)))
}

fn cidrnetmask(args: &[Value]) -> Result<Value, FnError> {
    let prefix = Prefix::parse(str_arg(args, 0), 0)?;
    if prefix.bits != 32 {
        return Err(FnError::arg(
            0,
            "Invalid value for \"prefix\" parameter: only IPv4 prefixes have a netmask.",
        ));
    }
    Ok(Value::String(prefix.ip(prefix.mask(prefix.len))))
}

fn cidrsubnet(args: &[Value]) -> Result<Value, FnError> {
    let prefix = Prefix::parse(str_arg(args, 0), 0)?;
    let newbits = int(args, 1, "newbits")?;
    let netnum = int(args, 2, "netnum")?;
    let len = prefix.len as i128 + newbits;
    if newbits < 0 || len > prefix.bits as i128 {
        return Err(FnError::call(format!(
            "Invalid function argument: insufficient address space to extend prefix of {} by {newbits}.",
            prefix.len
        )));
    }
    let len = len as u32;
    if netnum < 0 || (newbits < 127 && netnum as u128 >= (1u128 << newbits)) {
        return Err(FnError::call(format!(
            "Invalid function argument: prefix extension of {newbits} does not accommodate a subnet numbered {netnum}."
        )));
    }
    let net = prefix.net | (netnum as u128).checked_shl(prefix.bits - len).unwrap_or(0);
    Ok(Value::String(prefix.show(net, len)))
}

fn cidrsubnets(args: &[Value]) -> Result<Value, FnError> {
    let prefix = Prefix::parse(str_arg(args, 0), 0)?;
    let mut out = Vec::new();
    let mut prev: Option<(u128, u32)> = None;
    for i in 1..args.len() {
        let newbits = int(args, i, "newbits")?;
        if newbits < 1 {
            return Err(FnError::arg(
                i,
                "Invalid value for \"newbits\" parameter: must extend prefix by at least one bit.",
            ));
        }
        let len = prefix.len as i128 + newbits;
        if len > prefix.bits as i128 {
            return Err(FnError::arg(
                i,
                format!("Invalid value for \"newbits\" parameter: would extend prefix to {len} bits, which is too long for an IPv{} address.", if prefix.bits == 32 { 4 } else { 6 }),
            ));
        }
        let len = len as u32;
        let net = match prev {
            None => prefix.net,
            Some((p, plen)) => {
                let last = p + (prefix.size(plen) - 1);
                let current = last & prefix.mask(len);
                let current_last = current + (prefix.size(len) - 1);
                let next = current_last.checked_add(1).filter(|n| {
                    *n & prefix.mask(prefix.len) == prefix.net
                        && (prefix.bits == 128 || *n <= u32::MAX as u128)
                });
                match next {
                    Some(n) => n & prefix.mask(len),
                    None => {
                        return Err(FnError::arg(
                            i,
                            format!("Invalid value for \"newbits\" parameter: not enough remaining address space for a subnet with a prefix of {len} bits after {}.", prefix.show(p, plen)),
                        ))
                    }
                }
            }
        };
        out.push(Value::String(prefix.show(net, len)));
        prev = Some((net, len));
    }
    Ok(Value::List(Type::String, out))
}

/// OpenTofu 1.7's `cidrcontains(prefix, address_or_prefix)`: whether the second, an IP
/// address or a prefix of the same family, lies wholly inside the first.
fn cidrcontains(args: &[Value]) -> Result<Value, FnError> {
    let outer = Prefix::parse(str_arg(args, 0), 0)?;
    let text = str_arg(args, 1);
    let inner = match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Prefix {
            net: u32::from(a) as u128,
            bits: 32,
            len: 32,
        },
        Ok(IpAddr::V6(a)) => Prefix {
            net: u128::from(a),
            bits: 128,
            len: 128,
        },
        Err(_) => Prefix::parse(text, 1).map_err(|_| {
            FnError::arg(
                1,
                format!("Invalid value for \"contained_ip_or_prefix\" parameter: invalid IP address or prefix: {text}."),
            )
        })?,
    };
    if inner.bits != outer.bits {
        return Err(FnError::arg(
            1,
            "Invalid function argument: address family mismatch: the prefix and the address or prefix it may contain must both be IPv4 or both IPv6.",
        ));
    }
    Ok(Value::Bool(
        inner.len >= outer.len && inner.net & outer.mask(outer.len) == outer.net,
    ))
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "cidrcontains",
        fixed(
            [
                p("containing_prefix", Constraint::String),
                p("contained_ip_or_prefix", Constraint::String),
            ],
            bool_ty,
            cidrcontains,
        ),
    );
    t.insert(
        "cidrhost",
        fixed(
            [
                p("prefix", Constraint::String),
                p("hostnum", Constraint::Number),
            ],
            string_ty,
            cidrhost,
        ),
    );
    t.insert(
        "cidrnetmask",
        fixed([p("prefix", Constraint::String)], string_ty, cidrnetmask),
    );
    t.insert(
        "cidrsubnet",
        fixed(
            [
                p("prefix", Constraint::String),
                p("newbits", Constraint::Number),
                p("netnum", Constraint::Number),
            ],
            string_ty,
            cidrsubnet,
        ),
    );
    t.insert(
        "cidrsubnets",
        variadic(
            vec![p("prefix", Constraint::String)],
            p("newbits", Constraint::Number),
            |_| Type::list(Type::String),
            cidrsubnets,
        ),
    );
}
