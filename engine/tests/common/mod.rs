//! What several engine test files share.

#![allow(dead_code)]

/// The seed's nine rows' bands (throughput low, high; CPU of the busier host low, high): the
/// reference table of docs/reference-results.md widened by its tolerances (the same as
/// ../shared/tools/check-reference).
pub type Band = (&'static str, f64, f64, Option<(f64, f64)>);
pub const BANDS: [Band; 9] = [
    ("row1", 15.3, 18.7, Some((19.0, 25.0))),
    ("row2", 15.3, 18.7, Some((9.0, 25.0))),
    ("row3", 17.1, 20.9, Some((21.0, 27.0))),
    ("row4", 15.75, 20.9, Some((5.0, 27.0))),
    ("row5", 8.1, 10.5, None),
    ("row6", 17.1, 20.9, None),
    ("row7", 9.0, 11.0, None),
    ("row8", 18.0, 20.5, Some((3.0, 10.0))),
    ("row9", 18.0, 20.5, Some((0.0, 5.0))),
];
