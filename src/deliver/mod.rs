//! What a render is delivered with (control side, after the render; never the audio thread):
//! its loudness (`loudness`: EBU R128 / ITU-R BS.1770) and the sample format a deliverable asks
//! for (`wav`: 16- and 24-bit with TPDF dither, 32-bit float), and the music cue sheet made
//! from what a render heard (`cuesheet`), and a picture of the mix (`picture`: SVG, PNG).

pub mod cuesheet;
pub mod loudness;
pub mod picture;
pub mod wav;
