//! Trees with planted secrets: every family, at chunk boundaries, in a large file, in
//! binaries, in allowed paths, example values. Values are random (seeded), never real.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// A deterministic generator (xorshift64*), so trees are the same on every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// `n` characters drawn from `alphabet`.
    pub(crate) fn pick(&mut self, alphabet: &str, n: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..n)
            .map(|_| chars[(self.next() % chars.len() as u64) as usize])
            .collect()
    }
}

pub(crate) const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub(crate) const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const LOWER_ALNUM: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const HEX: &str = "0123456789abcdef";
pub(crate) const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(crate) const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One expected finding: rule id, path, start line.
pub(crate) type Expect = (String, String, u64);

/// A planted tree and what a scanner should find in it.
pub(crate) struct Planted {
    /// Findings every correct scanner reports.
    pub(crate) expected: BTreeSet<Expect>,
    /// Secrets planted where nothing may be reported (allowed paths, binaries, examples):
    /// a secret string that must not appear in any finding's location.
    pub(crate) silent_paths: Vec<String>,
}

struct Tree<'a> {
    root: &'a Path,
    planted: Planted,
}

impl Tree<'_> {
    fn write(&mut self, path: &str, content: &[u8]) {
        let full = self.root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }

    /// Writes a text file; lines ending in `\u{1}RULE` (repeatable) are expected findings of
    /// those rules on that line (the marker is not written).
    fn text(&mut self, path: &str, content: &str) {
        let mut out = String::new();
        for (i, line) in content.lines().enumerate() {
            let mut parts = line.split('\u{1}');
            out.push_str(parts.next().unwrap());
            out.push('\n');
            for rule in parts {
                self.planted
                    .expected
                    .insert((rule.to_owned(), path.to_owned(), i as u64 + 1));
            }
        }
        self.write(path, out.as_bytes());
    }

    fn silent(&mut self, path: &str, content: &[u8]) {
        self.write(path, content);
        self.planted.silent_paths.push(path.to_owned());
    }
}

/// Secret values of every family, freshly generated.
pub(crate) struct Values {
    pub(crate) aws_id: String,
    pub(crate) aws_secret: String,
    pub(crate) ghp: String,
    pub(crate) rsa_pem: String,
}

pub(crate) fn values(rng: &mut Rng) -> Values {
    let body: Vec<String> = (0..25).map(|_| rng.pick(B64, 64)).collect();
    Values {
        aws_id: format!("AKIA{}", rng.pick(UPPER_DIGITS, 16)),
        aws_secret: rng.pick(B64, 40),
        ghp: format!("ghp_{}", rng.pick(ALNUM, 36)),
        rsa_pem: format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n{}==\n-----END RSA PRIVATE KEY-----",
            body.join("\n"),
            rng.pick(B64, 30)
        ),
    }
}

/// Filler text without keywords of any rule, `n` lines from `start`.
fn filler_line(i: usize) -> String {
    format!("{i:08} the quick brown fox jumps over the lazy dog, again and again\n")
}

/// Text of about `len` bytes with `token` lines placed so that each token crosses one of
/// `boundaries` (its middle byte sits on the boundary). Returns the text and, per token, its
/// 1-based line.
pub(crate) fn crossing(len: usize, placements: &[(usize, &str, &str)]) -> (String, Vec<u64>) {
    let mut out = String::new();
    let mut lines = Vec::new();
    let mut n = 0;
    for &(boundary, prefix, token) in placements {
        let token_start = boundary - token.len() / 2;
        let line_start = token_start - prefix.len();
        while out.len() + 200 < line_start {
            out.push_str(&filler_line(n));
            n += 1;
        }
        let pad = line_start - out.len();
        assert!(pad >= 2, "placements too close");
        out.push_str(&"z".repeat(pad - 1));
        out.push('\n');
        lines.push(out.matches('\n').count() as u64 + 1);
        out.push_str(prefix);
        out.push_str(token);
        out.push('\n');
        assert!(out.len() > boundary);
    }
    while out.len() < len {
        out.push_str(&filler_line(n));
        n += 1;
    }
    (out, lines)
}

/// Plants the parity tree under `root`.
pub(crate) fn plant(root: &Path, seed: u64) -> Planted {
    let mut rng = Rng::new(seed);
    let mut t = Tree {
        root,
        planted: Planted {
            expected: BTreeSet::new(),
            silent_paths: Vec::new(),
        },
    };
    let v = values(&mut rng);
    let r = &mut rng;

    // --- Each family, in the forms tools write them. ---
    t.text(
        "app/config/aws.env",
        &format!(
            "# deployment credentials\n\
             AWS_ACCESS_KEY_ID={}\u{1}aws-access-key-id\n\
             AWS_SECRET_ACCESS_KEY={}\u{1}aws-secret-access-key\n\
             AWS_DEFAULT_REGION=eu-west-1\n",
            v.aws_id, v.aws_secret
        ),
    );
    t.text(
        "root/.aws/credentials",
        &format!(
            "[default]\naws_access_key_id = {}\u{1}aws-access-key-id\n\
             aws_secret_access_key = {}\u{1}aws-secret-access-key\n",
            format_args!("ASIA{}", r.pick(UPPER_DIGITS, 16)),
            r.pick(B64, 40)
        ),
    );
    let sa_key: Vec<String> = (0..20).map(|_| r.pick(B64, 64)).collect();
    t.text(
        "app/keys/service-account.json",
        &format!(
            "{{\n  \"type\": \"service_account\",\u{1}gcp-service-account\n  \"project_id\": \"acme-prod\",\n  \
             \"private_key_id\": \"{}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\u{1}private-key\n  \
             \"client_email\": \"deploy@acme-prod.iam.gserviceaccount.com\"\n}}\n",
            r.pick(HEX, 40),
            sa_key.join("\\n")
        ),
    );
    t.text(
        "app/config/github.env",
        &format!(
            "GITHUB_TOKEN={}\u{1}github-pat\n\
             GH_OAUTH={}\u{1}github-oauth\n\
             GH_USER_TO_SERVER={}\u{1}github-app-token\n\
             GH_INSTALLATION={}\u{1}github-app-token\n\
             GH_REFRESH={}\u{1}github-refresh-token\n\
             GH_FINE={}\u{1}github-fine-grained-pat\n",
            v.ghp,
            format_args!("gho_{}", r.pick(ALNUM, 36)),
            format_args!("ghu_{}", r.pick(ALNUM, 36)),
            format_args!("ghs_{}", r.pick(ALNUM, 36)),
            format_args!("ghr_{}", r.pick(ALNUM, 76)),
            format_args!("github_pat_{}_{}", r.pick(ALNUM, 22), r.pick(ALNUM, 59)),
        ),
    );
    t.text(
        "app/config/gitlab.yml",
        &format!(
            "gitlab:\n  url: https://gitlab.acme.io\n  token: {}\u{1}gitlab-pat\n",
            format_args!("glpat-{}", r.pick(ALNUM, 20))
        ),
    );
    t.text(
        "app/config/bitbucket.properties",
        &format!(
            "bitbucket_client_id = \"{}\"\u{1}bitbucket-client-id\n\
             bitbucket_client_secret = \"{}\"\u{1}bitbucket-client-secret\n",
            r.pick(LOWER_ALNUM, 32),
            r.pick(LOWER_ALNUM, 64)
        ),
    );
    t.text(
        "app/config/alibaba.ini",
        &format!(
            "[aliyun]\naccess_key_id = {}\u{1}alibaba-access-key-id\nalibaba_secret = \"{}\"\u{1}alibaba-secret-key\n",
            format_args!("LTAI{}", r.pick(ALNUM, 20)),
            r.pick(LOWER_ALNUM, 30)
        ),
    );
    t.text(
        "app/config/azure.env",
        &format!(
            "AZURE_STORAGE=DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={}==;EndpointSuffix=core.windows.net\u{1}azure-storage-account-key\n\
             AZURE_CLIENT_SECRET={}\u{1}azure-entra-client-secret\n\
             BLOB_URL=https://acmeprod.blob.core.windows.net/c/f.bin?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig={}\u{1}azure-sas-token\n\
             APPCONFIG=Endpoint=https://acme.azconfig.io;Id=ab12-l0-s0:cd34;Secret={}\u{1}azure-app-config-connection-string\n",
            r.pick(B64, 86),
            format_args!("{}8Q~{}", r.pick(ALNUM, 3), r.pick(ALNUM, 34)),
            r.pick(ALNUM, 52),
            r.pick(ALNUM, 44)
        ),
    );
    for (name, pem) in [
        ("app/keys/server.key", v.rsa_pem.clone()),
        (
            "home/deploy/.ssh/id_ed25519",
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n{}\n{}\n{}\n{}=\n-----END OPENSSH PRIVATE KEY-----",
                r.pick(B64, 70),
                r.pick(B64, 70),
                r.pick(B64, 70),
                r.pick(B64, 70),
                r.pick(B64, 19)
            ),
        ),
        (
            "etc/app/tls/ec.pem",
            format!(
                "-----BEGIN EC PRIVATE KEY-----\n{}\n{}\n{}==\n-----END EC PRIVATE KEY-----",
                r.pick(B64, 64),
                r.pick(B64, 64),
                r.pick(B64, 30)
            ),
        ),
    ] {
        // The secret starts on the line after BEGIN.
        let mut lines: Vec<String> = pem.lines().map(str::to_owned).collect();
        lines[1].push_str("\u{1}private-key");
        t.text(name, &lines.join("\n"));
    }
    t.text(
        "app/config/chat.env",
        &format!(
            "SLACK_BOT_TOKEN={}\u{1}slack-access-token\n\
             SLACK_WEBHOOK=https://hooks.slack.com/services/{}/{}/{}\u{1}slack-web-hook\n",
            format_args!("xoxb-{}-{}", r.pick("0123456789", 12), r.pick(ALNUM, 24)),
            format_args!("T{}", r.pick(UPPER_DIGITS, 8)),
            format_args!("B{}", r.pick(UPPER_DIGITS, 8)),
            r.pick(ALNUM, 24)
        ),
    );
    t.text(
        "app/config/payments.env",
        &format!(
            "STRIPE_SECRET={}\u{1}stripe-secret-token\nSTRIPE_PUBLISHABLE={}\u{1}stripe-publishable-token\n",
            format_args!("sk_live_{}", r.pick(ALNUM, 24)),
            format_args!("pk_live_{}", r.pick(ALNUM, 24))
        ),
    );
    // npm: quoted in code (both scanners) and bare in .npmrc (see README).
    t.text(
        "app/src/publish.js",
        &format!(
            "const registry = 'https://registry.npmjs.org/';\nconst token = \"{}\";\u{1}npm-access-token\n",
            format_args!("npm_{}", r.pick(ALNUM, 36))
        ),
    );
    t.text(
        "root/.npmrc",
        &format!(
            "//registry.npmjs.org/:_authToken={}\u{1}npm-access-token\n",
            format_args!("npm_{}", r.pick(ALNUM, 36))
        ),
    );
    t.text(
        "root/.pypirc",
        &format!(
            "[pypi]\nusername = __token__\npassword = {}\u{1}pypi-upload-token\n",
            format_args!("pypi-AgEIcHlwaS5vcmc{}", r.pick(B64URL, 70))
        ),
    );
    // Docker: a Kubernetes pull secret (both) and ~/.docker/config.json (ours only).
    t.text(
        "app/deploy/pull-secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: eyJ{}\u{1}dockerconfig-secret\n",
            r.pick(ALNUM, 80)
        ),
    );
    {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("deploy:{}", r.pick(ALNUM, 20)));
        t.text(
            "root/.docker/config.json",
            &format!(
                "{{\n  \"auths\": {{\n    \"registry.acme.io\": {{\n      \"auth\": \"{auth}\"\u{1}docker-config-auth\n    }}\n  }}\n}}\n"
            ),
        );
    }
    t.text(
        "app/config/jwt.txt",
        &format!(
            "session = eyJ{}.eyJ{}.{}\u{1}jwt-token\n",
            r.pick(ALNUM, 30),
            r.pick(ALNUM, 60),
            r.pick(B64URL, 43)
        ),
    );
    t.text(
        "app/config/ml.env",
        &format!(
            "HF_TOKEN={}\u{1}hugging-face-access-token\nOPENAI_API_KEY={}\u{1}openai-project-api-key\n",
            format_args!("hf_{}", r.pick(ALNUM, 34)),
            format_args!("sk-proj-{}T3BlbkFJ{}", r.pick(ALNUM, 40), r.pick(ALNUM, 40))
        ),
    );
    t.text(
        "app/config/vendors.env",
        &format!(
            "SHOPIFY={}\u{1}shopify-token\n\
             TWILIO={}\u{1}twilio-api-key\n\
             SENDGRID={}\u{1}sendgrid-api-token\n\
             export HEROKU_API_KEY=\"{}\"\u{1}heroku-api-key\n\
             AGE={}\u{1}age-secret-key\n\
             DATABRICKS={}\u{1}databricks-api-token\n\
             PULUMI={}\u{1}pulumi-api-token\n\
             RUBYGEMS={}\u{1}rubygems-api-token\n\
             POSTMAN={}\u{1}postman-api-token\n\
             LINEAR={}\u{1}linear-api-token\n\
             CLOJARS={}\u{1}clojars-api-token\n\
             SHIPPO={}\u{1}shippo-api-token\n\
             GRAFANA=\"{}\"\u{1}grafana-api-token\n\
             DOPPLER=\"{}\"\u{1}doppler-api-token\n\
             NEWRELIC=\"{}\"\u{1}new-relic-user-api-key\n\
             SENDINBLUE={}\u{1}sendinblue-api-token\n\
             PLANETSCALE={}\u{1}planetscale-password\n\
             ATLASSIAN atlassian_token = \"{}\"\u{1}atlassian-api-token\n\
             FACEBOOK facebook_secret = \"{}\"\u{1}facebook-token\n\
             MAILGUN mailgun_key = \"{}\"\u{1}mailgun-token\n",
            format_args!("shpat_{}", r.pick(HEX, 32)),
            format_args!("SK{}", r.pick(HEX, 32)),
            format_args!("SG.{}", r.pick(ALNUM, 66)),
            format_args!(
                "{}-{}-{}-{}-{}",
                r.pick(HEX, 8),
                r.pick(HEX, 4),
                r.pick(HEX, 4),
                r.pick(HEX, 4),
                r.pick(HEX, 12)
            ),
            format_args!(
                "AGE-SECRET-KEY-1{}",
                r.pick("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
            ),
            format_args!("dapi{}", r.pick("abcdefgh0123456789", 32)),
            format_args!("pul-{}", r.pick(HEX, 40)),
            format_args!("rubygems_{}", r.pick(HEX, 48)),
            format_args!("PMAK-{}-{}", r.pick(HEX, 24), r.pick(HEX, 34)),
            format_args!("lin_api_{}", r.pick(ALNUM, 40)),
            format_args!("CLOJARS_{}", r.pick(LOWER_ALNUM, 60)),
            format_args!("shippo_live_{}", r.pick(HEX, 40)),
            format_args!("eyJrIjoi{}", r.pick(LOWER_ALNUM, 80)),
            format_args!("dp.pt.{}", r.pick(ALNUM, 43)),
            format_args!("NRAK-{}", r.pick(UPPER_DIGITS, 27)),
            format_args!("xkeysib-{}-{}", r.pick(HEX, 64), r.pick(ALNUM, 16)),
            format_args!("pscale_pw_{}", r.pick(ALNUM, 43)),
            r.pick(LOWER_ALNUM, 24),
            r.pick(HEX, 32),
            format_args!("key-{}", r.pick(HEX, 32)),
        ),
    );

    // --- Chunk boundaries: Trivy's 64 KiB buffers, Nydus' 1 MiB chunks. ---
    let aws_line = format!("aws_access_key_id = {}", v.aws_id);
    let (text, lines) = crossing(
        200 * 1024,
        &[
            (60 * 1024, "token: ", &v.ghp),
            (64 * 1024, "", &aws_line),
            (128 * 1024, "GITHUB_TOKEN=", &v.ghp),
            (192 * 1024 - 4, "", &v.rsa_pem),
        ],
    );
    let p = "app/logs/boundary-64k.log";
    for (rule, line) in [
        ("github-pat", lines[0]),
        ("aws-access-key-id", lines[1]),
        ("github-pat", lines[2]),
        ("private-key", lines[3] + 1),
    ] {
        t.planted
            .expected
            .insert((rule.to_owned(), p.to_owned(), line));
    }
    t.write(p, text.as_bytes());
    let (text, lines) = crossing(
        (2 << 20) + 4096,
        &[
            (1 << 20, "AWS_SECRET_ACCESS_KEY=", &v.aws_secret),
            ((1 << 20) + 3000, "token=", &v.ghp),
            (2 << 20, "", &v.rsa_pem),
        ],
    );
    let p = "app/logs/boundary-1m.log";
    for (rule, line) in [
        ("aws-secret-access-key", lines[0]),
        ("github-pat", lines[1]),
        ("private-key", lines[2] + 1),
    ] {
        t.planted
            .expected
            .insert((rule.to_owned(), p.to_owned(), line));
    }
    t.write(p, text.as_bytes());
    // A token after a multi-line key (the installed Trivy miscounts lines here: README).
    let (text, lines) = crossing(
        8 * 1024,
        &[(2000, "", &v.rsa_pem), (5000, "token=", &v.ghp)],
    );
    let p = "app/logs/after-key.log";
    for (rule, line) in [("private-key", lines[0] + 1), ("github-pat", lines[1])] {
        t.planted
            .expected
            .insert((rule.to_owned(), p.to_owned(), line));
    }
    t.write(p, text.as_bytes());

    // --- A large file: 12 MiB, secrets at the start, in the middle and at the end. ---
    let (text, lines) = crossing(
        12 << 20,
        &[
            (1000, "api_token=", &v.ghp),
            (6 << 20, "AWS_ACCESS_KEY_ID=", &v.aws_id),
            ((12 << 20) - 2000, "key: ", &v.ghp),
        ],
    );
    let p = "app/data/export.csv.txt";
    for (rule, line) in [
        ("github-pat", lines[0]),
        ("aws-access-key-id", lines[1]),
        ("github-pat", lines[2]),
    ] {
        t.planted
            .expected
            .insert((rule.to_owned(), p.to_owned(), line));
    }
    t.write(p, text.as_bytes());

    // --- Binaries: an ELF-like file is skipped by both; a .pyc's strings are scanned. ---
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    elf.extend(std::iter::repeat_n(0u8, 400));
    elf.extend_from_slice(format!("\x00GITHUB_TOKEN={}\x00", v.ghp).as_bytes());
    t.silent("app/bin/deploy-tool", &elf);
    let mut pyc = b"\xcb\x0d\x0d\x0a\x00\x00\x00\x00".to_vec();
    pyc.extend_from_slice(b"\x00\x00\x00\x00\xe3\x00\x00\x00");
    pyc.extend_from_slice(b"\x00\x00\x00\x00\xdamodule_name\x00\x00");
    pyc.extend_from_slice(format!("\x00\x01\x02token = '{}'\x00\x00", v.ghp).as_bytes());
    pyc.extend_from_slice(b"\x00\x00\x03\x04short\x00end of module\x00");
    t.write("app/__pycache__/settings.cpython-311.pyc", &pyc);
    t.planted.expected.insert((
        "github-pat".to_owned(),
        "app/__pycache__/settings.cpython-311.pyc".to_owned(),
        2,
    ));

    // --- Allowed paths, skip patterns and example values: nothing is reported. ---
    let creds = format!(
        "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\nGITHUB_TOKEN={}\n",
        v.aws_id, v.aws_secret, v.ghp
    );
    for path in [
        "usr/share/doc/acme/credentials.txt",
        "usr/lib/acme/defaults.env",
        "app/tests/fixtures.env",
        "app/README.md",
        "app/vendor/lib/config.env",
        "app/site/acme-1.0.dist-info/METADATA",
        "app/locales/en/messages.txt",
        "usr/local/go/src/crypto/keys.txt",
        "app/node_modules/pkg/.env",
        "app/.git/config",
    ] {
        t.silent(path, creds.as_bytes());
    }
    t.silent(
        "app/config/sample.env",
        b"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    t.silent("app/config/tiny", b"ghp_x\n");
    t.planted
}
