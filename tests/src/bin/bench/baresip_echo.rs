//! baresip's internal latency, measured through its `echo` module: baresip answers, and what
//! it plays (after its jitter buffer and playout buffer) goes straight back into its encoder
//! (the `aubridge` source/player pair). Our engine calls it from a minimal SIP client here,
//! plays the chirp and records the echo, so the round trip is
//! our send path + baresip's receive path + baresip's send path + our receive path;
//! subtracting our one-way figure (our send + receive path, measured the same way) leaves
//! baresip's receive + send path — the same parts our one-way figure covers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use hookflash_media::{AudioIn, AudioOut, Codec, MediaSession, RtpEndpoint, StreamParams};
use hookflash_tests::relay::sip::rewrite_sdp;
use hookflash_tests::{ports, ProcessGuard, TestDir};

use crate::latency;
use crate::pesq_table::read_i16;

fn codec_line(codec: Codec) -> (&'static str, u8, &'static str) {
    match codec {
        Codec::Opus => (
            "opus/48000/2",
            111,
            "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n",
        ),
        _ => ("PCMU/8000", 0, "a=rtpmap:0 PCMU/8000\r\n"),
    }
}

/// Starts baresip as an echo server on a free port; returns it and its SIP address.
fn start_echo(dir: &TestDir, codec: Codec, n: usize) -> Result<(ProcessGuard, SocketAddr), String> {
    let bdir = dir.short_subdir(&format!("baresip-echo-{codec:?}-{n}"));
    let sip = ports::free_block(2);
    let rtp = ports::free_block(10);
    let config = format!(
        "poll_method epoll\nsip_listen 127.0.0.1:{sip}\naudio_source aubridge,echo\naudio_player aubridge,echo\n\
         rtp_ports {rtp}-{}\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule opus.so\n\
         module aubridge.so\nmodule account.so\nmodule_app echo.so\n",
        rtp + 9
    );
    let err = |e: std::io::Error| format!("cannot write the baresip echo config: {e}");
    std::fs::write(bdir.join("config"), config).map_err(err)?;
    let account = format!(
        "<sip:echo@127.0.0.1;transport=udp>;regint=0;audio_codecs={}\n",
        codec_line(codec).0
    );
    std::fs::write(bdir.join("accounts"), account).map_err(err)?;
    std::fs::write(bdir.join("contacts"), "").map_err(err)?;
    let mut cmd = Command::new("baresip");
    cmd.arg("-f").arg(&bdir);
    let p = ProcessGuard::spawn(&format!("baresip-echo-{codec:?}-{n}"), &mut cmd, dir.path());
    if !p.wait_for_output("baresip is ready", Duration::from_secs(10)) {
        return Err(format!(
            "baresip (echo) did not start; see {}",
            p.stdout_path().display()
        ));
    }
    Ok((p, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), sip)))
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// INVITE with our SDP, wait for 200, ACK. Returns the remote RTP address.
fn invite(
    sock: &UdpSocket,
    to: SocketAddr,
    codec: Codec,
    rtp: SocketAddr,
) -> Result<(SocketAddr, String), String> {
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let (_, pt, attrs) = codec_line(codec);
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP {pt}\r\n{attrs}a=sendrecv\r\n",
        rtp.port()
    );
    let uri = format!("sip:echo@{to}");
    let call_id = format!("bench-{}-{}", std::process::id(), rtp.port());
    let invite = format!(
        "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKbench{};rport\r\nMax-Forwards: 70\r\n\
         From: <sip:bench@127.0.0.1>;tag=bench\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:bench@{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        rtp.port(),
        sdp.len()
    );
    sock.send_to(invite.as_bytes(), to)
        .map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut buf = vec![0u8; 65_536];
    while Instant::now() < deadline {
        let Ok((n, _)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let Some(status) = hookflash_tests::sip_probe::parse_status(&text) else {
            continue;
        };
        if status < 200 {
            continue;
        }
        if status >= 300 {
            return Err(format!(
                "baresip (echo) refused the call: {}",
                text.lines().next().unwrap_or("")
            ));
        }
        let to_hdr = header(&text, "To").unwrap_or("").to_string();
        let contact = header(&text, "Contact")
            .and_then(|c| c.split('<').nth(1)?.split('>').next().map(str::to_string))
            .unwrap_or_else(|| uri.clone());
        let ack = format!(
            "ACK {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKbenchack{};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:bench@127.0.0.1>;tag=bench\r\nTo: {to_hdr}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            rtp.port()
        );
        sock.send_to(ack.as_bytes(), to)
            .map_err(|e| e.to_string())?;
        let media = rewrite_sdp(&text, to.ip(), 0)
            .ok_or("baresip's answer has no audio SDP")?
            .media;
        // baresip may write its default interface in c=; it sends from loopback.
        return Ok((
            SocketAddr::new(to.ip(), media.port()),
            format!("{contact}|{to_hdr}|{call_id}"),
        ));
    }
    Err("baresip (echo) did not answer within 8 s".into())
}

/// Round trip from our input through baresip's echo back to our recording, seconds.
pub fn round_trip(dir: &TestDir, codec: Codec, n: usize) -> Result<f64, String> {
    let (mut baresip, sip) = start_echo(dir, codec, n)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let input = dir.join(format!("echo-in-{n}.wav"));
    latency::input_wav(&input)?;
    let output = dir.join(format!("echo-{codec:?}-{n}.wav"));
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let result = rt.block_on(async {
        let ep = RtpEndpoint::bind(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .await
            .map_err(|e| e.to_string())?;
        let (remote, _) = invite(&sock, sip, codec, ep.local_addr())?;
        let params = StreamParams::plain(remote, codec, codec_line(codec).1);
        let started = Instant::now();
        let (s, _events) = MediaSession::start(
            ep,
            params,
            AudioIn::Wav(input.clone()),
            AudioOut::Wav(output.clone()),
        )
        .map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(2400)).await;
        let stopped = Instant::now();
        let stats = s.stop().await;
        Ok::<_, String>((started, stopped, stats))
    });
    baresip.stop();
    let (started, stopped, stats) = result?;
    if stats.packets_received < 50 {
        return Err(format!(
            "baresip echoed only {} packets",
            stats.packets_received
        ));
    }
    let pcm = read_i16(&output)?;
    latency::locate(&pcm, codec.sample_rate(), started, stopped, started)
        .ok_or_else(|| format!("the chirp was not found in the echo {}", output.display()))
}
