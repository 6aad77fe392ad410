//! The bitrate scenarios: media flows under onbeat's estimator and under
//! str0m's GCC over the same bottleneck links, judged on the links' ground
//! truth (see docs/simulation.md, "The bitrate scenarios").

pub mod capacity;
pub mod cli;
pub mod figures;
pub mod late;
pub mod layer_figures;
pub mod layers;
pub mod link;
pub mod link_options;
pub mod media;
pub mod onbeat;
pub mod plot;
pub mod reference;
pub mod report;
pub mod scenario;
pub mod source;
pub mod tcp;
pub mod world;
