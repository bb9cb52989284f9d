//! The TypeScript types of what the engine tells front ends (`PhoneEvent` and everything in it),
//! generated from the Rust types with `ts-rs`, so the window's `ui/src/lib/engine.ts` cannot drift
//! from what the engine sends. The test below fails when the checked-in file differs from what the
//! Rust types produce; `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone ts_types` rewrites it.

#[cfg(test)]
mod tests {
    use crate::api::*;
    use ts_rs::{Config, TS};

    /// The file the UI imports (relative to this crate).
    const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/lib/engine.ts");

    fn render() -> String {
        // JSON numbers: ids and Unix milliseconds fit a double for many centuries.
        let cfg = Config::new().with_large_int("number");
        let decls = [
            PhoneEvent::decl(&cfg),
            RegistrationState::decl(&cfg),
            CallInfo::decl(&cfg),
            CallState::decl(&cfg),
            Direction::decl(&cfg),
            CodecName::decl(&cfg),
            EndReason::decl(&cfg),
            CallQuality::decl(&cfg),
            ParkSlot::decl(&cfg),
            Availability::decl(&cfg),
            Presence::decl(&cfg),
        ];
        let mut out = String::from(
            "// Generated from the Rust types in crates/phone/src/api.rs by crates/phone/src/ts_types.rs.\n\
             // Do not edit: change the Rust types, then `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone ts_types`.\n\n\
             export type CallId = number;\n",
        );
        for decl in decls {
            out.push('\n');
            out.push_str("export ");
            out.push_str(decl.trim());
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_ui_types_are_generated_from_the_rust_ones() {
        let fresh = render();
        if std::env::var_os("HOOKFLASH_WRITE_TS").is_some() {
            std::fs::write(FILE, &fresh).unwrap();
            return;
        }
        let checked_in = std::fs::read_to_string(FILE).unwrap_or_default();
        assert!(
            checked_in == fresh,
            "ui/src/lib/engine.ts is not what the Rust types generate: run \
             `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone ts_types` and commit it.\n--- generated ---\n{fresh}"
        );
    }
}
