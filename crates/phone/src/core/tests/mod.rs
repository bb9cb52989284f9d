//! Call flows of whole phones (`PhoneCore`s on an in-memory wire, virtual time).

mod accounts;
mod attended_transfer;
mod conference;
mod park_and_switch;
mod replacing;
mod transfer;
mod wire;
