//! IKEv2 (RFC 7296): the codec ([`wire`]) and the sans-IO state machine.
//!
//! Entry point: [`Endpoint`] (see its module doc for the driving contract). Configure tunnels with
//! [`TunnelConfig`]; read [`Event`]s for the ESP layer and the engine; failed negotiations carry
//! an explained [`NegotiationError`] (R-DIAG-1).

pub mod config;
pub mod endpoint;
pub mod error;
pub mod event;
mod ike_sa;
mod keys;
mod message;
mod proposal;
pub mod timer;
mod ts;
pub mod wire;

pub use config::{
    DpdConfig, EspProposal, Identity, IkeProposal, Psk, RetransmitConfig, TrafficSelector,
    TunnelConfig,
};
pub use endpoint::{Endpoint, EndpointConfig, Ports, Transmit, TunnelStatus};
pub use error::{Error, NegotiationError, SaKind};
pub use event::{ChildSaInfo, DownReason, EspKeys, Event, TunnelId};
pub use timer::Timer;
