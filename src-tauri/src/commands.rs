//! The commands the window invokes: each one translates a UI intent into one `Phone` call.
//! Errors are the engine's user-facing sentence (`PhoneError`'s Display).

use crate::config::AccountForm;
use crate::links::{LinkInbox, LinkRequest};
use crate::session::{AccountView, Session};
use hookflash_phone::routing::{RoutingSettings, SettingsProblem};
use hookflash_phone::{CallId, CallInfo, HistoryEntry};
use tauri::{AppHandle, State};

/// SIP status used when the user declines an incoming call.
pub const DECLINE_STATUS: u16 = 603;

type Reply<T> = Result<T, String>;

#[tauri::command]
pub async fn register(session: State<'_, Session>) -> Reply<()> {
    session
        .phone()
        .await?
        .register()
        .await
        .map(|_expires| ())
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn dial(
    session: State<'_, Session>,
    target: String,
    caller_id: Option<String>,
    from: Option<String>,
) -> Reply<CallId> {
    let phone = session.phone().await?;
    // The caller ID, if picked, is checked against the account's allowed list by the engine;
    // `from` (an account's AOR) picks the account, else the first.
    let options = hookflash_phone::CallOptions {
        caller_id,
        from,
        ..session.call_options().await
    };
    phone
        .dial(&target, options)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn answer(session: State<'_, Session>, id: CallId) -> Reply<()> {
    let phone = session.phone().await?;
    let options = session.call_options().await;
    phone.answer(id, options).await.map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn decline(session: State<'_, Session>, id: CallId) -> Reply<()> {
    session
        .phone()
        .await?
        .reject(id, DECLINE_STATUS)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn hangup(session: State<'_, Session>, id: CallId) -> Reply<()> {
    session
        .phone()
        .await?
        .hangup(id)
        .await
        .map_err(|e| e.to_string())
}

/// Sends a ringing call to the configured voicemail (302).
#[tauri::command]
pub async fn send_to_voicemail(session: State<'_, Session>, id: CallId) -> Reply<()> {
    let target = session
        .voicemail()
        .await
        .ok_or("no voicemail is configured: set it in Account settings")?;
    session
        .phone()
        .await?
        .forward(id, &target)
        .await
        .map_err(|e| e.to_string())
}

/// Holds the call with music on hold (it moves to the parked list).
#[tauri::command]
pub async fn park_call(session: State<'_, Session>, id: CallId) -> Reply<()> {
    session
        .phone()
        .await?
        .park(id)
        .await
        .map_err(|e| e.to_string())
}

/// Makes a parked call the active one; the active call is parked in the same step.
#[tauri::command]
pub async fn switch_call(session: State<'_, Session>, id: CallId) -> Reply<()> {
    session
        .phone()
        .await?
        .switch_to(id)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn send_dtmf(session: State<'_, Session>, id: CallId, digits: String) -> Reply<()> {
    session
        .phone()
        .await?
        .send_dtmf(id, &digits)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn set_mute(session: State<'_, Session>, id: CallId, muted: bool) -> Reply<()> {
    session
        .phone()
        .await?
        .set_mute(id, muted)
        .await
        .map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn calls(session: State<'_, Session>) -> Reply<Vec<CallInfo>> {
    Ok(session.phone().await.map(|p| p.calls()).unwrap_or_default())
}

#[tauri::command]
pub async fn history(session: State<'_, Session>, limit: usize) -> Reply<Vec<HistoryEntry>> {
    match session.phone().await {
        Ok(phone) => phone.history(limit).map_err(|e| e.to_string()),
        Err(_) => Ok(Vec::new()),
    }
}

#[tauri::command]
pub async fn routing(session: State<'_, Session>) -> Reply<RoutingSettings> {
    Ok(session.routing().await)
}

/// Rejects with `{ message, problems: [{ rule, field, message }] }` so the window can show each
/// problem next to its rule.
#[tauri::command]
pub async fn save_routing(
    session: State<'_, Session>,
    settings: RoutingSettings,
) -> Result<RoutingSettings, RoutingRejected> {
    session
        .save_routing(settings)
        .await
        .map_err(|e| RoutingRejected {
            message: e.to_string(),
            problems: e.problems,
        })
}

/// What `save_routing` rejects with.
#[derive(Debug, serde::Serialize, ts_rs::TS)]
pub struct RoutingRejected {
    message: String,
    problems: Vec<SettingsProblem>,
}

/// Echo cancellation, noise suppression, gain control: what is in effect.
#[tauri::command]
pub async fn voice_processing(
    session: State<'_, Session>,
) -> Reply<hookflash_phone::VoiceProcessing> {
    Ok(session.voice_processing().await)
}

/// Switches them for every call at once and saves the choice in the profile.
#[tauri::command]
pub async fn save_voice_processing(
    session: State<'_, Session>,
    settings: hookflash_phone::VoiceProcessing,
) -> Reply<hookflash_phone::VoiceProcessing> {
    session.save_voice_processing(settings).await
}

/// The links (`tel:`, `sip:`, `hookflash-app dial`) that arrived since the last call, oldest
/// first; the window takes them when it starts and on every `links::CHANNEL` nudge.
#[tauri::command]
pub async fn take_links(inbox: State<'_, LinkInbox>) -> Reply<Vec<LinkRequest>> {
    Ok(inbox.take())
}

/// Whether a link is confirmed before it is dialled.
#[tauri::command]
pub async fn link_settings(session: State<'_, Session>) -> Reply<hookflash_phone::LinkSettings> {
    Ok(session.link_settings().await)
}

/// Saves it in the profile.
#[tauri::command]
pub async fn save_link_settings(
    session: State<'_, Session>,
    settings: hookflash_phone::LinkSettings,
) -> Reply<hookflash_phone::LinkSettings> {
    session.save_link_settings(settings).await
}

/// Presence and do-not-disturb as routing rules see them.
#[tauri::command]
pub async fn availability(session: State<'_, Session>) -> Reply<hookflash_phone::Availability> {
    Ok(session.availability().await)
}

/// Sets presence and do-not-disturb (DND on: every incoming call is refused as the do-not-disturb
/// preset says, busy by default).
#[tauri::command]
pub async fn set_availability(
    session: State<'_, Session>,
    availability: hookflash_phone::Availability,
) -> Reply<hookflash_phone::Availability> {
    Ok(session.set_availability(availability).await)
}

#[tauri::command]
pub async fn account(session: State<'_, Session>) -> Reply<AccountView> {
    Ok(session.account_view().await)
}

#[tauri::command]
pub async fn save_account(
    app: AppHandle,
    session: State<'_, Session>,
    account: AccountForm,
    password: Option<String>,
) -> Reply<AccountView> {
    session.save_account(&app, account, password).await
}

/// Parks a connected call on a server park orbit slot (blind transfer to the slot).
#[tauri::command]
pub async fn park_on_orbit(session: State<'_, Session>, id: CallId, slot: String) -> Reply<()> {
    session
        .phone()
        .await?
        .park_on_orbit(id, &slot)
        .await
        .map_err(|e| e.to_string())
}

/// Blind transfer: the call is held, then its far end is referred to `target` (number,
/// extension or URI). Progress arrives as `transfer` events; if it fails the call stays parked,
/// or is resumed with `resume`.
#[tauri::command]
pub async fn transfer_call(
    session: State<'_, Session>,
    id: CallId,
    target: String,
    resume: bool,
) -> Reply<()> {
    session
        .phone()
        .await?
        .transfer(id, &target, resume)
        .await
        .map_err(|e| e.to_string())
}

/// Consult before transferring: parks the call and dials `target`; the new call's id.
#[tauri::command]
pub async fn consult_call(
    session: State<'_, Session>,
    id: CallId,
    target: String,
) -> Reply<CallId> {
    let phone = session.phone().await?;
    phone
        .consult(id, &target, session.call_options().await)
        .await
        .map_err(|e| e.to_string())
}

/// Attended transfer: connects the far ends of calls `id` and `other` and leaves both; if it
/// fails both stay, `id` back on the line.
#[tauri::command]
pub async fn complete_transfer(
    session: State<'_, Session>,
    id: CallId,
    other: CallId,
) -> Reply<()> {
    session
        .phone()
        .await?
        .complete_transfer(id, other, true)
        .await
        .map_err(|e| e.to_string())
}

/// The user's answer to the far end's transfer request on call `id` (`transfer_request` event,
/// accounts with `transfer_requests = "ask"`): accept calls the target (the call ends once that
/// one connects), decline keeps the call. Unanswered in time, the engine declines by itself.
#[tauri::command]
pub async fn answer_transfer_request(
    session: State<'_, Session>,
    id: CallId,
    accept: bool,
) -> Reply<()> {
    session
        .phone()
        .await?
        .answer_transfer_request(id, accept)
        .await
        .map_err(|e| e.to_string())
}

/// Takes back the call parked on an orbit slot (a call to the slot).
#[tauri::command]
pub async fn retrieve_from_orbit(session: State<'_, Session>, slot: String) -> Reply<CallId> {
    let phone = session.phone().await?;
    phone
        .retrieve(&slot, session.call_options().await)
        .await
        .map_err(|e| e.to_string())
}

/// The account's orbit slots as last reported (empty without `[account.shared_park]`);
/// changes arrive as `park_slots` events.
#[tauri::command]
pub async fn park_slots(session: State<'_, Session>) -> Reply<Vec<hookflash_phone::ParkSlot>> {
    Ok(session
        .phone()
        .await
        .map(|p| p.park_slots())
        .unwrap_or_default())
}

/// Merges the active call, the conference (if any) and `ids` into one local conference the user
/// is in (2 to 8 other parties, all connected); `ids` empty brings a parked conference back.
/// Changes arrive as `conference` events.
#[tauri::command]
pub async fn conference_calls(session: State<'_, Session>, ids: Vec<CallId>) -> Reply<()> {
    session
        .phone()
        .await?
        .conference(&ids)
        .await
        .map_err(|e| e.to_string())
}

/// Keeps conference party `id` (absent: the user's own microphone) out of the mix, or lets it
/// back in; the party still hears everyone.
#[tauri::command]
pub async fn conference_mute(
    session: State<'_, Session>,
    id: Option<CallId>,
    muted: bool,
) -> Reply<()> {
    session
        .phone()
        .await?
        .conference_mute(id, muted)
        .await
        .map_err(|e| e.to_string())
}

/// Leaves the conference: two other parties are connected to each other (attended transfer)
/// and our calls end; with more it is refused with the engine's explanation unless `end`,
/// which hangs up every party.
#[tauri::command]
pub async fn leave_conference(session: State<'_, Session>, end: bool) -> Reply<()> {
    session
        .phone()
        .await?
        .leave_conference(end)
        .await
        .map_err(|e| e.to_string())
}

/// Leaves the conference by handing it to party `to` (its phone is referred to each other
/// party in turn, and hosts the conference from then on).
#[tauri::command]
pub async fn hand_conference(session: State<'_, Session>, to: CallId) -> Reply<()> {
    session
        .phone()
        .await?
        .hand_conference(to)
        .await
        .map_err(|e| e.to_string())
}

/// The window's language (`en`, `de`, `es`; any other tag is English): the tray, the ringing
/// window's title and the notifications follow it.
#[tauri::command]
pub fn set_language(app: tauri::AppHandle, tag: String) {
    let lang = crate::desktop_words::Lang::from_tag(&tag);
    crate::desktop_words::set_current(lang);
    crate::tray::adapter::set_lang(&app, lang);
}
