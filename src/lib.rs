//! cbm2: an inquiry-workflow engine for OAS Cyber Confidence-Building Measure #2.
//!
//! See ARCHITECTURE.md for the map. In short: [`domain`] holds validated value types,
//! [`store`] persists them with sqlx (SQLite or PostgreSQL), [`http`] exposes the JSON API,
//! [`web`] serves the pages people use in a browser, [`startup`] wires them into a server
//! and [`cli`] is the command line.

pub mod bench;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod deadlines;
pub mod delivery;
pub mod directory_file;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod monitoring;
pub mod openpgp;
pub mod protocol;
pub mod record;
pub mod startup;
pub mod stix;
pub mod store;
pub mod telemetry;
pub mod un_directory;
pub mod web;
