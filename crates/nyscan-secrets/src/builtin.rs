//! The built-in secret rules.
//!
//! Ids, categories, titles, severities and keywords follow Trivy's built-in rules for the
//! families both have, so reports line up; the regexes are written here. Where ours differ in
//! what they accept, `README.md` lists it. `docker-config-auth` is ours (Trivy has no rule for
//! `~/.docker/config.json` credentials).

use crate::rule::{AllowRule, Rule, RuleError, RuleSpec, Validator};
use crate::severity::Severity::{self, Critical, High, Low, Medium, Unknown};

/// An assignment operator between a key and its value (`=`, `:`, `=>`, `:=`, `||:`, `<=`, `>`).
const ASSIGN: &str = r"(?:=>|<=|:=|\|\|:|=|:|>)";
/// A lower-case UUID made of `a-h` and digits (Trivy's shape for several vendors).
const UUID_AH: &str = "[a-h0-9]{8}-[a-h0-9]{4}-[a-h0-9]{4}-[a-h0-9]{4}-[a-h0-9]{12}";

/// `name...<op>...'value'`: a vendor name, up to 25 key characters, an assignment, up to 5
/// characters, then the quoted value. Case-insensitive. The secret is the value.
fn assigned(name: &str, value: &str) -> String {
    format!(r#"(?i)(?P<key>{name}[\w .,-]{{0,25}}){ASSIGN}.{{0,5}}['"](?P<secret>{value})['"]"#)
}

/// Like [`assigned`] but the value is not quoted.
fn assigned_bare(name: &str, value: &str) -> String {
    format!(r"(?i)(?P<key>{name}[\w .,-]{{0,25}}){ASSIGN}.{{0,5}}(?P<secret>{value})")
}

struct B {
    spec: RuleSpec,
    validator: Option<Validator>,
}

fn rule(
    id: &str,
    category: &str,
    title: &str,
    severity: Severity,
    keywords: &[&str],
    regex: impl Into<String>,
) -> B {
    B {
        spec: RuleSpec {
            id: id.to_owned(),
            category: category.to_owned(),
            title: title.to_owned(),
            severity: Some(severity),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            regex: regex.into(),
            secret_group: None,
            path: None,
            allow: Vec::new(),
        },
        validator: None,
    }
}

impl B {
    /// The secret is the capture group `secret`.
    fn grouped(mut self) -> Self {
        self.spec.secret_group = Some("secret".to_owned());
        self
    }

    fn path(mut self, path: &str) -> Self {
        self.spec.path = Some(path.to_owned());
        self
    }

    fn allow(mut self, allow: AllowRule) -> Self {
        self.spec.allow.push(allow);
        self
    }

    fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }
}

/// A rule keyed on a vendor name followed by an assigned, quoted value.
fn keyed(id: &str, category: &str, title: &str, sev: Severity, name: &str, value: &str) -> B {
    rule(id, category, title, sev, &[name], assigned(name, value)).grouped()
}

fn specs() -> Result<Vec<B>, RuleError> {
    Ok(vec![
        // --- AWS ---
        rule(
            "aws-access-key-id",
            "AWS",
            "AWS Access Key ID",
            Critical,
            &["AKIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ASIA", "A3T"],
            r"\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b",
        ),
        rule(
            "aws-secret-access-key",
            "AWS",
            "AWS Secret Access Key",
            Critical,
            &["key"],
            r#"(?i)aws_?(?:sec(?:ret)?)?_?(?:access)?_?key["']?\s{0,32}(?::|=>|=)?\s{0,32}["']?(?P<secret>[a-z0-9/+=]{40})["']?[.,;]?(?:[\s}\]]|$)"#,
        )
        .grouped(),
        // --- GitHub / GitLab ---
        rule(
            "github-pat",
            "GitHub",
            "GitHub Personal Access Token",
            Critical,
            &["ghp_"],
            r"\bghp_[0-9A-Za-z]{36}",
        ),
        rule(
            "github-oauth",
            "GitHub",
            "GitHub OAuth Access Token",
            Critical,
            &["gho_"],
            r"\bgho_[0-9A-Za-z]{36}",
        ),
        rule(
            "github-app-token",
            "GitHub",
            "GitHub App Token",
            Critical,
            &["ghu_", "ghs_"],
            r"\b(?:ghu_[0-9A-Za-z]{36}|ghs_[0-9A-Za-z._-]{36,1024})",
        ),
        rule(
            "github-refresh-token",
            "GitHub",
            "GitHub Refresh Token",
            Critical,
            &["ghr_"],
            r"\bghr_[0-9A-Za-z]{76}",
        ),
        rule(
            "github-fine-grained-pat",
            "GitHub",
            "GitHub Fine-grained personal access tokens",
            Critical,
            &["github_pat_"],
            r"github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}",
        ),
        rule(
            "gitlab-pat",
            "GitLab",
            "GitLab Personal Access Token",
            Critical,
            &["glpat-"],
            r"\bglpat-[0-9A-Za-z_-]{20}",
        ),
        rule(
            "hugging-face-access-token",
            "HuggingFace",
            "Hugging Face Access Token",
            Critical,
            &["hf_"],
            r"\bhf_[0-9A-Za-z]{34,40}\b",
        ),
        // --- Private keys ---
        rule(
            "private-key",
            "AsymmetricPrivateKey",
            "Asymmetric Private Key",
            High,
            &["-----"],
            r"(?i)-----\s*BEGIN[ A-Z0-9_-]{0,64}PRIVATE KEY(?: BLOCK)?\s*-----\s*(?P<secret>[a-z0-9=+/\\][a-z0-9=+/\\\s]{30,}[a-z0-9=+/\\])\s*-----\s*END[ A-Z0-9_-]{0,64} PRIVATE KEY(?: BLOCK)?\s*-----",
        )
        .grouped(),
        // --- Chat, payments, package registries ---
        rule(
            "shopify-token",
            "Shopify",
            "Shopify token",
            High,
            &["shpss_", "shpat_", "shpca_", "shppa_"],
            r"shp(?:ss|at|ca|pa)_[0-9a-fA-F]{32}",
        ),
        rule(
            "slack-access-token",
            "Slack",
            "Slack token",
            High,
            &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
            r"\bxox[baprs]-[0-9A-Za-z]{10,48}",
        ),
        rule(
            "stripe-publishable-token",
            "Stripe",
            "Stripe Publishable Key",
            Low,
            &["pk_test_", "pk_live_"],
            r"\b(?i:pk_(?:test|live)_[0-9a-z]{10,32})",
        ),
        rule(
            "stripe-secret-token",
            "Stripe",
            "Stripe Secret Key",
            Critical,
            &["sk_test_", "sk_live_"],
            r"\b(?i:sk_(?:test|live)_[0-9a-z]{10,32})",
        ),
        rule(
            "pypi-upload-token",
            "PyPI",
            "PyPI upload token",
            High,
            &["pypi-AgEIcHlwaS5vcmc"],
            r"pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,1000}",
        ),
        rule(
            "gcp-service-account",
            "Google",
            "Google (GCP) Service-account",
            Critical,
            &["service_account"],
            r#""type"\s*:\s*"service_account""#,
        ),
        rule(
            "heroku-api-key",
            "Heroku",
            "Heroku API Key",
            High,
            &["heroku"],
            assigned(
                "heroku",
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            ),
        )
        .grouped(),
        rule(
            "slack-web-hook",
            "Slack",
            "Slack Webhook",
            Medium,
            &["hooks.slack.com"],
            r"https://hooks\.slack\.com/services/[A-Za-z0-9+/]{44,48}",
        ),
        rule(
            "twilio-api-key",
            "Twilio",
            "Twilio API Key",
            Medium,
            &["SK"],
            r"\bSK[0-9a-fA-F]{32}",
        ),
        rule(
            "age-secret-key",
            "Age",
            "Age secret key",
            Medium,
            &["AGE-SECRET-KEY-1"],
            r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        ),
        keyed("facebook-token", "Facebook", "Facebook token", Low, "facebook", "[a-f0-9]{32}"),
        keyed("twitter-token", "Twitter", "Twitter token", Low, "twitter", "[a-f0-9]{35,44}"),
        keyed(
            "adobe-client-id",
            "Adobe",
            "Adobe Client ID (Oauth Web)",
            Low,
            "adobe",
            "[a-f0-9]{32}",
        ),
        rule(
            "adobe-client-secret",
            "Adobe",
            "Adobe Client Secret",
            Low,
            &["p8e-"],
            r"p8e-(?i:[a-z0-9]{32})",
        ),
        // --- Alibaba ---
        rule(
            "alibaba-access-key-id",
            "Alibaba",
            "Alibaba AccessKey ID",
            High,
            &["LTAI"],
            r"(?:^|[^0-9A-Za-z])(?P<secret>LTAI(?i:[a-z0-9]{20}))(?:[^0-9A-Za-z]|$)",
        )
        .grouped(),
        keyed(
            "alibaba-secret-key",
            "Alibaba",
            "Alibaba Secret Key",
            High,
            "alibaba",
            "[a-z0-9]{30}",
        ),
        keyed("asana-client-id", "Asana", "Asana Client ID", Medium, "asana", "[0-9]{16}"),
        keyed(
            "asana-client-secret",
            "Asana",
            "Asana Client Secret",
            Medium,
            "asana",
            "[a-z0-9]{32}",
        ),
        keyed(
            "atlassian-api-token",
            "Atlassian",
            "Atlassian API token",
            High,
            "atlassian",
            "[a-z0-9]{24}",
        ),
        keyed(
            "bitbucket-client-id",
            "Bitbucket",
            "Bitbucket client ID",
            High,
            "bitbucket",
            "[a-z0-9]{32}",
        ),
        keyed(
            "bitbucket-client-secret",
            "Bitbucket",
            "Bitbucket client secret",
            High,
            "bitbucket",
            "[a-z0-9_-]{64}",
        ),
        keyed(
            "beamer-api-token",
            "Beamer",
            "Beamer API token",
            Low,
            "beamer",
            "b_[a-z0-9=_-]{44}",
        ),
        rule(
            "clojars-api-token",
            "Clojars",
            "Clojars API token",
            Medium,
            &["CLOJARS_"],
            r"CLOJARS_(?i:[a-z0-9]{60})",
        ),
        keyed(
            "contentful-delivery-api-token",
            "ContentfulDelivery",
            "Contentful delivery API token",
            Low,
            "contentful",
            "[a-z0-9=_-]{43}",
        ),
        rule(
            "databricks-api-token",
            "Databricks",
            "Databricks API token",
            Medium,
            &["dapi"],
            r"dapi[a-h0-9]{32}",
        ),
        keyed(
            "discord-api-token",
            "Discord",
            "Discord API key",
            Medium,
            "discord",
            "[a-h0-9]{64}",
        ),
        keyed(
            "discord-client-id",
            "Discord",
            "Discord client ID",
            Medium,
            "discord",
            "[0-9]{18}",
        ),
        keyed(
            "discord-client-secret",
            "Discord",
            "Discord client secret",
            Medium,
            "discord",
            "[a-z0-9=_-]{32}",
        ),
        rule(
            "doppler-api-token",
            "Doppler",
            "Doppler API token",
            Medium,
            &["dp.pt."],
            r#"['"]dp\.pt\.(?i:[a-z0-9]{43})['"]"#,
        ),
        keyed(
            "dropbox-api-secret",
            "Dropbox",
            "Dropbox API secret/key",
            High,
            "dropbox",
            "[a-z0-9]{15}",
        ),
        keyed(
            "dropbox-short-lived-api-token",
            "Dropbox",
            "Dropbox short lived API token",
            High,
            "dropbox",
            r"sl\.[a-z0-9=_-]{135}",
        ),
        keyed(
            "dropbox-long-lived-api-token",
            "Dropbox",
            "Dropbox long lived API token",
            High,
            "dropbox",
            "[a-z0-9]{11}AAAAAAAAAA[a-z0-9=_-]{43}",
        ),
        rule(
            "duffel-api-token",
            "Duffel",
            "Duffel API token",
            Low,
            &["duffel_test_", "duffel_live_"],
            r#"['"]duffel_(?:test|live)_(?i:[a-z0-9_-]{43})['"]"#,
        ),
        rule(
            "dynatrace-api-token",
            "Dynatrace",
            "Dynatrace API token",
            Medium,
            &["dt0c01."],
            r#"['"]dt0c01\.(?i:[a-z0-9]{24}\.[a-z0-9]{64})['"]"#,
        ),
        rule(
            "easypost-api-token",
            "Easypost",
            "EasyPost API token",
            Low,
            &["EZAK", "EZAT"],
            r#"['"]EZ[AT]K(?i:[a-z0-9]{54})['"]"#,
        ),
        keyed(
            "fastly-api-token",
            "Fastly",
            "Fastly API token",
            Medium,
            "fastly",
            "[a-z0-9=_-]{32}",
        ),
        keyed(
            "finicity-client-secret",
            "Finicity",
            "Finicity client secret",
            Medium,
            "finicity",
            "[a-z0-9]{20}",
        ),
        keyed(
            "finicity-api-token",
            "Finicity",
            "Finicity API token",
            Medium,
            "finicity",
            "[a-f0-9]{32}",
        ),
        rule(
            "flutterwave-public-key",
            "Flutterwave",
            "Flutterwave public/secret key",
            Medium,
            &["FLWSECK_TEST-", "FLWPUBK_TEST-"],
            r"\bFLW(?:PUB|SEC)K_TEST-(?i:[a-h0-9]{32})-X",
        ),
        rule(
            "flutterwave-enc-key",
            "Flutterwave",
            "Flutterwave encrypted key",
            Medium,
            &["FLWSECK_TEST"],
            r"\bFLWSECK_TEST[a-h0-9]{12}",
        ),
        rule(
            "frameio-api-token",
            "Frameio",
            "Frame.io API token",
            Low,
            &["fio-u-"],
            r"fio-u-(?i:[a-z0-9=_-]{64})",
        ),
        rule(
            "gocardless-api-token",
            "GoCardless",
            "GoCardless API token",
            Medium,
            &["live_"],
            r#"['"]live_(?i:[a-z0-9=_-]{40})['"]"#,
        ),
        rule(
            "grafana-api-token",
            "Grafana",
            "Grafana API token",
            Medium,
            &["eyJrIjoi"],
            r#"['"]?eyJrIjoi(?i:[a-z0-9=_-]{72,92})['"]?"#,
        ),
        rule(
            "hashicorp-tf-api-token",
            "HashiCorp",
            "HashiCorp Terraform user/org API token",
            Medium,
            &["atlasv1."],
            r#"(?i)['"][a-z0-9]{14}\.atlasv1\.[a-z0-9=_-]{60,70}['"]"#,
        ),
        keyed("hubspot-api-token", "HubSpot", "HubSpot API token", Low, "hubspot", UUID_AH),
        keyed(
            "intercom-api-token",
            "Intercom",
            "Intercom API token",
            Low,
            "intercom",
            "[a-z0-9=_]{60}",
        ),
        keyed(
            "intercom-client-secret",
            "Intercom",
            "Intercom client secret/ID",
            Low,
            "intercom",
            UUID_AH,
        ),
        keyed("ionic-api-token", "Ionic", "Ionic API token", Unknown, "ionic", "ion_[a-z0-9]{42}"),
        rule(
            "jwt-token",
            "JWT",
            "JWT token",
            Medium,
            &[".eyJ"],
            r"(?:ghs_[0-9]+_)?(?P<secret>ey[A-Za-z0-9]{17,}\.ey[A-Za-z0-9/\\_-]{17,}\.(?:[A-Za-z0-9/\\_-]{10,}={0,2})?)",
        )
        .grouped()
        .allow(AllowRule::new(
            "stateless-ghs-jwt",
            "The JWT inside a stateless ghs_ GitHub App token is reported once, as that token",
            None,
            Some("^ghs_"),
        )?),
        rule(
            "linear-api-token",
            "Linear",
            "Linear API token",
            Medium,
            &["lin_api_"],
            r"lin_api_(?i:[a-z0-9]{40})",
        ),
        keyed(
            "linear-client-secret",
            "Linear",
            "Linear client secret/ID",
            Medium,
            "linear",
            "[a-f0-9]{32}",
        ),
        keyed(
            "lob-api-key",
            "Lob",
            "Lob API Key",
            Low,
            "lob",
            "(?:live|test)_[a-f0-9]{35}",
        ),
        keyed(
            "lob-pub-api-key",
            "Lob",
            "Lob Publishable API Key",
            Low,
            "lob",
            "(?:test|live)_pub_[a-f0-9]{31}",
        ),
        keyed(
            "mailchimp-api-key",
            "Mailchimp",
            "Mailchimp API key",
            Medium,
            "mailchimp",
            "[a-f0-9]{32}-us20",
        ),
        keyed(
            "mailgun-token",
            "Mailgun",
            "Mailgun private API token",
            Medium,
            "mailgun",
            "(?:pub)?key-[a-f0-9]{32}",
        ),
        keyed(
            "mailgun-signing-key",
            "Mailgun",
            "Mailgun webhook signing key",
            Medium,
            "mailgun",
            "[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}",
        ),
        rule(
            "mapbox-api-token",
            "Mapbox",
            "Mapbox API token",
            Medium,
            &["pk."],
            r"(?i)pk\.[a-z0-9]{60}\.[a-z0-9]{22}",
        ),
        keyed(
            "messagebird-api-token",
            "MessageBird",
            "MessageBird API token",
            Medium,
            "messagebird",
            "[a-z0-9]{25}",
        ),
        keyed(
            "messagebird-client-id",
            "MessageBird",
            "MessageBird API client ID",
            Medium,
            "messagebird",
            UUID_AH,
        ),
        rule(
            "new-relic-user-api-key",
            "NewRelic",
            "New Relic user API Key",
            Medium,
            &["NRAK-"],
            r#"['"]NRAK-[A-Z0-9]{27}['"]"#,
        ),
        keyed(
            "new-relic-user-api-id",
            "NewRelic",
            "New Relic user API ID",
            Medium,
            "newrelic",
            "[A-Z0-9]{64}",
        ),
        rule(
            "new-relic-browser-api-token",
            "NewRelic",
            "New Relic ingest browser API token",
            Medium,
            &["NRJS-"],
            r#"['"]NRJS-[a-f0-9]{19}['"]"#,
        ),
        rule(
            "npm-access-token",
            "Npm",
            "npm access token",
            Critical,
            &["npm_"],
            r"\bnpm_(?i:[a-z0-9]{36})\b",
        ),
        rule(
            "planetscale-password",
            "Planetscale",
            "PlanetScale password",
            Medium,
            &["pscale_pw_"],
            r"pscale_pw_(?i:[a-z0-9._-]{43})",
        ),
        rule(
            "planetscale-api-token",
            "Planetscale",
            "PlanetScale API token",
            Medium,
            &["pscale_tkn_"],
            r"pscale_tkn_(?i:[a-z0-9._-]{43})",
        ),
        rule(
            "private-packagist-token",
            "Private Packagist",
            "Private Packagist token",
            High,
            &["packagist_uut_", "packagist_ort_", "packagist_out_"],
            r"packagist_[ou][ru]t_(?i:[a-f0-9]{68})",
        ),
        rule(
            "postman-api-token",
            "Postman",
            "Postman API token",
            Medium,
            &["PMAK-"],
            r"PMAK-(?i:[a-f0-9]{24}-[a-f0-9]{34})",
        ),
        rule(
            "pulumi-api-token",
            "Pulumi",
            "Pulumi API token",
            High,
            &["pul-"],
            r"pul-[a-f0-9]{40}",
        ),
        rule(
            "rubygems-api-token",
            "RubyGems",
            "Rubygem API token",
            Medium,
            &["rubygems_"],
            r"rubygems_[a-f0-9]{48}",
        ),
        rule(
            "sendgrid-api-token",
            "SendGrid",
            "SendGrid API token",
            Medium,
            &["SG."],
            r"SG\.(?i:[a-z0-9_.-]{66})",
        ),
        rule(
            "sendinblue-api-token",
            "Sendinblue",
            "Sendinblue API token",
            Low,
            &["xkeysib-"],
            r"xkeysib-[a-f0-9]{64}-(?i:[a-z0-9]{16})",
        ),
        rule(
            "shippo-api-token",
            "Shippo",
            "Shippo API token",
            Low,
            &["shippo_live_", "shippo_test_"],
            r"shippo_(?:live|test)_[a-f0-9]{40}",
        ),
        keyed(
            "linkedin-client-secret",
            "LinkedIn",
            "LinkedIn Client secret",
            Low,
            "linkedin",
            "[a-z]{16}",
        ),
        keyed(
            "linkedin-client-id",
            "LinkedIn",
            "LinkedIn Client ID",
            Low,
            "linkedin",
            "[a-z0-9]{14}",
        ),
        keyed("twitch-api-token", "Twitch", "Twitch API token", Low, "twitch", "[a-z0-9]{30}"),
        rule(
            "typeform-api-token",
            "Typeform",
            "Typeform API token",
            Low,
            &["typeform"],
            assigned_bare("typeform", r"tfp_[a-z0-9._=-]{59}"),
        )
        .grouped(),
        // --- Docker ---
        rule(
            "dockerconfig-secret",
            "Docker",
            "Dockerconfig secret exposed",
            High,
            &["dockerc"],
            r"(?i)\.(?:dockerconfigjson|dockercfg):\s*\|*\s*(?P<secret>(?:ey|ew)+[a-z0-9/+=]+)",
        )
        .grouped(),
        rule(
            "docker-config-auth",
            "Docker",
            "Docker config.json registry credentials",
            High,
            &["\"auth\""],
            r#""auth"\s*:\s*"(?P<secret>[A-Za-z0-9+/]{4,4096}={0,2})""#,
        )
        .grouped()
        .validator(Validator::Base64UserPassword),
        rule(
            "symfony-default-secret",
            "Symfony",
            "Symfony Default Secret",
            High,
            &["TokenIsNotSoSecret"],
            "ThisTokenIsNotSoSecretChangeIt|ThisEzPlatformTokenIsNotSoSecret_PleaseChangeIt",
        ),
        // --- Azure ---
        rule(
            "azure-storage-account-key",
            "Azure",
            "Azure Storage Account Key",
            Critical,
            &["AccountKey"],
            r"(?i)AccountKey\s*=\s*(?P<secret>[a-z0-9+/]{86}==)",
        )
        .grouped(),
        rule(
            "azure-sas-token",
            "Azure",
            "Azure Shared Access Signature Token",
            High,
            &["sig=", "sv="],
            r#"sv=[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[&;][a-z]+=[^&\s'"]*){1,12}[&;]sig=(?P<secret>[A-Za-z0-9%+/=]{40,})"#,
        )
        .grouped(),
        rule(
            "azure-devops-pat",
            "Azure",
            "Azure DevOps Personal Access Token",
            High,
            &[
                "azure_devops",
                "azuredevops",
                "azure-devops",
                "ado_pat",
                "ado_token",
                "ado-pat",
                "ado-token",
            ],
            r#"(?i)(?:azure[_-]?devops|ado)[_-]?(?:pat|token|personal.?access.?token)\s*[:=]\s*["']?(?P<secret>[a-z2-7]{52})["']?"#,
        )
        .grouped(),
        rule(
            "azure-entra-client-secret",
            "Azure",
            "Azure Entra ID Client Secret",
            Critical,
            &["8Q~"],
            r"(?:^|[^A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.-]{3}8Q~[A-Za-z0-9_~.-]{34})(?:[^A-Za-z0-9_~.-]|$)",
        )
        .grouped(),
        rule(
            "azure-container-registry-credential",
            "Azure",
            "Azure Container Registry Credential",
            Critical,
            &["ACYeBjFEqg7NAAA"],
            r"[A-Za-z0-9+/]{52}JQQJ99C[A-Z]ACYeBjFEqg7NAAA[A-Z]AZCR[A-Za-z0-9+/]{4}",
        ),
        rule(
            "azure-container-registry-password",
            "Azure",
            "Azure Container Registry Password",
            Critical,
            &["azurecr.io"],
            r#"(?i)azurecr\.io[^\n]{0,100}(?:password|pwd)\s*[:=]\s*["']?(?P<secret>[a-z0-9+/]{32})["']?"#,
        )
        .grouped(),
        rule(
            "azure-app-config-connection-string",
            "Azure",
            "Azure App Configuration Connection String",
            Critical,
            &["azconfig.io"],
            r"(?i)Endpoint\s*=\s*https://[a-z0-9-]+\.azconfig\.io\s*;\s*Id\s*=\s*[a-z0-9+/=:-]+\s*;\s*Secret\s*=\s*(?P<secret>[a-z0-9+/=~]{32,88})",
        )
        .grouped(),
        rule(
            "azure-ai-services-key",
            "Azure",
            "Azure AI Services Key",
            High,
            &["XJ3w3"],
            r"[A-Za-z0-9+/]{52}JQQJ99C[A-Z][A-Za-z0-9+/]{7}XJ3w3[A-Za-z0-9+/]{4}ACOG[A-Za-z0-9+/]{4}",
        ),
        // --- Maven settings (only in settings.xml / settings-security.xml) ---
        rule(
            "maven-settings-password",
            "Maven",
            "Maven settings.xml password",
            High,
            &["password"],
            r"(?i)<\s*password\s*>\s*(?P<secret>[^<\s{][^<{]+[^<\s])\s*<\s*/\s*password\s*>",
        )
        .grouped()
        .path(r"(?i)(?:^|/)settings\.xml$"),
        rule(
            "maven-settings-passphrase",
            "Maven",
            "Maven settings.xml passphrase",
            High,
            &["passphrase"],
            r"(?i)<\s*passphrase\s*>\s*(?P<secret>[^<\s{][^<{]+[^<\s])\s*<\s*/\s*passphrase\s*>",
        )
        .grouped()
        .path(r"(?i)(?:^|/)settings\.xml$"),
        rule(
            "maven-settings-security-master",
            "Maven",
            "Maven settings-security.xml master password",
            High,
            &["master"],
            r"(?i)<\s*master\s*>\s*(?P<secret>[^<\s][^<]+[^<\s])\s*<\s*/\s*master\s*>",
        )
        .grouped()
        .path(r"(?i)(?:^|/)settings-security\.xml$"),
        // --- OpenAI (every sk- key carries the watermark T3BlbkFJ) ---
        rule(
            "openai-project-api-key",
            "OpenAI",
            "OpenAI Project API Key",
            Critical,
            &["T3BlbkFJ"],
            r"\bsk-proj-[A-Za-z0-9_-]{20,100}T3BlbkFJ[A-Za-z0-9_-]{20,100}",
        ),
        rule(
            "openai-service-account-key",
            "OpenAI",
            "OpenAI Service Account Key",
            Critical,
            &["T3BlbkFJ"],
            r"\bsk-svcacct-[A-Za-z0-9_-]{20,100}T3BlbkFJ[A-Za-z0-9_-]{20,100}",
        ),
        rule(
            "openai-admin-api-key",
            "OpenAI",
            "OpenAI Admin API Key",
            Critical,
            &["T3BlbkFJ"],
            r"\bsk-admin-[A-Za-z0-9_-]{20,100}T3BlbkFJ[A-Za-z0-9_-]{20,100}",
        ),
        rule(
            "openai-legacy-api-key",
            "OpenAI",
            "OpenAI Legacy User API Key",
            High,
            &["T3BlbkFJ"],
            r"\bsk-(?:None-)?[A-Za-z0-9]{20,42}T3BlbkFJ[A-Za-z0-9]{20,42}",
        ),
        rule(
            "openai-service-api-key",
            "OpenAI",
            "OpenAI Service API Key",
            High,
            &["T3BlbkFJ"],
            r"\bsk-service-[A-Za-z0-9-]{1,100}-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
        ),
        rule(
            "openai-realtime-client-secret",
            "OpenAI",
            "OpenAI Realtime Client Secret",
            Medium,
            &["ek_"],
            r"\bek_[a-f0-9]{32}\b",
        ),
    ])
}

/// The built-in rules, compiled.
pub(crate) fn rules() -> Result<Vec<Rule>, RuleError> {
    specs()?
        .into_iter()
        .map(|b| {
            let rule = Rule::new(b.spec)?;
            Ok(match b.validator {
                Some(v) => rule.with_validator(v),
                None => rule,
            })
        })
        .collect()
}

/// The built-in allow rules: paths that hold documentation, tests, examples, vendored or
/// system files, and example values (semantics of Trivy's built-in allow rules).
pub(crate) fn allow_rules() -> Result<Vec<AllowRule>, RuleError> {
    let path =
        |id: &str, description: &str, path: &str| AllowRule::new(id, description, Some(path), None);
    Ok(vec![
        path(
            "dist-info",
            "Python .dist-info metadata directories",
            r"\.dist-info/",
        )?,
        path("tests", "Test files and paths", r"(?i)(?:^|[/_.-])test")?,
        AllowRule::new(
            "examples",
            "Example files, paths and values",
            Some("example"),
            Some("(?i)example"),
        )?,
        path("vendor", "Vendored dependencies", r"/vendor/")?,
        path("usr-dirs", "System dirs", r"^usr/(?:share|include|lib)/")?,
        path("locale-dir", "Locale directories", r"/locales?/")?,
        path("markdown", "Markdown files", r"\.md$")?,
        path(
            "node.js",
            "Yarn shipped in Node images",
            r"^opt/yarn-v[0-9.]+/",
        )?,
        path("golang", "The Go toolchain in Go images", r"^usr/local/go/")?,
        path(
            "python",
            "The Python stdlib in Python images",
            r"^usr/local/lib/python[0-9.]+/",
        )?,
        path("rubygems", "Ruby gems in Ruby images", r"^usr/lib/gems/")?,
        path(
            "wordpress",
            "WordPress in WordPress images",
            r"^usr/src/wordpress/",
        )?,
        path("anaconda-log", "Anaconda CI logs", r"^var/log/anaconda/")?,
        // Ours: package-manager state (indexes, databases, caches) is the distribution's.
        // debconf's passwords.dat is not in the list: it can hold preseeded passwords.
        path(
            "os-package-state",
            "Package manager indexes, databases and caches",
            r"^(?:var/lib/(?:dpkg|apt|rpm|yum|dnf|apk)/|var/cache/(?:apt|yum|dnf|apk|ldconfig)/|var/cache/debconf/(?:config|templates)\.dat(?:-old)?$|lib/apk/db/|usr/lib/sysimage/rpm/)",
        )?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn builtin_rules_compile_with_unique_ids_and_keywords() {
        let rules = rules().unwrap();
        assert_eq!(rules.len(), 106);
        let ids: HashSet<_> = rules.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), rules.len());
        for r in &rules {
            assert!(!r.keywords().is_empty(), "{} has no keyword", r.id());
        }
        assert_eq!(allow_rules().unwrap().len(), 14);
    }
}
