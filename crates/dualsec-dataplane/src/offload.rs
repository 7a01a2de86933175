//! TUN offloads (`IFF_VNET_HDR` + `TUNSETOFFLOAD` with `TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6`):
//! the kernel hands the outbound worker TCP super-packets of up to 64 KiB with one read, and
//! leaves checksums partial. This module finishes what the kernel left: it completes partial
//! checksums and cuts super-packets into MSS-sized segments (the software half of TSO), each a
//! complete IP packet ready for ESP.
//!
//! ```text
//! struct virtio_net_hdr {          // 10 octets, host byte order (legacy TUN)
//!     u8  flags;                   // 1 = NEEDS_CSUM
//!     u8  gso_type;                // 0 NONE, 1 TCPV4, 4 TCPV6, | 0x80 ECN
//!     u16 hdr_len;                 // (not trusted: recomputed from the headers)
//!     u16 gso_size;                // MSS
//!     u16 csum_start;              // where the checksum coverage starts
//!     u16 csum_offset;             // checksum field, relative to csum_start
//! };
//! ```

/// Length of `struct virtio_net_hdr`.
pub const VNET_HDR_LEN: usize = 10;

const NEEDS_CSUM: u8 = 1;
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const GSO_ECN: u8 = 0x80;

/// The parsed virtio-net header of a packet read from the TUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VnetHdr {
    /// NEEDS_CSUM etc.
    pub flags: u8,
    /// GSO type.
    pub gso_type: u8,
    /// Segment payload size (MSS).
    pub gso_size: u16,
    /// Checksum coverage start.
    pub csum_start: u16,
    /// Checksum field offset from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads the header from the first [`VNET_HDR_LEN`] octets.
    pub fn parse(b: &[u8]) -> Option<VnetHdr> {
        let b = b.get(..VNET_HDR_LEN)?;
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        })
    }
}

/// Why an offloaded packet could not be finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OffloadError {
    /// Header fields point outside the packet or disagree with the IP/TCP headers.
    #[error("inconsistent offload header")]
    Inconsistent,
    /// A GSO type we did not ask for (UDP, …).
    #[error("unsupported GSO type {0}")]
    Unsupported(u8),
}

/// One's-complement sum of `data` (RFC 1071) added to `initial`, folded to 16 bits.
pub fn csum_fold(data: &[u8], initial: u64) -> u16 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Completes a partial checksum (CHECKSUM_PARTIAL: the field holds the pseudo-header sum).
pub fn complete_csum(pkt: &mut [u8], start: usize, offset: usize) -> Result<(), OffloadError> {
    let at = start
        .checked_add(offset)
        .ok_or(OffloadError::Inconsistent)?;
    if at + 2 > pkt.len() || start > pkt.len() {
        return Err(OffloadError::Inconsistent);
    }
    let initial = u64::from(u16::from_be_bytes([pkt[at], pkt[at + 1]]));
    pkt[at] = 0;
    pkt[at + 1] = 0;
    let c = !csum_fold(&pkt[start..], initial);
    pkt[at..at + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

/// A TCP super-packet to be cut into segments.
#[derive(Debug, Clone, Copy)]
pub struct Segmenter {
    ip_len: usize,
    hdr_len: usize,
    mss: usize,
    v4: bool,
    payload_len: usize,
}

impl Segmenter {
    /// Checks `pkt` (starting at the IP header) against `vh`. `Ok(None)` means "not a GSO
    /// packet" (its partial checksum, if any, has been completed in place).
    pub fn new(vh: &VnetHdr, pkt: &mut [u8]) -> Result<Option<Segmenter>, OffloadError> {
        let gso = vh.gso_type & !GSO_ECN;
        if gso == GSO_NONE {
            if vh.flags & NEEDS_CSUM != 0 {
                complete_csum(pkt, usize::from(vh.csum_start), usize::from(vh.csum_offset))?;
            }
            return Ok(None);
        }
        let v4 = match gso {
            GSO_TCPV4 => true,
            GSO_TCPV6 => false,
            other => return Err(OffloadError::Unsupported(other)),
        };
        let ip_len = if v4 {
            let ihl = usize::from(pkt.first().ok_or(OffloadError::Inconsistent)? & 0x0f) * 4;
            if pkt.len() < 20 || ihl < 20 || pkt[9] != 6 {
                return Err(OffloadError::Inconsistent);
            }
            ihl
        } else {
            // No extension headers: the kernel's TSO path for plain TCP over IPv6.
            if pkt.len() < 40 || pkt[6] != 6 {
                return Err(OffloadError::Inconsistent);
            }
            40
        };
        if usize::from(vh.csum_start) != ip_len {
            return Err(OffloadError::Inconsistent);
        }
        let tcp_len = usize::from(pkt.get(ip_len + 12).ok_or(OffloadError::Inconsistent)? >> 4) * 4;
        let hdr_len = ip_len + tcp_len;
        let mss = usize::from(vh.gso_size);
        if tcp_len < 20 || hdr_len > pkt.len() || mss == 0 {
            return Err(OffloadError::Inconsistent);
        }
        Ok(Some(Segmenter {
            ip_len,
            hdr_len,
            mss,
            v4,
            payload_len: pkt.len() - hdr_len,
        }))
    }

    /// Number of segments.
    pub fn count(&self) -> usize {
        self.payload_len.div_ceil(self.mss).max(1)
    }

    /// Largest segment.
    pub fn max_segment_len(&self) -> usize {
        self.hdr_len + self.mss
    }

    /// Writes segment `i` of `pkt` into `dst` (at least [`max_segment_len`](Self::max_segment_len)
    /// octets) with lengths, IPv4 id and checksum, TCP sequence number, flags and checksum fixed.
    /// Returns its length.
    pub fn write_segment(&self, pkt: &[u8], i: usize, dst: &mut [u8]) -> usize {
        let off = i * self.mss;
        let len = self.mss.min(self.payload_len - off.min(self.payload_len));
        let total = self.hdr_len + len;
        let h = self.hdr_len;
        dst[..h].copy_from_slice(&pkt[..h]);
        dst[h..total].copy_from_slice(&pkt[h + off..h + off + len]);
        let ip = self.ip_len;
        if self.v4 {
            dst[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            let id = u16::from_be_bytes([pkt[4], pkt[5]]).wrapping_add(i as u16);
            dst[4..6].copy_from_slice(&id.to_be_bytes());
            dst[10] = 0;
            dst[11] = 0;
            let c = !csum_fold(&dst[..ip], 0);
            dst[10..12].copy_from_slice(&c.to_be_bytes());
        } else {
            dst[4..6].copy_from_slice(&((total - 40) as u16).to_be_bytes());
        }
        let seq = u32::from_be_bytes([pkt[ip + 4], pkt[ip + 5], pkt[ip + 6], pkt[ip + 7]])
            .wrapping_add(off as u32);
        dst[ip + 4..ip + 8].copy_from_slice(&seq.to_be_bytes());
        if i + 1 != self.count() {
            // FIN and PSH only on the last segment; CWR only on the first.
            dst[ip + 13] &= !0x09;
        }
        if i != 0 {
            dst[ip + 13] &= !0x80;
        }
        // Full TCP checksum over the pseudo-header (RFC 793 §3.1, RFC 8200 §8.1).
        dst[ip + 16] = 0;
        dst[ip + 17] = 0;
        let tcp_len = (total - ip) as u64;
        let pseudo = if self.v4 {
            csum_fold(&dst[12..20], 6 + tcp_len)
        } else {
            csum_fold(&dst[8..40], 6 + tcp_len)
        };
        let c = !csum_fold(&dst[ip..total], u64::from(pseudo));
        dst[ip + 16..ip + 18].copy_from_slice(&c.to_be_bytes());
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4/TCP packet 198.18.0.1:1000 → 198.19.0.1:5201 with `payload` and valid checksums.
    fn tcp4(payload: &[u8], flags: u8) -> Vec<u8> {
        let total = 20 + 20 + payload.len();
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[198, 18, 0, 1]);
        p[16..20].copy_from_slice(&[198, 19, 0, 1]);
        let c = !csum_fold(&p[..20], 0);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[20..22].copy_from_slice(&1000u16.to_be_bytes());
        p[22..24].copy_from_slice(&5201u16.to_be_bytes());
        p[24..28].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        p[32] = 5 << 4;
        p[33] = flags;
        p[40..].copy_from_slice(payload);
        p
    }

    fn tcp_csum_ok(p: &[u8]) -> bool {
        let tcp_len = (p.len() - 20) as u64;
        let pseudo = csum_fold(&p[12..20], 6 + tcp_len);
        csum_fold(&p[20..], u64::from(pseudo)) == 0xffff
    }

    #[test]
    fn checksum_rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2.
        assert_eq!(
            csum_fold(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            0xddf2
        );
        assert_eq!(csum_fold(&[0xff], 0), 0xff00);
    }

    #[test]
    fn partial_checksum_is_completed() {
        let mut p = tcp4(b"hello world", 0x18);
        // What the kernel leaves with CHECKSUM_PARTIAL: the pseudo-header sum in the field.
        let pseudo = csum_fold(&p[12..20], 6 + (p.len() - 20) as u64);
        p[36..38].copy_from_slice(&pseudo.to_be_bytes());
        let vh = VnetHdr {
            flags: NEEDS_CSUM,
            gso_type: GSO_NONE,
            gso_size: 0,
            csum_start: 20,
            csum_offset: 16,
        };
        assert!(Segmenter::new(&vh, &mut p).unwrap().is_none());
        assert!(tcp_csum_ok(&p));
    }

    #[test]
    fn tso_segments_are_valid_tcp_packets() {
        let payload: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
        let mut p = tcp4(&payload, 0x19); // FIN|PSH|ACK
        let vh = VnetHdr {
            flags: NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            gso_size: 1448,
            csum_start: 20,
            csum_offset: 16,
        };
        let s = Segmenter::new(&vh, &mut p).unwrap().unwrap();
        assert_eq!(s.count(), 3);
        let mut joined = Vec::new();
        for i in 0..3 {
            let mut dst = vec![0u8; s.max_segment_len()];
            let n = s.write_segment(&p, i, &mut dst);
            let seg = &dst[..n];
            assert_eq!(usize::from(u16::from_be_bytes([seg[2], seg[3]])), n);
            assert_eq!(
                csum_fold(&seg[..20], 0),
                0xffff,
                "IPv4 header checksum of segment {i}"
            );
            assert!(tcp_csum_ok(seg), "TCP checksum of segment {i}");
            let seq = u32::from_be_bytes([seg[24], seg[25], seg[26], seg[27]]);
            assert_eq!(seq, 0xffff_fff0u32.wrapping_add(1448 * i as u32));
            assert_eq!(u16::from_be_bytes([seg[4], seg[5]]), 0x1234 + i as u16);
            assert_eq!(seg[33], if i == 2 { 0x19 } else { 0x10 });
            joined.extend_from_slice(&seg[40..]);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn tso_over_ipv6_segments_rfc8200_s8_1() {
        let payload: Vec<u8> = (0..3000u32).map(|i| (i * 3) as u8).collect();
        let mut p = vec![0u8; 40 + 20 + payload.len()];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        p[6] = 6;
        p[7] = 64;
        p[8..24].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p[24..40].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p[40 + 12] = 5 << 4;
        p[40 + 13] = 0x18;
        p[60..].copy_from_slice(&payload);
        let vh = VnetHdr {
            flags: NEEDS_CSUM,
            gso_type: GSO_TCPV6,
            gso_size: 1200,
            csum_start: 40,
            csum_offset: 16,
        };
        let s = Segmenter::new(&vh, &mut p).unwrap().unwrap();
        assert_eq!(s.count(), 3);
        let mut joined = Vec::new();
        for i in 0..3 {
            let mut dst = vec![0u8; s.max_segment_len()];
            let n = s.write_segment(&p, i, &mut dst);
            let seg = &dst[..n];
            assert_eq!(usize::from(u16::from_be_bytes([seg[4], seg[5]])), n - 40);
            let pseudo = csum_fold(&seg[8..40], 6 + (n - 40) as u64);
            assert_eq!(
                csum_fold(&seg[40..], u64::from(pseudo)),
                0xffff,
                "segment {i}"
            );
            joined.extend_from_slice(&seg[60..]);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn inconsistent_headers_are_refused() {
        let mut p = tcp4(b"x", 0x10);
        let vh = VnetHdr {
            flags: NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            gso_size: 0,
            csum_start: 20,
            csum_offset: 16,
        };
        assert_eq!(
            Segmenter::new(&vh, &mut p).unwrap_err(),
            OffloadError::Inconsistent
        );
        let vh = VnetHdr {
            flags: 0,
            gso_type: 3,
            gso_size: 100,
            csum_start: 20,
            csum_offset: 6,
        };
        assert_eq!(
            Segmenter::new(&vh, &mut p).unwrap_err(),
            OffloadError::Unsupported(3)
        );
        let vh = VnetHdr {
            flags: NEEDS_CSUM,
            gso_type: GSO_NONE,
            gso_size: 0,
            csum_start: 60,
            csum_offset: 16,
        };
        assert_eq!(
            Segmenter::new(&vh, &mut p).unwrap_err(),
            OffloadError::Inconsistent
        );
        for len in 0..p.len() {
            let vh = VnetHdr {
                flags: NEEDS_CSUM,
                gso_type: GSO_TCPV4,
                gso_size: 100,
                csum_start: 20,
                csum_offset: 16,
            };
            let _ = Segmenter::new(&vh, &mut p[..len].to_vec());
        }
    }
}
