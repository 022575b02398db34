//! The client's address: the peer's, or, behind a trusted reverse proxy, the one the proxy
//! forwards. It keys the sign-in rate limit and goes into the sign-in log lines.

use std::fmt;
use std::future::{Ready, ready};
use std::net::{IpAddr, SocketAddr};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use super::State;
use crate::config::TrustedProxies;

/// Hops of `X-Forwarded-For` looked at, from the right. No real chain of proxies is
/// longer; a longer header is taken as coming from the last hop looked at.
const MAX_HOPS: usize = 16;

/// The address of the client behind `peer`. A peer that is not a trusted proxy is the
/// client. A trusted one forwards the address it received the request from by appending
/// it to `X-Forwarded-For` (`forwarded_for`: the header's lines, in order), so the client
/// is the right-most address that is not itself a trusted proxy; everything to its left
/// was written by the client and is ignored. An entry that is not an address (`unknown`,
/// garbage) ends the walk at the last address known, and so does a chain of trusted
/// proxies only (then the left-most of them is the client).
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if trusted.is_empty() || !trusted.contains(client) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for.iter().flat_map(|line| line.split(',')).collect();
    for hop in hops.into_iter().rev().take(MAX_HOPS) {
        let Some(addr) = parse_hop(hop) else { break };
        client = addr;
        if !trusted.contains(addr) {
            break;
        }
    }
    client
}

/// One entry of `X-Forwarded-For`: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`) or in brackets, as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let addr = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(addr.to_canonical())
}

/// The client's address for this request (see [`client_address`]); the unspecified
/// address when the connection has none (never for TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// Finds the client's address of `req`, trusting the proxies the settings name.
    pub fn of(req: &HttpRequest) -> Self {
        let peer = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let Some(state) = req.app_data::<State>() else { return Self(peer.to_canonical()) };
        let trusted = &state.auth.trusted_proxies;
        if trusted.is_empty() {
            return Self(peer.to_canonical());
        }
        // A line that is not visible ASCII is kept as an entry that is no address, so it
        // ends the walk instead of being skipped.
        let lines: Vec<&str> =
            req.headers().get_all("x-forwarded-for").map(|v| v.to_str().unwrap_or("invalid")).collect();
        Self(client_address(peer, &lines, trusted))
    }
}

impl FromRequest for ClientAddr {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop_behind_a_trusted_peer() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1, fd00::/8").unwrap();
        let proxy = ip("10.0.0.2");
        for (lines, client) in [
            (vec![], "10.0.0.2"),
            (vec!["198.51.100.7"], "198.51.100.7"),
            (vec!["198.51.100.7, 10.1.1.1"], "198.51.100.7"),
            (vec!["198.51.100.7", "10.1.1.1"], "198.51.100.7"),
            // Whatever the client wrote is left of the address its proxy appended.
            (vec!["1.2.3.4, 203.0.113.5, 198.51.100.7"], "198.51.100.7"),
            (vec!["127.0.0.1, 198.51.100.7"], "198.51.100.7"),
            (vec!["198.51.100.7:4711"], "198.51.100.7"),
            (vec!["[2001:db8::7]:4711"], "2001:db8::7"),
            (vec!["[2001:db8::7]"], "2001:db8::7"),
            (vec![" 2001:db8::7 , fd00::1"], "2001:db8::7"),
            (vec!["::ffff:198.51.100.7"], "198.51.100.7"),
            // Only proxies: the left-most of them.
            (vec!["10.9.9.9, 10.1.1.1"], "10.9.9.9"),
            // Garbage ends the walk at the last address known.
            (vec!["198.51.100.7, unknown"], "10.0.0.2"),
            (vec!["198.51.100.7, unknown, 10.1.1.1"], "10.1.1.1"),
            (vec!["198.51.100.7,,10.1.1.1"], "10.1.1.1"),
            (vec!["invalid"], "10.0.0.2"),
        ] {
            assert_eq!(client_address(proxy, &lines, &trusted), ip(client), "{lines:?}");
        }
        assert_eq!(client_address(ip("::ffff:10.0.0.2"), &["198.51.100.7"], &trusted), ip("198.51.100.7"));
        let long = vec!["10.0.0.1"; 40].join(",");
        assert_eq!(client_address(proxy, &[&format!("198.51.100.7,{long}")], &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_addresses_from_anyone_else_are_ignored() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(client_address(ip("203.0.113.9"), &["198.51.100.7"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(ip("127.0.0.1"), &["198.51.100.7"], &TrustedProxies::default()), ip("127.0.0.1"));
        assert_eq!(client_address(ip("::ffff:203.0.113.9"), &[], &trusted), ip("203.0.113.9"));
    }
}
