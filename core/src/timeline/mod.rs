//! The shared clock and the room's schedule.
