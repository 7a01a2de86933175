//! RFC 7383 fragmentation against real strongSwan: charon with `fragmentation = force` and a
//! tiny `charon.fragment_size` sends its IKE_AUTH in SKF fragments; our endpoint (the
//! `ike_udp_driver` example in a network namespace) authenticates and reassembles them, as
//! responder and as initiator, in the lab of `common/interop.rs`. Namespaces, charon and the
//! driver are removed by the testbed guards, even when a test panics. Skipped without strongSwan unless `DUALSEC_REQUIRE_INTEROP`
//! is set (then `dualsec_testbed::require` fails the test).

#![allow(clippy::unwrap_used)]

mod common;

use common::interop::{IKEV2, Lab, OUR_NET, OURS, PEER, PEER_NET, T};
use dualsec_testbed::{CharonOptions, PskConnection, wait_until};

const PSK: &str = "fragmentation-PSK";

#[test]
fn strongswan_sends_ike_auth_in_fragments_and_we_reassemble_rfc7383() {
    for we_initiate in [false, true] {
        let options = CharonOptions {
            // The IP datagram size of charon's fragments: far below its PSK IKE_AUTH.
            extra_charon_conf: "  fragment_size = 200\n".into(),
            ..CharonOptions::default()
        };
        let Some(lab) = Lab::start("dsfrag", "ssfrag", IKEV2, &options) else {
            return;
        };
        let charon = &lab.charon;
        let mut conn = PskConnection::new(PEER, OURS, PEER_NET, OUR_NET);
        conn.psk = PSK.into();
        let conf = conn.render().replace(
            "    version = 2\n",
            "    version = 2\n    fragmentation = force\n",
        );
        assert!(conf.contains("fragmentation = force"), "{conf}");
        charon.load(&conf).unwrap();
        let mut args = vec!["--psk", PSK, "--local-ts", OUR_NET, "--remote-ts", PEER_NET];
        if we_initiate {
            args.push("--initiate");
        }
        let d = lab.spawn_driver("driver", &args);
        if !we_initiate {
            lab.strongswan_initiates(&d, "fragmented IKE_AUTH");
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
