//! The words the app writes in Rust — the tray's menu and status line, the ringing window's
//! title, the desktop notifications — in the window's language: English, German or Spanish, the
//! languages of the window's own messages (`ui/messages/`, same terms). The window tells the app
//! which one it shows (`set_language`, at start and whenever the user picks another); until
//! then, and for any other language, English.
//!
//! A table in code rather than message files: some thirty short sentences, checked by the
//! compiler (every language has every sentence) and by the tests below, with no files to find
//! at run time.

use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    De,
    Es,
}

impl Lang {
    /// The language of a BCP 47 tag (`de`, `de-AT`, `es_ES`); English for any other.
    pub fn from_tag(tag: &str) -> Lang {
        let base = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match base.as_str() {
            "de" => Lang::De,
            "es" => Lang::Es,
            _ => Lang::En,
        }
    }
}

/// The language the window shows now (what the adapters write in).
static CURRENT: AtomicU8 = AtomicU8::new(0);

pub fn set_current(lang: Lang) {
    CURRENT.store(lang as u8, Ordering::Relaxed);
}

pub fn current() -> Lang {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Lang::De,
        2 => Lang::Es,
        _ => Lang::En,
    }
}

/// One sentence in each language.
fn pick(lang: Lang, en: &str, de: &str, es: &str) -> String {
    match lang {
        Lang::En => en,
        Lang::De => de,
        Lang::Es => es,
    }
    .to_string()
}

/// The sentences, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Words(pub Lang);

impl Words {
    pub fn not_running(self) -> String {
        pick(self.0, "Not running", "Nicht aktiv", "No activo")
    }
    pub fn registered(self) -> String {
        pick(self.0, "Registered", "Angemeldet", "Registrado")
    }
    pub fn direct_calls_only(self) -> String {
        pick(
            self.0,
            "Direct calls only",
            "Nur direkte Anrufe",
            "Solo llamadas directas",
        )
    }
    pub fn registering(self) -> String {
        pick(self.0, "Registering…", "Anmeldung läuft…", "Registrando…")
    }
    pub fn not_registered(self, status: Option<u16>) -> String {
        let text = pick(
            self.0,
            "Not registered",
            "Nicht angemeldet",
            "No registrado",
        );
        match status {
            Some(s) => format!("{text} ({s})"),
            None => text,
        }
    }
    pub fn calling(self, name: &str) -> String {
        match self.0 {
            Lang::En => format!("{name} calling"),
            Lang::De => format!("{name} ruft an"),
            Lang::Es => format!("{name} llama"),
        }
    }
    pub fn on_a_call_with(self, name: &str) -> String {
        match self.0 {
            Lang::En => format!("On a call with {name}"),
            Lang::De => format!("Im Gespräch mit {name}"),
            Lang::Es => format!("En llamada con {name}"),
        }
    }
    pub fn on_a_call(self) -> String {
        pick(self.0, "On a call", "Im Gespräch", "En llamada")
    }
    pub fn do_not_disturb(self) -> String {
        pick(self.0, "Do not disturb", "Nicht stören", "No molestar")
    }
    pub fn missed_calls(self, n: usize) -> String {
        match (self.0, n) {
            (Lang::En, 1) => "1 missed call".into(),
            (Lang::En, n) => format!("{n} missed calls"),
            (Lang::De, 1) => "1 verpasster Anruf".into(),
            (Lang::De, n) => format!("{n} verpasste Anrufe"),
            (Lang::Es, 1) => "1 llamada perdida".into(),
            (Lang::Es, n) => format!("{n} llamadas perdidas"),
        }
    }
    /// Beside a recent call that was missed.
    pub fn missed_mark(self) -> String {
        pick(self.0, "missed", "verpasst", "perdida")
    }
    pub fn show_window(self) -> String {
        pick(self.0, "Show window", "Fenster anzeigen", "Mostrar ventana")
    }
    pub fn hide_window(self) -> String {
        pick(
            self.0,
            "Hide window",
            "Fenster ausblenden",
            "Ocultar ventana",
        )
    }
    pub fn hang_up(self) -> String {
        pick(self.0, "Hang up", "Auflegen", "Colgar")
    }
    pub fn hang_up_party(self, name: &str) -> String {
        match self.0 {
            Lang::En => format!("Hang up {name}"),
            Lang::De => format!("{name} auflegen"),
            Lang::Es => format!("Colgar a {name}"),
        }
    }
    pub fn presence(self) -> String {
        pick(self.0, "Presence", "Anwesenheit", "Presencia")
    }
    pub fn available(self) -> String {
        pick(self.0, "Available", "Verfügbar", "Disponible")
    }
    pub fn away(self) -> String {
        pick(self.0, "Away", "Abwesend", "Ausente")
    }
    pub fn busy(self) -> String {
        pick(self.0, "Busy", "Beschäftigt", "Ocupado")
    }
    pub fn recent_calls(self) -> String {
        pick(
            self.0,
            "Recent calls",
            "Letzte Anrufe",
            "Llamadas recientes",
        )
    }
    pub fn no_calls_yet(self) -> String {
        pick(
            self.0,
            "No calls yet",
            "Noch keine Anrufe",
            "Aún no hay llamadas",
        )
    }
    pub fn quit(self) -> String {
        pick(
            self.0,
            "Quit Hookflash",
            "Hookflash beenden",
            "Salir de Hookflash",
        )
    }
    /// The ringing window's title.
    pub fn incoming_call_title(self, name: &str) -> String {
        match self.0 {
            Lang::En => format!("Incoming call: {name}"),
            Lang::De => format!("Eingehender Anruf: {name}"),
            Lang::Es => format!("Llamada entrante: {name}"),
        }
    }
    pub fn incoming_call_from(self, name: &str) -> String {
        match self.0 {
            Lang::En => format!("Incoming call from {name}"),
            Lang::De => format!("Eingehender Anruf von {name}"),
            Lang::Es => format!("Llamada entrante de {name}"),
        }
    }
    /// A ringing call's notification buttons.
    pub fn answer(self) -> String {
        pick(self.0, "Answer", "Annehmen", "Contestar")
    }
    pub fn decline(self) -> String {
        pick(self.0, "Decline", "Ablehnen", "Rechazar")
    }
    pub fn parked_for(self, who: &str, minutes: i64) -> String {
        match self.0 {
            Lang::En => format!("{who} has been parked for {minutes} min"),
            Lang::De => format!("{who} ist seit {minutes} Min. geparkt"),
            Lang::Es => format!("{who} lleva {minutes} min aparcado"),
        }
    }
    pub fn parked_what_now(self) -> String {
        pick(
            self.0,
            "Switch to the call or hang up.",
            "Zum Anruf wechseln oder auflegen.",
            "Cambie a la llamada o cuelgue.",
        )
    }
    pub fn wants_to_transfer_you(self, who: &str, target: &str) -> String {
        match self.0 {
            Lang::En => format!("{who} wants to transfer you to {target}"),
            Lang::De => format!("{who} möchte Sie zu {target} weiterverbinden"),
            Lang::Es => format!("{who} quiere transferirle a {target}"),
        }
    }
    pub fn answer_transfer_within(self, secs: u32) -> String {
        match self.0 {
            Lang::En => format!("Accept or decline in Hookflash within {secs} s."),
            Lang::De => format!("In Hookflash innerhalb von {secs} s annehmen oder ablehnen."),
            Lang::Es => format!("Acepte o rechace en Hookflash en {secs} s."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_picks_its_language_and_anything_else_is_english() {
        assert_eq!(Lang::from_tag("de"), Lang::De);
        assert_eq!(Lang::from_tag("de-AT"), Lang::De);
        assert_eq!(Lang::from_tag("ES_es"), Lang::Es);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
        assert_eq!(Lang::from_tag("fr"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
    }

    #[test]
    fn every_language_says_every_sentence_in_its_own_words() {
        let all = |w: Words| {
            vec![
                w.not_running(),
                w.registered(),
                w.direct_calls_only(),
                w.registering(),
                w.not_registered(Some(403)),
                w.calling("Bob"),
                w.on_a_call_with("Bob"),
                w.on_a_call(),
                w.do_not_disturb(),
                w.missed_calls(1),
                w.missed_calls(3),
                w.missed_mark(),
                w.show_window(),
                w.hide_window(),
                w.hang_up(),
                w.hang_up_party("Bob"),
                w.presence(),
                w.available(),
                w.away(),
                w.busy(),
                w.recent_calls(),
                w.no_calls_yet(),
                w.quit(),
                w.incoming_call_title("Bob"),
                w.incoming_call_from("Bob"),
                w.answer(),
                w.decline(),
                w.parked_for("Bob", 2),
                w.parked_what_now(),
                w.wants_to_transfer_you("Bob", "sip:carol@h"),
                w.answer_transfer_within(30),
            ]
        };
        let (en, de, es) = (
            all(Words(Lang::En)),
            all(Words(Lang::De)),
            all(Words(Lang::Es)),
        );
        for (i, e) in en.iter().enumerate() {
            assert!(!e.is_empty() && !de[i].is_empty() && !es[i].is_empty());
            // Only the ones that are a name or a number alone may read the same.
            assert!(
                e != &de[i] || e == "Hookflash",
                "sentence {i} is not German: {e}"
            );
            assert!(e != &es[i], "sentence {i} is not Spanish: {e}");
        }
        assert_eq!(Words(Lang::De).missed_calls(2), "2 verpasste Anrufe");
        assert_eq!(
            Words(Lang::Es).not_registered(Some(403)),
            "No registrado (403)"
        );
    }

    #[test]
    fn the_current_language_is_what_the_window_said_last() {
        set_current(Lang::Es);
        assert_eq!(current(), Lang::Es);
        set_current(Lang::En);
        assert_eq!(current(), Lang::En);
    }
}
