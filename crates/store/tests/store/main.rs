//! The store against real files and a real Secret Service, one test binary.

mod history_file;
mod keyring_secret_service;
