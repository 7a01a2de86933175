//! ESP decoder: UDP/4500 classification, then SPI lookup and the staged inbound checks of
//! `dualsec_esp::SaTable` against two SAs (AES-GCM-16 with ESN, AES-CBC + HMAC-SHA1-96), and the
//! inner IP header reader. Nothing may panic.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use dualsec_crypto::{EncrId, IntegId};
use dualsec_esp::*;
use libfuzzer_sys::fuzz_target;

fn sa(spi: u32, encr: EncrId, ek: usize, integ: IntegId, ik: usize, esn: bool) -> SaParams {
    SaParams {
        spi: Spi(spi),
        direction: Direction::Inbound,
        encr,
        encr_key: vec![0x11; ek],
        integ,
        integ_key: vec![0x22; ik],
        esn,
        replay_window: 64,
        lifetimes: Lifetimes::default(),
        udp_encap: None,
        tunnel: TunnelEndpoints {
            local: IpAddr::V4(Ipv4Addr::LOCALHOST),
            remote: IpAddr::V4(Ipv4Addr::LOCALHOST),
        },
        selectors: Selectors::default(),
    }
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut table = SaTable::new();
    if let Ok(s) = InboundSa::new(
        &sa(0x100, EncrId::AES_GCM_16, 20, IntegId::NONE, 0, true),
        now,
    ) {
        table.install_inbound(TunnelId(0), s);
    }
    if let Ok(s) = InboundSa::new(
        &sa(0x200, EncrId::AES_CBC, 16, IntegId::HMAC_SHA1_96, 20, false),
        now,
    ) {
        table.install_inbound(TunnelId(1), s);
    }
    if let Udp4500Payload::Esp(esp) = classify_udp4500(data) {
        let mut buf = esp.to_vec();
        let _ = table.decapsulate(now, &mut buf);
    }
    let _ = dualsec_esp::wire::inner_addrs(data, None);
});
