//! Call flows of whole phones (`PhoneCore`s on an in-memory wire, virtual time).

mod park_and_switch;
mod wire;
