//! hookflash-store
