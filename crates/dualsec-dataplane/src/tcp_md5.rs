//! TCP MD5 signatures (RFC 2385) for the tunnels' BGP sessions: the `TCP_MD5SIG` socket option.
//!
//! The kernel signs every segment to `peer` with the key and drops every segment from `peer`
//! whose signature is missing or wrong (silently: a mismatch looks like a peer that does not
//! answer). The key must be on the socket before `connect()` (the SYN is signed) or, for a
//! listening socket, before the peer's SYN arrives.

use std::io;
use std::mem::size_of;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd};

/// Longest key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` of `linux/tcp.h` (libc does not define it).
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

/// Sets (`Some(key)`) or removes (`None`) the RFC 2385 key for segments to and from `peer` on
/// `socket` (a TCP socket: `&TcpStream`, `&TcpListener`, `&socket2::Socket`, …).
///
/// Removing a key that is not set is not an error. A key longer than [`MAX_KEY_LEN`] or an
/// empty key is refused with [`io::ErrorKind::InvalidInput`] (an empty key would mean "remove"
/// to the kernel, which is not what the caller asked for).
pub fn set_md5sig(socket: &impl AsFd, peer: Ipv4Addr, key: Option<&[u8]>) -> io::Result<()> {
    if key.is_some_and(<[u8]>::is_empty) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP MD5 key is empty (pass None to remove the key)",
        ));
    }
    let key = key.unwrap_or_default();
    if key.len() > MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TCP MD5 key is {} bytes, at most {MAX_KEY_LEN} are allowed (RFC 2385 keys on Linux)",
                key.len()
            ),
        ));
    }
    let removing = key.is_empty();
    // SAFETY: all-zero bytes are a valid sockaddr_storage.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(peer).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_storage is larger than and suitably aligned for sockaddr_in.
    unsafe { std::ptr::write((&mut addr as *mut libc::sockaddr_storage).cast(), sin) };
    let mut sig = TcpMd5Sig {
        addr,
        flags: 0,
        prefixlen: 0,
        // ≤ 80, checked above.
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MAX_KEY_LEN],
    };
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: passes a pointer to a local struct of the stated size, laid out as the kernel's.
    let r = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&sig as *const TcpMd5Sig).cast(),
            size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if removing && e.raw_os_error() == Some(libc::ENOENT) {
        return Ok(()); // no key for this peer: already removed
    }
    Err(e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::Duration;

    use socket2::{Domain, Protocol, Socket, Type};

    use super::*;

    const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

    fn tcp() -> Socket {
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap()
    }

    /// A listener on 127.0.0.1 that requires `key` from 127.0.0.1.
    fn listener(key: &[u8]) -> (TcpListener, SocketAddr) {
        let l = TcpListener::bind((LO, 0)).unwrap();
        set_md5sig(&l, LO, Some(key)).unwrap();
        let a = l.local_addr().unwrap();
        (l, a)
    }

    fn connect(key: Option<&[u8]>, to: SocketAddr) -> io::Result<TcpStream> {
        let s = tcp();
        set_md5sig(&s, LO, key)?;
        s.connect_timeout(&to.into(), Duration::from_millis(400))?;
        Ok(s.into())
    }

    #[test]
    fn set_replace_and_clear_a_key() {
        let s = tcp();
        set_md5sig(&s, LO, Some(b"first")).unwrap();
        set_md5sig(&s, LO, Some(&[0x5a; MAX_KEY_LEN])).unwrap();
        set_md5sig(&s, LO, None).unwrap();
        // Clearing again (no key set) is fine: the caller wants "no key".
        set_md5sig(&s, LO, None).unwrap();
    }

    #[test]
    fn key_longer_than_80_bytes_or_empty_is_refused() {
        let s = tcp();
        let e = set_md5sig(&s, LO, Some(&[1; MAX_KEY_LEN + 1])).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("81 bytes"), "{e}");
        let e = set_md5sig(&s, LO, Some(b"")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_udp_socket_is_refused_by_the_kernel() {
        let s = std::net::UdpSocket::bind((LO, 0)).unwrap();
        assert!(set_md5sig(&s, LO, Some(b"k")).is_err());
    }

    /// RFC 2385 §2: with the same key on both ends the connection carries data.
    #[test]
    fn rfc2385_matching_keys_connect_and_carry_data() {
        let (l, addr) = listener(b"s3cret-bgp");
        let mut c = connect(Some(b"s3cret-bgp"), addr).unwrap();
        let (mut a, _) = l.accept().unwrap();
        c.write_all(b"OPEN").unwrap();
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"OPEN");
    }

    /// RFC 2385 §2.0: segments with a wrong or missing signature are dropped, so the SYN is
    /// never answered and connect() times out (no RST either).
    #[test]
    fn rfc2385_wrong_or_missing_key_gets_no_answer() {
        let (_l, addr) = listener(b"s3cret-bgp");
        let e = connect(Some(b"wrong"), addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        let e = connect(None, addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    }

    /// A key set and then cleared before connect() leaves an unsigned connection, which a
    /// listener without a key accepts.
    #[test]
    fn cleared_key_gives_an_unsigned_connection() {
        let l = TcpListener::bind((LO, 0)).unwrap();
        let addr = l.local_addr().unwrap();
        let s = tcp();
        set_md5sig(&s, LO, Some(b"k")).unwrap();
        set_md5sig(&s, LO, None).unwrap();
        s.connect_timeout(&addr.into(), Duration::from_millis(400))
            .unwrap();
        l.accept().unwrap();
    }
}
