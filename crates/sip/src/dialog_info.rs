//! RFC 4235 dialog-info documents (`application/dialog-info+xml`), as carried by NOTIFYs of the
//! `dialog` event package (BLF, park orbits): parsing into plain data, and building one (used by
//! tests and by anything that needs to publish a state). Malformed documents are an error value
//! with a readable sentence, never a panic.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// `state="full"` replaces everything known about the entity; `partial` updates the dialogs named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocState {
    Full,
    Partial,
}

/// The `<state>` of one dialog (RFC 4235 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Trying,
    Proceeding,
    Early,
    Confirmed,
    Terminated,
}

impl DialogState {
    pub fn as_str(self) -> &'static str {
        match self {
            DialogState::Trying => "trying",
            DialogState::Proceeding => "proceeding",
            DialogState::Early => "early",
            DialogState::Confirmed => "confirmed",
            DialogState::Terminated => "terminated",
        }
    }
    fn parse(s: &str) -> Option<DialogState> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "trying" => DialogState::Trying,
            "proceeding" => DialogState::Proceeding,
            "early" => DialogState::Early,
            "confirmed" => DialogState::Confirmed,
            "terminated" => DialogState::Terminated,
            _ => return None,
        })
    }
}

/// `<local>` or `<remote>` of a dialog: who it is, as far as the document says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Participant {
    /// `<identity>` text, e.g. `sip:bob@example.com`.
    pub identity: Option<String>,
    /// `<identity display="...">`.
    pub display: Option<String>,
    /// `<target uri="...">`.
    pub target: Option<String>,
}

/// One `<dialog>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogEntry {
    pub id: String,
    pub call_id: Option<String>,
    pub local_tag: Option<String>,
    pub remote_tag: Option<String>,
    /// `initiator` or `recipient`, when given.
    pub direction: Option<String>,
    pub state: DialogState,
    pub local: Participant,
    pub remote: Participant,
}

/// A whole `<dialog-info>` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogInfo {
    pub version: u64,
    pub state: DocState,
    /// The watched resource, e.g. `sip:701@example.com`.
    pub entity: String,
    pub dialogs: Vec<DialogEntry>,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed dialog-info document: {0}")]
pub struct DialogInfoError(pub String);

fn err(s: impl Into<String>) -> DialogInfoError {
    DialogInfoError(s.into())
}

/// Which text we are collecting while inside an element.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Local,
    Remote,
}

struct PartialDialog {
    entry: DialogEntry,
    state_seen: bool,
}

fn attr(e: &BytesStart, name: &str) -> Result<Option<String>, DialogInfoError> {
    for a in e.attributes() {
        let a = a.map_err(|e| err(format!("bad attribute: {e}")))?;
        if a.key.local_name().as_ref() == name.as_bytes() {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| err(format!("bad attribute value: {e}")))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn local_name(e: &BytesStart) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

/// Parses a dialog-info document. Unknown elements and attributes are ignored (the format is
/// extensible); a missing `version`/`state`/`entity`, an unknown dialog state, a `<dialog>`
/// without `id` or `<state>`, or XML that is not well formed is an error.
pub fn parse(xml: &str) -> Result<DialogInfo, DialogInfoError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut info: Option<DialogInfo> = None;
    let mut current: Option<PartialDialog> = None;
    let mut side: Option<Side> = None;
    let mut text = String::new();
    let mut root_closed = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| err(format!("{e} at byte {}", reader.buffer_position())))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = local_name(e);
                if root_closed {
                    return Err(err(format!(
                        "element <{name}> after the end of <dialog-info>"
                    )));
                }
                text.clear();
                match (stack.len(), name.as_str()) {
                    (0, "dialog-info") => {
                        let version = attr(e, "version")?
                            .ok_or_else(|| err("<dialog-info> has no version"))?;
                        let version: u64 = version
                            .trim()
                            .parse()
                            .map_err(|_| err(format!("version '{version}' is not a number")))?;
                        let state = match attr(e, "state")?.as_deref().map(str::trim) {
                            Some("full") => DocState::Full,
                            Some("partial") => DocState::Partial,
                            Some(other) => {
                                return Err(err(format!(
                                    "state '{other}' is neither full nor partial"
                                )))
                            }
                            None => return Err(err("<dialog-info> has no state")),
                        };
                        let entity =
                            attr(e, "entity")?.ok_or_else(|| err("<dialog-info> has no entity"))?;
                        info = Some(DialogInfo {
                            version,
                            state,
                            entity,
                            dialogs: Vec::new(),
                        });
                        if empty {
                            root_closed = true;
                        }
                    }
                    (0, other) => {
                        return Err(err(format!(
                            "root element is <{other}>, expected <dialog-info>"
                        )))
                    }
                    (1, "dialog") => {
                        let id = attr(e, "id")?.ok_or_else(|| err("a <dialog> has no id"))?;
                        current = Some(PartialDialog {
                            entry: DialogEntry {
                                id,
                                call_id: attr(e, "call-id")?,
                                local_tag: attr(e, "local-tag")?,
                                remote_tag: attr(e, "remote-tag")?,
                                direction: attr(e, "direction")?,
                                state: DialogState::Trying,
                                local: Participant::default(),
                                remote: Participant::default(),
                            },
                            state_seen: false,
                        });
                        if empty {
                            return Err(err("a <dialog> has no <state>"));
                        }
                    }
                    (3, "local") | (3, "remote") | (2, "local") | (2, "remote") => {
                        side = Some(if name == "local" {
                            Side::Local
                        } else {
                            Side::Remote
                        });
                    }
                    (_, "identity") | (_, "target") => {
                        let Some(p) = participant(&mut current, side) else {
                            if !empty {
                                stack.push(name);
                            }
                            continue;
                        };
                        if name == "identity" {
                            if let Some(d) = attr(e, "display")? {
                                p.display = Some(d);
                            }
                        } else if let Some(u) = attr(e, "uri")? {
                            p.target = Some(u);
                        }
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                }
            }
            Event::End(ref e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.pop();
                match name.as_str() {
                    "dialog-info" => root_closed = true,
                    "dialog" if stack.len() == 1 => {
                        side = None;
                        let d = current
                            .take()
                            .ok_or_else(|| err("</dialog> without <dialog>"))?;
                        if !d.state_seen {
                            return Err(err(format!("dialog '{}' has no <state>", d.entry.id)));
                        }
                        if let Some(i) = info.as_mut() {
                            i.dialogs.push(d.entry);
                        }
                    }
                    "state" if stack.len() == 2 => {
                        if let Some(d) = current.as_mut() {
                            d.entry.state = DialogState::parse(&text).ok_or_else(|| {
                                err(format!(
                                    "dialog '{}' has an unknown state '{}'",
                                    d.entry.id,
                                    text.trim()
                                ))
                            })?;
                            d.state_seen = true;
                        }
                    }
                    "identity" => {
                        let t = text.trim().to_string();
                        if let (false, Some(p)) = (t.is_empty(), participant(&mut current, side)) {
                            p.identity = Some(t);
                        }
                    }
                    "local" | "remote" => side = None,
                    _ => {}
                }
                text.clear();
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| err(format!("bad text: {e}")))?;
                if root_closed && !s.trim().is_empty() {
                    return Err(err("text after the end of <dialog-info>"));
                }
                text.push_str(&s);
            }
            Event::CData(t) => {
                text.push_str(&String::from_utf8_lossy(&t.into_inner()));
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r.into_inner()).into_owned();
                text.push_str(
                    &resolve_entity(&name)
                        .ok_or_else(|| err(format!("unknown entity &{name};")))?,
                );
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(err(format!(
            "document ends inside <{}>",
            stack.last().cloned().unwrap_or_default()
        )));
    }
    info.ok_or_else(|| err("no <dialog-info> element"))
}

/// The `<local>`/`<remote>` being read, if we are inside a dialog and one of them.
fn participant(
    current: &mut Option<PartialDialog>,
    side: Option<Side>,
) -> Option<&mut Participant> {
    let d = current.as_mut()?;
    match side? {
        Side::Local => Some(&mut d.entry.local),
        Side::Remote => Some(&mut d.entry.remote),
    }
}

fn resolve_entity(name: &str) -> Option<String> {
    Some(match name {
        "lt" => "<".into(),
        "gt" => ">".into(),
        "amp" => "&".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    name.strip_prefix('#')?.parse().ok()?
                };
            char::from_u32(code)?.to_string()
        }
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Builds a dialog-info document (the inverse of [`parse`]).
pub fn build(info: &DialogInfo) -> String {
    let mut x = String::from("<?xml version=\"1.0\"?>\n");
    x.push_str(&format!(
        "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"{}\" state=\"{}\" entity=\"{}\">\n",
        info.version,
        match info.state {
            DocState::Full => "full",
            DocState::Partial => "partial",
        },
        escape(&info.entity)
    ));
    for d in &info.dialogs {
        x.push_str(&format!("  <dialog id=\"{}\"", escape(&d.id)));
        for (k, v) in [
            ("call-id", &d.call_id),
            ("local-tag", &d.local_tag),
            ("remote-tag", &d.remote_tag),
            ("direction", &d.direction),
        ] {
            if let Some(v) = v {
                x.push_str(&format!(" {k}=\"{}\"", escape(v)));
            }
        }
        x.push_str(&format!(">\n    <state>{}</state>\n", d.state.as_str()));
        for (tag, p) in [("local", &d.local), ("remote", &d.remote)] {
            if p.identity.is_none() && p.target.is_none() {
                continue;
            }
            x.push_str(&format!("    <{tag}>"));
            if let Some(id) = &p.identity {
                match &p.display {
                    Some(disp) => x.push_str(&format!(
                        "<identity display=\"{}\">{}</identity>",
                        escape(disp),
                        escape(id)
                    )),
                    None => x.push_str(&format!("<identity>{}</identity>", escape(id))),
                }
            }
            if let Some(t) = &p.target {
                x.push_str(&format!("<target uri=\"{}\"/>", escape(t)));
            }
            x.push_str(&format!("</{tag}>\n"));
        }
        x.push_str("  </dialog>\n");
    }
    x.push_str("</dialog-info>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape Kamailio's presence_dialoginfo sends for an occupied orbit.
    const KAMAILIO_LIKE: &str = r#"<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:701@127.0.0.1">
  <dialog id="a84b4c76e66710" call-id="a84b4c76e66710" local-tag="1928301774" direction="recipient">
    <state>confirmed</state>
    <remote>
      <identity display="Bob &amp; Co">sip:bob@127.0.0.1</identity>
      <target uri="sip:bob@127.0.0.1:5070"/>
    </remote>
    <local>
      <identity>sip:701@127.0.0.1</identity>
    </local>
  </dialog>
</dialog-info>"#;

    #[test]
    fn reads_a_full_document_with_an_occupied_orbit() {
        let i = parse(KAMAILIO_LIKE).unwrap();
        assert_eq!(i.version, 3);
        assert_eq!(i.state, DocState::Full);
        assert_eq!(i.entity, "sip:701@127.0.0.1");
        assert_eq!(i.dialogs.len(), 1);
        let d = &i.dialogs[0];
        assert_eq!(d.id, "a84b4c76e66710");
        assert_eq!(d.state, DialogState::Confirmed);
        assert_eq!(d.direction.as_deref(), Some("recipient"));
        assert_eq!(d.remote.identity.as_deref(), Some("sip:bob@127.0.0.1"));
        assert_eq!(d.remote.display.as_deref(), Some("Bob & Co"));
        assert_eq!(d.remote.target.as_deref(), Some("sip:bob@127.0.0.1:5070"));
        assert_eq!(d.local.identity.as_deref(), Some("sip:701@127.0.0.1"));
    }

    #[test]
    fn an_empty_full_document_means_no_dialogs_and_prefixed_names_are_read() {
        let i = parse(r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:702@x"/>"#).unwrap();
        assert!(i.dialogs.is_empty());
        let p = r#"<d:dialog-info xmlns:d="urn:ietf:params:xml:ns:dialog-info" version="9" state="partial" entity="sip:7@x"><d:dialog id="1"><d:state event="rejected" code="486">terminated</d:state></d:dialog></d:dialog-info>"#;
        let i = parse(p).unwrap();
        assert_eq!((i.version, i.state), (9, DocState::Partial));
        assert_eq!(i.dialogs[0].state, DialogState::Terminated);
    }

    #[test]
    fn build_and_parse_round_trip() {
        let i = parse(KAMAILIO_LIKE).unwrap();
        assert_eq!(parse(&build(&i)).unwrap(), i);
    }

    #[test]
    fn malformed_documents_are_errors_with_a_reason() {
        let cases = [
            ("", "no <dialog-info>"),
            ("<dialog-info version=\"1\" state=\"full\" entity=\"e\">", "ends inside"),
            ("<dialog-info version=\"x\" state=\"full\" entity=\"e\"/>", "not a number"),
            ("<dialog-info version=\"1\" state=\"half\" entity=\"e\"/>", "neither full nor partial"),
            ("<dialog-info version=\"1\" state=\"full\"/>", "no entity"),
            ("<presence/>", "root element"),
            ("<dialog-info version=\"1\" state=\"full\" entity=\"e\"><dialog id=\"1\"><state>ringing</state></dialog></dialog-info>", "unknown state"),
            ("<dialog-info version=\"1\" state=\"full\" entity=\"e\"><dialog id=\"1\"></dialog></dialog-info>", "no <state>"),
            ("<dialog-info version=\"1\" state=\"full\" entity=\"e\"><dialog><state>early</state></dialog></dialog-info>", "no id"),
            ("<dialog-info version=\"1\" state=\"full\" entity=\"e\"><dialog id=\"1\"><state>early</dialog></dialog-info>", "malformed"),
            ("<dialog-info version=\"1\" state=\"full\" entity=\"e\"></dialog-info><x/>", "after the end"),
            ("<dialog-info version=\"1\" state=\"full\" entity=\"e\"><dialog id=\"1\"><state>&bogus;</state></dialog></dialog-info>", "entity"),
        ];
        for (doc, needle) in cases {
            let e = parse(doc).expect_err(doc).to_string();
            assert!(e.starts_with("malformed dialog-info document"), "{e}");
            assert!(e.contains(needle), "{doc:?} -> {e}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let base = KAMAILIO_LIKE.as_bytes();
        for cut in 0..base.len() {
            let s = String::from_utf8_lossy(&base[..cut]);
            let _ = parse(&s);
        }
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let mut b = base.to_vec();
            for _ in 0..4 {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                let i = (x as usize >> 8) % b.len();
                b[i] = (x >> 16) as u8;
            }
            let _ = parse(&String::from_utf8_lossy(&b));
        }
    }
}
