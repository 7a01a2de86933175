//! RFC 7383 fragmentation against real strongSwan: charon with `fragmentation = force` and a
//! tiny `charon.fragment_size` sends its IKE_AUTH in SKF fragments; our endpoint (the
//! `ike_udp_driver` example in a network namespace) authenticates and reassembles them, as
//! responder and as initiator. Namespaces, charon and the driver are removed by the testbed
//! guards, even when a test panics. Skipped without strongSwan unless `DUALSEC_REQUIRE_INTEROP`
//! is set (then `dualsec_testbed::require` fails the test).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use dualsec_testbed::{Charon, CharonOptions, Netns, PskConnection, wait_until};

const OURS: &str = "192.0.2.1";
const PEER: &str = "203.0.113.2";
const OUR_NET: &str = "198.18.0.0/16";
const PEER_NET: &str = "198.19.0.0/16";
const PSK: &str = "fragmentation-PSK";
const T: Duration = Duration::from_secs(15);

fn driver() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("ike_udp_driver")
}

#[test]
fn strongswan_sends_ike_auth_in_fragments_and_we_reassemble_rfc7383() {
    if !dualsec_testbed::require(&["charon", "swanctl"]) {
        return;
    }
    assert!(
        driver().exists(),
        "build the example first ({:?})",
        driver()
    );
    for we_initiate in [false, true] {
        let ours = Netns::new("dsfrag").unwrap();
        let peer = Netns::new("ssfrag").unwrap();
        Netns::veth(&ours, "v0", &peer, "v0").unwrap();
        ours.addr_peer("v0", OURS, PEER).unwrap();
        peer.addr_peer("v0", PEER, OURS).unwrap();
        peer.addr("lo", "198.19.0.1/32").unwrap();
        let options = CharonOptions {
            // The IP datagram size of charon's fragments: far below its PSK IKE_AUTH.
            extra_charon_conf: "  fragment_size = 200\n".into(),
            ..CharonOptions::default()
        };
        let charon = Charon::start(&peer, &options).unwrap();
        let mut conn = PskConnection::new(PEER, OURS, PEER_NET, OUR_NET);
        conn.psk = PSK.into();
        let conf = conn.render().replace(
            "    version = 2\n",
            "    version = 2\n    fragmentation = force\n",
        );
        assert!(conf.contains("fragmentation = force"), "{conf}");
        charon.load(&conf).unwrap();
        let mut args = vec![
            "--local",
            OURS,
            "--remote",
            PEER,
            "--psk",
            PSK,
            "--local-ts",
            OUR_NET,
            "--remote-ts",
            PEER_NET,
            "--seconds",
            "20",
        ];
        if we_initiate {
            args.push("--initiate");
        }
        let d = ours
            .spawn("driver", driver().to_str().unwrap(), args)
            .unwrap();
        if !we_initiate {
            std::thread::sleep(Duration::from_millis(300));
            charon.initiate_child("net", T).unwrap();
        }
        let r = wait_until("CHILD SA up", T, || {
            d.stdout()
                .lines()
                .any(|l| l.starts_with("CHILD_ESTABLISHED"))
        });
        assert!(
            r.is_ok(),
            "we_initiate={we_initiate}: driver said:\n{}\n{}\ncharon:\n{}",
            d.stdout(),
            d.stderr(),
            charon.log()
        );
        let (sa, _) = charon.wait_child_installed("net", T).unwrap();
        assert_eq!(sa.state, "ESTABLISHED");
        assert_eq!(sa.initiator, !we_initiate);
        // strongSwan really fragmented, and we reassembled its IKE_AUTH.
        assert!(
            d.stderr().contains("IKE_AUTH reassembled from fragments"),
            "we_initiate={we_initiate}: no reassembly in our log:\n{}",
            d.stderr()
        );
        let log = charon.log();
        let split: Vec<&str> = log.lines().filter(|l| l.contains("fragment")).collect();
        eprintln!("charon: {split:#?}");
        assert!(
            split.iter().any(|l| l.contains("splitting IKE message")),
            "charon did not fragment:\n{log}"
        );
    }
}
