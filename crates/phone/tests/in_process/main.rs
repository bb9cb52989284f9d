//! Phones in one process over loopback UDP (no external peers): one test binary for all of them,
//! because every test binary links the whole engine (a link costs more than the tests it holds).

mod common;

mod park_and_switch;
mod rfc4475_torture;
mod routing_in_engine;
mod shared_park_notifier;
mod two_phones;
