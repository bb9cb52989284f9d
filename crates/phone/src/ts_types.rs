//! The TypeScript types of what the engine and the window exchange as JSON, generated from the
//! Rust types with `ts-rs`, so the window's `ui/src/lib/engine.ts` cannot drift from what the
//! engine sends and accepts: `PhoneEvent` and everything in it, history rows, the account, routing,
//! dialling, voice-processing and sound-device settings.
//!
//! The test below fails when the checked-in file differs from what the Rust types produce;
//! `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone --lib ts_types` rewrites it. The desktop
//! shell writes its own types (`ui/src/lib/shell.ts`) with the same [`TsFile`], importing these.

use crate::api::*;
use crate::dialling::CallerId;
use crate::routing::presets::{
    BusinessHoursPreset, DndPreset, ForwardAlwaysPreset, ForwardNoAnswerPreset, Presets, RejectWith,
};
use crate::routing::{ClassifyConfig, HeaderMatch, RoutingSettings, SettingsProblem};
use std::path::Path;
use ts_rs::{Config, TS};

/// The environment variable that makes the generator tests rewrite the files instead of checking them.
pub const WRITE_ENV: &str = "HOOKFLASH_WRITE_TS";

/// One generated TypeScript module: a header, the imports it needs, and one exported declaration
/// per Rust type, in the order added.
pub struct TsFile {
    cfg: Config,
    header: String,
    /// (TypeScript name, `type X = ...;` with its doc comment, names of the types it refers to).
    decls: Vec<(String, String, Vec<String>)>,
    /// (module, names) imported from other generated files.
    imports: Vec<(String, Vec<String>)>,
}

impl TsFile {
    /// `header`: the comment lines at the top (each should start with `//`).
    pub fn new(header: &str) -> TsFile {
        TsFile {
            // JSON numbers: ids and Unix milliseconds fit a double for many centuries.
            cfg: Config::new().with_large_int("number"),
            header: header.trim_end().to_string(),
            decls: Vec::new(),
            imports: Vec::new(),
        }
    }

    /// Exports the declaration of `T` (with its doc comment).
    pub fn add<T: TS + 'static>(&mut self) -> &mut TsFile {
        let name = T::ident(&self.cfg);
        let mut decl = T::docs()
            .map(|d| format!("{}\n", d.trim_end()))
            .unwrap_or_default();
        decl.push_str("export ");
        decl.push_str(T::decl(&self.cfg).trim());
        let deps = T::dependencies(&self.cfg)
            .into_iter()
            .map(|d| d.ts_name)
            .collect();
        self.decls.push((name, decl, deps));
        self
    }

    /// Exports a type written here rather than derived (e.g. a Rust type alias, which ts-rs cannot see).
    pub fn add_alias(&mut self, name: &str, ts: &str) -> &mut TsFile {
        self.decls.push((
            name.to_string(),
            format!("export type {name} = {ts};"),
            Vec::new(),
        ));
        self
    }

    /// Imports every type the declarations here need that `other` (the module `module`) declares.
    pub fn import_from(&mut self, module: &str, other: &TsFile) -> &mut TsFile {
        let mut names: Vec<String> = self
            .referenced()
            .into_iter()
            .filter(|n| !self.declares(n) && other.declares(n))
            .collect();
        names.sort();
        names.dedup();
        self.imports.push((module.to_string(), names));
        self
    }

    /// Whether this file declares `name`.
    pub fn declares(&self, name: &str) -> bool {
        self.decls.iter().any(|(n, _, _)| n == name)
    }

    /// The names this file declares, in order.
    pub fn names(&self) -> Vec<String> {
        self.decls.iter().map(|(n, _, _)| n.clone()).collect()
    }

    fn referenced(&self) -> Vec<String> {
        self.decls
            .iter()
            .flat_map(|(_, _, deps)| deps.iter().cloned())
            .collect()
    }

    /// Types the declarations refer to that are neither declared nor imported here (the file
    /// would not compile): empty when complete.
    pub fn missing(&self) -> Vec<String> {
        let imported = |n: &str| {
            self.imports
                .iter()
                .any(|(_, names)| names.iter().any(|i| i == n))
        };
        let mut missing: Vec<String> = self
            .referenced()
            .into_iter()
            .filter(|n| !self.declares(n) && !imported(n))
            .collect();
        missing.sort();
        missing.dedup();
        missing
    }

    /// The module's text.
    pub fn render(&self) -> String {
        let mut out = self.header.clone();
        out.push('\n');
        for (module, names) in &self.imports {
            if !names.is_empty() {
                out.push_str(&format!(
                    "\nimport type {{ {} }} from '{module}';\n",
                    names.join(", ")
                ));
            }
        }
        for (_, decl, _) in &self.decls {
            out.push('\n');
            out.push_str(decl);
            out.push('\n');
        }
        out
    }

    /// The generator test: with `HOOKFLASH_WRITE_TS` set, writes the file at `path`; otherwise
    /// panics (naming `regenerate`) when the checked-in file differs from what the Rust types give,
    /// or when a declaration refers to a type the file neither declares nor imports.
    pub fn check_or_write(&self, path: &Path, regenerate: &str) {
        let missing = self.missing();
        assert!(
            missing.is_empty(),
            "{}: add these types to the generator: {missing:?}",
            path.display()
        );
        let fresh = self.render();
        if std::env::var_os(WRITE_ENV).is_some() {
            std::fs::write(path, &fresh)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            return;
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == fresh,
            "{} is not what the Rust types generate: run `{regenerate}` and commit it.\n--- generated ---\n{fresh}",
            path.display()
        );
    }
}

/// `ui/src/lib/engine.ts`: the engine's types as the window sees them.
pub fn engine_types() -> TsFile {
    let mut file = TsFile::new(
        "// Generated by crates/phone/src/ts_types.rs from the engine's Rust types (crates/phone/src/api.rs,\n\
         // routing/, dialling.rs; CallQuality from crates/store): the events, history rows, account and settings\n\
         // as JSON. Do not edit: change the Rust types, then run\n\
         // `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone --lib ts_types` and commit this file.",
    );
    file.add_alias("CallId", "number")
        // Events and what they carry.
        .add::<PhoneEvent>()
        .add::<RegistrationState>()
        .add::<CallInfo>()
        .add::<WaitingTransferRequest>()
        .add::<CallState>()
        .add::<Direction>()
        .add::<CodecName>()
        .add::<EndReason>()
        .add::<TransferProgress>()
        .add::<CallQuality>()
        .add::<ParkSlot>()
        .add::<Availability>()
        .add::<Presence>()
        // History.
        .add::<HistoryEntry>()
        // The account and dialling.
        .add::<AccountConfig>()
        .add::<AccountStatus>()
        .add::<Transport>()
        .add::<MediaEncryption>()
        .add::<TransferRequests>()
        .add::<PartyLevel>()
        .add::<SharedParkConfig>()
        .add::<TurnConfig>()
        .add::<CallerId>()
        // Routing settings and what saving them can reject.
        .add::<RoutingSettings>()
        .add::<ClassifyConfig>()
        .add::<HeaderMatch>()
        .add::<Presets>()
        .add::<DndPreset>()
        .add::<RejectWith>()
        .add::<ForwardAlwaysPreset>()
        .add::<ForwardNoAnswerPreset>()
        .add::<BusinessHoursPreset>()
        .add::<SettingsProblem>()
        // Audio settings.
        .add::<VoiceProcessing>()
        .add::<AudioDevices>()
        // The desktop app's links.
        .add::<LinkSettings>();
    file
}

/// Where `engine.ts` lives (relative to this crate).
pub fn engine_file_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/engine.ts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_types_are_generated_from_the_rust_ones() {
        engine_types().check_or_write(
            &engine_file_path(),
            "HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone --lib ts_types",
        );
    }

    #[test]
    fn a_type_referred_to_but_not_generated_is_caught() {
        let mut file = TsFile::new("// test");
        file.add::<CallInfo>();
        // CallInfo names Direction, CallState, CodecName and WaitingTransferRequest, which this
        // file does not declare.
        assert_eq!(
            file.missing(),
            [
                "CallState",
                "CodecName",
                "Direction",
                "WaitingTransferRequest"
            ]
        );
        let mut complete = TsFile::new("// test");
        complete
            .add::<Direction>()
            .add::<CallState>()
            .add::<CodecName>()
            .add::<WaitingTransferRequest>();
        file.import_from("./other", &complete);
        assert!(file.missing().is_empty());
        assert!(file
            .render()
            .contains("import type { CallState, CodecName, Direction, WaitingTransferRequest } from './other';"));
    }

    #[test]
    fn optional_json_fields_are_optional_in_typescript() {
        let engine = engine_types().render();
        // Omitted from the JSON when unset (`skip_serializing_if`), so `?:` in TypeScript.
        assert!(engine.contains("microphone?: string | null"), "{engine}");
        // Always sent, possibly null.
        assert!(
            engine.contains("remote_display_name: string | null"),
            "{engine}"
        );
    }
}
