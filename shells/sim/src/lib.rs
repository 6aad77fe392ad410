//! Seeded discrete-event network simulator for onbeat.
