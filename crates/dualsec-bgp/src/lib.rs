//! Sans-IO BGP-4 speaker (RFC 4271, RFC 6793).
