//! Compiles and runs the README's code blocks as doc tests, so the front page
//! cannot drift from the API.

#![doc = include_str!("../README.md")]
