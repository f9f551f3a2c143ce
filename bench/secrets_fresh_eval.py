"""An evaluation of the secrets scanner written apart from its rules and its corpus.

    .venv/bin/python bench/secrets_fresh_eval.py            # numbers per set
    .venv/bin/python bench/secrets_fresh_eval.py -v         # and every miss and false alarm

Four sets, all generated here with fixed seeds (no token-shaped literal is committed):

1. *formats*: one or more random tokens of each provider's documented shape, each alone on a
   line `value = "<token>"` -- recognition by the token itself. Each entry names the
   provider's page and says whether the page states the shape (`stated`) or whether it was
   inferred from the prefix the page names and issued tokens' length (`inferred`).
2. *planted*: secrets planted in 60+ syntaxes (code, config, shell, Docker, CI, XML, URLs...);
   rounds 2-4 add more, each written before the scanner was tuned on it.
3. *negatives*: placeholders, documented example keys, public keys, hashes, lock files,
   baselines, minified code: anything reported here is a false alarm.
Each sample is scanned in-process with `scan_blob` (what the worker runs per git blob).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checklists.scans.secretscan.engine import scan_blob  # noqa: E402
from checklists.scans.secretscan.rules import load_rules  # noqa: E402

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = LOWER + UPPER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
B32 = UPPER + "234567"
BECH32 = "qpzry9x8gf2tvdw0" + "s3jn54khce6mua7l"  # split: an alphabet, not a secret

SEEDS = {"formats": 20261130, "planted": 20261131, "negatives": 20261132}
rng = random.Random(SEEDS["formats"])


def r(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def digits(n: int) -> str:
    return str(rng.randint(1, 9)) + r(DIGITS, n - 1)


# --- 1. provider formats ---------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    provider: str
    make: object  # () -> str
    doc: str
    source: str  # "stated": the page gives the shape; "inferred": prefix documented, rest inferred


def _jwt(claims: dict) -> str:
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{head}.{b64url(json.dumps(claims).encode())}.{b64url(rng.randbytes(32))}"


def _sentry_org() -> str:
    payload = {"iat": rng.randint(1.6e9, 1.8e9), "url": "https://sentry.io", "region_url": "https://us.sentry.io",
               "org": r(LOWER, 8)}  # fmt: skip
    return f"sntrys_{b64url(json.dumps(payload).encode())}_{r(URLSAFE, 43)}"


def _grafana_cloud() -> str:
    payload = {"o": digits(6), "n": f"stack-{digits(6)}-hm-read-{r(LOWER, 6)}", "k": r(ALNUM, 24),
               "m": {"r": "prod-us-east-0"}}  # fmt: skip
    return "glc_" + base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _pypi() -> str:
    # A macaroon: "pypi-" then base64url of a binary blob whose first bytes encode "pypi.org".
    blob = b"\x02\x01\x08pypi.org\x02" + rng.randbytes(120)
    return "pypi-" + b64url(blob)


def _openai_legacy() -> str:
    return f"sk-{r(ALNUM, 20)}T3BlbkFJ{r(ALNUM, 20)}"


def _openai_proj() -> str:
    return f"sk-proj-{r(URLSAFE, 74)}T3BlbkFJ{r(URLSAFE, 74)}"


def _discord_bot() -> str:
    user = base64.b64encode(digits(18).encode()).decode().rstrip("=")
    return f"{user}.{r(URLSAFE, 6)}.{r(URLSAFE, 38)}"


def _mapbox_secret() -> str:
    return "sk." + b64url(json.dumps({"u": r(LOWER, 8), "a": r(ALNUM, 25)}).encode()) + "." + r(URLSAFE, 22)


# fmt: off
FORMATS: list[tuple[str, object, str, str]] = [
    # (provider, make, doc, stated|inferred)
    ("github-pat-classic", lambda: "ghp_" + r(ALNUM, 36), "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/", "stated"),
    ("github-oauth", lambda: "gho_" + r(ALNUM, 36), "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/", "stated"),
    ("github-user-to-server", lambda: "ghu_" + r(ALNUM, 36), "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/", "stated"),
    ("github-server-to-server", lambda: "ghs_" + r(ALNUM, 36), "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/", "stated"),
    ("github-refresh", lambda: "ghr_" + r(ALNUM, 36), "https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/", "stated"),
    ("github-fine-grained", lambda: "github_pat_11" + r(UPPER + DIGITS, 20) + "_" + r(ALNUM, 59), "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens", "inferred"),
    ("gitlab-pat", lambda: "glpat-" + r(URLSAFE, 20), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-pat-routable", lambda: "glpat-" + r(URLSAFE, 27) + ".01." + r(LOWER + DIGITS, 9), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "inferred"),
    ("gitlab-deploy", lambda: "gldt-" + r(URLSAFE, 20), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-runner-auth", lambda: "glrt-" + r(URLSAFE, 20), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-runner-reg", lambda: "GR1348941" + r(URLSAFE, 20), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-trigger", lambda: "glptt-" + r(HEX, 40), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-scim", lambda: "glsoat-" + r(URLSAFE, 20), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-feed", lambda: "glft-" + r(URLSAFE, 20), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-incoming-mail", lambda: "glimt-" + r(LOWER + DIGITS, 25), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-agent", lambda: "glagent-" + r(URLSAFE, 50), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-oauth-secret", lambda: "gloas-" + r(HEX, 64), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("gitlab-ci-job", lambda: "glcbt-" + r(HEX, 2) + "_" + r(URLSAFE, 20), "https://docs.gitlab.com/ee/security/tokens/#token-prefixes", "stated"),
    ("aws-access-key-id", lambda: "AKIA" + r(B32, 16), "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids", "stated"),
    ("aws-sts-key-id", lambda: "ASIA" + r(B32, 16), "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids", "stated"),
    ("google-api-key", lambda: "AIza" + r(URLSAFE, 35), "https://cloud.google.com/docs/authentication/api-keys", "inferred"),
    ("google-oauth-secret", lambda: "GOCSPX-" + r(URLSAFE, 28), "https://developers.google.com/identity/protocols/oauth2", "inferred"),
    ("google-oauth-access", lambda: "ya29." + r(URLSAFE, 150), "https://developers.google.com/identity/protocols/oauth2", "inferred"),
    ("slack-bot", lambda: f"xoxb-{digits(12)}-{digits(13)}-{r(ALNUM, 24)}", "https://api.slack.com/authentication/token-types", "stated"),
    ("slack-user", lambda: f"xoxp-{digits(12)}-{digits(12)}-{digits(13)}-{r(HEX, 32)}", "https://api.slack.com/authentication/token-types", "stated"),
    ("slack-app-level", lambda: f"xapp-1-A{r(UPPER + DIGITS, 10)}-{digits(13)}-{r(HEX, 64)}", "https://api.slack.com/authentication/token-types", "stated"),
    ("slack-workspace", lambda: f"xoxa-2-{digits(12)}-{digits(12)}-{digits(13)}-{r(HEX, 32)}", "https://api.slack.com/authentication/token-types", "inferred"),
    ("slack-refresh", lambda: f"xoxe-1-{r(ALNUM, 140)}", "https://api.slack.com/authentication/rotation", "inferred"),
    ("slack-config", lambda: f"xoxe.xoxp-1-{r(ALNUM, 150)}", "https://api.slack.com/authentication/config-tokens", "stated"),
    ("slack-webhook", lambda: (f"https://hooks.slack.com/services/T{r(UPPER + DIGITS, 10)}/B{r(UPPER + DIGITS, 10)}/{r(ALNUM, 24)}"), "https://api.slack.com/messaging/webhooks", "stated"),
    ("stripe-secret-live", lambda: "sk_live_" + r(ALNUM, 99), "https://docs.stripe.com/keys", "stated"),
    ("stripe-secret-test", lambda: "sk_test_" + r(ALNUM, 99), "https://docs.stripe.com/keys", "stated"),
    ("stripe-restricted", lambda: "rk_live_" + r(ALNUM, 99), "https://docs.stripe.com/keys", "stated"),
    ("stripe-webhook", lambda: "whsec_" + r(ALNUM, 32), "https://docs.stripe.com/webhooks", "stated"),
    ("twilio-api-key", lambda: "SK" + r(HEX, 32), "https://www.twilio.com/docs/iam/api-keys", "stated"),
    ("sendgrid", lambda: f"SG.{r(URLSAFE, 22)}.{r(URLSAFE, 43)}", "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys", "inferred"),
    ("mailgun-private", lambda: "key-" + r(HEX, 32), "https://documentation.mailgun.com/docs/mailgun/api-reference/authentication", "inferred"),
    ("mailgun-new", lambda: f"{r(HEX, 32)}-{r(HEX, 8)}-{r(HEX, 8)}", "https://documentation.mailgun.com/docs/mailgun/api-reference/authentication", "inferred"),
    ("mailchimp", lambda: f"{r(HEX, 32)}-us{rng.randint(1, 21)}", "https://mailchimp.com/developer/marketing/guides/quick-start/", "stated"),
    ("npm", lambda: "npm_" + r(ALNUM, 36), "https://docs.npmjs.com/about-access-tokens", "inferred"),
    ("pypi", _pypi, "https://pypi.org/help/#apitoken", "stated"),
    ("nuget", lambda: "oy2" + r(LOWER + DIGITS, 43), "https://learn.microsoft.com/en-us/nuget/nuget-org/publish-a-package#create-an-api-key", "inferred"),
    ("rubygems", lambda: "rubygems_" + r(HEX, 48), "https://guides.rubygems.org/api-key-scopes/", "inferred"),
    ("dockerhub-pat", lambda: "dckr_pat_" + r(URLSAFE, 27), "https://docs.docker.com/security/for-developers/access-tokens/", "inferred"),
    ("dockerhub-oat", lambda: "dckr_oat_" + r(URLSAFE, 32), "https://docs.docker.com/security/for-admins/access-tokens/", "inferred"),
    ("shopify-admin", lambda: "shpat_" + r(HEX, 32), "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens", "stated"),
    ("shopify-custom-app", lambda: "shpca_" + r(HEX, 32), "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens", "stated"),
    ("shopify-private-app", lambda: "shppa_" + r(HEX, 32), "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens", "stated"),
    ("shopify-shared-secret", lambda: "shpss_" + r(HEX, 32), "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens", "stated"),
    ("openai-legacy", _openai_legacy, "https://platform.openai.com/docs/api-reference/authentication", "inferred"),
    ("openai-project", _openai_proj, "https://platform.openai.com/docs/api-reference/authentication", "inferred"),
    ("openai-svcacct", lambda: f"sk-svcacct-{r(URLSAFE, 74)}T3BlbkFJ{r(URLSAFE, 74)}", "https://platform.openai.com/docs/api-reference/authentication", "inferred"),
    ("openai-admin", lambda: f"sk-admin-{r(URLSAFE, 74)}T3BlbkFJ{r(URLSAFE, 74)}", "https://platform.openai.com/docs/api-reference/administration", "inferred"),
    ("anthropic", lambda: f"sk-ant-api03-{r(URLSAFE, 93)}AA", "https://docs.anthropic.com/en/api/getting-started", "inferred"),
    ("anthropic-admin", lambda: f"sk-ant-admin01-{r(URLSAFE, 93)}AA", "https://docs.anthropic.com/en/api/administration-api", "inferred"),
    ("huggingface", lambda: "hf_" + r(UPPER + LOWER, 34), "https://huggingface.co/docs/hub/security-tokens", "inferred"),
    ("databricks", lambda: "dapi" + r(HEX, 32), "https://docs.databricks.com/en/dev-tools/auth/pat.html", "inferred"),
    ("newrelic-user", lambda: "NRAK-" + r(UPPER + DIGITS, 27), "https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/", "stated"),
    ("newrelic-insert", lambda: "NRII-" + r(URLSAFE, 32), "https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/", "stated"),
    ("newrelic-license", lambda: r(HEX, 36) + "NRAL", "https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/", "stated"),
    ("newrelic-browser", lambda: "NRJS-" + r(HEX, 19), "https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/", "stated"),
    ("sentry-user", lambda: "sntryu_" + r(HEX, 64), "https://docs.sentry.io/security-legal-pii/security/token-formats/", "stated"),
    ("sentry-org", _sentry_org, "https://docs.sentry.io/security-legal-pii/security/token-formats/", "stated"),
    ("atlassian", lambda: "ATATT3xFfGF0" + r(URLSAFE, 170) + "=" + r(HEX.upper(), 8), "https://support.atlassian.com/atlassian-account/docs/manage-api-tokens-for-your-atlassian-account/", "inferred"),
    ("azure-ad-secret", lambda: r(URLSAFE + "~.", 3) + str(rng.randint(0, 9)) + "Q~" + r(URLSAFE + "~.", 34), "https://learn.microsoft.com/en-us/purview/sit-defn-azure-ad-client-secret", "stated"),
    ("azure-devops-pat", lambda: r(ALNUM, 52) + r(ALNUM, 24) + "AZDO" + r(ALNUM, 4), "https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate", "stated"),
    ("azure-storage-conn", lambda: (f"DefaultEndpointsProtocol=https;AccountName={r(LOWER, 10)};AccountKey={r(B64, 86)}==;EndpointSuffix=core.windows.net"), "https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string", "stated"),
    ("azure-sas-url", lambda: (f"https://{r(LOWER, 10)}.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2027-01-01T00:00:00Z&spr=https&sig={r(ALNUM, 43)}%3D"), "https://learn.microsoft.com/en-us/azure/storage/common/storage-sas-overview", "stated"),
    ("vault-service", lambda: "hvs." + r(URLSAFE, 90), "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes", "stated"),
    ("vault-batch", lambda: "hvb." + r(URLSAFE, 138), "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes", "stated"),
    ("vault-recovery", lambda: "hvr." + r(URLSAFE, 24), "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes", "stated"),
    ("terraform-cloud", lambda: f"{r(ALNUM, 14)}.atlasv1.{r(ALNUM, 67)}", "https://developer.hashicorp.com/terraform/cloud-docs/users-teams-organizations/api-tokens", "inferred"),
    ("digitalocean-pat", lambda: "dop_v1_" + r(HEX, 64), "https://docs.digitalocean.com/reference/api/create-personal-access-token/", "stated"),
    ("digitalocean-oauth", lambda: "doo_v1_" + r(HEX, 64), "https://docs.digitalocean.com/reference/api/create-personal-access-token/", "stated"),
    ("digitalocean-refresh", lambda: "dor_v1_" + r(HEX, 64), "https://docs.digitalocean.com/reference/api/create-personal-access-token/", "stated"),
    ("postman", lambda: f"PMAK-{r(HEX, 24)}-{r(HEX, 34)}", "https://learning.postman.com/docs/developer/postman-api/authentication/", "inferred"),
    ("grafana-cloud", _grafana_cloud, "https://grafana.com/docs/grafana-cloud/account-management/authentication-and-permissions/access-policies/", "inferred"),
    ("grafana-service-account", lambda: f"glsa_{r(ALNUM, 32)}_{r(HEX, 8)}", "https://grafana.com/docs/grafana/latest/administration/service-accounts/", "inferred"),
    ("pulumi", lambda: "pul-" + r(HEX, 40), "https://www.pulumi.com/docs/pulumi-cloud/access-management/access-tokens/", "inferred"),
    ("telegram-bot", lambda: f"{digits(10)}:AA{r(URLSAFE, 33)}", "https://core.telegram.org/bots/api#authorizing-your-bot", "stated"),
    ("discord-bot", _discord_bot, "https://discord.com/developers/docs/reference#authentication", "inferred"),
    ("discord-webhook", lambda: f"https://discord.com/api/webhooks/{digits(19)}/{r(URLSAFE, 68)}", "https://discord.com/developers/docs/resources/webhook", "stated"),
    ("linear", lambda: "lin_api_" + r(ALNUM, 40), "https://developers.linear.app/docs/graphql/working-with-the-graphql-api#personal-api-keys", "inferred"),
    ("notion-legacy", lambda: "secret_" + r(ALNUM, 43), "https://developers.notion.com/docs/authorization", "inferred"),
    ("notion-new", lambda: "ntn_" + digits(11) + r(ALNUM, 35), "https://developers.notion.com/docs/authorization", "inferred"),
    ("airtable-pat", lambda: f"pat{r(ALNUM, 14)}.{r(HEX, 64)}", "https://airtable.com/developers/web/guides/personal-access-tokens", "inferred"),
    ("figma", lambda: "figd_" + r(URLSAFE, 40), "https://www.figma.com/developers/api#access-tokens", "inferred"),
    ("supabase-pat", lambda: "sbp_" + r(HEX, 40), "https://supabase.com/docs/guides/platform/access-control", "inferred"),
    ("supabase-secret", lambda: "sb_secret_" + r(URLSAFE, 31), "https://supabase.com/docs/guides/api/api-keys", "stated"),
    ("vercel-pat", lambda: "vcp_" + r(ALNUM, 56), "https://vercel.com/changelog/new-token-formats-and-secret-scanning", "inferred"),
    ("vercel-api-key", lambda: "vck_" + r(ALNUM, 56), "https://vercel.com/changelog/new-token-formats-and-secret-scanning", "inferred"),
    ("netlify-pat", lambda: "nfp_" + r(ALNUM, 36), "https://docs.netlify.com/api/get-started/#authentication", "inferred"),
    ("flyio", lambda: "FlyV1 fm2_" + r(B64, 300), "https://fly.io/docs/security/tokens/", "inferred"),
    ("doppler-personal", lambda: "dp.pt." + r(ALNUM, 43), "https://docs.doppler.com/reference/auth-token-formats", "stated"),
    ("doppler-service", lambda: "dp.st." + r(LOWER, 6) + "." + r(ALNUM, 40), "https://docs.doppler.com/reference/auth-token-formats", "stated"),
    ("age", lambda: "AGE-SECRET-KEY-1" + r(BECH32.upper(), 58), "https://age-encryption.org/v1", "stated"),
    ("jwt", lambda: _jwt({"sub": digits(8), "role": "service", "iat": 1767225600}), "https://datatracker.ietf.org/doc/html/rfc7519", "stated"),
    ("heroku-new", lambda: "HRKU-AA" + r(URLSAFE, 58), "https://devcenter.heroku.com/articles/authentication", "inferred"),
    ("square-access", lambda: "EAAA" + r(URLSAFE, 60), "https://developer.squareup.com/docs/build-basics/access-tokens", "inferred"),
    ("square-legacy", lambda: "sq0atp-" + r(URLSAFE, 22), "https://developer.squareup.com/docs/build-basics/access-tokens", "inferred"),
    ("square-secret", lambda: "sq0csp-" + r(URLSAFE, 43), "https://developer.squareup.com/docs/build-basics/access-tokens", "inferred"),
    ("braintree", lambda: f"access_token$production${r(LOWER + DIGITS, 16)}${r(HEX, 32)}", "https://developer.paypal.com/braintree/docs/guides/authentication/", "inferred"),
    ("mapbox-secret", _mapbox_secret, "https://docs.mapbox.com/accounts/guides/tokens/", "stated"),
    ("contentful", lambda: "CFPAT-" + r(URLSAFE, 43), "https://www.contentful.com/developers/docs/references/authentication/", "inferred"),
    ("asana", lambda: f"2/{digits(16)}/{digits(16)}:{r(HEX, 32)}", "https://developers.asana.com/docs/personal-access-token", "inferred"),
    ("bitbucket-app-password", lambda: "ATBB" + r(ALNUM, 32), "https://support.atlassian.com/bitbucket-cloud/docs/app-passwords/", "inferred"),
    ("dropbox-short-lived", lambda: "sl." + r(URLSAFE, 135), "https://developers.dropbox.com/oauth-guide", "inferred"),
    ("alibaba", lambda: "LTAI" + r(ALNUM, 20), "https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair", "inferred"),
    ("tencent", lambda: "AKID" + r(ALNUM, 32), "https://www.tencentcloud.com/document/product/598/32675", "inferred"),
    ("firebase-fcm", lambda: f"AAAA{r(URLSAFE, 7)}:APA91b{r(URLSAFE, 134)}", "https://firebase.google.com/docs/cloud-messaging/auth-server", "inferred"),
    ("salesforce", lambda: f"00D{r(ALNUM, 12)}!{r(ALNUM + '.', 96)}", "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_access_tokens.htm", "inferred"),
    ("clickup", lambda: f"pk_{digits(8)}_{r(UPPER + DIGITS, 32)}", "https://clickup.com/api/developer-portal/authentication/", "inferred"),
    ("sonarqube-user", lambda: "squ_" + r(HEX, 40), "https://docs.sonarsource.com/sonarqube-server/latest/user-guide/managing-tokens/", "stated"),
    ("sonarqube-project", lambda: "sqp_" + r(HEX, 40), "https://docs.sonarsource.com/sonarqube-server/latest/user-guide/managing-tokens/", "stated"),
    ("sonarqube-analysis", lambda: "sqa_" + r(HEX, 40), "https://docs.sonarsource.com/sonarqube-server/latest/user-guide/managing-tokens/", "stated"),
    ("planetscale-token", lambda: "pscale_tkn_" + r(URLSAFE, 43), "https://planetscale.com/docs/concepts/service-tokens", "inferred"),
    ("planetscale-password", lambda: "pscale_pw_" + r(URLSAFE, 43), "https://planetscale.com/docs/concepts/connection-strings", "inferred"),
    ("prefect-user", lambda: "pnu_" + r(ALNUM, 36), "https://docs.prefect.io/v3/manage/cloud/manage-users/api-keys", "inferred"),
    ("prefect-bot", lambda: "pnb_" + r(ALNUM, 36), "https://docs.prefect.io/v3/manage/cloud/manage-users/service-accounts", "inferred"),
    ("render", lambda: "rnd_" + r(ALNUM, 32), "https://render.com/docs/api#1-create-an-api-key", "inferred"),
    ("replicate", lambda: "r8_" + r(ALNUM, 37), "https://replicate.com/docs/reference/http#authentication", "inferred"),
    ("groq", lambda: "gsk_" + r(ALNUM, 52), "https://console.groq.com/docs/quickstart", "inferred"),
    ("perplexity", lambda: "pplx-" + r(ALNUM, 48), "https://docs.perplexity.ai/guides/getting-started", "inferred"),
    ("xai", lambda: "xai-" + r(ALNUM, 80), "https://docs.x.ai/docs/overview", "inferred"),
    ("langsmith", lambda: f"lsv2_pt_{r(HEX, 32)}_{r(HEX, 10)}", "https://docs.smith.langchain.com/administration/how_to_guides/organization_management/create_account_api_key", "inferred"),
    ("tailscale", lambda: f"tskey-auth-k{r(ALNUM, 10)}CNTRL-{r(ALNUM, 33)}", "https://tailscale.com/kb/1085/auth-keys", "inferred"),
    ("buildkite", lambda: "bkua_" + r(HEX, 40), "https://buildkite.com/docs/apis/managing-api-tokens", "inferred"),
    ("circleci", lambda: f"CCIPAT_{r(ALNUM, 22)}_{r(HEX, 40)}", "https://circleci.com/docs/managing-api-tokens/", "inferred"),
    ("onepassword-sa", lambda: "ops_eyJ" + r(B64, 300), "https://developer.1password.com/docs/service-accounts/", "inferred"),
    ("dynatrace", lambda: f"dt0c01.{r(UPPER + DIGITS, 24)}.{r(UPPER + DIGITS, 64)}", "https://docs.dynatrace.com/docs/manage/identity-access-management/access-tokens-and-oauth-clients/access-tokens", "stated"),
    ("launchdarkly-api", lambda: f"api-{uuid.UUID(int=rng.getrandbits(128))}", "https://docs.launchdarkly.com/home/account/api", "inferred"),
    ("brevo", lambda: f"xkeysib-{r(HEX, 64)}-{r(ALNUM, 16)}", "https://developers.brevo.com/docs/getting-started", "inferred"),
    ("typeform", lambda: "tfp_" + r(URLSAFE, 44) + "_" + r(URLSAFE, 14), "https://www.typeform.com/developers/get-started/personal-access-token/", "inferred"),
    ("shippo", lambda: "shippo_live_" + r(HEX, 40), "https://docs.goshippo.com/docs/guides_general/authentication/", "inferred"),
    ("easypost", lambda: "EZAK" + r(HEX, 54), "https://docs.easypost.com/docs/authentication", "inferred"),
    ("flutterwave", lambda: f"FLWSECK-{r(HEX, 32)}-X", "https://developer.flutterwave.com/docs/authentication", "inferred"),
    ("duffel", lambda: "duffel_live_" + r(URLSAFE, 43), "https://duffel.com/docs/api/overview/making-requests/authentication", "inferred"),
    ("readme", lambda: "rdme_" + r(LOWER + DIGITS, 70), "https://docs.readme.com/main/reference/intro-to-the-readme-api#authentication", "inferred"),
    ("pinecone", lambda: f"pcsk_{r(ALNUM, 6)}_{r(ALNUM, 63)}", "https://docs.pinecone.io/guides/projects/manage-api-keys", "inferred"),
    ("facebook-page", lambda: "EAAG" + r(ALNUM, 180), "https://developers.facebook.com/docs/facebook-login/guides/access-tokens", "inferred"),
    ("twitter-bearer", lambda: "AAAAAAAAAAAAAAAAAAAAA" + r(ALNUM, 20) + "%3D" + r(ALNUM, 50), "https://developer.x.com/en/docs/authentication/oauth-2-0/bearer-tokens", "inferred"),
    ("jfrog-reference", lambda: "cmVmdGtuOjAxOjE3" + r(ALNUM, 48), "https://jfrog.com/help/r/jfrog-platform-administration-documentation/access-tokens", "inferred"),
    ("jfrog-api-key", lambda: "AKCp" + r(ALNUM, 69), "https://jfrog.com/help/r/jfrog-platform-administration-documentation/api-key", "inferred"),
    ("octopus", lambda: "API-" + r(UPPER + DIGITS, 32), "https://octopus.com/docs/octopus-rest-api/how-to-create-an-api-key", "inferred"),
    ("infracost", lambda: "ico-" + r(ALNUM, 32), "https://www.infracost.io/docs/", "inferred"),
    ("scalingo", lambda: "tk-us-" + r(URLSAFE, 48), "https://doc.scalingo.com/platform/user-management/api-tokens", "inferred"),
    ("clojars", lambda: "CLOJARS_" + r(HEX, 60), "https://github.com/clojars/clojars-web/wiki/Deploy-Tokens", "stated"),
    ("frameio", lambda: "fio-u-" + r(URLSAFE, 64), "https://developer.frame.io/docs/getting-started/authentication", "inferred"),
    ("plaid", lambda: f"access-production-{uuid.UUID(int=rng.getrandbits(128))}", "https://plaid.com/docs/api/tokens/", "stated"),
    ("hubspot-private-app", lambda: f"pat-na1-{uuid.UUID(int=rng.getrandbits(128))}", "https://developers.hubspot.com/docs/api/private-apps", "inferred"),
    ("openshift-user", lambda: "sha256~" + r(URLSAFE, 43), "https://docs.openshift.com/container-platform/4.14/authentication/managing-oauth-access-tokens.html", "inferred"),
    ("sourcegraph", lambda: "sgp_" + r(HEX, 16) + "_" + r(HEX, 40), "https://sourcegraph.com/docs/cli/how-tos/creating_an_access_token", "inferred"),
    ("posthog-personal", lambda: "phx_" + r(ALNUM, 47), "https://posthog.com/docs/api#private-endpoint-authentication", "inferred"),
    ("resend", lambda: f"re_{r(ALNUM, 8)}_{r(ALNUM, 24)}", "https://resend.com/docs/dashboard/api-keys/introduction", "inferred"),
    ("neon", lambda: "napi_" + r(LOWER + DIGITS, 64), "https://neon.tech/docs/manage/api-keys", "inferred"),
    ("defined-networking", lambda: "dnkey-" + r(UPPER + DIGITS, 26) + "-" + r(UPPER + DIGITS, 52), "https://docs.defined.net/guides/automating-host-creation/", "inferred"),
    ("yandex-oauth", lambda: "y0_" + r(URLSAFE, 55), "https://yandex.cloud/en/docs/iam/concepts/authorization/oauth-token", "inferred"),
    ("yandex-api-key", lambda: "AQVN" + r(URLSAFE, 36), "https://yandex.cloud/en/docs/iam/concepts/authorization/api-key", "inferred"),
    ("scaleway-secret", lambda: str(uuid.UUID(int=rng.getrandbits(128))), "https://www.scaleway.com/en/docs/identity-and-access-management/iam/concepts/#api-key", "inferred"),
    ("mailersend", lambda: "mlsn." + r(HEX, 64), "https://developers.mailersend.com/general.html#api-tokens", "inferred"),
    ("elevenlabs", lambda: "sk_" + r(HEX, 48), "https://elevenlabs.io/docs/api-reference/authentication", "inferred"),
    ("adobe-client-secret", lambda: "p8e-" + r(ALNUM + "-_", 32), "https://developer.adobe.com/developer-console/docs/guides/authentication/", "inferred"),
    ("bitbucket-repo-token", lambda: "ATCTT3xFfGN0" + r(URLSAFE, 170) + "=" + r(HEX.upper(), 8), "https://support.atlassian.com/bitbucket-cloud/docs/repository-access-tokens/", "inferred"),
    ("honeycomb-ingest", lambda: "hcaik_" + r(LOWER + DIGITS, 58), "https://docs.honeycomb.io/get-started/configure/environments/manage-api-keys/", "inferred"),
    ("gocardless", lambda: "live_" + r(URLSAFE, 40), "https://developer.gocardless.com/getting-started/api/making-your-first-request/", "inferred"),
    ("lob", lambda: "live_" + r(HEX, 35), "https://docs.lob.com/#tag/Authentication", "inferred"),
    ("codecov", lambda: str(uuid.UUID(int=rng.getrandbits(128))), "https://docs.codecov.com/docs/codecov-tokens", "inferred"),
    ("mongodb-atlas-url", lambda: f"mongodb+srv://app:{r(ALNUM, 16)}@cluster0.{r(LOWER + DIGITS, 5)}.mongodb.net/db", "https://www.mongodb.com/docs/atlas/connect-to-database-deployment/", "stated"),
    ("ibm-cloud", lambda: r(URLSAFE, 44), "https://cloud.ibm.com/docs/account?topic=account-userapikey", "inferred"),
    ("okta", lambda: "00" + r(URLSAFE, 40), "https://developer.okta.com/docs/guides/create-an-api-token/", "inferred"),
    ("vault-legacy", lambda: "s." + r(ALNUM, 24), "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes", "stated"),
    ("twilio-auth-token", lambda: r(HEX, 32), "https://www.twilio.com/docs/iam/credentials/api", "stated"),
    ("datadog-api", lambda: r(HEX, 32), "https://docs.datadoghq.com/account_management/api-app-keys/", "stated"),
    ("aws-secret-alone", lambda: r(B64, 40), "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html", "stated"),
]
# fmt: on
FORMATS = [f for f in FORMATS if f[1] is not None]
# Formats that carry no prefix: a value alone cannot be told from any random string; counted
# apart ("prefixless") rather than in the format score.
PREFIXLESS = {
    "scaleway-secret",
    "codecov",
    "ibm-cloud",
    "okta",
    "vault-legacy",
    "twilio-auth-token",
    "datadog-api",
    "aws-secret-alone",
}


def format_samples() -> list[tuple[str, str, str]]:
    rng.seed(SEEDS["formats"])
    out = []
    for name, make, doc, source in FORMATS:
        for _ in range(2 if name not in PREFIXLESS else 1):
            out.append((name, make(), f"{source}: {doc}"))
    return out


# --- 2. planted secrets ----------------------------------------------------------------


def _pem(kind: str, body_len: int = 900) -> str:
    body = base64.b64encode(rng.randbytes(body_len)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n"


def _pgp() -> str:
    body = base64.b64encode(rng.randbytes(900)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n"
        + "\n".join(lines)
        + "\n="
        + r(B64, 4)
        + "\n-----END PGP PRIVATE KEY BLOCK-----\n"
    )


def _encrypted_rsa() -> str:
    body = base64.b64encode(rng.randbytes(1200)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC," + r(HEX, 32).upper()
            + "\n\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----\n")  # fmt: skip


def _putty() -> str:
    pub = base64.b64encode(rng.randbytes(270)).decode()
    prv = base64.b64encode(rng.randbytes(640)).decode()
    return (f"PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: deploy\nPublic-Lines: 6\n{pub[:64]}\n"
            f"Private-Lines: 14\n{prv[:64]}\n{prv[64:128]}\nPrivate-MAC: {r(HEX, 64)}\n")  # fmt: skip


def _gcp_json() -> str:
    key = _pem("PRIVATE KEY").replace("\n", "\\n")
    return json.dumps({"type": "service_account", "project_id": "acme-prod", "private_key_id": r(HEX, 40),
                       "private_key": key, "client_email": "ci@acme-prod.iam.gserviceaccount.com",
                       "client_id": digits(21)}, indent=2)  # fmt: skip


def _pw() -> str:
    return r(LOWER, 4) + r(UPPER, 2) + r(DIGITS, 3) + rng.choice("!#%&*") + r(ALNUM, 4)


def _tok() -> str:
    return r(ALNUM, 32)


def _k8s() -> str:
    pw = base64.b64encode(_pw().encode()).decode()
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  username: YWRtaW4=\n  password: {pw}\n"


def _docker_config() -> str:
    auth = base64.b64encode(f"deploy:{_pw()}".encode()).decode()
    return json.dumps({"auths": {"registry.acme.io": {"auth": auth}}}, indent=2)


def _basic_header() -> str:
    return "Authorization: Basic " + base64.b64encode(f"svc:{_pw()}".encode()).decode()


# fmt: off
PLANTED: list[tuple[str, str, object]] = [
    # (context, path, () -> file text)
    ("python-assign", "app/settings.py", lambda: f'DB_PASSWORD = "{_pw()}"\n'),
    ("python-dict", "app/conf.py", lambda: f'CONF = {{"api_key": "{_tok()}", "debug": False}}\n'),
    ("python-kwarg", "app/client.py", lambda: f'client = Client(host="h", password="{_pw()}")\n'),
    ("python-default-arg", "app/db.py", lambda: f'def connect(user="svc", passwd="{_pw()}"):\n    pass\n'),
    ("python-fstring-none", "app/x.py", lambda: f"SECRET_KEY = '{r(ALNUM + '!@#$%^&*(-_=+)', 50)}'\n"),
    ("django-databases", "proj/settings.py", lambda: (f"DATABASES = {{\n    'default': {{\n        'USER': 'app',\n        'PASSWORD': '{_pw()}',\n   }}\n}}\n")),
    ("js-const", "src/api.js", lambda: f'const apiToken = "{_tok()}";\n'),
    ("js-object", "src/cfg.js", lambda: f"module.exports = {{ clientSecret: '{_tok()}' }};\n"),
    ("ts-typed", "src/cfg.ts", lambda: f'export const authToken: string = "{_tok()}";\n'),
    ("js-template", "src/t.js", lambda: f"const secret = `{_tok()}`;\n"),
    ("go-const", "main.go", lambda: f'const apiSecret = "{_tok()}"\n'),
    ("go-walrus", "cmd/run.go", lambda: f'password := "{_pw()}"\n'),
    ("java-field", "Main.java", lambda: f'private static final String DB_PASSWORD = "{_pw()}";\n'),
    ("kotlin-val", "App.kt", lambda: f'val apiKey = "{_tok()}"\n'),
    ("csharp-field", "App.cs", lambda: f'private const string ClientSecret = "{_tok()}";\n'),
    ("ruby-assign", "config/app.rb", lambda: f"config.secret_token = '{_tok()}'\n"),
    ("ruby-hash-rocket", "lib/x.rb", lambda: f":password => '{_pw()}',\n"),
    ("php-define", "wp-config.php", lambda: f"define('DB_PASSWORD', '{_pw()}');\n"),
    ("php-array", "config.php", lambda: f"$config['api_secret'] = '{_tok()}';\n"),
    ("rust-let", "src/main.rs", lambda: f'let token = "{_tok()}";\n'),
    ("swift-let", "App.swift", lambda: f'let apiKey = "{_tok()}"\n'),
    ("scala-val", "App.scala", lambda: f'val dbPassword = "{_pw()}"\n'),
    ("dotenv", ".env", lambda: f"STRIPE_SECRET={_tok()}\n"),
    ("dotenv-quoted", ".env.production", lambda: f'DATABASE_PASSWORD="{_pw()}"\n'),
    ("shell-export", "deploy.sh", lambda: f"export API_TOKEN={_tok()}\n"),
    ("shell-curl-u", "scripts/call.sh", lambda: f"curl -u admin:{_pw()} https://api.acme.io/v1/items\n"),
    ("shell-curl-header", "scripts/hdr.sh", lambda: f'curl -H "Authorization: Bearer {_tok()}" https://api.acme.io\n'),
    ("shell-mysql", "scripts/db.sh", lambda: f"mysql -u root -p{_pw()} prod < dump.sql\n"),
    ("shell-sshpass", "scripts/ssh.sh", lambda: f"sshpass -p '{_pw()}' ssh deploy@host\n"),
    ("cli-flag", "Makefile", lambda: f"deploy:\n\tcli login --password={_pw()}\n"),
    ("dockerfile-env", "Dockerfile", lambda: f"FROM python:3.11\nENV API_KEY={_tok()}\n"),
    ("dockerfile-arg", "Dockerfile.prod", lambda: f"ARG NPM_TOKEN={_tok()}\n"),
    ("compose-env-list", "docker-compose.yml", lambda: f"services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD={_pw()}\n"),
    ("compose-env-map", "compose.yaml", lambda: f"services:\n  db:\n    environment:\n      MYSQL_ROOT_PASSWORD: {_pw()}\n"),
    ("yaml-nested", "config/app.yml", lambda: f"smtp:\n  host: mail\n  password: {_pw()}\n"),
    ("yaml-quoted", "config/x.yaml", lambda: f'auth:\n  client_secret: "{_tok()}"\n'),
    ("github-actions", ".github/workflows/ci.yml", lambda: f"env:\n  SLACK_TOKEN: {_tok()}\n"),
    ("gitlab-ci", ".gitlab-ci.yml", lambda: f'variables:\n  DEPLOY_TOKEN: "{_tok()}"\n'),
    ("helm-values", "charts/app/values.yaml", lambda: f'redis:\n  auth:\n    password: "{_pw()}"\n'),
    ("k8s-secret-data", "k8s/secret.yaml", _k8s),
    ("k8s-secret-stringdata", "k8s/secret2.yaml", lambda: f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\nstringData:\n  token: {_tok()}\n"),
    ("ini", "setup.cfg", lambda: f"[database]\npassword = {_pw()}\n"),
    ("toml", "config.toml", lambda: f'[auth]\napi_key = "{_tok()}"\n'),
    ("properties", "application.properties", lambda: f"spring.datasource.password={_pw()}\n"),
    ("spring-yaml", "application.yml", lambda: f"spring:\n  datasource:\n    password: {_pw()}\n"),
    ("xml-element", "config.xml", lambda: f"<config>\n  <password>{_pw()}</password>\n</config>\n"),
    ("xml-attr", "settings.xml", lambda: f'<server id="r" username="ci" password="{_pw()}"/>\n'),
    ("dotnet-appsettings", "web.config", lambda: f'<add key="ApiSecret" value="{_tok()}" />\n'),
    ("json-config", "config.json", lambda: json.dumps({"db": {"user": "app", "password": _pw()}}, indent=2)),
    ("json-escaped", "data.json", lambda: json.dumps({"cfg": json.dumps({"secret": _tok()})})),
    ("url-password", "app/db.py", lambda: f'DATABASE_URL = "postgres://app:{_pw()}@db.internal:5432/app"\n'),
    ("url-redis", "config/cache.yml", lambda: f"url: redis://:{_pw()}@cache:6379/0\n"),
    ("url-amqp", "celeryconfig.py", lambda: f"broker_url = 'amqp://guest2:{_pw()}@rabbit//'\n"),
    ("jdbc", "db.properties", lambda: f"url=jdbc:mysql://db:3306/app?user=app&password={_pw()}\n"),
    ("jdbc-sqlserver", "ds.properties", lambda: f"url=jdbc:sqlserver://db:1433;databaseName=app;user=sa;password={_pw()}\n"),
    ("adonet", "appsettings.json", lambda: json.dumps({"ConnectionStrings": {"Db": f"Server=db;Database=app;User Id=sa;Password={_pw()};"}})),
    ("npmrc", ".npmrc", lambda: (f"//registry.npmjs.org/:_authToken={r(HEX, 8)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 12)}\n")),
    ("pypirc", ".pypirc", lambda: f"[pypi]\nusername = __token__\npassword = {_pypi()}\n"),
    ("netrc", ".netrc", lambda: f"machine api.acme.io login deploy password {_pw()}\n"),
    ("git-credentials", ".git-credentials", lambda: f"https://deploy:{_tok()}@github.com\n"),
    ("docker-config", ".docker/config.json", _docker_config),
    ("basic-header", "http/req.http", _basic_header),
    ("terraform-tfvars", "prod.tfvars", lambda: f'db_password = "{_pw()}"\n'),
    ("terraform-provider", "main.tf", lambda: f'provider "acme" {{\n  api_token = "{_tok()}"\n}}\n'),
    ("ansible-vars", "group_vars/all.yml", lambda: f"ansible_become_password: {_pw()}\n"),
    ("powershell", "deploy.ps1", lambda: f'$Password = ConvertTo-SecureString "{_pw()}" -AsPlainText -Force\n'),
    ("powershell-assign", "run.ps1", lambda: f'$apiKey = "{_tok()}"\n'),
    ("sql", "seed.sql", lambda: f"CREATE USER app WITH PASSWORD '{_pw()}';\n"),
    ("markdown-snippet", "README.md", lambda: f"```\nexport GITHUB_TOKEN=ghp_{r(ALNUM, 36)}\n```\n"),
    ("comment", "app/util.py", lambda: f"# old token: {r(ALNUM, 8)}{_tok()}\nx = 1\n"),
    ("ipynb", "nb.ipynb", lambda: json.dumps({"cells": [{"source": [f'openai.api_key = "sk-proj-{r(URLSAFE, 74)}T3BlbkFJ{r(URLSAFE, 74)}"\\n']}]})),
    ("pem-rsa", "id_rsa", lambda: _pem("RSA PRIVATE KEY")),
    ("pem-pkcs8", "key.pem", lambda: _pem("PRIVATE KEY")),
    ("pem-ec", "ec.pem", lambda: _pem("EC PRIVATE KEY", 120)),
    ("pem-openssh", "id_ed25519", lambda: _pem("OPENSSH PRIVATE KEY", 300)),
    ("pem-encrypted-pkcs8", "enc.pem", lambda: _pem("ENCRYPTED PRIVATE KEY")),
    ("pem-encrypted-rsa", "enc_rsa.pem", _encrypted_rsa),
    ("pem-dsa", "dsa.pem", lambda: _pem("DSA PRIVATE KEY", 400)),
    ("pgp-private", "secring.asc", _pgp),
    ("pem-in-yaml", "values.yaml", lambda: "tls:\n  key: |\n" + "".join("    " + ln + "\n" for ln in _pem("PRIVATE KEY").splitlines())),
    ("putty", "deploy.ppk", _putty),
    ("gcp-service-account", "sa.json", _gcp_json),
    ("aws-credentials-file", ".aws/credentials", lambda: f"[default]\naws_access_key_id = AKIA{r(B32, 16)}\naws_secret_access_key = {r(B64, 40)}\n"),
    ("aws-secret-alone-named", "cfg.py", lambda: f'AWS_SECRET_ACCESS_KEY = "{r(B64, 40)}"\n'),
    ("aws-boto3-kwargs", "s3.py", lambda: f'boto3.client("s3", aws_secret_access_key="{r(B64, 40)}")\n'),
    ("datadog-named", "datadog.yaml", lambda: f"api_key: {r(HEX, 32)}\n"),
    ("twilio-named", "sms.py", lambda: f'TWILIO_AUTH_TOKEN = "{r(HEX, 32)}"\n'),
    ("okta-named", "okta.env", lambda: f"OKTA_API_TOKEN=00{r(URLSAFE, 40)}\n"),
    ("sentry-legacy-dsn", "sentry.py", lambda: f'SENTRY_DSN = "https://{r(HEX, 32)}:{r(HEX, 32)}@sentry.io/{digits(6)}"\n'),
    ("jwt-in-header", "api.http", lambda: f"Authorization: Bearer {_jwt({'sub': digits(6), 'iat': 1767225600})}\n"),
    ("cookie-session", "req.txt", lambda: f"Cookie: sessionid={r(LOWER + DIGITS, 32)}\n"),
    ("camel-private-key", "app.js", lambda: f'const privateKey = "{r(B64, 44)}";\n'),
    ("webhook-secret", "hooks.py", lambda: f'WEBHOOK_SIGNING_SECRET = "{r(ALNUM, 40)}"\n'),
    ("encryption-key", "crypto.py", lambda: f'ENCRYPTION_KEY = b"{r(B64, 44)}"\n'),
    ("go-struct", "cfg.go", lambda: f'cfg := Config{{Password: "{_pw()}"}}\n'),
    ("java-setter", "Conf.java", lambda: f'ds.setPassword("{_pw()}");\n'),
    ("yaml-list-pw", "users.yml", lambda: f"users:\n  - name: ci\n    pass: {_pw()}\n"),
]
# fmt: on


PLANTED_SAMPLES = 3  # each context three times: one unlucky random value is not the verdict


# --- 3. negatives ----------------------------------------------------------------------


def _sshpub() -> str:
    return "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + r(B64, 340) + " user@host"


def _cert() -> str:
    return _pem("CERTIFICATE")


def _pubkey() -> str:
    return _pem("PUBLIC KEY", 294)


def _pgp_pub() -> str:
    return _pgp().replace("PRIVATE KEY BLOCK", "PUBLIC KEY BLOCK")


def _package_lock() -> str:
    deps = {f"node_modules/pkg{i}": {"version": "1.0.0", "resolved": f"https://registry.npmjs.org/pkg{i}/-/pkg{i}-1.0.0.tgz",
            "integrity": "sha512-" + base64.b64encode(rng.randbytes(64)).decode()} for i in range(5)}  # fmt: skip
    return json.dumps({"name": "x", "lockfileVersion": 3, "packages": deps}, indent=2)


def _poetry_lock() -> str:
    return "".join(
        f'[[package]]\nname = "p{i}"\nversion = "1.0"\nfiles = [\n    {{file = "p{i}-1.0.tar.gz", hash = "sha256:{r(HEX, 64)}"}},\n]\n\n'
        for i in range(4)
    )


def _go_sum() -> str:
    return "".join(
        f"github.com/a/m{i} v1.2.{i} h1:{base64.b64encode(rng.randbytes(32)).decode()}\n" for i in range(5)
    )


def _cargo_lock() -> str:
    return "".join(
        f'[[package]]\nname = "c{i}"\nversion = "0.1.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{r(HEX, 64)}"\n\n'
        for i in range(4)
    )


def _yarn_lock() -> str:
    return "".join(
        f'y{i}@^1.0.0:\n  version "1.0.0"\n  resolved "https://registry.yarnpkg.com/y{i}/-/y{i}-1.0.0.tgz#{r(HEX, 40)}"\n  integrity sha512-{base64.b64encode(rng.randbytes(64)).decode()}\n\n'
        for i in range(4)
    )


def _baseline() -> str:
    results = {f"src/f{i}.py": [{"type": "Secret Keyword", "filename": f"src/f{i}.py", "hashed_secret": r(HEX, 40),
                                 "is_verified": False, "line_number": i + 3}] for i in range(4)}  # fmt: skip
    return json.dumps(
        {"version": "1.5.0", "plugins_used": [{"name": "KeywordDetector"}], "results": results}, indent=2
    )


def _css_font() -> str:
    return (
        "@font-face { font-family: X; src: url(data:font/woff2;base64,"
        + base64.b64encode(rng.randbytes(600)).decode()
        + ") format('woff2'); }\n"
    )


def _css_image() -> str:
    return (
        '.logo { background: url("data:image/png;base64,'
        + base64.b64encode(rng.randbytes(400)).decode()
        + '"); color: #1a2B3c; }\n'
    )


def _minified() -> str:
    return (
        "!function(e){var t={};function n(r){if(t[r])return t[r].exports;var o=t[r]={i:r,l:!1,exports:{}};"
        f'return e[r].call(o.exports,o,o.exports,n),o.l=!0,o.exports}}var k="{r(ALNUM, 40)}";n.p=""}}([]);\n'
    )


# fmt: off
NEGATIVES: list[tuple[str, str, object]] = [
    ("ph-angle", "a.py", lambda: 'API_KEY = "<YOUR_API_KEY>"\n'),
    ("ph-xxx", "b.py", lambda: 'token = "xxxxxxxxxxxxxxxxxxxxxxxx"\n'),
    ("ph-env-var", ".env", lambda: "SECRET=${SECRET}\n"),
    ("ph-helm", "templates/s.yaml", lambda: "  password: {{ .Values.db.password }}\n"),
    ("ph-helm-b64", "templates/s2.yaml", lambda: "  password: {{ .Values.db.password | b64enc | quote }}\n"),
    ("ph-changeme", "c.yml", lambda: "password: changeme\n"),
    ("ph-dummy", "d.py", lambda: 'api_key = "dummy-api-key-for-tests"\n'),
    ("ph-example", "e.py", lambda: 'client_secret = "example-client-secret"\n'),
    ("ph-your-token", "f.sh", lambda: "export GITHUB_TOKEN=your-token-here\n"),
    ("ph-os-environ", "g.py", lambda: 'PASSWORD = os.environ["DB_PASSWORD"]\n'),
    ("ph-getenv", "g2.py", lambda: 'token = os.getenv("API_TOKEN", "")\n'),
    ("ph-process-env", "h.js", lambda: "const apiKey = process.env.API_KEY;\n"),
    ("ph-settings-attr", "i.py", lambda: "password = settings.DATABASE_PASSWORD\n"),
    ("ph-func-call", "j.py", lambda: "secret = get_secret('prod/db')\n"),
    ("ph-empty", "k.py", lambda: 'password = ""\n'),
    ("ph-none", "l.py", lambda: "api_key = None\n"),
    ("ph-stars", "m.yml", lambda: "password: '********'\n"),
    ("ph-github-secrets", ".github/workflows/x.yml", lambda: "env:\n  TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n"),
    ("ph-vault-ref", "n.yml", lambda: "password: vault:secret/data/db#password\n"),
    ("ph-ssm", "o.yml", lambda: "api_key: ssm:/prod/api/key\n"),
    ("ph-jinja", "p.j2", lambda: "password = {{ db_password }}\n"),
    ("ph-erb", "q.erb", lambda: "password: <%= ENV['DB_PASSWORD'] %>\n"),
    ("ph-shell-default", "r.sh", lambda: 'PASS="${DB_PASS:-}"\n'),
    ("ph-cli-prompt", "s.sh", lambda: 'read -s -p "Password: " password\n'),
    ("ph-password-field-label", "t.html", lambda: '<input type="password" name="password" placeholder="Password">\n'),
    ("ph-test-password-word", "u.py", lambda: 'PASSWORD_FIELD = "password"\n'),
    ("ph-redacted", "v.log", lambda: "token=[REDACTED]\n"),
    ("ph-sk-live-x", "w.md", lambda: "Use `sk_live_xxxxxxxxxxxxxxxxxxxxxxxx` in production.\n"),
    ("ph-ghp-x", "w2.md", lambda: "GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n"),
    ("ph-url-template", "x.py", lambda: 'url = f"postgres://{user}:{password}@{host}/db"\n'),
    ("ph-url-env", "x2.yml", lambda: "url: postgres://app:${DB_PASSWORD}@db:5432/app\n"),
    ("ph-type-hint", "y.py", lambda: "def login(username: str, password: str) -> Token:\n"),
    ("ph-const-name", "z.py", lambda: 'TOKEN_HEADER = "X-Auth-Token"\n'),
    ("ph-i18n", "locale/en.json", lambda: json.dumps({"password_reset": "Reset your password", "token_expired": "Your session token has expired"})),
    ("ph-i18n-po", "locale/de.po", lambda: 'msgid "Enter your password"\nmsgstr "Geben Sie Ihr Passwort ein"\n'),
    ("ex-aws-docs", "aws.md", lambda: ("aws_access_key_id = " + "AKIA" + "IOSFODNN7" + "EXAMPLE\naws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY\n")),
    ("ex-jwt-io", "jwt.md", lambda: ("token = eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + b64url(json.dumps({"sub": "1234567890", "name": "John Doe", "iat": 1516239022}).encode()) + "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n")),
    ("pub-ssh", "id_rsa.pub", lambda: _sshpub() + "\n"),
    ("pub-authorized-keys", "authorized_keys", lambda: _sshpub() + "\n" + "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + r(B64, 43) + " ci@x\n"),
    ("pub-known-hosts", "known_hosts", lambda: ("github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB" + r(B64, 100) + "=\n")),
    ("pub-pem-key", "pub.pem", _pubkey),
    ("pub-cert", "cert.pem", _cert),
    ("pub-cert-in-yaml", "ca.yaml", lambda: "ca: |\n" + "".join("  " + ln + "\n" for ln in _cert().splitlines())),
    ("pub-pgp", "key.asc", _pgp_pub),
    ("pub-stripe-pk", "checkout.js", lambda: f'Stripe("pk_live_{r(ALNUM, 99)}");\n'),
    ("pub-sentry-dsn", "sentry.js", lambda: (f'Sentry.init({{dsn: "https://{r(HEX, 32)}@o{digits(6)}.ingest.sentry.io/{digits(7)}"}});\n')),
    ("pub-age-recipient", "age.txt", lambda: "age1" + r(BECH32, 58) + "\n"),
    ("pub-mapbox-pk", "map.js", lambda: ("mapboxgl.accessToken = 'pk." + b64url(json.dumps({"u": "acme", "a": r(ALNUM, 25)}).encode()) + "." + r(URLSAFE, 22) + "';\n")),
    ("pub-firebase-web-config", "firebase.js", lambda: ('const firebaseConfig = {projectId: "acme-app", appId: "1:' + digits(12) + ":web:" + r(HEX, 22) + '"};\n')),
    ("lock-package", "package-lock.json", _package_lock),
    ("lock-poetry", "poetry.lock", _poetry_lock),
    ("lock-go-sum", "go.sum", _go_sum),
    ("lock-cargo", "Cargo.lock", _cargo_lock),
    ("lock-yarn", "yarn.lock", _yarn_lock),
    ("lock-pipfile", "Pipfile.lock", lambda: json.dumps({"default": {"django": {"hashes": ["sha256:" + r(HEX, 64), "sha256:" + r(HEX, 64)], "version": "==5.2"}}}, indent=4,)),
    ("lock-requirements-hashes", "requirements.txt", lambda: f"django==5.2 \\\n    --hash=sha256:{r(HEX, 64)} \\\n    --hash=sha256:{r(HEX, 64)}\n"),
    ("lock-gemfile", "Gemfile.lock", lambda: ("GEM\n  remote: https://rubygems.org/\n  specs:\n    rails (7.1.0)\nCHECKSUMS\n  rails (7.1.0) sha256=" + r(HEX, 64) + "\n")),
    ("baseline", ".secrets.baseline", _baseline),
    ("uuid", "ids.py", lambda: f'REQUEST_ID = "{uuid.UUID(int=rng.getrandbits(128))}"\n'),
    ("uuid-list", "fixtures.json", lambda: json.dumps([{"id": str(uuid.UUID(int=rng.getrandbits(128)))} for _ in range(5)])),
    ("git-sha", "versions.txt", lambda: f"commit {r(HEX, 40)}\nrevision: {r(HEX, 40)}\n"),
    ("git-sha-named", "deps.yml", lambda: f"ref: {r(HEX, 40)}\nsha: {r(HEX, 40)}\n"),
    ("docker-digest", "Dockerfile", lambda: f"FROM python:3.11-slim@sha256:{r(HEX, 64)}\n"),
    ("sri-script", "index.html", lambda: (f'<script src="x.js" integrity="sha384-{base64.b64encode(rng.randbytes(48)).decode()}" crossorigin="anonymous"></script>\n')),
    ("hash-fixture", "tests/test_hash.py", lambda: f'assert sha256(b"abc") == "{r(HEX, 64)}"\n'),
    ("hash-md5-etag", "cache.py", lambda: f'ETAG = "{r(HEX, 32)}"\n'),
    ("django-password-hash", "fixtures/users.json", lambda: json.dumps([{"model": "auth.user", "fields": {"username": "alice", "password": f"pbkdf2_sha256$870000${r(ALNUM, 22)}${base64.b64encode(rng.randbytes(32)).decode()}",},}])),
    ("bcrypt-hash-fixture", "fixtures/u.sql", lambda: f"INSERT INTO users VALUES ('bob', '$2b$12${r(ALNUM + './', 53)}');\n"),  # noqa: S608
    ("css-font", "fonts.css", _css_font),
    ("css-image", "logo.css", _css_image),
    ("css-colors", "theme.css", lambda: ".a{color:#ff00aa;background:#1e1e1e;border-color:rgba(0,0,0,.5)}\n"),
    ("minified-js", "static/app.min.js", _minified),
    ("source-map", "static/app.js.map", lambda: json.dumps({"version": 3, "mappings": "AAAA," + r(ALNUM + ",;", 400)})),
    ("svg-path", "icon.svg", lambda: f'<svg><path d="M{r(DIGITS, 3)} {r(DIGITS, 2)}L{r(DIGITS, 2)}z"/></svg>\n'),
    ("url-no-password", "links.md", lambda: "See https://user@example.org/path and https://github.com/acme/app.git\n"),
    ("url-port-only", "db.yml", lambda: "url: postgres://db.internal:5432/app\n"),
    ("url-git-ssh", "deps.txt", lambda: "git+ssh://git@github.com/acme/lib.git@v1.2.3\n"),
    ("version-strings", "versions.py", lambda: 'VERSION = "1.2.3-rc.4+build.5678"\n'),
    ("file-path", "paths.py", lambda: 'SECRET_PATH = "/etc/acme/secrets/api_key.txt"\n'),
    ("k8s-secret-ref", "deploy.yaml", lambda: ("env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db\n        key: password\n")),
    ("k8s-sealed", "sealed.yaml", lambda: "kind: SealedSecret\nspec:\n  encryptedData:\n    password: Ag" + r(B64, 300) + "\n"),
    ("sops-encrypted", "secrets.enc.yaml", lambda: f"password: ENC[AES256_GCM,data:{r(B64, 24)},iv:{r(B64, 43)}=,tag:{r(B64, 22)}==,type:str]\n"),
    ("ansible-vault", "vault.yml", lambda: "$ANSIBLE_VAULT;1.1;AES256\n" + "\n".join(r(DIGITS + "abcdef", 80) for _ in range(5)) + "\n"),
    ("env-example", ".env.example", lambda: "API_KEY=\nDB_PASSWORD=\nSECRET_KEY=change-me\n"),
    ("camel-identifier", "w.js", lambda: "const token = generateAccessTokenForUser(user);\n"),
    ("password-policy", "policy.yml", lambda: "password:\n  min_length: 12\n  require_digits: true\n"),
    ("test-assert-weak", "tests/test_pw.py", lambda: 'assert not is_strong("password123")\n'),
    ("go-mod-replace", "go.mod", lambda: "module acme\n\nrequire github.com/x/y v0.0.0-20240101000000-" + r(HEX, 12) + "\n"),
    ("base64-png-inline-md", "doc.md", lambda: "![x](data:image/png;base64," + base64.b64encode(rng.randbytes(300)).decode() + ")\n"),
    ("hex-color-list", "palette.json", lambda: json.dumps({"primary": "#3366ff", "secondary": "#ff6633", "key": "#000000"})),
    ("html-csrf-tmpl", "form.html", lambda: '<input type="hidden" name="csrfmiddlewaretoken" value="{{ csrf_token }}">\n'),
    ("terraform-var-ref", "main2.tf", lambda: 'resource "x" "y" {\n  password = var.db_password\n}\n'),
    ("aws-arn", "iam.json", lambda: json.dumps({"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"})),
]
# fmt: on


# Round 2: written after the first round of fixes and measured before any tuning on it, to
# see whether the fixes generalise (docs/benchmarks.md gives both rounds).
# fmt: off
PLANTED_2: list[tuple[str, str, object]] = [
    ("yaml-anchor", "conf.yml", lambda: f"db_pass: &dbpw {_pw()}\n"),
    ("py-setdefault", "boot.py", lambda: f'os.environ.setdefault("API_TOKEN", "{_tok()}")\n'),
    ("js-header-object", "fetch.js", lambda: f'fetch(u, {{ headers: {{ "X-Api-Key": "{_tok()}" }} }});\n'),
    ("pgpass", ".pgpass", lambda: f"db.internal:5432:app:app:{_pw()}\n"),
    ("nginx-header", "nginx.conf", lambda: f'proxy_set_header Authorization "Bearer {_tok()}";\n'),
    ("gradle-properties", "gradle.properties", lambda: f"signing.password={_pw()}\n"),
    ("docker-login", "ci.sh", lambda: f"docker login -u ci -p {_pw()} registry.acme.io\n"),
    ("git-clone-url", "setup.sh", lambda: f"git clone https://ci:{_tok()}@git.acme.io/app.git\n"),
    ("pgpassword-inline", "backup.sh", lambda: f"PGPASSWORD={_pw()} pg_dump -h db app > dump.sql\n"),
    ("redis-cli", "flush.sh", lambda: f"redis-cli -h cache -a {_pw()} FLUSHALL\n"),
    ("groovy-def", "Jenkinsfile", lambda: f'def apiToken = "{_tok()}"\n'),
    ("gradle-dsl", "build.gradle", lambda: f'credentials {{\n    username "ci"\n    password "{_pw()}"\n}}\n'),
    ("cloudformation", "stack.yaml", lambda: f"Properties:\n  MasterUsername: admin\n  MasterUserPassword: {_pw()}\n"),
    ("rails-secret-key-base", "config/secrets.yml", lambda: f"production:\n  secret_key_base: {r(HEX, 128)}\n"),
    ("kotlin-const", "Keys.kt", lambda: f'const val API_KEY = "{_tok()}"\n'),
    ("plist", "Info.plist", lambda: f"<dict>\n  <key>APIKey</key>\n  <string>{_tok()}</string>\n</dict>\n"),
    ("android-strings", "res/values/strings.xml", lambda: f'<string name="backend_api_key">{_tok()}</string>\n'),
    ("php-array-arrow", "config/db.php", lambda: f"    'password' => '{_pw()}',\n"),
    ("perl", "deploy.pl", lambda: f"my $password = '{_pw()}';\n"),
    ("lua", "init.lua", lambda: f'local token = "{_tok()}"\n'),
    ("r-setenv", "setup.R", lambda: f'Sys.setenv(API_KEY = "{_tok()}")\n'),
    ("vb-dim", "Module1.vb", lambda: f'Dim password As String = "{_pw()}"\n'),
    ("elixir", "config/prod.exs", lambda: f'config :app, api_key: "{_tok()}"\n'),
    ("k8s-env-name-value", "deploy.yaml", lambda: f'env:\n  - name: DB_PASSWORD\n    value: "{_pw()}"\n'),
    ("ecs-task-env", "task.json", lambda: json.dumps({"environment": [{"name": "API_TOKEN", "value": _tok()}]}, indent=2)),
    ("gha-with-input", ".github/workflows/d.yml", lambda: f"      with:\n        api-token: {_tok()}\n"),
    ("ini-pass", "app.ini", lambda: f"[smtp]\npass={_pw()}\n"),
    ("hcl-backend", "backend.tf", lambda: f'terraform {{\n  backend "s3" {{\n    secret_key = "{r(B64, 40)}"\n  }}\n}}\n'),
    ("sudo-echo", "install.sh", lambda: f"echo '{_pw()}' | sudo -S apt-get update\n"),
    ("mongo-uri-env", ".env.local", lambda: f"MONGO_URL=mongodb://root:{_pw()}@mongo:27017/admin\n"),
]

NEGATIVES_2: list[tuple[str, str, object]] = [
    ("argon2-hash", "users.py", lambda: f'password_hash = "$argon2id$v=19$m=65536,t=3,p=4${r(B64, 22)}${r(B64, 43)}"\n'),
    ("token-type", "oauth.py", lambda: 'token_type = "bearer"\nTOKEN_EXPIRY = "3600s"\n'),
    ("secret-name", "ext.yaml", lambda: "secret_name: prod/db/password\nsecretName: tls-cert\n"),
    ("password-min", "settings.py", lambda: "PASSWORD_MIN_LENGTH = 12\npasswordless: true\n"),
    ("laravel-migration", "migration.php", lambda: "$table->string('password');\n$table->rememberToken();\n"),
    ("ansible-inline-vault", "vars.yml", lambda: "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  " + r(DIGITS + "abcdef", 64) + "\n  " + r(DIGITS + "abcdef", 64) + "\n"),
    ("tf-random-password", "db.tf", lambda: 'resource "x" "db" {\n  password = random_password.db.result\n}\n'),
    ("request-header", "mw.py", lambda: 'token = request.headers.get("Authorization")\n'),
    ("i18n-yaml", "en.yml", lambda: 'password_too_short: "Password is too short (minimum is %{count} characters)"\n'),
    ("webpack-manifest", "manifest.json", lambda: json.dumps({"main.js": f"/static/main.{r(HEX, 20)}.js"})),
    ("pnpm-lock", "pnpm-lock.yaml", lambda: f"  /left-pad@1.3.0:\n    resolution: {{integrity: sha512-{base64.b64encode(rng.randbytes(64)).decode()}}}\n"),
    ("composer-lock", "composer.lock", lambda: json.dumps({"packages": [{"name": "a/b", "dist": {"reference": r(HEX, 40), "shasum": r(HEX, 40)}}]}, indent=4)),
    ("podfile-lock", "Podfile.lock", lambda: f"SPEC CHECKSUMS:\n  Alamofire: {r(HEX, 40)}\n\nPODFILE CHECKSUM: {r(HEX, 40)}\n"),
    ("flake-lock", "flake.lock", lambda: json.dumps({"nodes": {"nixpkgs": {"locked": {"narHash": "sha256-" + base64.b64encode(rng.randbytes(32)).decode(), "rev": r(HEX, 40)}}}}, indent=2)),
    ("nix-sha256", "default.nix", lambda: f'  src = fetchurl {{ url = "https://x/y.tar.gz"; sha256 = "{r("0123456789abcdfghijklmnpqrsvwxyz", 52)}"; }};\n'),
    ("terraform-lock", ".terraform.lock.hcl", lambda: f'provider "registry.terraform.io/hashicorp/aws" {{\n  hashes = [\n    "h1:{base64.b64encode(rng.randbytes(32)).decode()}",\n    "zh:{r(HEX, 64)}",\n  ]\n}}\n'),
    ("gradle-wrapper", "gradle/wrapper/gradle-wrapper.properties", lambda: f"distributionSha256Sum={r(HEX, 64)}\n"),
    ("chart-lock", "Chart.lock", lambda: f"digest: sha256:{r(HEX, 64)}\ngenerated: \"2026-01-01T00:00:00Z\"\n"),
    ("gha-pinned", ".github/workflows/ci.yml", lambda: f"      - uses: actions/checkout@{r(HEX, 40)} # v4\n"),
    ("google-client-id", "oauth.json", lambda: json.dumps({"client_id": f"{digits(12)}-{r(LOWER + DIGITS, 32)}.apps.googleusercontent.com"})),
    ("hmac-fixture", "tests/test_sign.py", lambda: f'assert sign(b"payload") == "{r(HEX, 64)}"\n'),
    ("protobuf-descriptor", "x_pb2.py", lambda: "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(b'\\n\\x0bhello.proto\\x12\\x05hello\"\\x1c\\n\\x05Hello')\n"),
    ("css-modules", "app.css", lambda: f".Button_primary__{r(ALNUM, 5)} {{ color: red; }}\n"),
    ("urls-with-at", "links.md", lambda: "https://www.npmjs.com/package/@acme/ui and https://medium.com/@alice/post and git@github.com:acme/app.git and http://localhost:8080\n"),
    ("email-plus", "team.txt", lambda: "alice+alerts@acme.io, bob@acme.io\n"),
    ("htpasswd-hash", ".htpasswd", lambda: f"admin:$apr1${r(ALNUM, 8)}${r(ALNUM + './', 22)}\n"),
    ("snapshot", "__snapshots__/a.snap", lambda: f'exports[`renders 1`] = `<div class="css-{r(LOWER + DIGITS, 6)}">Password</div>`;\n'),
    ("password-input-regex", "validate.js", lambda: "const PASSWORD_RE = /^(?=.*[A-Z])(?=.*\\d).{12,}$/;\n"),
    ("secret-manager-ref", "app.yaml", lambda: "env:\n  DB_PASSWORD: sm://projects/acme/secrets/db-password/versions/latest\n"),
    ("keyvault-ref", "appsettings.json", lambda: json.dumps({"Password": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)"})),
]
# fmt: on


# Round 3: written after the second round's fixes, measured before tuning on it (41/50
# planted, 1/38 false alarms before the fixes for its misses).
# fmt: off
PLANTED_3: list[tuple[str, str, object]] = [
    ("py-multiline-dict", "a.py", lambda: f'creds = {{\n    "username": "svc",\n    "password": "{_pw()}",\n}}\n'),
    ("toml-table", "pyproject.toml", lambda: f'[tool.poetry.http-basic.private]\nusername = "ci"\npassword = "{_pw()}"\n'),
    ("json-nested-token", "x.json", lambda: json.dumps({"auth": {"bearer": _tok()}})),
    ("yaml-token-block", "x.yml", lambda: f"slack:\n  bot_token: xoxb-{r(DIGITS,12)}-{r(DIGITS,13)}-{r(ALNUM,24)}\n"),
    ("url-ftp", "x.txt", lambda: f"ftp://admin:{_pw()}@files.acme.io/pub\n"),
    ("url-smtp", "x.env", lambda: f"EMAIL_URL=smtp://mailer:{_pw()}@smtp.acme.io:587\n"),
    ("url-https-query-token", "x.txt", lambda: f"https://api.acme.io/v1?access_token={_tok()}\n"),
    ("url-query-apikey", "x.js", lambda: f'fetch("https://api.acme.io/v1/items?api_key={_tok()}")\n'),
    ("curl-user-long", "x.sh", lambda: f"curl --user 'admin:{_pw()}' https://x\n"),
    ("curl-header-apikey", "x.sh", lambda: f"curl -H 'X-API-Key: {_tok()}' https://x\n"),
    ("wget-password", "x.sh", lambda: f"wget --user=ci --password={_pw()} https://x/file\n"),
    ("http-header-raw", "x.http", lambda: f"X-Api-Key: {_tok()}\n"),
    ("jdbc-postgres-userinfo", "x.properties", lambda: f"db.url=jdbc:postgresql://db:5432/app?user=app&password={_pw()}&ssl=true\n"),
    ("jdbc-oracle", "x.properties", lambda: f"url=jdbc:oracle:thin:scott/{_pw()}@db:1521:ORCL\n"),
    ("k8s-secret-json", "s.json", lambda: json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"password": base64.b64encode(_pw().encode()).decode()}}, indent=2)),
    ("k8s-secret-quoted", "s.yaml", lambda: f'apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  api-key: "{base64.b64encode(_tok().encode()).decode()}"\n'),
    ("docker-compose-map-quoted", "docker-compose.yml", lambda: f"services:\n  app:\n    environment:\n      API_TOKEN: \"{_tok()}\"\n"),
    ("dockerfile-env-space", "Dockerfile", lambda: f"ENV DB_PASSWORD {_pw()}\n"),
    ("dockerfile-run-export", "Dockerfile", lambda: f"RUN export NPM_TOKEN={_tok()} && npm ci\n"),
    ("helm-set", "deploy.sh", lambda: f"helm upgrade app ./chart --set db.password={_pw()}\n"),
    ("terraform-var-default", "variables.tf", lambda: f'variable "db_password" {{\n  default = "{_pw()}"\n}}\n'),
    ("ansible-inline", "play.yml", lambda: f"- name: x\n  mysql_user:\n    name: app\n    password: \"{_pw()}\"\n"),
    ("go-struct-field", "x.go", lambda: f'var c = Config{{\n\tAPIKey: "{_tok()}",\n}}\n'),
    ("csharp-connection", "x.cs", lambda: f'var cs = "Server=db;Database=app;User Id=sa;Password={_pw()};";\n'),
    ("java-properties-colon", "x.properties", lambda: f"mail.smtp.password: {_pw()}\n"),
    ("xml-connectionstring", "web.config", lambda: f'<add name="Db" connectionString="Data Source=db;User ID=sa;Password={_pw()}" />\n'),
    ("yaml-multiline-private-key", "x.yml", lambda: "key: |\n  -----BEGIN EC PRIVATE KEY-----\n  " + base64.b64encode(rng.randbytes(90)).decode()[:64] + "\n  " + base64.b64encode(rng.randbytes(40)).decode() + "\n  -----END EC PRIVATE KEY-----\n"),
    ("json-private-key-escaped", "x.json", lambda: json.dumps({"key": "-----BEGIN RSA PRIVATE KEY-----\n" + base64.b64encode(rng.randbytes(300)).decode() + "\n-----END RSA PRIVATE KEY-----\n"})),
    ("shell-heredoc", "x.sh", lambda: f"cat > ~/.pypirc <<EOF\n[pypi]\npassword = {_pw()}\nEOF\n"),
    ("python-bytes-key", "x.py", lambda: f"SECRET = b'{_tok()}'\n"),
    ("ts-interface-default", "x.ts", lambda: f"const opts: Options = {{ apiKey: '{_tok()}' }};\n"),
    ("markdown-inline", "README.md", lambda: f"Use the key `{_tok()}` for staging.\n"),
    ("env-with-export-quoted", ".envrc", lambda: f"export AWS_SECRET_ACCESS_KEY='{r(B64,40)}'\n"),
    ("aws-config-colon", "x.yml", lambda: f"aws_secret_access_key: {r(B64,40)}\n"),
    ("gh-actions-run", ".github/workflows/x.yml", lambda: f"      - run: ./deploy --token {_tok()}\n"),
    ("java-annotation", "X.java", lambda: f'@Value("${{api.key:{_tok()}}}")\n'),
    ("ini-no-spaces", "x.cfg", lambda: f"[auth]\nsecret={_tok()}\n"),
    ("password-in-log", "x.log", lambda: f"2026-01-01 INFO login user=admin password={_pw()}\n"),
    ("hex-secret-named", "x.py", lambda: f'HMAC_SECRET = "{r(HEX,64)}"\n'),
    ("passphrase-words", "x.yml", lambda: "passphrase: " + "correct-horse-battery-staple-42\n"),
    ("php-env-array", ".env.php", lambda: f"<?php return ['DB_PASSWORD' => '{_pw()}'];\n"),
    ("swift-static", "x.swift", lambda: f'static let clientSecret = "{_tok()}"\n'),
    ("dart-const", "x.dart", lambda: f"const String apiKey = '{_tok()}';\n"),
    ("c-define", "x.h", lambda: f'#define API_KEY "{_tok()}"\n'),
    ("cpp-string", "x.cpp", lambda: f'std::string password = "{_pw()}";\n'),
    ("objc", "x.m", lambda: f'NSString *apiKey = @"{_tok()}";\n'),
    ("rust-const", "x.rs", lambda: f'const API_TOKEN: &str = "{_tok()}";\n'),
    ("haskell", "x.hs", lambda: f'apiKey = "{_tok()}"\n'),
    ("clojure", "x.clj", lambda: f'(def api-key "{_tok()}")\n'),
    ("sql-insert-password", "x.sql", lambda: f"INSERT INTO config (key, value) VALUES ('smtp_password', '{_pw()}');\n"),  # noqa: S608
]

NEGATIVES_3: list[tuple[str, str, object]] = [
    ("docs-curl-placeholder", "x.md", lambda: "curl -u USERNAME:PASSWORD https://api.acme.io\n"),
    ("docs-curl-env", "x.md", lambda: 'curl -u "$USER:$TOKEN" https://api.acme.io\n'),
    ("docs-bearer-placeholder", "x.md", lambda: "Authorization: Bearer YOUR_ACCESS_TOKEN\n"),
    ("docs-bearer-angle", "x.md", lambda: "Authorization: Bearer <token>\n"),
    ("jdbc-no-password", "x.properties", lambda: "url=jdbc:postgresql://db:5432/app\n"),
    ("url-user-only", "x.txt", lambda: "https://git@github.com/acme/app.git\n"),
    ("k8s-secret-empty", "s.yaml", lambda: "apiVersion: v1\nkind: Secret\ndata:\n  password: \"\"\n"),
    ("k8s-secret-placeholder", "s.yaml", lambda: "apiVersion: v1\nkind: Secret\nstringData:\n  password: CHANGEME\n  token: ${TOKEN}\n"),
    ("ts-type", "x.ts", lambda: "interface Opts { apiKey: string; password?: string }\n"),
    ("java-getter", "X.java", lambda: "String password = config.getPassword();\n"),
    ("python-secrets-module", "x.py", lambda: "token = secrets.token_urlsafe(32)\n"),
    ("password-compare", "x.py", lambda: 'if password == confirm_password:\n    pass\n'),
    ("react-prop", "x.jsx", lambda: '<Input type="password" name="password" value={password} onChange={setPassword} />\n'),
    ("django-form", "forms.py", lambda: "password = forms.CharField(widget=forms.PasswordInput)\n"),
    ("sqlalchemy-col", "models.py", lambda: "password_hash = Column(String(128), nullable=False)\n"),
    ("csrf-meta", "x.html", lambda: '<meta name="csrf-token" content="{{ csrf_token() }}">\n'),
    ("aws-example-secret-alone", "x.md", lambda: 'secret = "wJalrXUtnFEMI/K7MDENG/' + 'bPxRfiCYEXAMPLEKEY"\n'),
    ("aws-account-id", "x.tf", lambda: 'account_id = "123456789012"\n'),
    ("gh-token-var", "x.yml", lambda: "token: ${{ github.token }}\n"),
    ("circleci-context", "config.yml", lambda: "      - run: echo $NPM_TOKEN\n"),
    ("password-env-ref-ps", "x.ps1", lambda: "$Password = $env:DB_PASSWORD\n"),
    ("heroku-config-docs", "x.md", lambda: "heroku config:set API_KEY=<your key>\n"),
    ("base64-cert-json", "x.json", lambda: json.dumps({"certificate": base64.b64encode(b"-----BEGIN CERTIFICATE-----\n" + rng.randbytes(200)).decode()})),
    ("key-id-only", "x.yml", lambda: f"kid: {r(HEX,40)}\n"),
    ("public-key-jwk", "jwks.json", lambda: json.dumps({"keys": [{"kty": "RSA", "e": "AQAB", "n": base64.urlsafe_b64encode(rng.randbytes(256)).decode().rstrip("="), "kid": "k1"}]})),
    ("openapi-security", "openapi.yml", lambda: "components:\n  securitySchemes:\n    ApiKeyAuth:\n      type: apiKey\n      in: header\n      name: X-API-KEY\n"),
    ("translation-secret", "fr.json", lambda: json.dumps({"secret_question": "Quelle est votre question secrète ?"})),
    ("lorem-ipsum-token", "x.txt", lambda: "The token bucket algorithm refills 10 tokens per second.\n"),
    ("password-regex-config", "x.yml", lambda: 'password_pattern: "^(?=.*[a-z])(?=.*[A-Z]).{8,}$"\n'),
    ("random-id-in-test", "test_x.py", lambda: f'def test_id():\n    assert make_id() != "{r(ALNUM, 22)}"\n'),
    ("gpg-fingerprint", "x.txt", lambda: "fingerprint: 3AA5 C343 7158 1A5C 2A3F  F6E1 9B3E 7A9C 2A3F F6E1\n"),
    ("ssh-host-key-fp", "x.txt", lambda: "SHA256:" + base64.b64encode(rng.randbytes(32)).decode().rstrip("=") + "\n"),
    ("npm-integrity-in-json", "package.json", lambda: json.dumps({"dist": {"integrity": "sha512-" + base64.b64encode(rng.randbytes(64)).decode(), "shasum": r(HEX, 40)}})),
    ("docker-image-id", "x.txt", lambda: f"image: sha256:{r(HEX, 64)}\n"),
    ("vault-path", "x.hcl", lambda: 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n'),
    ("sops-yaml", "x.yaml", lambda: f"sops:\n  kms: []\n  mac: ENC[AES256_GCM,data:{r(ALNUM,40)},iv:{r(ALNUM,43)}=,tag:{r(ALNUM,22)}==,type:str]\n"),
    ("age-encrypted", "x.age", lambda: "-----BEGIN AGE ENCRYPTED FILE-----\n" + base64.b64encode(rng.randbytes(200)).decode() + "\n-----END AGE ENCRYPTED FILE-----\n"),
    ("git-lfs-pointer", "x.bin", lambda: f"version https://git-lfs.github.com/spec/v1\noid sha256:{r(HEX,64)}\nsize 12345\n"),
]
# fmt: on


# Round 4: written after the third round's fixes, measured before tuning on it (the numbers
# before and after its fixes are in docs/benchmarks.md). Syntaxes and negatives none of the
# earlier rounds has: more languages' calls and literals, infrastructure templates, Windows,
# connection strings of more drivers, and env lookups and references in every language.
def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _azurite_key() -> str:
    # Azurite's published development-storage account key (the same in every install).
    pieces = (
        "Eby8vdM02xNOcqFl",
        "qUwJPLlmEtlCDXJ1",
        "OUzFT50uSRZ6IFsu",
        "Fq2UVErCz4I6tq/K",
        "1SZFPTOtr/KBHBek",
    )
    return "".join(pieces) + "soGMGw=="  # in pieces: the self-scan reads this file


def _stripe_docs_key() -> str:
    # The test-mode key printed throughout Stripe's API reference examples.
    return "sk_" + "test_" + "4eC39HqLyjWD" + "arjtT1zdp7dc"


# fmt: off
PLANTED_4: list[tuple[str, str, object]] = [
    ("csharp-verbatim", "Db.cs", lambda: f'var dbPassword = @"{_pw()}";\n'),
    ("csharp-auto-property", "Options.cs", lambda: f'public string ApiKey {{ get; set; }} = "{_tok()}";\n'),
    ("csharp-network-credential", "Mail.cs", lambda: f'client.Credentials = new NetworkCredential("mailer", "{_pw()}");\n'),
    ("csharp-header-add", "Http.cs", lambda: f'http.DefaultRequestHeaders.Add("X-Api-Key", "{_tok()}");\n'),
    ("java-password-authentication", "Auth.java", lambda: f'return new PasswordAuthentication("svc", "{_pw()}".toCharArray());\n'),
    ("java-http-header", "Api.java", lambda: f'req.header("Authorization", "Bearer {_tok()}");\n'),
    ("properties-spaces", "app.properties", lambda: f"db.password = {_pw()}\n"),
    ("spring-oauth-client-secret", "application.properties", lambda: f"spring.security.oauth2.client.registration.github.client-secret={_tok()}\n"),
    ("kafka-jaas", "client.properties", lambda: f'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="app" password="{_pw()}";\n'),
    ("kotlin-mapof", "Cfg.kt", lambda: f'val creds = mapOf("user" to "svc", "password" to "{_pw()}")\n'),
    ("android-buildconfig", "app/build.gradle.kts", lambda: f'buildConfigField("String", "API_KEY", "\\"{_tok()}\\"")\n'),
    ("swift-dictionary", "Api.swift", lambda: f'let headers = ["Authorization": "Bearer {_tok()}"]\n'),
    ("swift-urlcredential", "Net.swift", lambda: f'let cred = URLCredential(user: "svc", password: "{_pw()}", persistence: .forSession)\n'),
    ("rust-basic-auth", "src/client.rs", lambda: f'let res = client.get(url).basic_auth("svc", Some("{_pw()}")).send()?;\n'),
    ("rust-to-string", "src/cfg.rs", lambda: f'let cfg = Config {{ api_key: "{_tok()}".to_string() }};\n'),
    ("hocon", "application.conf", lambda: f'db {{\n  user = "app"\n  password = "{_pw()}"\n}}\n'),
    ("ruby-env-default", "config/boot.rb", lambda: f'ENV["API_TOKEN"] ||= "{_tok()}"\n'),
    ("ruby-kwarg-new", "lib/client.rb", lambda: f'client = Acme::Client.new(api_key: "{_tok()}")\n'),
    ("chef-attribute", "attributes/default.rb", lambda: f"default['app']['db_password'] = '{_pw()}'\n"),
    ("puppet-class", "manifests/db.pp", lambda: f"class {{ 'mysql::server':\n  root_password => '{_pw()}',\n}}\n"),
    ("elixir-repo", "config/dev.exs", lambda: f'config :app, App.Repo,\n  username: "postgres",\n  password: "{_pw()}",\n  hostname: "localhost"\n'),
    ("elixir-put-env", "rel/env.exs", lambda: f'System.put_env("API_KEY", "{_tok()}")\n'),
    ("perl-hash", "lib/Cfg.pm", lambda: f"my %cfg = (user => 'svc', password => '{_pw()}');\n"),
    ("lua-table", "conf.lua", lambda: f'config = {{ host = "api", api_key = "{_tok()}" }}\n'),
    ("r-arrow", "analysis.R", lambda: f'api_key <- "{_tok()}"\n'),
    ("dart-final", "lib/env.dart", lambda: f"final apiSecret = '{_tok()}';\n"),
    ("groovy-withenv", "Jenkinsfile", lambda: f'withEnv(["DEPLOY_TOKEN={_tok()}"]) {{\n  sh "./deploy"\n}}\n'),
    ("ansible-inventory-ini", "inventory/hosts", lambda: f"[web]\nweb1 ansible_host=10.0.0.5 ansible_user=deploy ansible_password={_pw()}\n"),
    ("salt-jinja-set", "salt/db.sls", lambda: f"{{% set db_password = '{_pw()}' %}}\n"),
    ("cfn-parameter-default", "template.yaml", lambda: f"Parameters:\n  DBPassword:\n    Type: String\n    NoEcho: true\n    Default: {_pw()}\n"),
    ("bicep-param", "main.bicep", lambda: f"param adminPassword string = '{_pw()}'\n"),
    ("arm-default-value", "azuredeploy.json", lambda: json.dumps({"parameters": {"adminPassword": {"type": "securestring", "defaultValue": _pw()}}}, indent=2)),
    ("pulumi-config", "Pulumi.prod.yaml", lambda: f"config:\n  app:apiToken: {_tok()}\n"),
    ("serverless-env-default", "serverless.yml", lambda: f"provider:\n  environment:\n    API_TOKEN: ${{env:API_TOKEN, '{_tok()}'}}\n"),
    ("azure-pipelines-vars", "azure-pipelines.yml", lambda: f"variables:\n- name: registryPassword\n  value: {_pw()}\n"),
    ("dotenv-spaces", ".env", lambda: f'API_KEY = "{_tok()}"\n'),
    ("dotenv-inline-comment", ".env.staging", lambda: f"DB_PASS='{_pw()}' # staging only\n"),
    ("toml-inline-table", "Cargo.toml", lambda: f'registry = {{ user = "ci", password = "{_pw()}" }}\n'),
    ("ini-colon-spaces", "odbc.ini", lambda: f"[main]\npassword : {_pw()}\n"),
    ("windows-reg", "settings.reg", lambda: f'[HKEY_CURRENT_USER\\Software\\Acme]\n"Password"="{_pw()}"\n'),
    ("bat-set", "deploy.bat", lambda: f"set DB_PASSWORD={_pw()}\n"),
    ("bat-set-quoted", "build.cmd", lambda: f'set "API_TOKEN={_tok()}"\n'),
    ("powershell-env", "setup.ps1", lambda: f'$env:API_TOKEN = "{_tok()}"\n'),
    ("powershell-hashtable", "creds.ps1", lambda: f"$cred = @{{ User = 'svc'; Password = '{_pw()}' }}\n"),
    ("ipynb-environ", "explore.ipynb", lambda: json.dumps({"cells": [{"cell_type": "code", "source": ["import os\n", f'os.environ["SERVICE_TOKEN"] = "{_tok()}"\n']}]}, indent=1)),
    ("odbc-pwd", "report.py", lambda: f'conn = pyodbc.connect("Driver={{ODBC Driver 18 for SQL Server}};Server=db;Uid=sa;Pwd={_pw()};")\n'),
    ("libpq-keywords", "db.py", lambda: f'conn = psycopg2.connect("host=db dbname=app user=app password={_pw()}")\n'),
    ("mongodb-srv", "config.js", lambda: f"const uri = 'mongodb+srv://app:{_pw()}@cluster0.ab1cd.mongodb.net/prod';\n"),
    ("rediss-url", "cache.env", lambda: f"CACHE_URL=rediss://default:{_pw()}@cache.acme.io:6380\n"),
    ("sqlalchemy-url", "alembic.ini", lambda: f"sqlalchemy.url = mysql+pymysql://app:{_pw()}@db/app\n"),
    ("ldap-bindpw", "nslcd.conf", lambda: f"binddn cn=reader,dc=acme,dc=io\nbindpw {_pw()}\n"),
    ("snmp-community", "snmpd.conf", lambda: f"rocommunity {_pw()} 10.0.0.0/8\n"),
    ("redis-conf-requirepass", "redis.conf", lambda: f"requirepass {_pw()}\n"),
    ("wp-salt", "wp-config.php", lambda: f"define( 'AUTH_KEY',         '{r(ALNUM + '!@#$%^&*()-_[]{{}}<>~+=,.;:/?|', 64)}' );\n"),
    ("drupal-hash-salt", "sites/default/settings.php", lambda: f"$settings['hash_salt'] = '{r(URLSAFE, 55)}';\n"),
    ("laravel-app-key", ".env", lambda: f"APP_KEY=base64:{base64.b64encode(rng.randbytes(32)).decode()}\n"),
    ("nodemailer-auth", "mail.js", lambda: f"const t = nodemailer.createTransport({{ host: 'smtp', auth: {{ user: 'bot', pass: '{_pw()}' }} }});\n"),
    ("ts-class-property", "api.service.ts", lambda: f"  private readonly apiSecret = '{_tok()}';\n"),
    ("python-requests-auth", "sync.py", lambda: f'r = requests.get(url, auth=("svc", "{_pw()}"))\n'),
    ("python-httpbasicauth", "hook.py", lambda: f"auth = HTTPBasicAuth('svc', '{_pw()}')\n"),
    ("python-token-header", "cli.py", lambda: f'session.headers["Authorization"] = "Token {_tok()}"\n'),
    ("python-basic-dict", "call.py", lambda: f'headers = {{"Authorization": "Basic {_b64("svc:" + _pw())}"}}\n'),
    ("python-triple-quoted", "gen.py", lambda: f'TEMPLATE = """\n[database]\nuser = app\npassword = {_pw()}\n"""\n'),
    ("markdown-docker-run", "README.md", lambda: f"```sh\ndocker run -e POSTGRES_PASSWORD={_pw()} postgres:16\n```\n"),
    ("go-setenv", "main_test.go", lambda: f'os.Setenv("API_TOKEN", "{_tok()}")\n'),
    ("go-setbasicauth", "client.go", lambda: f'req.SetBasicAuth("svc", "{_pw()}")\n'),
    ("php-curl-userpwd", "sync.php", lambda: f'curl_setopt($ch, CURLOPT_USERPWD, "svc:{_pw()}");\n'),
    ("php-pdo", "db.php", lambda: f"$pdo = new PDO('mysql:host=db;dbname=app', 'root', '{_pw()}');\n"),
    ("gitlab-private-token", ".gitlab-ci.yml", lambda: f'  script:\n    - curl --header "PRIVATE-TOKEN: {_tok()}" https://gitlab.acme.io/api/v4/projects\n'),
    ("pip-conf-index-url", "pip.conf", lambda: f"[global]\nindex-url = https://ci:{_pw()}@pypi.acme.io/simple\n"),
    ("nuget-cleartext", "NuGet.Config", lambda: f'<packageSourceCredentials>\n  <acme>\n    <add key="Username" value="ci" />\n    <add key="ClearTextPassword" value="{_pw()}" />\n  </acme>\n</packageSourceCredentials>\n'),
    ("composer-auth-host-key", "auth.json", lambda: json.dumps({"github-oauth": {"github.com": _tok()}}, indent=4)),
    ("docker-build-arg", "build.sh", lambda: f"docker build --build-arg NPM_TOKEN={_tok()} .\n"),
    ("kubectl-from-literal", "bootstrap.sh", lambda: f"kubectl create secret generic db --from-literal=password={_pw()}\n"),
    ("sqlcmd-p", "restore.cmd", lambda: f"sqlcmd -S db -U sa -P {_pw()} -i restore.sql\n"),
    ("openssl-passout", "certs.sh", lambda: f"openssl pkcs12 -export -in c.pem -inkey k.pem -out c.p12 -passout pass:{_pw()}\n"),
    ("keytool-storepass", "keystore.sh", lambda: f"keytool -importcert -alias ca -file ca.pem -keystore t.jks -storepass {_pw()} -noprompt\n"),
    ("alter-role-password", "roles.sql", lambda: f"ALTER ROLE app PASSWORD '{_pw()}';\n"),
    ("django-email-password", "settings/prod.py", lambda: f"EMAIL_HOST_PASSWORD = '{_pw()}'\n"),
]

NEGATIVES_4: list[tuple[str, str, object]] = [
    ("i18n-rails-yaml", "config/locales/en.yml", lambda: 'en:\n  activerecord:\n    errors:\n      password_confirmation: "doesn\'t match Password"\n'),
    ("i18n-android", "res/values/strings.xml", lambda: '<string name="password_hint">Enter your password</string>\n<string name="api_key_label">API key</string>\n'),
    ("i18n-properties", "messages.properties", lambda: "login.password.label=Password\nlogin.token.expired=Your token has expired, sign in again\n"),
    ("password-policy-java", "Policy.java", lambda: 'private static final Pattern PASSWORD_PATTERN = Pattern.compile("^(?=.*[0-9])(?=.*[a-z]).{8,64}$");\n'),
    ("test-fake-password", "tests/test_login.py", lambda: 'def test_login(client):\n    user = User.objects.create_user("alice", password="alice")\n    assert client.login(username="alice", password="wrong")\n'),
    ("python-getpass", "cli.py", lambda: 'password = getpass.getpass("Password: ")\n'),
    ("ruby-nil", "user.rb", lambda: "password = nil\ntoken = ''\n"),
    ("java-getenv", "Cfg.java", lambda: 'String dbPassword = System.getenv("DB_PASSWORD");\n'),
    ("csharp-getenv", "Cfg.cs", lambda: 'var apiKey = Environment.GetEnvironmentVariable("API_KEY");\n'),
    ("go-getenv", "cfg.go", lambda: 'apiToken := os.Getenv("API_TOKEN")\n'),
    ("rust-env-var", "src/cfg.rs", lambda: 'let api_key = std::env::var("API_KEY")?;\n'),
    ("ruby-env-fetch", "config/app.rb", lambda: 'api_key = ENV.fetch("API_KEY")\n'),
    ("laravel-env", "config/database.php", lambda: "'password' => env('DB_PASSWORD', ''),\n"),
    ("elixir-get-env", "config/runtime.exs", lambda: 'secret_key_base = System.get_env("SECRET_KEY_BASE") || raise "missing"\n'),
    ("dart-environment", "lib/env.dart", lambda: "final apiKey = Platform.environment['API_KEY'];\n"),
    ("kotlin-getenv", "Env.kt", lambda: 'val token = System.getenv("API_TOKEN") ?: ""\n'),
    ("swift-processinfo", "Env.swift", lambda: 'let apiKey = ProcessInfo.processInfo.environment["API_KEY"]\n'),
    ("vault-agent-template", "db.ctmpl", lambda: '{{ with secret "secret/data/db" }}password={{ .Data.data.password }}{{ end }}\n'),
    ("cfn-dynamic-reference", "stack.yaml", lambda: "MasterUserPassword: '{{resolve:secretsmanager:prod/db:SecretString:password}}'\n"),
    ("cfn-ref", "stack2.yaml", lambda: "MasterUserPassword: !Ref DBPassword\nApiKey: !GetAtt Key.Value\n"),
    ("azure-pipelines-macro", "azure-pipelines.yml", lambda: "  - script: ./deploy --password $(registryPassword)\n"),
    ("bat-percent-var", "run.bat", lambda: "set PASS=%DB_PASSWORD%\n"),
    ("masked-value", "out.log", lambda: "api_key=****************1234 password: \u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022\n"),
    ("design-tokens", "tokens.css", lambda: ":root { --token-color-primary: #1e66f5; --secret-banner-bg: #fab387; }\n"),
    ("dockerfile-checksum", "Dockerfile", lambda: f'ENV NODE_SHA256={r(HEX, 64)}\nRUN echo "{r(HEX, 64)}  node.tar.xz" | sha256sum -c -\n'),
    ("renovate-digest", "Dockerfile.ci", lambda: f"# renovate: datasource=docker depName=alpine digest=sha256:{r(HEX, 64)}\n"),
    ("data-uri-json", "avatars.json", lambda: json.dumps({"avatar": "data:image/jpeg;base64," + base64.b64encode(rng.randbytes(240)).decode()})),
    ("csproj-guids", "App.csproj", lambda: f"<PropertyGroup>\n  <ProjectGuid>{{{str(uuid.UUID(int=rng.getrandbits(128))).upper()}}}</ProjectGuid>\n  <UserSecretsId>{uuid.UUID(int=rng.getrandbits(128))}</UserSecretsId>\n</PropertyGroup>\n"),
    ("sln-guids", "App.sln", lambda: f'Project("{{FAE04EC0-301F-11D3-BF4B-00C04F79EFBC}}") = "App", "App\\App.csproj", "{{{str(uuid.UUID(int=rng.getrandbits(128))).upper()}}}"\n'),
    ("uv-lock", "uv.lock", lambda: f'[[package]]\nname = "django"\nsdist = {{ url = "https://files.pythonhosted.org/d.tar.gz", hash = "sha256:{r(HEX, 64)}", size = 10 }}\n'),
    ("fixture-ids", "tests/fixtures/events.json", lambda: json.dumps([{"id": r(ALNUM, 24), "nonce": r(ALNUM, 32), "hash": r(HEX, 40), "uuid": str(uuid.UUID(int=rng.getrandbits(128)))}], indent=2)),
    ("stripe-docs-test-key", "docs/payments.md", lambda: f"```python\nstripe.api_key = \"{_stripe_docs_key()}\"\n```\n"),
    ("azurite-dev-key", "local.settings.json", lambda: json.dumps({"Values": {"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + _azurite_key() + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"}})),
    ("slack-docs-fake", "docs/slack.md", lambda: 'SLACK_BOT_TOKEN="xoxb-not-a-real-token-this-will-not-work"\n'),
    ("lorem-ipsum", "fixtures/post.txt", lambda: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. The secret to a good password is length.\n"),
    ("jwt-public-key-env", ".env.test", lambda: 'JWT_PUBLIC_KEY="' + _pubkey().replace("\n", "\\n") + '"\n'),
    ("cloud-init-ssh-keys", "user-data.yml", lambda: "#cloud-config\nssh_authorized_keys:\n  - " + _sshpub() + "\n"),
    ("cert-in-json-escaped", "tls.json", lambda: json.dumps({"ca_certificate": _cert()})),
    ("gitleaksignore", ".gitleaksignore", lambda: f"{r(HEX, 40)}:config/app.py:generic-api-key:12\n{r(HEX, 40)}:deploy/x.yml:aws-access-token:4\n"),
    ("compose-secrets-file", "docker-compose.yml", lambda: "services:\n  db:\n    secrets:\n      - db_password\nsecrets:\n  db_password:\n    file: ./db_password.txt\n"),
    ("hocon-env-ref", "application.conf", lambda: 'db.password = ${?DB_PASSWORD}\napi.key = ${API_KEY}\n'),
    ("pulumi-require-secret", "index.ts", lambda: 'const dbPassword = config.requireSecret("dbPassword");\n'),
    ("tf-sensitive-var", "variables.tf", lambda: 'variable "db_password" {\n  type      = string\n  sensitive = true\n}\n'),
    ("ansible-vault-var-ref", "group_vars/web.yml", lambda: 'ansible_become_password: "{{ vault_become_pass }}"\n'),
    ("java-read-password", "Cli.java", lambda: "char[] password = System.console().readPassword();\n"),
    ("stripe-api-version", "billing.py", lambda: 'stripe.api_version = "2023-10-16"\nTOKEN_URL = "https://oauth2.googleapis.com/token"\n'),
    ("django-password-hashers", "settings.py", lambda: 'PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]\nAUTH_USER_MODEL = "accounts.User"\n'),
    ("csp-nonce", "page.html", lambda: f'<script nonce="{base64.b64encode(rng.randbytes(18)).decode()}">init()</script>\n'),
    ("key-path", "cfg.yml", lambda: "private_key_path: ~/.ssh/id_ed25519\nssl_key_file: /etc/ssl/private/app.key\n"),
    ("schema-secret-flag", "schema.json", lambda: json.dumps({"properties": {"password": {"type": "string", "secret": True, "minLength": 12}}})),
    ("keyboard-key", "keys.js", lambda: 'const key = "ArrowUp";\nconst keyCode = "Escape";\n'),
    ("jenkins-encrypted", "credentials.xml", lambda: f"<password>{{AQAAABAAAAAQ{r(B64, 44)}}}</password>\n"),
    ("htpasswd", ".htpasswd", lambda: f"admin:$apr1${r(ALNUM, 8)}${r(ALNUM + './', 22)}\n"),
]
# fmt: on


# --- running -------------------------------------------------------------------------


def _scan(path: str, text: str) -> list:
    return scan_blob(path, text.encode(), load_rules()).findings


def run(verbose: bool) -> dict:
    result: dict[str, dict] = {}
    fmt = format_samples()
    hits, misses = 0, []
    pre_hits, pre_n = 0, 0
    for name, token, doc in fmt:
        found = _scan("config.py", f'value = "{token}"\n')
        if name in PREFIXLESS:
            pre_n += 1
            pre_hits += bool(found)
            continue
        if found:
            hits += 1
        else:
            misses.append((name, token[:14] + "...", doc))
    n_fmt = len(fmt) - pre_n
    result["formats"] = {"n": n_fmt, "found": hits, "misses": misses,
                         "providers": len({f[0] for f in FORMATS} - PREFIXLESS),
                         "prefixless": f"{pre_hits}/{pre_n} (not counted: no prefix to recognise)"}  # fmt: skip

    rng.seed(SEEDS["planted"])
    missed = []
    found_n = 0
    for name, path, make in PLANTED:
        for _ in range(PLANTED_SAMPLES):
            text = make()
            if _scan(path, text):
                found_n += 1
            else:
                missed.append((name, path, text.strip().splitlines()[-1][:100]))
    result["planted"] = {"n": len(PLANTED) * PLANTED_SAMPLES, "found": found_n, "misses": missed}

    result["planted_2"] = _planted(PLANTED_2, SEEDS["planted"] + 10)
    rng.seed(SEEDS["negatives"])
    alarms = []
    for name, path, make in NEGATIVES:
        findings = _scan(path, make())
        if findings:
            alarms.append((name, path, [(f.rule, f.excerpt[:90]) for f in findings[:3]]))
    result["negatives"] = {"n": len(NEGATIVES), "false_alarms": len(alarms), "alarms": alarms}
    result["negatives_2"] = _negatives(NEGATIVES_2, SEEDS["negatives"] + 10)
    result["planted_3"] = _planted(PLANTED_3, SEEDS["planted"] + 20)
    result["negatives_3"] = _negatives(NEGATIVES_3, SEEDS["negatives"] + 20)
    result["planted_4"] = _planted(PLANTED_4, SEEDS["planted"] + 30)
    result["negatives_4"] = _negatives(NEGATIVES_4, SEEDS["negatives"] + 30)
    return result


def _planted(items: list, seed: int) -> dict:
    rng.seed(seed)
    found, missed = 0, []
    for name, path, make in items:
        for _ in range(PLANTED_SAMPLES):
            text = make()
            if _scan(path, text):
                found += 1
            else:
                missed.append((name, path, text.strip().splitlines()[-1][:100]))
    return {"n": len(items) * PLANTED_SAMPLES, "found": found, "misses": missed}


def _negatives(items: list, seed: int) -> dict:
    rng.seed(seed)
    alarms = []
    for name, path, make in items:
        findings = _scan(path, make())
        if findings:
            alarms.append((name, path, [(f.rule, f.excerpt[:90]) for f in findings[:3]]))
    return {"n": len(items), "false_alarms": len(alarms), "alarms": alarms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    res = run(args.verbose)
    f, p, n = res["formats"], res["planted"], res["negatives"]
    out = sys.stdout
    out.write(f"formats : {f['found']}/{f['n']} = {100 * f['found'] / f['n']:.1f} % ({f['providers']} formats); "
              f"prefixless {f['prefixless']}\n")  # fmt: skip
    out.write(f"planted : {p['found']}/{p['n']} = {100 * p['found'] / p['n']:.1f} %\n")
    out.write(
        f"negative: {n['false_alarms']}/{n['n']} false alarms = {100 * n['false_alarms'] / n['n']:.1f} %\n"
    )
    p2, n2 = res["planted_2"], res["negatives_2"]
    out.write(f"planted, round 2 : {p2['found']}/{p2['n']} = {100 * p2['found'] / p2['n']:.1f} %\n")
    out.write(
        f"negative, round 2: {n2['false_alarms']}/{n2['n']} false alarms = {100 * n2['false_alarms'] / n2['n']:.1f} %\n"
    )
    p3, n3 = res["planted_3"], res["negatives_3"]
    out.write(f"planted, round 3 : {p3['found']}/{p3['n']} = {100 * p3['found'] / p3['n']:.1f} %\n")
    out.write(
        f"negative, round 3: {n3['false_alarms']}/{n3['n']} false alarms = {100 * n3['false_alarms'] / n3['n']:.1f} %\n"
    )
    p4, n4 = res["planted_4"], res["negatives_4"]
    out.write(f"planted, round 4 : {p4['found']}/{p4['n']} = {100 * p4['found'] / p4['n']:.1f} %\n")
    out.write(
        f"negative, round 4: {n4['false_alarms']}/{n4['n']} false alarms = {100 * n4['false_alarms'] / n4['n']:.1f} %\n"
    )
    if args.verbose:
        for name, path, text in p4["misses"]:
            out.write(f"  MISS planted-4 {name:26} {path}: {text}\n")
        for name, path, found in n4["alarms"]:
            out.write(f"  FALSE ALARM-4  {name:26} {path} {found}\n")
        for name, path, text in p3["misses"]:
            out.write(f"  MISS planted-3 {name:26} {path}: {text}\n")
        for name, path, found in n3["alarms"]:
            out.write(f"  FALSE ALARM-3  {name:26} {path} {found}\n")
        for name, path, text in p2["misses"]:
            out.write(f"  MISS planted-2 {name:26} {path}: {text}\n")
        for name, path, found in n2["alarms"]:
            out.write(f"  FALSE ALARM-2  {name:26} {path} {found}\n")
        for name, tok, doc in f["misses"]:
            out.write(f"  MISS format  {name:28} {tok}  ({doc})\n")
        for name, path, text in p["misses"]:
            out.write(f"  MISS planted {name:28} {path}: {text}\n")
        for name, path, found in n["alarms"]:
            out.write(f"  FALSE ALARM  {name:28} {path} {found}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
