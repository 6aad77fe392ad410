//! Checks shared by the fuzz targets and by `onbeat-tests`, which replays the
//! checked-in corpus on stable.

pub mod clock;
pub mod decode;
