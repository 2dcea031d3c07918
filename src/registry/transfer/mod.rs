//! Moving bytes to and from sources: the HTTP client with the plain-HTTP rule on every hop,
//! credentials and the token exchange, verified and resumable downloads, unpacking while
//! downloading, zip archives as tar streams, the metadata cache, registry URLs, and plain GETs
//! to web APIs (ClawHub, GitHub), and the CA roots every client shares.

pub mod auth;
pub mod body;
pub mod cache;
pub mod client;
pub mod fetch;
pub mod hops;
pub mod http;
pub mod roots;
pub mod tee;
pub mod token;
pub mod unpack;
pub mod url;
pub mod web;
pub mod zipfile;
