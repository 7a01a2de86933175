//! Every system call of the data plane, and all of the workspace's `unsafe` code.
//!
//! * TUN: raw `/dev/net/tun` + `TUNSETIFF` rather than the `tun-rs` crate. We need exactly one
//!   ioctl and non-blocking read/write on the fd; a direct call keeps the unsafe surface to a few
//!   reviewed lines, has no async runtime attached, and leaves room for `IFF_VNET_HDR` (GSO) and
//!   `IFF_MULTI_QUEUE` (one queue per worker) later without waiting on a wrapper.
//! * `recvmmsg`/`sendmmsg` over preallocated `mmsghdr`/`iovec`/`sockaddr_storage` arrays: one
//!   system call per batch, no allocation per packet.
//! * `poll`, `eventfd` (to wake a worker for control commands) and `setns` (to build a data plane
//!   inside a network namespace).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// A layer-3 TUN device (`IFF_TUN | IFF_NO_PI`): each read or write is one IP packet.
#[derive(Debug)]
pub struct Tun {
    fd: OwnedFd,
    name: String,
}

impl Tun {
    /// Creates (or attaches to) the TUN interface `name` in the calling thread's network
    /// namespace. The fd is non-blocking. Bringing it up and addressing it is the caller's job.
    ///
    /// With `offload`, every read and write carries a 10-octet `virtio_net_hdr` and the kernel
    /// may hand over TCP super-packets with partial checksums (`TUN_F_CSUM | TUN_F_TSO4 |
    /// TUN_F_TSO6`); [`crate::offload`] finishes them.
    pub fn create(name: &str, offload: bool) -> io::Result<Tun> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', ' ', '\0']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad interface name {name:?}"),
            ));
        }
        // SAFETY: the path is a NUL-terminated literal; the return value is checked.
        let fd = cvt(unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: `fd` was just returned by open() and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: ifreq is plain old data; all-zero is a valid value.
        let mut ifr: libc::ifreq = unsafe { zeroed() };
        for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        let vnet = if offload { libc::IFF_VNET_HDR } else { 0 };
        ifr.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI | vnet) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `ifr` is.
        cvt(unsafe {
            libc::ioctl(
                fd.as_raw_fd(),
                libc::TUNSETIFF as _,
                &mut ifr as *mut libc::ifreq,
            )
        })?;
        if offload {
            let features = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
            // SAFETY: TUNSETOFFLOAD takes its argument by value.
            cvt(unsafe {
                libc::ioctl(
                    fd.as_raw_fd(),
                    libc::TUNSETOFFLOAD as _,
                    features as libc::c_ulong,
                )
            })?;
        }
        let name = ifr
            .ifr_name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8 as char)
            .collect();
        Ok(Tun { fd, name })
    }

    /// The interface name the kernel gave.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads one packet; `WouldBlock` when none is queued.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        cvt_size(unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }

    /// Writes one packet.
    pub fn write(&self, pkt: &[u8]) -> io::Result<usize> {
        // SAFETY: `pkt` is valid for reads of `pkt.len()` bytes.
        cvt_size(unsafe { libc::write(self.fd.as_raw_fd(), pkt.as_ptr().cast(), pkt.len()) })
    }
}

impl AsRawFd for Tun {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// An eventfd used to wake a worker out of `poll` when a control command is queued.
#[derive(Debug)]
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    /// A new non-blocking eventfd.
    pub fn new() -> io::Result<Waker> {
        // SAFETY: plain syscall, result checked.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: fresh fd owned by nobody else.
        Ok(Waker {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Wakes the worker polling this fd.
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local u64. A full counter (EAGAIN) still leaves it readable.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Clears pending wakeups.
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a local u64.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }
}

impl AsRawFd for Waker {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Turns on UDP GRO (Linux ≥ 5.0): the kernel may coalesce datagrams of one flow; each
/// receive then reports the segment size in a `UDP_GRO` control message.
pub fn enable_udp_gro(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: passes a pointer to a local int of the stated size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Waits until one of `fds` is readable or `timeout_ms` passes; sets `readable[i]`.
pub fn poll_readable(fds: &[RawFd], readable: &mut [bool], timeout_ms: i32) -> io::Result<()> {
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; 64];
    let n = fds.len().min(pfds.len());
    for (p, &fd) in pfds.iter_mut().zip(fds) {
        *p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
    }
    // SAFETY: `pfds[..n]` is a valid array of pollfd.
    let r = unsafe { libc::poll(pfds.as_mut_ptr(), n as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    for (flag, p) in readable.iter_mut().zip(&pfds[..n]) {
        *flag = p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
    }
    Ok(())
}

fn to_storage(addr: &SocketAddr, out: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((out as *mut libc::sockaddr_storage).cast(), sin) };
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((out as *mut libc::sockaddr_storage).cast(), sin6) };
            size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// The meaningful bytes of a sockaddr_storage filled by `to_storage` (for equality tests).
fn addr_bytes(s: &libc::sockaddr_storage) -> [u8; 28] {
    let mut out = [0u8; 28];
    // SAFETY: sockaddr_storage is at least 128 bytes; we read its first 28 as bytes.
    let raw = unsafe {
        std::slice::from_raw_parts((s as *const libc::sockaddr_storage).cast::<u8>(), 28)
    };
    out.copy_from_slice(raw);
    out
}

fn from_storage(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin: &libc::sockaddr_in = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let sin6: &libc::sockaddr_in6 =
                unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Preallocated buffers and headers for `recvmmsg`/`sendmmsg`: `slots` buffers of `stride`
/// bytes each, in one allocation.
pub struct Batch {
    stride: usize,
    buf: Vec<u8>,
    lens: Vec<usize>,
    /// For receive: the sender. For send: the destination.
    addrs: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// Byte range of the datagram within each slot (send side).
    ranges: Vec<(usize, usize)>,
    /// The datagram did not fit its slot (receive side, MSG_TRUNC).
    truncated: Vec<bool>,
    /// Control buffers (receive side: the UDP_GRO segment size).
    ctrl: Vec<[u64; 4]>,
    /// Segment size of a GRO-coalesced receive, 0 if none.
    gro: Vec<u16>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("slots", &self.lens.len())
            .field("stride", &self.stride)
            .finish()
    }
}

impl Batch {
    /// `slots` buffers of `stride` bytes.
    pub fn new(slots: usize, stride: usize) -> Batch {
        // SAFETY: these C structs are plain old data; all-zero is valid for each.
        let (addr, iov, hdr) = unsafe {
            (
                zeroed::<libc::sockaddr_storage>(),
                zeroed::<libc::iovec>(),
                zeroed::<libc::mmsghdr>(),
            )
        };
        Batch {
            stride,
            buf: vec![0; slots * stride],
            lens: vec![0; slots],
            addrs: vec![addr; slots],
            iovs: vec![iov; slots],
            hdrs: vec![hdr; slots],
            ranges: vec![(0, 0); slots],
            truncated: vec![false; slots],
            ctrl: vec![[0; 4]; slots],
            gro: vec![0; slots],
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.lens.len()
    }

    /// The whole buffer of slot `i`.
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.buf[i * self.stride..(i + 1) * self.stride]
    }

    /// The received datagram in slot `i` (after [`Batch::recv`]).
    pub fn received_mut(&mut self, i: usize) -> &mut [u8] {
        let len = self.lens[i].min(self.stride);
        &mut self.buf[i * self.stride..i * self.stride + len]
    }

    /// With UDP GRO: the size of the coalesced datagrams in slot `i` (the last may be shorter).
    pub fn gro_size(&self, i: usize) -> Option<usize> {
        (self.gro[i] != 0).then_some(usize::from(self.gro[i]))
    }

    /// Whether the datagram in slot `i` was longer than the slot and got cut.
    pub fn was_truncated(&self, i: usize) -> bool {
        self.truncated[i]
    }

    /// Sender of the datagram in slot `i`.
    pub fn peer(&self, i: usize) -> Option<SocketAddr> {
        from_storage(&self.addrs[i])
    }

    /// Receives up to `slots` datagrams without blocking; returns how many (0 when none).
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let base = self.buf.as_mut_ptr();
        for i in 0..self.slots() {
            // SAFETY: i * stride is within `buf` (slots * stride bytes).
            self.iovs[i] = libc::iovec {
                iov_base: unsafe { base.add(i * self.stride) }.cast(),
                iov_len: self.stride,
            };
            let h = &mut self.hdrs[i];
            h.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = self.ctrl[i].as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = size_of::<[u64; 4]>() as _;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        // SAFETY: every header points at live buffers of the stated sizes owned by `self`, which
        // is borrowed mutably for the duration of the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                self.slots() as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        match cvt(r) {
            Ok(n) => {
                let n = n as usize;
                for i in 0..n {
                    self.lens[i] = self.hdrs[i].msg_len as usize;
                    self.truncated[i] = self.hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
                    self.gro[i] = 0;
                    let h = &self.hdrs[i].msg_hdr;
                    // SAFETY: the kernel filled msg_control/msg_controllen of this header; the
                    // CMSG_* macros walk within that buffer.
                    unsafe {
                        let mut c = libc::CMSG_FIRSTHDR(h);
                        while !c.is_null() {
                            if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == libc::UDP_GRO {
                                let v = std::ptr::read_unaligned(
                                    libc::CMSG_DATA(c).cast::<libc::c_int>(),
                                );
                                self.gro[i] = u16::try_from(v).unwrap_or(0);
                            }
                            c = libc::CMSG_NXTHDR(h, c);
                        }
                    }
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Length of the datagram marked for sending in slot `i`.
    pub fn send_len(&self, i: usize) -> usize {
        let (s, e) = self.ranges[i];
        e - s
    }

    /// Marks slot `i` for sending bytes `range` of it to `dst`.
    pub fn set_send(&mut self, i: usize, range: std::ops::Range<usize>, dst: &SocketAddr) {
        self.ranges[i] = (range.start, range.end.min(self.stride));
        let len = to_storage(dst, &mut self.addrs[i]);
        self.hdrs[i].msg_hdr.msg_namelen = len;
    }

    /// Like [`send`](Self::send), but runs of equal-sized datagrams to the same destination go
    /// out as one UDP GSO message (`UDP_SEGMENT`, Linux ≥ 4.18): the slots' ranges become the
    /// iovecs of one `msghdr` and the kernel cuts the super-datagram at the segment size, so the
    /// UDP/IP stack runs once per run instead of once per packet. Returns (sent, first error).
    pub fn send_gso(&mut self, fd: RawFd, which: &[usize]) -> (usize, Option<io::Error>) {
        const MAX_SEGS: usize = 64;
        const MAX_BYTES: usize = 65_000;
        let base = self.buf.as_mut_ptr();
        // Iovecs in `which` order so that each message's are contiguous.
        let mut iovs: [libc::iovec; 64] =
            // SAFETY: plain old data.
            unsafe { zeroed() };
        let mut hdrs: [libc::mmsghdr; 64] =
            // SAFETY: plain old data.
            unsafe { zeroed() };
        // One control buffer per message: cmsghdr + u16, 8-aligned.
        let mut cmsgs = [[0u64; 4]; 64];
        // Segments per message, to count what was sent.
        let mut segs = [0usize; 64];
        let mut sent = 0;
        for chunk in which.chunks(iovs.len()) {
            let mut nmsg = 0;
            let mut k = 0;
            while k < chunk.len() {
                let first = chunk[k];
                let (s, e) = self.ranges[first];
                let seg_len = e - s;
                // Extend the run: same destination, same length (the last may be shorter).
                let mut n = 1;
                let mut bytes = seg_len;
                while k + n < chunk.len() && n < MAX_SEGS {
                    let j = chunk[k + n];
                    let (js, je) = self.ranges[j];
                    let len = je - js;
                    let same_dst = self.hdrs[j].msg_hdr.msg_namelen
                        == self.hdrs[first].msg_hdr.msg_namelen
                        && addr_bytes(&self.addrs[j]) == addr_bytes(&self.addrs[first]);
                    if !same_dst || len > seg_len || bytes + len > MAX_BYTES {
                        break;
                    }
                    n += 1;
                    bytes += len;
                    if len < seg_len {
                        break;
                    }
                }
                for (m, &i) in chunk[k..k + n].iter().enumerate() {
                    let (s, e) = self.ranges[i];
                    // SAFETY: s <= e <= stride: the range lies within slot i of `buf`.
                    iovs[k + m] = libc::iovec {
                        iov_base: unsafe { base.add(i * self.stride + s) }.cast(),
                        iov_len: e - s,
                    };
                }
                let h = &mut hdrs[nmsg];
                h.msg_hdr.msg_name = (&mut self.addrs[first] as *mut libc::sockaddr_storage).cast();
                h.msg_hdr.msg_namelen = self.hdrs[first].msg_hdr.msg_namelen;
                h.msg_hdr.msg_iov = &mut iovs[k];
                h.msg_hdr.msg_iovlen = n as _;
                h.msg_hdr.msg_flags = 0;
                h.msg_len = 0;
                if n > 1 {
                    let buf = &mut cmsgs[nmsg];
                    h.msg_hdr.msg_control = buf.as_mut_ptr().cast();
                    // SAFETY: CMSG_SPACE is a pure size computation.
                    h.msg_hdr.msg_controllen = unsafe { libc::CMSG_SPACE(2) } as _;
                    // SAFETY: the control buffer is 32 aligned bytes, more than CMSG_SPACE(2);
                    // CMSG_FIRSTHDR/CMSG_DATA point inside it.
                    unsafe {
                        let c = libc::CMSG_FIRSTHDR(&h.msg_hdr);
                        (*c).cmsg_level = libc::SOL_UDP;
                        (*c).cmsg_type = libc::UDP_SEGMENT;
                        (*c).cmsg_len = libc::CMSG_LEN(2) as _;
                        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), seg_len as u16);
                    }
                } else {
                    h.msg_hdr.msg_control = std::ptr::null_mut();
                    h.msg_hdr.msg_controllen = 0;
                }
                segs[nmsg] = n;
                nmsg += 1;
                k += n;
            }
            let mut off = 0;
            while off < nmsg {
                // SAFETY: hdrs[off..nmsg] point at live iovecs, addresses, control buffers and
                // slot bytes, all borrowed for the duration of the call.
                let r = unsafe {
                    libc::sendmmsg(
                        fd,
                        hdrs.as_mut_ptr().add(off),
                        (nmsg - off) as libc::c_uint,
                        0,
                    )
                };
                match cvt(r) {
                    Ok(0) => break,
                    Ok(m) => {
                        sent += segs[off..off + m as usize].iter().sum::<usize>();
                        off += m as usize;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        off += 1;
                        if off >= nmsg {
                            return (sent, Some(e));
                        }
                    }
                }
            }
        }
        (sent, None)
    }

    /// Sends the marked datagrams of slots `which` (in order) with as few `sendmmsg` calls as
    /// the kernel allows. Returns (sent, first error).
    pub fn send(&mut self, fd: RawFd, which: &[usize]) -> (usize, Option<io::Error>) {
        let base = self.buf.as_mut_ptr();
        // Pack the headers of the selected slots at the front of `hdrs` in order, using the
        // per-slot iovec and address storage.
        let mut hdrs: [libc::mmsghdr; 64] =
            // SAFETY: plain old data.
            unsafe { zeroed() };
        let mut sent = 0;
        for chunk in which.chunks(hdrs.len()) {
            for (h, &i) in hdrs.iter_mut().zip(chunk) {
                let (s, e) = self.ranges[i];
                // SAFETY: s <= e <= stride, so the range lies within slot i of `buf`.
                self.iovs[i] = libc::iovec {
                    iov_base: unsafe { base.add(i * self.stride + s) }.cast(),
                    iov_len: e - s,
                };
                h.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
                h.msg_hdr.msg_namelen = self.hdrs[i].msg_hdr.msg_namelen;
                h.msg_hdr.msg_iov = &mut self.iovs[i];
                h.msg_hdr.msg_iovlen = 1;
                h.msg_hdr.msg_control = std::ptr::null_mut();
                h.msg_hdr.msg_controllen = 0;
                h.msg_hdr.msg_flags = 0;
                h.msg_len = 0;
            }
            let mut off = 0;
            while off < chunk.len() {
                // SAFETY: hdrs[off..chunk.len()] point at live buffers owned by `self`.
                let r = unsafe {
                    libc::sendmmsg(
                        fd,
                        hdrs.as_mut_ptr().add(off),
                        (chunk.len() - off) as libc::c_uint,
                        0,
                    )
                };
                match cvt(r) {
                    Ok(0) => break,
                    Ok(n) => {
                        off += n as usize;
                        sent += n as usize;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // Skip the datagram that failed (e.g. no route) and go on with the rest.
                        off += 1;
                        if off >= chunk.len() {
                            return (sent, Some(e));
                        }
                    }
                }
            }
        }
        (sent, None)
    }
}

/// Runs `f` on a new thread that has entered the network namespace at `ns_path` (e.g.
/// `/run/netns/NAME`); sockets and TUN devices it creates live in that namespace, and threads it
/// spawns start there. The calling thread's namespace is untouched.
pub fn in_netns<T: Send + 'static>(
    ns_path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let file = std::fs::File::open(ns_path)?;
    std::thread::spawn(move || {
        // SAFETY: plain syscall on an fd we own; only this thread's namespace changes.
        cvt(unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) })?;
        Ok(f())
    })
    .join()
    .map_err(|_| io::Error::other("netns thread panicked"))?
}
