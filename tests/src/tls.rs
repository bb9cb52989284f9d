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

/// What is wrong with the server certificate (`Usual`: nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCert {
    /// SAN IP:127.0.0.1, DNS:localhost, signed by the test CA, valid for 3 days.
    Usual,
    /// Signed by the test CA for these subjectAltNames only (e.g. `DNS:pbx.example`).
    Names(String),
    /// Signed by the test CA for 127.0.0.1, valid only on 1 January 2020.
    Expired,
    /// For 127.0.0.1, signed by its own key (no CA); `ca_pem` is the certificate itself.
    SelfSigned,
}

/// Generates a CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost) signed by it in `dir`.
pub fn generate(dir: &Path) -> TestCa {
    generate_with(dir, &ServerCert::Usual)
}

const EC: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A test CA and a server certificate of the given kind in `dir`.
pub fn generate_with(dir: &Path, kind: &ServerCert) -> TestCa {
    std::fs::create_dir_all(dir).expect("create TLS directory");
    let san = match kind {
        ServerCert::Names(san) => san.as_str(),
        _ => "IP:127.0.0.1,DNS:localhost",
    };
    let ext = format!(
        "subjectAltName={san}\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    );
    std::fs::write(dir.join("server.ext"), &ext).expect("write server.ext");
    if *kind == ServerCert::SelfSigned {
        let mut args = vec!["req", "-x509"];
        args.extend_from_slice(&EC);
        let san_ext = format!("subjectAltName={san}");
        args.extend_from_slice(&[
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
            "-days",
            "3",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            &san_ext,
            "-addext",
            "basicConstraints=CA:FALSE",
        ]);
        openssl(dir, &args);
        return TestCa {
            ca_pem: dir.join("server.pem"),
            server_pem: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        };
    }
    let mut ca_args = vec!["req", "-x509"];
    ca_args.extend_from_slice(&EC);
    ca_args.extend_from_slice(&[
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "3",
        "-subj",
        "/CN=Hookflash Test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca_args);
    let mut csr_args = vec!["req"];
    csr_args.extend_from_slice(&EC);
    csr_args.extend_from_slice(&[
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr_args);
    if *kind == ServerCert::Expired {
        // `openssl ca` is the one that takes explicit validity dates.
        std::fs::write(
            dir.join("ca.cnf"),
            "[ca]\ndefault_ca = t\n[t]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
             default_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n",
        )
        .expect("write ca.cnf");
        std::fs::write(dir.join("index.txt"), "").expect("write index.txt");
        std::fs::write(dir.join("serial"), "01\n").expect("write serial");
        openssl(
            dir,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-in",
                "server.csr",
                "-out",
                "server.pem",
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20200102000000Z",
                "-extfile",
                "server.ext",
                "-notext",
            ],
        );
    } else {
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "3",
                "-extfile",
                "server.ext",
            ],
        );
    }
    TestCa {
        ca_pem: dir.join("ca.pem"),
        server_pem: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    }
}
