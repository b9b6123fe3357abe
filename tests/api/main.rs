//! Black-box tests of cbm2 through its HTTP API and its command line, on SQLite and on
//! PostgreSQL from the same test code (see `helpers::on_both_databases!`).

mod helpers;

mod audit;
mod authorization;
mod backup;
mod browser;
mod checks;
mod cli;
mod concurrency;
mod conversation;
mod deadlines;
mod delivery_pipeline;
mod directory;
mod directory_import;
mod docs;
mod edge;
mod email;
mod errors;
mod hardening;
mod health;
mod inquiries;
mod listing;
mod me;
mod member_states;
mod metrics;
mod monitoring;
mod multi_instance;
mod notices;
mod notification_sides;
mod openapi;
mod outage;
mod packaging;
mod protocol_versions;
mod rate_limits;
mod refusals;
mod scenarios;
mod serve_process;
mod tidy;
mod tokens;
mod web;
mod web_dashboard;
mod webhook_registration;
mod webhooks;
mod webhooks_multi;
mod workflow;
