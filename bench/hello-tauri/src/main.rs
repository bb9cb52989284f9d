//! Hello, world in a Tauri 2 window: what any Tauri app costs (the desktop bench's reference).
//! Prints "ready" once the page has loaded, as the bench waits for.

fn main() {
    tauri::Builder::default()
        .on_page_load(|_, payload| {
            if matches!(payload.event(), tauri::webview::PageLoadEvent::Finished) {
                eprintln!("ready");
            }
        })
        .run(tauri::generate_context!())
        .expect("the hello-world window could not start");
}
