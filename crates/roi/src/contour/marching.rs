//! Marching squares.
