//! Traffic generators and meters: ping, iperf3, and a sequence-numbered UDP stream.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::process::Process;

/// Result of [`ping`].
#[derive(Clone, Debug, PartialEq)]
pub struct PingReport {
    /// Echo requests sent.
    pub transmitted: u32,
    /// Echo replies received.
    pub received: u32,
    /// Round-trip time of each reply.
    pub rtts: Vec<Duration>,
}

impl PingReport {
    /// Fraction of requests without reply (0.0 ..= 1.0).
    pub fn loss(&self) -> f64 {
        if self.transmitted == 0 {
            return 1.0;
        }
        1.0 - f64::from(self.received) / f64::from(self.transmitted)
    }
}

/// Pings `dst` from inside `ns`: `count` requests every `interval`, one second to wait for the
/// last reply. Loss is reported, not an error.
pub fn ping(ns: &Netns, dst: &str, count: u32, interval: Duration) -> Result<PingReport> {
    ping_args(ns, &[], dst, count, interval)
}

/// Like [`ping`], from source address `source` (`ping -I`), e.g. to test one uplink.
pub fn ping_from(
    ns: &Netns,
    source: &str,
    dst: &str,
    count: u32,
    interval: Duration,
) -> Result<PingReport> {
    ping_args(ns, &["-I", source], dst, count, interval)
}

fn ping_args(
    ns: &Netns,
    extra: &[&str],
    dst: &str,
    count: u32,
    interval: Duration,
) -> Result<PingReport> {
    let count = count.to_string();
    let interval = format!("{:.3}", interval.as_secs_f64());
    let mut args = vec!["-n", "-c", &count, "-i", &interval, "-W", "1"];
    args.extend_from_slice(extra);
    args.push(dst);
    let out = ns.exec_output("ping", &args)?;
    parse_ping(&String::from_utf8_lossy(&out.stdout))
}

/// Parses iputils ping output.
pub fn parse_ping(text: &str) -> Result<PingReport> {
    let mut rtts = Vec::new();
    let mut summary = None;
    for line in text.lines() {
        if let Some(t) = line.split("time=").nth(1) {
            let ms: f64 = t
                .trim_end_matches(" ms")
                .trim()
                .parse()
                .map_err(|_| Error::Parse {
                    tool: "ping",
                    detail: format!("bad rtt in {line:?}"),
                })?;
            rtts.push(Duration::from_secs_f64(ms / 1000.0));
        } else if line.contains("packets transmitted") {
            let mut nums = line
                .split(',')
                .filter_map(|p| p.split_whitespace().next()?.parse::<u32>().ok());
            summary = nums.next().zip(nums.next());
        }
    }
    let (transmitted, received) = summary.ok_or_else(|| Error::Parse {
        tool: "ping",
        detail: format!("no summary line in {text:?}"),
    })?;
    Ok(PingReport {
        transmitted,
        received,
        rtts,
    })
}

/// An `iperf3 -s` server (one test, then exit) inside a namespace.
#[derive(Debug)]
pub struct Iperf3Server {
    process: Process,
    port: u16,
}

impl Iperf3Server {
    /// Starts the server on `port` and waits until it listens.
    pub fn start(ns: &Netns, port: u16) -> Result<Self> {
        let mut process = ns.spawn(
            &format!("iperf3-server-{port}"),
            "iperf3",
            ["-s", "-1", "--forceflush", "-p", &port.to_string()],
        )?;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !process.stdout().contains("listening") {
            process.ensure_running()?;
            if std::time::Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "iperf3 server to listen".into(),
                    after: Duration::from_secs(5),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { process, port })
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server process.
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// Throughput measured by [`iperf3_client`].
#[derive(Clone, Debug, PartialEq)]
pub struct IperfReport {
    /// Sender-side rate, bits/s.
    pub sent_bps: f64,
    /// Receiver-side rate, bits/s (what actually arrived).
    pub received_bps: f64,
    /// TCP retransmissions (0 for UDP).
    pub retransmits: u64,
    /// The full JSON document from `iperf3 -J`.
    pub json: serde_json::Value,
}

/// Runs an iperf3 client in `ns` toward `server`:`port` for `seconds`; `extra` is appended to
/// the command line (e.g. `["-u", "-b", "100M"]` or `["-P", "4"]`).
pub fn iperf3_client(
    ns: &Netns,
    server: &str,
    port: u16,
    seconds: u32,
    extra: &[&str],
) -> Result<IperfReport> {
    let mut args = vec![
        "-c".to_owned(),
        server.to_owned(),
        "-p".to_owned(),
        port.to_string(),
        "-t".to_owned(),
        seconds.to_string(),
        "-J".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out = ns.exec_output("iperf3", &args)?;
    parse_iperf3(&String::from_utf8_lossy(&out.stdout))
}

/// Parses `iperf3 -J` client output.
pub fn parse_iperf3(text: &str) -> Result<IperfReport> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Parse {
        tool: "iperf3",
        detail: e.to_string(),
    })?;
    if let Some(err) = json.get("error").and_then(serde_json::Value::as_str) {
        return Err(Error::Parse {
            tool: "iperf3",
            detail: format!("iperf3 reported: {err}"),
        });
    }
    let end = &json["end"];
    // TCP has sum_sent/sum_received; UDP has sum.
    let sent = end["sum_sent"]["bits_per_second"]
        .as_f64()
        .or_else(|| end["sum"]["bits_per_second"].as_f64());
    let received = end["sum_received"]["bits_per_second"]
        .as_f64()
        .or_else(|| end["sum"]["bits_per_second"].as_f64());
    let (Some(sent_bps), Some(received_bps)) = (sent, received) else {
        return Err(Error::Parse {
            tool: "iperf3",
            detail: "no end.sum_sent/sum_received bits_per_second".into(),
        });
    };
    Ok(IperfReport {
        sent_bps,
        received_bps,
        retransmits: end["sum_sent"]["retransmits"].as_u64().unwrap_or(0),
        json,
    })
}

const UDPSEQ: &str = include_str!("udpseq.py");

/// Receiving end of a sequence-numbered UDP stream (for outage measurement: the longest gap
/// between two arrivals is the outage). Pair with [`udp_stream_send`].
#[derive(Debug)]
pub struct UdpStreamReceiver {
    process: Process,
}

/// What the receiver saw.
#[derive(Clone, Debug, PartialEq)]
pub struct UdpStreamReport {
    /// Distinct sequence numbers received.
    pub received: u64,
    /// Highest sequence number received (`None` if nothing arrived).
    pub max_seq: Option<u64>,
    /// Sequence numbers up to `max_seq` never received.
    pub lost: u64,
    /// Duplicate arrivals.
    pub duplicates: u64,
    /// Arrivals with a sequence number below one already seen.
    pub reordered: u64,
    /// Longest time between two consecutive arrivals.
    pub max_gap: Duration,
    /// Every inter-arrival gap at least the threshold given to the receiver:
    /// (last sequence before, first sequence after, length).
    pub gaps: Vec<(u64, u64, Duration)>,
}

impl UdpStreamReceiver {
    /// Listens on `bind:port` in `ns`. It exits `idle_exit` after the last packet, or after
    /// `max` in any case; gaps of at least `gap_threshold` are itemised in the report.
    pub fn start(
        ns: &Netns,
        bind: &str,
        port: u16,
        idle_exit: Duration,
        max: Duration,
        gap_threshold: Duration,
    ) -> Result<Self> {
        let script = ns.dir().join("udpseq.py");
        crate::charon::write(&script, UDPSEQ)?;
        let mut process = ns.spawn(
            &format!("udpseq-recv-{port}"),
            "python3",
            [
                script.to_string_lossy().into_owned(),
                "recv".into(),
                bind.into(),
                port.to_string(),
                idle_exit.as_secs_f64().to_string(),
                max.as_secs_f64().to_string(),
                (gap_threshold.as_secs_f64() * 1000.0).to_string(),
            ],
        )?;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !process.stdout().starts_with("ready") {
            // Fail fast (with its stderr in the log) if the receiver died, e.g. port in use.
            process.ensure_running()?;
            if std::time::Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "UDP stream receiver".into(),
                    after: Duration::from_secs(5),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { process })
    }

    /// Waits until the first datagram has arrived (so a fault injected now falls inside the
    /// stream, not before its start).
    pub fn wait_receiving(&mut self, timeout: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        while !self.process.stdout().contains("receiving") {
            self.process.ensure_running()?;
            if std::time::Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "first datagram of the UDP stream".into(),
                    after: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Waits for the receiver to exit (idle or max time) and returns its report.
    pub fn finish(mut self, timeout: Duration) -> Result<UdpStreamReport> {
        self.process.wait_timeout(timeout)?;
        let out = self.process.stdout();
        let line = out.lines().last().unwrap_or_default();
        parse_udp_report(line)
    }
}

fn parse_udp_report(line: &str) -> Result<UdpStreamReport> {
    let bad = |detail: String| Error::Parse {
        tool: "udpseq.py",
        detail,
    };
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
    let u = |k: &str| v[k].as_u64().ok_or_else(|| bad(format!("missing {k}")));
    let ms = |x: &serde_json::Value| Duration::from_secs_f64(x.as_f64().unwrap_or(0.0) / 1000.0);
    let gaps = v["gaps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| {
                    (
                        g["after_seq"].as_u64().unwrap_or(0),
                        g["next_seq"].as_u64().unwrap_or(0),
                        ms(&g["ms"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(UdpStreamReport {
        received: u("received")?,
        max_seq: v["max_seq"].as_u64(),
        lost: u("lost")?,
        duplicates: u("duplicates")?,
        reordered: u("reordered")?,
        max_gap: ms(&v["max_gap_ms"]),
        gaps,
    })
}

/// Sends `count` datagrams of `size` bytes (≥ 8) to `dst:port` from `ns`, one every `interval`
/// (1 ms for outage measurement), blocking until done. Returns how many were handed to the
/// kernel.
pub fn udp_stream_send(
    ns: &Netns,
    dst: &str,
    port: u16,
    count: u64,
    interval: Duration,
    size: usize,
) -> Result<u64> {
    let script = ns.dir().join("udpseq.py");
    crate::charon::write(&script, UDPSEQ)?;
    let out = ns.exec(
        "python3",
        [
            script.to_string_lossy().into_owned(),
            "send".into(),
            dst.into(),
            port.to_string(),
            count.to_string(),
            (interval.as_secs_f64() * 1000.0).to_string(),
            size.to_string(),
        ],
    )?;
    let v: serde_json::Value = serde_json::from_str(out.trim()).map_err(|e| Error::Parse {
        tool: "udpseq.py",
        detail: e.to_string(),
    })?;
    v["sent"].as_u64().ok_or_else(|| Error::Parse {
        tool: "udpseq.py",
        detail: "missing sent".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ping_with_loss() {
        let text = "PING 198.19.1.10 (198.19.1.10) 56(84) bytes of data.
64 bytes from 198.19.1.10: icmp_seq=1 ttl=62 time=0.412 ms
64 bytes from 198.19.1.10: icmp_seq=3 ttl=62 time=1.20 ms

--- 198.19.1.10 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms
rtt min/avg/max/mdev = 0.412/0.806/1.200/0.394 ms
";
        let r = parse_ping(text).unwrap();
        assert_eq!((r.transmitted, r.received), (3, 2));
        assert_eq!(r.rtts.len(), 2);
        assert!((r.loss() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.rtts[1], Duration::from_micros(1200));
    }

    #[test]
    fn ping_without_summary_is_an_error() {
        assert!(parse_ping("ping: connect: Network is unreachable\n").is_err());
    }

    #[test]
    fn parses_iperf3_tcp_json() {
        let text = r#"{"start":{},"intervals":[],"end":{
            "sum_sent":{"bits_per_second":3.4e8,"retransmits":1234},
            "sum_received":{"bits_per_second":3.38e8}}}"#;
        let r = parse_iperf3(text).unwrap();
        assert_eq!(r.sent_bps, 3.4e8);
        assert_eq!(r.received_bps, 3.38e8);
        assert_eq!(r.retransmits, 1234);
        assert!(parse_iperf3(r#"{"error":"unable to connect"}"#).is_err());
        assert!(parse_iperf3("not json").is_err());
    }

    #[test]
    fn parses_udp_stream_report() {
        let r = parse_udp_report(
            r#"{"received": 98, "max_seq": 99, "lost": 2, "duplicates": 0, "reordered": 0,
                "max_gap_ms": 3.5, "gaps": [{"after_seq": 10, "next_seq": 13, "ms": 3.5}]}"#,
        )
        .unwrap();
        assert_eq!(r.lost, 2);
        assert_eq!(r.max_gap, Duration::from_micros(3500));
        assert_eq!(r.gaps, vec![(10, 13, Duration::from_micros(3500))]);
        assert!(parse_udp_report("{}").is_err());
    }
}
