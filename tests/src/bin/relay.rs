//! `relay`: the impairment relay by hand. Point one peer at the left address and the other at
//! the right one; each direction gets its own impairment spec.
//!
//! ```text
//! cargo run -p hookflash-tests --bin relay -- --right-peer 127.0.0.1:4000 \
//!     --to-right "loss=8%,burst=3" --to-left "jitter=30ms" --seed 7
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use clap::Parser;
use hookflash_tests::relay::{Impairment, RelayConfig, UdpRelay};

#[derive(Parser, Debug)]
#[command(
    about = "UDP relay with seeded loss, burst loss, delay, jitter, reordering and duplication"
)]
struct Args {
    /// Address to bind both relay sockets on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port of the left socket (0: any).
    #[arg(long, default_value_t = 0)]
    left_port: u16,
    /// Port of the right socket (0: any).
    #[arg(long, default_value_t = 0)]
    right_port: u16,
    /// Left peer (default: whoever sends to the left socket first).
    #[arg(long)]
    left_peer: Option<SocketAddr>,
    /// Right peer (default: whoever sends to the right socket first).
    #[arg(long)]
    right_peer: Option<SocketAddr>,
    /// Impairment of traffic going left to right, e.g. "loss=8%,burst=3,delay=40ms,jitter=30ms,reorder=1%,dup=1%".
    #[arg(long, default_value = "")]
    to_right: String,
    /// Impairment of traffic going right to left.
    #[arg(long, default_value = "")]
    to_left: String,
    /// Seed of the left-to-right direction (right-to-left uses seed + 1).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many seconds (default: run until killed).
    #[arg(long)]
    secs: Option<u64>,
}

fn main() {
    let args = Args::parse();
    let parse = |spec: &str, what: &str| {
        Impairment::parse(spec).unwrap_or_else(|e| {
            eprintln!("relay: --{what}: {e}");
            std::process::exit(2);
        })
    };
    let cfg = RelayConfig {
        left_peer: args.left_peer,
        right_peer: args.right_peer,
        to_right: parse(&args.to_right, "to-right"),
        to_left: parse(&args.to_left, "to-left"),
        seed: args.seed,
    };
    let bind = |port: u16| {
        std::net::UdpSocket::bind(SocketAddr::new(args.bind, port)).unwrap_or_else(|e| {
            eprintln!("relay: cannot bind {}:{port}: {e}", args.bind);
            std::process::exit(1);
        })
    };
    let relay = UdpRelay::start_on(bind(args.left_port), bind(args.right_port), cfg.clone())
        .unwrap_or_else(|e| {
            eprintln!("relay: cannot start: {e}");
            std::process::exit(1);
        });
    println!("left  {} (to right: {:?})", relay.left_addr(), cfg.to_right);
    println!("right {} (to left: {:?})", relay.right_addr(), cfg.to_left);
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let s = relay.stats();
        println!(
            "{:>5}s  to right: {} in, {} dropped, {} out | to left: {} in, {} dropped, {} out",
            start.elapsed().as_secs(),
            s.to_right.received,
            s.to_right.dropped,
            s.to_right.forwarded,
            s.to_left.received,
            s.to_left.dropped,
            s.to_left.forwarded
        );
        if args
            .secs
            .is_some_and(|t| start.elapsed() >= Duration::from_secs(t))
        {
            break;
        }
    }
}
