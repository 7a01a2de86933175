//! Traffic-selector narrowing (RFC 7296 §2.9), several selectors per side (R-CONN-2 policy mode).

use super::config::TrafficSelector;

/// Responder side: every non-empty intersection of a peer selector with one of ours, in the peer's
/// order, without duplicates. Empty = nothing acceptable.
pub(crate) fn narrow(peer: &[TrafficSelector], ours: &[TrafficSelector]) -> Vec<TrafficSelector> {
    let mut out = Vec::new();
    for p in peer {
        for o in ours {
            if let Some(i) = p.intersect(o) {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
    }
    out
}

/// Initiator side: the responder may only narrow, so every returned selector must lie inside one
/// we proposed (RFC 7296 §2.9).
pub(crate) fn is_narrowing_of(reply: &[TrafficSelector], proposed: &[TrafficSelector]) -> bool {
    !reply.is_empty()
        && reply
            .iter()
            .all(|r| proposed.iter().any(|p| r.is_subset_of(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> TrafficSelector {
        let (a, l) = s.split_once('/').unwrap();
        TrafficSelector::cidr(a.parse().unwrap(), l.parse().unwrap()).unwrap()
    }

    #[test]
    fn narrows_several_cidrs_per_side() {
        // Peer proposes two /16s, we allow a /24 in the first and the whole second.
        let peer = [c("198.18.0.0/16"), c("198.19.0.0/16")];
        let ours = [c("198.18.7.0/24"), c("198.19.0.0/16"), c("203.0.113.0/24")];
        assert_eq!(
            narrow(&peer, &ours),
            vec![c("198.18.7.0/24"), c("198.19.0.0/16")]
        );
        assert!(narrow(&[c("10.0.0.0/8")], &ours).is_empty());
        assert!(is_narrowing_of(&[c("198.18.7.0/24")], &peer));
        assert!(!is_narrowing_of(&[c("203.0.113.0/24")], &peer));
        assert!(!is_narrowing_of(&[], &peer));
    }
}
