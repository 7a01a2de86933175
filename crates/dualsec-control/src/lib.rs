//! Domain model, validation rules (SPEC.md), and the desired/observed state store.
