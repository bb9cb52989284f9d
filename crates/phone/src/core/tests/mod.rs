//! Call flows of whole phones (`PhoneCore`s on an in-memory wire, virtual time).

mod accounts;
mod park_and_switch;
mod transfer;
mod wire;
