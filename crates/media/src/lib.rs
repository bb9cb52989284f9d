//! hookflash-media
