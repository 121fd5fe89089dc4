//! The SSRF guard: an endpoint that a user registered may not reach the internal network.
//!
//! [`NetworkGuard::check_url`] refuses a URL at create or update time: not http(s), user-info,
//! or a host that resolves to a loopback, private, link-local, multicast, unspecified or other
//! special address, unless that address is inside `ENDPOINT_ALLOWED_NETWORKS`. The same guard
//! is the DNS resolver of the client that delivers to user endpoints ([`GuardedResolver`]), so
//! the connection goes only to addresses that passed the check, and DNS rebinding between the
//! check and the connection gains nothing. (An IP literal is never resolved; it was checked
//! when the endpoint was written, and cannot change.)

#[cfg(test)]
use std::net::Ipv6Addr;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Which special addresses an operator allowed (`ENDPOINT_ALLOWED_NETWORKS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkGuard {
    allowed: Vec<IpNet>,
}

impl NetworkGuard {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// Parses a comma-separated CIDR list; empty means none.
    pub fn parse_list(raw: &str) -> Result<Vec<IpNet>, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{s}' is not a CIDR block such as 10.0.0.0/8"))
            })
            .collect()
    }

    /// Whether a connection to `ip` is allowed.
    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_special(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Checks an endpoint URL: its scheme, its user-info and every address its host resolves to.
    pub async fn check_url(&self, raw: &str) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(raw).map_err(|e| format!("url is not a valid URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("url must be http or https, not {}", url.scheme()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "url must not carry user-info (user:password@); use headers instead".into(),
            );
        }
        let host = url.host_str().ok_or("url has no host")?;
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            _ => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("url host {host} does not resolve: {e}"))?
                .map(|a| a.ip())
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("url host {host} does not resolve"));
        }
        if let Some(bad) = addrs.iter().find(|ip| !self.permits(**ip)) {
            return Err(format!(
                "url host {host} resolves to {bad}, an internal address (loopback, private, \
                 link-local, multicast or unspecified); allow it with ENDPOINT_ALLOWED_NETWORKS"
            ));
        }
        Ok(url)
    }
}

/// Addresses that are not the public internet.
pub fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 reaches IPv4 behind it
                || (s[0] == 0x2002) // 6to4 embeds an IPv4 address
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[..6] == [0; 6]) // IPv4-compatible ::a.b.c.d
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, the cloud metadata address included
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240 // reserved
}

/// The DNS resolver of the client that delivers to user endpoints: it answers only addresses
/// the guard permits, so the connection goes where the check said.
pub struct GuardedResolver {
    guard: Arc<NetworkGuard>,
}

impl GuardedResolver {
    pub fn new(guard: Arc<NetworkGuard>) -> Self {
        Self { guard }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = Arc::clone(&self.guard);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| guard.permits(a.ip()))
                .collect();
            if permitted.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to internal addresses; refused (ENDPOINT_ALLOWED_NETWORKS)").into();
                return Err(e);
            }
            let addrs: reqwest::dns::Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
    }

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_special_and_public_ones_are_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "0.1.2.3",
        ] {
            assert!(is_special(v4(ip)), "{ip}");
        }
        for ip in [
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ] {
            assert!(is_special(v6(ip)), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1"] {
            assert!(!is_special(v4(ip)), "{ip}");
        }
        assert!(!is_special(v6("2606:4700::1111")));
    }

    #[test]
    fn allowed_networks_open_exactly_their_range() {
        let guard = NetworkGuard::new(NetworkGuard::parse_list("127.0.0.0/8, fd00::/8").unwrap());
        assert!(guard.permits(v4("127.0.0.1")));
        assert!(guard.permits(v6("fd00::5")));
        assert!(!guard.permits(v4("10.0.0.1")));
        assert!(!guard.permits(v6("::1")));
        assert!(NetworkGuard::parse_list("10.0.0.0/33").is_err());
        assert_eq!(NetworkGuard::parse_list(" ").unwrap(), vec![]);
    }

    #[tokio::test]
    async fn urls_are_checked_for_scheme_user_info_and_address() {
        let guard = NetworkGuard::default();
        let refused = |r: Result<reqwest::Url, String>| r.unwrap_err();
        assert!(refused(guard.check_url("ftp://example.com/").await).contains("http or https"));
        assert!(refused(guard.check_url("http://u:p@8.8.8.8/").await).contains("user-info"));
        assert!(refused(guard.check_url("http://127.0.0.1:9/").await).contains("internal address"));
        assert!(refused(guard.check_url("http://[::1]/").await).contains("internal address"));
        assert!(
            refused(guard.check_url("http://169.254.169.254/latest").await).contains("internal")
        );
        assert!(refused(guard.check_url("http://localhost:9/").await).contains("internal address"));
        assert!(refused(guard.check_url("not a url").await).contains("not a valid URL"));
        assert!(guard.check_url("https://8.8.8.8/hook").await.is_ok());
        let open = NetworkGuard::new(NetworkGuard::parse_list("127.0.0.0/8").unwrap());
        assert!(open.check_url("http://127.0.0.1:9/").await.is_ok());
    }
}
