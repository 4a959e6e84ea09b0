//! Helpers shared by the CLI's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

pub(crate) mod partner;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn evidentia(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evidentia")).args(args).current_dir(dir).output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch directory, removed when the test ends.
pub(crate) struct Workdir(pub(crate) PathBuf);

impl Workdir {
    pub(crate) fn new(name: &str) -> Workdir {
        let dir = std::env::temp_dir().join(format!("evidentia-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Workdir(dir)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
}

/// The kind of key a test time-stamping authority signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsaKey {
    P256,
    Rsa,
}

/// A real RFC 3161 time-stamping authority: `openssl ts -reply` with a throwaway CA
/// made here (root, optionally an intermediate, and the TSA certificate with the
/// critical timeStamping extended key usage).
pub(crate) struct LocalTsa {
    pub(crate) dir: PathBuf,
    /// The root certificate (PEM), to trust.
    pub(crate) root: PathBuf,
    /// The intermediate's certificate (PEM), when there is one; tokens do not embed it.
    pub(crate) intermediate: Option<PathBuf>,
}

impl LocalTsa {
    /// `ess_sha1`: name the certificate with ESS signing-certificate v1 (SHA-1),
    /// as older authorities do, instead of v2 (SHA-256).
    pub(crate) fn new(parent: &Path, name: &str, key: TsaKey, with_intermediate: bool, ess_sha1: bool) -> LocalTsa {
        LocalTsa::with_tsa_extensions(
            parent,
            name,
            key,
            with_intermediate,
            ess_sha1,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
        )
    }

    /// An authority whose certificate has the given extensions (OpenSSL's
    /// extension-file syntax), to make certificates a verifier must refuse.
    pub(crate) fn with_tsa_extensions(
        parent: &Path,
        name: &str,
        key: TsaKey,
        with_intermediate: bool,
        ess_sha1: bool,
        tsa_extensions: &str,
    ) -> LocalTsa {
        let dir = parent.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let newkey: &[&str] = match key {
            TsaKey::P256 => &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            TsaKey::Rsa => &["-newkey", "rsa:2048"],
        };
        std::fs::write(
            dir.join("ca.ext"),
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .unwrap();
        std::fs::write(dir.join("tsa.ext"), tsa_extensions).unwrap();
        let subject = |cn: &str| format!("/O=Evidentia tests/CN={cn} ({name})");
        let root_subject = subject("Test TSA Root");
        let mut args = vec!["req", "-x509", "-new"];
        args.extend(newkey);
        args.extend(["-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "3650", "-subj", &root_subject]);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &args);
        let issue = |subject: &str, stem: &str, issuer: &str, ext: &str| {
            let mut args = vec!["req", "-new"];
            args.extend(newkey);
            let (key, csr, pem) = (format!("{stem}.key"), format!("{stem}.csr"), format!("{stem}.pem"));
            args.extend(["-nodes", "-keyout", &key, "-out", &csr, "-subj", subject]);
            openssl(&dir, &args);
            let (issuer_pem, issuer_key) = (format!("{issuer}.pem"), format!("{issuer}.key"));
            openssl(
                &dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &issuer_pem,
                    "-CAkey",
                    &issuer_key,
                    "-CAcreateserial",
                    "-days",
                    "3000",
                    "-out",
                    &pem,
                    "-extfile",
                    ext,
                ],
            );
        };
        let signer_issuer = if with_intermediate {
            issue(&subject("Test TSA Intermediate"), "intermediate", "root", "ca.ext");
            "intermediate"
        } else {
            "root"
        };
        issue(&subject("Test TSA"), "tsa", signer_issuer, "tsa.ext");
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        let config = format!(
            "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\ndir = {}\nserial = $dir/serial\nsigner_cert = $dir/tsa.pem\n\
             signer_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\ntsa_name = yes\n\
             ess_cert_id_chain = no\ness_cert_id_alg = {}\n",
            dir.display(),
            if ess_sha1 { "sha1" } else { "sha256" }
        );
        std::fs::write(dir.join("tsa.cnf"), config).unwrap();
        LocalTsa {
            root: dir.join("root.pem"),
            intermediate: with_intermediate.then(|| dir.join("intermediate.pem")),
            dir,
        }
    }

    /// The authority's response to a request file.
    pub(crate) fn reply(&self, request: &Path, response: &Path) {
        let config = self.dir.join("tsa.cnf");
        openssl(
            &self.dir,
            &[
                "ts",
                "-reply",
                "-config",
                config.to_str().unwrap(),
                "-queryfile",
                request.to_str().unwrap(),
                "-out",
                response.to_str().unwrap(),
            ],
        );
    }

    /// The `--ca` (and `--certs`) arguments that trust this authority.
    pub(crate) fn trust_args(&self) -> Vec<String> {
        let mut args = vec!["--ca".to_owned(), self.root.display().to_string()];
        if let Some(intermediate) = &self.intermediate {
            args.extend(["--certs".to_owned(), intermediate.display().to_string()]);
        }
        args
    }

    /// Requests a timestamp of the log's newest checkpoint, has this authority answer
    /// it, and attaches the answer to the log.
    pub(crate) fn stamp_log(&self, dir: &Path, log: &Path, hash: &str) {
        let request = self.dir.join(format!("{hash}.tsq"));
        let response = self.dir.join(format!("{hash}.tsr"));
        let out = evidentia(
            dir,
            &["timestamp", "request", log.to_str().unwrap(), "--hash", hash, "--out", request.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        self.reply(&request, &response);
        let mut args = vec!["timestamp", "attach", log.to_str().unwrap(), "--response", response.to_str().unwrap()];
        args.extend(["--request", request.to_str().unwrap()]);
        let trust = self.trust_args();
        args.extend(trust.iter().map(String::as_str));
        let out = evidentia(dir, &args);
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    }
}

/// The programs verify.sh may use, and nothing else.
pub(crate) const VERIFY_SH_TOOLS: [&str; 20] = [
    "sh",
    "openssl",
    "sha256sum",
    "sed",
    "tr",
    "od",
    "awk",
    "head",
    "tail",
    "cut",
    "cmp",
    "grep",
    "mktemp",
    "rm",
    "cat",
    "wc",
    "dirname",
    "mv",
    "sort",
    "uniq",
];

/// Where a program is on the PATH.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|p| p.join(name)).find(|p| p.is_file())
}

/// A folder `dir/bin` of links to the programs verify.sh may use, and to `dash`
/// and `bash` when they are installed (to run it with each); `replace` names
/// programs to put there instead (name, path).
pub(crate) fn restricted_path(dir: &Path, replace: &[(&str, &Path)]) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in VERIFY_SH_TOOLS.iter().chain(&["dash", "bash"]) {
        let found = match replace.iter().find(|(name, _)| name == tool) {
            Some((_, path)) => path.to_path_buf(),
            None => match find_program(tool) {
                Some(found) => found,
                None if *tool == "dash" || *tool == "bash" => continue,
                None => panic!("{tool} is not installed"),
            },
        };
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    bin
}

/// The shells of `bin` to run verify.sh with: dash and bash where installed, else sh.
pub(crate) fn shells(bin: &Path) -> Vec<PathBuf> {
    let found: Vec<PathBuf> = ["dash", "bash"].iter().map(|s| bin.join(s)).filter(|s| s.exists()).collect();
    if found.is_empty() { vec![bin.join("sh")] } else { found }
}

/// A log of 13 receipts with a checkpoint in `dir`, and the package of record 6
/// exported from it to `dir/package` (and `dir/package.tar.gz`).
pub(crate) fn export_package(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("key.jwk"), evidentia(dir, &["keygen"]).stdout).unwrap();
    let events: String = (0..13).map(|i| format!("{{\"type\":\"approval\",\"n\":{i}}}\n")).collect();
    std::fs::write(dir.join("events.jsonl"), events).unwrap();
    for args in [
        &["log", "init", "--key", "key.jwk", "--id", "example.com/hostile", "log"][..],
        &["log", "append", "--batch", "log", "events.jsonl"],
        &["log", "checkpoint", "log"],
        &["export", "log", "--index", "6", "--out", "package"],
    ] {
        let out = evidentia(dir, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    dir.join("package")
}

/// Copies a folder and everything in it.
pub(crate) fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Sends a signal to every process of a process group.
pub(crate) fn signal_group(group: u32, signal: &str) {
    let _ = Command::new("sh").arg("-c").arg(format!("kill -s {signal} -- -{group} 2>/dev/null")).status();
}

/// A child started in its own process group, with its output read as it comes.
pub(crate) struct Running {
    pub(crate) child: std::process::Child,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Running {
    pub(crate) fn start(command: &mut Command) -> Running {
        use std::os::unix::process::CommandExt;
        let mut child = command
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let read = |mut pipe: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        };
        let stdout = Some(read(Box::new(child.stdout.take().unwrap())));
        let stderr = Some(read(Box::new(child.stderr.take().unwrap())));
        Running { child, stdout, stderr }
    }

    /// Waits for the child to end; `None` if it is still running after `limit`
    /// (the test then fails, and the group is killed when this is dropped).
    pub(crate) fn wait_for(&mut self, limit: std::time::Duration) -> Option<Output> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Nothing of the group may hold the output open.
                signal_group(self.child.id(), "KILL");
                let stdout = self.stdout.take().unwrap().join().unwrap();
                let stderr = self.stderr.take().unwrap().join().unwrap();
                return Some(Output { status, stdout, stderr });
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal_group(self.child.id(), "KILL");
            let _ = self.child.wait();
        }
    }
}

/// Runs a command in its own process group, failing the test (and killing the
/// group) if it has not ended after `seconds`.
pub(crate) fn run_within(command: &mut Command, seconds: u64) -> Output {
    let mut running = Running::start(command);
    running
        .wait_for(std::time::Duration::from_secs(seconds))
        .unwrap_or_else(|| panic!("{command:?} still runs after {seconds} s"))
}

/// The Go program in `tests/<name>` built (once per test process), or `None` when
/// Go is missing and not required (`EVIDENTIA_REQUIRE_GO`, which `cargo xtask
/// test` sets).
pub(crate) fn go_program(name: &str) -> Option<PathBuf> {
    let go = ["go", "/usr/local/go/bin/go"]
        .into_iter()
        .find(|go| Command::new(go).arg("version").output().is_ok_and(|o| o.status.success()));
    let Some(go) = go else {
        assert!(std::env::var_os("EVIDENTIA_REQUIRE_GO").is_none(), "EVIDENTIA_REQUIRE_GO is set but go is missing");
        eprintln!("skipped: go is not installed");
        return None;
    };
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let binary = tmp.join(format!("{name}-{}", std::process::id()));
    if binary.exists() {
        return Some(binary);
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests").join(name);
    let out = Command::new(go)
        .args(["build", "-mod=readonly", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&source)
        // Go's module and build caches beside cargo's, so that runs share them and
        // nothing lands in the home directory; the version go.mod and go.sum pin.
        .env("GOPATH", tmp.join("go"))
        .env("GOCACHE", tmp.join("go-cache"))
        .env("GOFLAGS", "-modcacherw")
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    assert!(out.status.success(), "go build: {}", text(&out.stderr));
    Some(binary)
}
