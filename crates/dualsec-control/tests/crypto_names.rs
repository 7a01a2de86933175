//! Every algorithm name the control plane accepts (R-TUN-3, R-TUN-4) is one the crypto registry
//! can run, and the phase-1 DH list has no `disabled`. If either side adds or drops a name, this
//! fails before a user can configure a tunnel the engine cannot build.

use dualsec_control::values::{AuthAlg, DhGroup, EncAlg, IpsecPfs};
use dualsec_crypto::product;

#[test]
fn r_tun_3_and_4_every_accepted_algorithm_name_is_implemented() {
    for e in EncAlg::ALL {
        assert!(product::encryption(e.as_str()).is_ok(), "encryption {e}");
    }
    for a in AuthAlg::ALL {
        assert!(
            product::authentication(a.as_str()).is_ok(),
            "authentication {a}"
        );
    }
    for g in DhGroup::ALL {
        assert!(
            matches!(product::dh_group(g.as_str()), Ok(Some(_))),
            "phase-1 DH group {g} must be a real group"
        );
    }
    for p in IpsecPfs::ALL {
        let r = product::dh_group(p.as_str());
        match p {
            IpsecPfs::Disabled => assert!(matches!(r, Ok(None)), "disabled means no PFS"),
            _ => assert!(matches!(r, Ok(Some(_))), "PFS group {p}"),
        }
    }
}
