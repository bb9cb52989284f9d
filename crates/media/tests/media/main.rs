//! The media engine with real sockets and sound servers, one test binary (each links the engine).

mod loopback;
mod pulse_device;
