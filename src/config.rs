//! Configuration: defaults, then an optional `policybot.toml`, then `POLICYBOT_*` environment
//! variables, then command-line flags. The only module that reads the environment.
