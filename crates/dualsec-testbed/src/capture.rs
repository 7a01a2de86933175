//! Packet capture (tcpdump, immediate mode) and dissection with `tshark -r`.
//!
//! tcpdump rather than dumpcap: with immediate mode and packet-buffered output every packet is
//! in the file when the capture stops (dumpcap lost the last packets of a block on SIGINT here).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
use crate::netns::{Netns, run_host};
use crate::process::{Process, wait_until};

/// A running capture on one interface of a namespace, written to a pcapng file.
#[derive(Debug)]
pub struct Capture {
    process: Process,
    file: PathBuf,
}

impl Capture {
    /// Starts capturing on `iface` in `ns` with capture `filter` (BPF syntax, `""` for all), and
    /// waits until tcpdump reports that it is listening.
    pub fn start(ns: &Netns, iface: &str, filter: &str) -> Result<Self> {
        let file = ns.dir().join(format!("{iface}.pcap"));
        let f = file.to_string_lossy().into_owned();
        let mut args = vec![
            "-n",
            "-i",
            iface,
            "-s",
            "0",
            "--immediate-mode",
            "-U",
            "-w",
            f.as_str(),
        ];
        if !filter.is_empty() {
            args.push(filter);
        }
        let mut process = ns.spawn(&format!("tcpdump-{iface}"), "tcpdump", args)?;
        wait_until("tcpdump to start capturing", Duration::from_secs(5), || {
            process.stderr().contains("listening on")
        })?;
        process.ensure_running()?;
        Ok(Self { process, file })
    }

    /// Stops the capture (SIGINT so tcpdump flushes) and returns the pcap path.
    pub fn stop(mut self) -> Result<PathBuf> {
        self.process.signal("INT")?;
        self.process.wait_timeout(Duration::from_secs(5))?;
        Ok(self.file.clone())
    }
}

/// What `tshark` saw in a capture file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureSummary {
    /// Frames in the file.
    pub frames: u64,
    /// Frames with an IKE (ISAKMP) layer.
    pub ike: u64,
    /// Frames with an ESP layer (including ESP in UDP).
    pub esp: u64,
    /// NAT-keepalives (RFC 3948 §2.3, one 0xFF octet on UDP 4500).
    pub keepalive: u64,
    /// UDP frames to or from port 500.
    pub udp500: u64,
    /// UDP frames to or from port 4500.
    pub udp4500: u64,
    /// Frames that tshark marks malformed or with an expert error, as `tshark` one-line
    /// summaries. An empty list is what interop tests assert.
    pub malformed: Vec<String>,
}

/// Dissects `pcap` with tshark and counts IKE/ESP frames and malformed packets.
///
/// Malformed means: tshark marks the frame malformed or raises an expert error, or a UDP 500/4500
/// payload that is neither IKE, ESP nor a NAT-keepalive (tshark's IKE dissector declines short
/// garbage and shows it as plain data, which would otherwise pass silently).
pub fn analyze(pcap: &Path) -> Result<CaptureSummary> {
    let file = pcap.to_string_lossy().into_owned();
    let fields = run_host(
        "tshark",
        [
            "-n",
            "-r",
            file.as_str(),
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.protocols",
            "-e",
            "udp.port",
        ],
    )?;
    let mut s = CaptureSummary::default();
    for line in fields.lines() {
        let mut cols = line.split('\t');
        let (number, protocols, ports) = (
            cols.next().unwrap_or_default(),
            cols.next().unwrap_or_default(),
            cols.next().unwrap_or_default(),
        );
        s.frames += 1;
        let layers: Vec<&str> = protocols.split(':').collect();
        if layers.contains(&"isakmp") {
            s.ike += 1;
        }
        if layers.contains(&"esp") {
            s.esp += 1;
        }
        if layers.last() == Some(&"udpencap") {
            s.keepalive += 1;
        }
        let ports: Vec<&str> = ports.split(',').collect();
        let ike_port = ports.contains(&"500") || ports.contains(&"4500");
        if ports.contains(&"500") {
            s.udp500 += 1;
        }
        if ports.contains(&"4500") {
            s.udp4500 += 1;
        }
        if ike_port && layers.last() == Some(&"data") {
            s.malformed.push(format!(
                "frame {number}: UDP {} payload is not IKE, ESP or a NAT-keepalive",
                ports.join("->")
            ));
        }
    }
    let bad = run_host(
        "tshark",
        [
            "-n",
            "-r",
            file.as_str(),
            "-Y",
            "_ws.malformed || _ws.expert.severity >= \"error\"",
        ],
    )?;
    s.malformed.extend(
        bad.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_owned()),
    );
    Ok(s)
}

/// Full text dissection (`tshark -V`) of frames matching `display_filter`, for debugging.
pub fn dissect(pcap: &Path, display_filter: &str) -> Result<String> {
    let file = pcap.to_string_lossy().into_owned();
    run_host(
        "tshark",
        ["-n", "-r", file.as_str(), "-V", "-Y", display_filter],
    )
}
