//! Provider-compatible VPC API 2016-04-28: signatures, actions, errors, peer-config.
