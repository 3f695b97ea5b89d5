//! Which addresses a JWKS fetch (and a webhook delivery, `claimd-webhooks`) may connect to
//! (SSRF rules).
//!
//! A partner registers its JWKS URL, so the URL is attacker-influenced: without these rules a
//! partner (or whoever controls its DNS) could make claimd fetch the cloud metadata service
//! (`169.254.169.254`), an admin port on loopback or a host on the private network. Outside
//! dev mode only *public* unicast addresses are allowed. The check is applied to every
//! address that DNS returns (and only checked addresses are connected to), to IP literals in
//! URLs, and again at every redirect hop.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What an address is, for the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrClass {
    /// Globally routable unicast.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// Private, link-local, unique-local, CGNAT, documentation, benchmarking, reserved,
    /// IPv4-mapped/compatible, NAT64 or 6to4 wrapping a non-public v4, Teredo, …
    NonPublic,
    /// Unspecified, broadcast, multicast: never a valid destination.
    Never,
}

/// The address rules of one fetcher.
#[derive(Debug, Clone, Copy)]
pub struct AddressPolicy {
    /// Loopback allowed (`allow_http_loopback_jwks`).
    pub allow_loopback: bool,
    /// Every non-public class allowed (`allow_private_jwks_hosts`).
    pub allow_private: bool,
}

impl AddressPolicy {
    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            AddrClass::Public => true,
            AddrClass::Loopback => self.allow_loopback || self.allow_private,
            AddrClass::NonPublic => self.allow_private,
            AddrClass::Never => false,
        }
    }
}

/// The class of an address.
pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let o = ip.octets();
    let in_net = |net: [u8; 4], bits: u32| {
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
    };
    if ip.is_unspecified() || o[0] == 0 || ip.is_broadcast() || ip.is_multicast() {
        return AddrClass::Never;
    }
    if ip.is_loopback() {
        return AddrClass::Loopback;
    }
    let non_public = ip.is_private()                // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()                       // 169.254/16 (cloud metadata)
        || in_net([100, 64, 0, 0], 10)              // CGNAT
        || in_net([192, 0, 0, 0], 24)               // IETF protocol assignments
        || in_net([192, 0, 2, 0], 24)               // TEST-NET-1
        || in_net([198, 51, 100, 0], 24)            // TEST-NET-2
        || in_net([203, 0, 113, 0], 24)             // TEST-NET-3
        || in_net([198, 18, 0, 0], 15)              // benchmarking
        || in_net([192, 88, 99, 0], 24)             // 6to4 relay anycast (deprecated)
        || o[0] >= 240; // reserved 240/4
    if non_public {
        AddrClass::NonPublic
    } else {
        AddrClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_multicast() {
        return AddrClass::Never;
    }
    if ip.is_loopback() {
        return AddrClass::Loopback;
    }
    // IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96, deprecated): refused outside
    // dev mode whatever they wrap, since they reach v4 hosts by a side door.
    if s[0..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        return AddrClass::NonPublic;
    }
    // NAT64 well-known prefix 64:ff9b::/96 and 6to4 2002::/16 wrap a v4 address: only as
    // public as the v4 address they carry.
    if s[0..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return wrapped(classify_v4(v4));
    }
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return wrapped(classify_v4(v4));
    }
    let non_public = (s[0] & 0xfe00) == 0xfc00        // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80                   // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0                   // fec0::/10 site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8)          // 2001:db8::/32 documentation
        || (s[0] == 0x3fff && s[1] & 0xf000 == 0)      // 3fff::/20 documentation
        || (s[0] == 0x2001 && s[1] == 0)               // 2001::/32 Teredo
        || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0)  // 2001:2::/48 benchmarking
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x10) // 2001:10::/28 ORCHID
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])    // 100::/64 discard
        || (s[0] & 0xe000) != 0x2000; // outside 2000::/3, the global unicast space
    if non_public {
        AddrClass::NonPublic
    } else {
        AddrClass::Public
    }
}

fn wrapped(inner: AddrClass) -> AddrClass {
    match inner {
        AddrClass::Public => AddrClass::Public,
        AddrClass::Never => AddrClass::Never,
        AddrClass::Loopback | AddrClass::NonPublic => AddrClass::NonPublic,
    }
}

/// Marker error of the resolver, found again in reqwest's error chain.
#[derive(Debug)]
pub struct AddressRefused;

impl fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every address of the host is refused by the address policy")
    }
}

impl std::error::Error for AddressRefused {}

/// Why an outbound request failed, in the terms the JWKS fetcher and the webhook sender both
/// report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFailure {
    /// The host resolves only to addresses the policy refuses; the text says so.
    NotAllowed(&'static str),
    /// No answer within the timeout.
    Timeout,
    /// No connection to any of the host's addresses.
    Connect,
    /// Anything else on the way (TLS, the protocol, a reset connection).
    Transport,
}

/// What went wrong with `err`. A refusal of [`GuardedResolver`] comes first, wherever it is in
/// the chain of sources (reqwest reports it as a connection error).
pub fn request_failure(err: &reqwest::Error) -> RequestFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<AddressRefused>() {
            return RequestFailure::NotAllowed("the host resolves only to non-public addresses");
        }
        source = e.source();
    }
    if err.is_timeout() {
        RequestFailure::Timeout
    } else if err.is_connect() {
        RequestFailure::Connect
    } else {
        RequestFailure::Transport
    }
}

/// Resolves with the system resolver and keeps only the addresses the policy allows (the
/// JWKS fetcher's, and the webhook deliverer's in `claimd-webhooks`).
pub struct GuardedResolver {
    /// The rules applied to every resolved address.
    pub policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let localhost = is_localhost_name(&host);
            let allowed: Vec<SocketAddr> = found
                .filter(|a| policy.allows(a.ip()) && (!localhost || a.ip().is_loopback()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// `localhost` or a name under it: must resolve to loopback only.
pub fn is_localhost_name(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    h.eq_ignore_ascii_case("localhost")
        || (h.len() > 10 && h.as_bytes()[h.len() - 10..].eq_ignore_ascii_case(b".localhost"))
}

/// Scheme, credentials and IP-literal rules for a URL claimd connects to (each hop of a
/// JWKS fetch, each webhook delivery): `https`, or plain `http` to a loopback host when
/// `allow_http_loopback`; no credentials; an IP literal must pass the policy. Names are
/// checked after resolution by [`GuardedResolver`]. The error says which rule, without the URL.
pub fn check_url(
    url: &url::Url,
    policy: &AddressPolicy,
    allow_http_loopback: bool,
) -> Result<(), &'static str> {
    use url::Host;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not supported");
    }
    if !matches!(url.scheme(), "https" | "http") {
        return Err("https is required");
    }
    let host = url.host().ok_or("the URL has no host")?;
    match url.scheme() {
        "https" => {}
        "http" => {
            if !allow_http_loopback {
                return Err("https is required");
            }
            let loopback = match &host {
                Host::Ipv4(ip) => ip.is_loopback(),
                Host::Ipv6(ip) => ip.is_loopback(),
                Host::Domain(d) => is_localhost_name(d),
            };
            if !loopback {
                return Err("plain http is allowed only to loopback hosts");
            }
        }
        _ => return Err("https is required"),
    }
    let literal = match host {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    };
    if literal.is_some_and(|ip| !policy.allows(ip)) {
        return Err("the address is not public");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> AddrClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classifies_the_usual_suspects() {
        use AddrClass::*;
        for (addr, want) in [
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("93.184.216.34", Public),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("::1", Loopback),
            ("169.254.169.254", NonPublic),
            ("10.1.2.3", NonPublic),
            ("172.16.0.1", NonPublic),
            ("172.31.255.255", NonPublic),
            ("172.32.0.1", Public),
            ("192.168.1.1", NonPublic),
            ("100.64.0.1", NonPublic),
            ("100.127.255.255", NonPublic),
            ("100.128.0.1", Public),
            ("192.0.2.1", NonPublic),
            ("198.18.0.1", NonPublic),
            ("240.0.0.1", NonPublic),
            ("0.0.0.0", Never),
            ("0.1.2.3", Never),
            ("255.255.255.255", Never),
            ("224.0.0.1", Never),
            ("::", Never),
            ("ff02::1", Never),
            ("fe80::1", NonPublic),
            ("fd00::1", NonPublic),
            ("fc00::1", NonPublic),
            ("fec0::1", NonPublic),
            ("::ffff:127.0.0.1", NonPublic),
            ("::ffff:169.254.169.254", NonPublic),
            ("::ffff:8.8.8.8", NonPublic),
            ("::127.0.0.1", NonPublic),
            ("64:ff9b::a9fe:a9fe", NonPublic),
            ("64:ff9b::808:808", Public),
            ("2002:a9fe:a9fe::1", NonPublic),
            ("2002:808:808::1", Public),
            ("2001:db8::1", NonPublic),
            ("2001::1", NonPublic),
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001:80b::200e", Public),
        ] {
            assert_eq!(c(addr), want, "{addr}");
        }
    }

    #[test]
    fn localhost_names() {
        assert!(is_localhost_name("localhost"));
        assert!(is_localhost_name("LOCALHOST."));
        assert!(is_localhost_name("jwks.localhost"));
        assert!(!is_localhost_name("localhost.evil.example"));
        assert!(!is_localhost_name("notlocalhost"));
    }

    #[test]
    fn policy_switches() {
        let prod = AddressPolicy {
            allow_loopback: false,
            allow_private: false,
        };
        let loopback = AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        let dev = AddressPolicy {
            allow_loopback: true,
            allow_private: true,
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(prod.allows(ip("8.8.8.8")));
        assert!(!prod.allows(ip("127.0.0.1")));
        assert!(!prod.allows(ip("169.254.169.254")));
        assert!(loopback.allows(ip("127.0.0.1")));
        assert!(!loopback.allows(ip("169.254.169.254")));
        assert!(!loopback.allows(ip("10.0.0.1")));
        assert!(dev.allows(ip("169.254.169.254")));
        assert!(!dev.allows(ip("0.0.0.0")));
        assert!(!dev.allows(ip("224.0.0.1")));
    }
}
