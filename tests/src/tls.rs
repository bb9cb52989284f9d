//! A throw-away test CA and a server certificate for 127.0.0.1, made with the `openssl` CLI.
//!
//! The CLI under test is given `--tls-ca ca.pem`; Kamailio serves `server.pem`/`server.key`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths of the generated files.
#[derive(Debug, Clone)]
pub struct TestCa {
    pub ca_pem: PathBuf,
    pub server_pem: PathBuf,
    pub server_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (apt-get install openssl): {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generates a CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost) signed by it in `dir`.
pub fn generate(dir: &Path) -> TestCa {
    std::fs::create_dir_all(dir).expect("create TLS directory");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca_args = vec!["req", "-x509"];
    ca_args.extend_from_slice(&ec);
    ca_args.extend_from_slice(&[
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3", "-subj", "/CN=Hookflash Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca_args);
    let mut csr_args = vec!["req"];
    csr_args.extend_from_slice(&ec);
    csr_args.extend_from_slice(&["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
    openssl(dir, &csr_args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    openssl(
        dir,
        &[
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "3", "-extfile", "server.ext",
        ],
    );
    TestCa { ca_pem: dir.join("ca.pem"), server_pem: dir.join("server.pem"), server_key: dir.join("server.key") }
}
