//! Where a webhook may point. SSRF protection: a webhook must not turn cbm2 into a way to
//! reach the machine's own services, the private network or a cloud metadata endpoint.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("must be an absolute http or https URL: {0}")]
    Syntax(String),
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must use https for a public address")]
    NotHttps,
    /// Says which host, never which address it resolved to: the answer must not tell a
    /// caller what a name resolves to inside the network (a DNS oracle).
    #[error(
        "{host} resolves to a private or reserved address; set CBM2_WEBHOOK_ALLOW_PRIVATE=true to allow it"
    )]
    Private { host: String },
    #[error("{0} does not resolve to any address")]
    Unresolved(String),
}

/// The kind of address that webhooks may not reach, or `None` for a public one.
pub fn forbidden_kind(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_private() {
        Some("private")
    } else if a == 100 && (64..=127).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_link_local() {
        // 169.254.0.0/16, which holds the cloud metadata address 169.254.169.254.
        Some("link-local")
    } else if ip.is_broadcast() || ip.is_multicast() {
        Some("broadcast or multicast")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("IETF protocol assignment")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if a >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    let first = segments[0];
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // Forms that carry an IPv4 address inside: the IPv4 rules apply to it.
    // IPv4-compatible ::a.b.c.d and NAT64 64:ff9b::a.b.c.d carry it in the last 32 bits.
    let compatible = segments[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let carried = if v6_mapped_or_translated(segments) {
        // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (IPv4-translated) are IPv4
        // addresses in IPv6 form: the embedded address's own rules say why, and a public
        // one is refused all the same below (a receiver is reached by its IPv4 address).
        Some(embedded(segments[6], segments[7]))
    } else if compatible || nat64 {
        Some(embedded(segments[6], segments[7]))
    } else if first == 0x2002 {
        Some(embedded(segments[1], segments[2])) // 6to4 2002::/16
    } else {
        None
    };
    if let Some(kind) = carried.and_then(forbidden_v4) {
        return Some(kind);
    }
    if v6_mapped_or_translated(segments) {
        return Some("IPv4-mapped or IPv4-translated");
    }
    if first == 0x2001 && segments[1] == 0 {
        // Teredo 2001::/32 hides its IPv4 address; nothing legitimate needs it here.
        return Some("Teredo tunnel");
    }
    if segments[..3] == [0x64, 0xff9b, 0x0001] {
        // 64:ff9b:1::/48, NAT64 for local use (RFC 8215): translates into private networks.
        return Some("local-use NAT64");
    }
    if segments[..4] == [0x0100, 0, 0, 0] {
        // 100::/64, discard-only (RFC 6666).
        return Some("discard-only");
    }
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique local (private)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

/// `::ffff:0:0/96` (IPv4-mapped) or `::ffff:0:0:0/96` (IPv4-translated, SIIT).
fn v6_mapped_or_translated(segments: [u16; 8]) -> bool {
    segments[..6] == [0, 0, 0, 0, 0, 0xffff] || segments[..6] == [0, 0, 0, 0, 0xffff, 0]
}

/// A URL checked for its form: http(s), no credentials, a host.
pub fn parse(url: &str) -> Result<Url, UrlRefusal> {
    let parsed = Url::parse(url).map_err(|e| UrlRefusal::Syntax(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(UrlRefusal::Syntax(format!(
            "{url:?} is not an http or https URL with a host"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefusal::Credentials);
    }
    Ok(parsed)
}

/// `scheme://host[:port]/path`: what logs may say of a webhook URL. The query string may
/// carry the receiver's own credentials (`?token=…`), and so may user information.
pub fn for_logs(url: &Url) -> String {
    format!("{}{}", origin_of(url).trim_end_matches('/'), url.path())
}

/// `scheme://host[:port]/`, the part every URL of one receiver starts with (as `Url`
/// writes it: lowercase scheme and host, no default port). Deliveries are capped per
/// origin, so a slow receiver holds only its own slots.
pub fn origin_of(url: &Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(host) => host.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(port) => format!("{}://{host}:{port}/", url.scheme()),
        None => format!("{}://{host}/", url.scheme()),
    }
}

/// Resolves the URL's host and checks every address it resolves to. Returns the addresses,
/// so the request goes to what was checked (no second lookup to rebind).
pub async fn resolve_and_check(
    url: &Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, UrlRefusal> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        _ => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| UrlRefusal::Unresolved(host.clone()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(UrlRefusal::Unresolved(host));
    }
    if !allow_private {
        for addr in &addrs {
            if let Some(kind) = forbidden_kind(addr.ip()) {
                // The operator may see where the name pointed; the caller may not.
                tracing::debug!(%host, addr = %addr.ip(), kind, "webhook address refused");
                return Err(UrlRefusal::Private { host });
            }
        }
        if url.scheme() != "https" {
            return Err(UrlRefusal::NotHttps);
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_mapped_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.0.8",
        ] {
            assert!(
                forbidden_kind(ip.parse().unwrap()).is_some(),
                "{ip} is allowed"
            );
        }
    }

    #[test]
    fn ipv4_mapped_and_translated_addresses_are_forbidden_whatever_they_embed() {
        for ip in [
            "::ffff:8.8.8.8",
            "::ffff:203.0.113.7",
            "::ffff:0:8.8.8.8",
            "::ffff:0:7f00:1",
        ] {
            assert!(
                forbidden_kind(ip.parse().unwrap()).is_some(),
                "{ip} is allowed"
            );
        }
        // The embedded address's own rule is the reason given for a private one.
        assert_eq!(
            forbidden_kind("::ffff:127.0.0.1".parse().unwrap()),
            Some("loopback")
        );
        assert_eq!(
            forbidden_kind("::ffff:0:a9fe:a9fe".parse().unwrap()),
            Some("link-local")
        );
        assert_eq!(
            forbidden_kind("::ffff:8.8.8.8".parse().unwrap()),
            Some("IPv4-mapped or IPv4-translated")
        );
    }

    #[test]
    fn local_use_nat64_is_forbidden_and_well_known_nat64_checks_its_ipv4() {
        for ip in [
            "64:ff9b:1::1",
            "64:ff9b:1:ffff::808:808",
            "64:ff9b:1::a9fe:a9fe",
        ] {
            assert_eq!(
                forbidden_kind(ip.parse().unwrap()),
                Some("local-use NAT64"),
                "{ip}"
            );
        }
        assert_eq!(
            forbidden_kind("64:ff9b::7f00:1".parse().unwrap()),
            Some("loopback")
        );
        assert_eq!(forbidden_kind("64:ff9b::808:808".parse().unwrap()), None);
        // Just outside the /48.
        assert_eq!(forbidden_kind("64:ff9b:2::1".parse().unwrap()), None);
    }

    #[test]
    fn discard_only_is_forbidden() {
        for ip in ["100::", "100::1", "100::ffff:ffff:ffff:ffff"] {
            assert_eq!(
                forbidden_kind(ip.parse().unwrap()),
                Some("discard-only"),
                "{ip}"
            );
        }
        // 100:0:0:1::/64 is outside 100::/64.
        assert_eq!(forbidden_kind("100:0:0:1::1".parse().unwrap()), None);
    }

    #[tokio::test]
    async fn a_refusal_names_the_host_but_never_the_address() {
        let url = parse("https://localhost:9/hook").unwrap();
        let refusal = resolve_and_check(&url, false).await.unwrap_err();
        let said = refusal.to_string();
        assert_eq!(
            refusal,
            UrlRefusal::Private {
                host: "localhost".into()
            }
        );
        assert!(said.contains("localhost"), "{said}");
        assert!(said.contains("private or reserved address"), "{said}");
        for address in ["127.0.0.1", "::1", "loopback"] {
            assert!(!said.contains(address), "{said}");
        }
    }

    #[test]
    fn logs_see_scheme_host_port_and_path_only() {
        let url = Url::parse("https://hooks.example.org:8443/in/cbm2?token=s3cret#frag").unwrap();
        assert_eq!(for_logs(&url), "https://hooks.example.org:8443/in/cbm2");
        let url = Url::parse("http://[::1]/x?k=v").unwrap();
        assert_eq!(for_logs(&url), "http://[::1]/x");
        let url = Url::parse("https://user:pw@example.org/").unwrap();
        assert_eq!(for_logs(&url), "https://example.org/");
    }

    #[test]
    fn the_origin_is_the_start_of_the_url_as_stored() {
        for (url, origin) in [
            (
                "https://Hooks.Example.org:443/a?b",
                "https://hooks.example.org/",
            ),
            ("http://127.0.0.1:8080/x/y", "http://127.0.0.1:8080/"),
            ("https://[::1]:9/", "https://[::1]:9/"),
            ("https://example.org", "https://example.org/"),
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(origin_of(&parsed), origin, "{url}");
            assert!(parsed.as_str().starts_with(origin), "{parsed}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "203.0.113.7",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2001:db8::1",
            "2606:4700::1111",
        ] {
            assert!(
                forbidden_kind(ip.parse().unwrap()).is_none(),
                "{ip} is forbidden"
            );
        }
    }

    #[tokio::test]
    async fn literal_private_urls_are_refused_unless_allowed() {
        let url = parse("http://127.0.0.1:9/hook").unwrap();
        assert!(matches!(
            resolve_and_check(&url, false).await,
            Err(UrlRefusal::Private { .. })
        ));
        assert!(resolve_and_check(&url, true).await.is_ok());
        let metadata = parse("https://[::ffff:169.254.169.254]/latest").unwrap();
        assert!(matches!(
            resolve_and_check(&metadata, false).await,
            Err(UrlRefusal::Private { .. })
        ));
    }

    #[tokio::test]
    async fn public_addresses_need_https() {
        let url = parse("http://203.0.113.7/hook").unwrap();
        assert_eq!(
            resolve_and_check(&url, false).await,
            Err(UrlRefusal::NotHttps)
        );
        let url = parse("https://203.0.113.7/hook").unwrap();
        assert!(resolve_and_check(&url, false).await.is_ok());
    }

    #[test]
    fn credentials_and_other_schemes_are_refused() {
        assert_eq!(
            parse("https://user:pw@example.org/").unwrap_err(),
            UrlRefusal::Credentials
        );
        assert!(matches!(
            parse("ftp://example.org/"),
            Err(UrlRefusal::Syntax(_))
        ));
        assert!(matches!(parse("not a url"), Err(UrlRefusal::Syntax(_))));
    }
}
