//! hookflash-sip
