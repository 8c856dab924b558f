"""Contexts a secret is pasted in, and the near-misses a scanner must leave alone.

``CONTEXTS[kind]`` lists templates with ``{v}`` where the value goes (a dict when a kind has
sub-formats). ``NEGATIVES[why]`` makes texts from the seeded generator in make_secrets.py.
"""

from __future__ import annotations

import base64
import uuid

# Contexts for prefixed tokens: prose, .env, shell, YAML, JSON, code, logs, punctuation.
_GENERIC = [
    "Here's my key {v} - why does every call return 401?",
    "{N}={v}",
    'export {N}="{v}"',
    "{k}: {v}",
    '{"{k}": "{v}", "timeout": 30}',
    'client = Client({k}="{v}")',
    "const {k} = '{v}';",
    "2026-11-20T10:12:03.512Z DEBUG outgoing request token={v} status=401",
    "I rotated the old one ({v}) yesterday, is it still valid?",
    "ENV {N}={v}",
    '{k} = "{v}"\n\n[server]\nport = 8080',
    "env:\n  - name: {N}\n    value: {v}",
    "Use `{v}` in the header.",
    "key:{v}.",
    "<{v}>",
    "os.environ[\"{N}\"] = \"{v}\"",
    "{N}='{v}' python deploy.py --dry-run",
    "set {N}={v}",
    "Config dump: {'{k}': '{v}', 'debug': True}",
    "Error: invalid credentials for {v}; check your settings",
    "| {N} | {v} |",
    "{v}",
]

_NAMES = {
    "anthropic_key": ("ANTHROPIC_API_KEY", "api_key", [
        "x-api-key: {v}", 'client = anthropic.Anthropic(api_key="{v}")']),
    "openai_key": ("OPENAI_API_KEY", "api_key", ["client = OpenAI(api_key='{v}')"]),
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID", "aws_access_key_id", [
        "[default]\naws_access_key_id = {v}\nregion = us-east-1",
        '"AccessKeyId": "{v}",']),
    "github_token": ("GITHUB_TOKEN", "token", [
        "git clone https://{v}@github.com/acme/infra.git",
        "git remote set-url origin https://x-access-token:{v}@github.com/acme/app"]),
    "gitlab_token": ("GITLAB_TOKEN", "private_token", [
        "git clone https://oauth2:{v}@gitlab.com/acme/app.git", "PRIVATE-TOKEN: {v}"]),
    "slack_token": ("SLACK_BOT_TOKEN", "token", [
        "Authorization: Bearer {v}", 'client = slack_sdk.WebClient(token="{v}")']),
    "stripe_key": ("STRIPE_SECRET_KEY", "api_key", [
        'stripe.api_key = "{v}"', "curl https://api.stripe.com/v1/charges -u {v}:"]),
    "google_api_key": ("GOOGLE_API_KEY", "key", [
        "https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key={v}"]),
    "twilio_key": ("TWILIO_API_KEY", "api_key_sid", [
        "client = Client('{v}', api_secret, account_sid)"]),
    "sendgrid_key": ("SENDGRID_API_KEY", "api_key", ["sg = SendGridAPIClient('{v}')"]),
    "npm_token": ("NPM_TOKEN", "_authToken", ["//registry.npmjs.org/:_authToken={v}"]),
    "pypi_token": ("PYPI_TOKEN", "password", [
        "[pypi]\nusername = __token__\npassword = {v}",
        "twine upload -u __token__ -p {v} dist/*"]),
    "jwt": ("ACCESS_TOKEN", "access_token", [
        "Cookie: session={v}; theme=dark", "Authorization: Bearer {v}"]),
    "wardgate_key": ("WARDGATE_KEY", "api_key", [
        "ANTHROPIC_BASE_URL=http://gateway:8080 ANTHROPIC_API_KEY={v} claude", "x-api-key: {v}"]),
}


def _generic(kind: str) -> list[str]:
    env, key, extra = _NAMES[kind]
    return extra + [t.replace("{N}", env).replace("{k}", key) for t in _GENERIC]


CONTEXTS: dict[str, list[str] | dict[str, list[str]]] = {
    "anthropic_key": _generic("anthropic_key"),
    "openai_key": _generic("openai_key"),
    "aws_access_key_id": _generic("aws_access_key_id"),
    "aws_secret_key": [
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {v}",
        "aws_secret_access_key = {v}",
        "AWS_SECRET_ACCESS_KEY={v}",
        'export AWS_SECRET_ACCESS_KEY="{v}"',
        '"SecretAccessKey": "{v}",',
        "s3 = boto3.client('s3', aws_secret_access_key='{v}')",
        "aws_secret_key: {v}",
        "My AWS secret access key is {v}, is that the right length?",
        "  secret_access_key: '{v}'  # aws",
        "AWS_SECRET_KEY = \"{v}\"",
        "ENV AWS_SECRET_ACCESS_KEY={v}",
        "- name: AWS_SECRET_ACCESS_KEY\n  value: \"{v}\"",
        "$ aws configure\nAWS Access Key ID [None]: {id}\nAWS Secret Access Key [None]: {v}",
        "credentials: {accessKeyId: process.env.KEY_ID, secretAccessKey: '{v}'}",
    ],
    "github_token": _generic("github_token"),
    "gitlab_token": _generic("gitlab_token"),
    "slack_token": {"main": _generic("slack_token"), "webhook": [
        "SLACK_WEBHOOK_URL={v}",
        "curl -X POST -H 'Content-type: application/json' --data '{\"text\":\"deploy ok\"}' {v}",
        "webhook: {v}",
        'requests.post("{v}", json={"text": msg})',
        "Alerts go to {v} (the #ops channel).",
    ]},
    "stripe_key": _generic("stripe_key"),
    "google_api_key": _generic("google_api_key"),
    "azure_key": [
        "DefaultEndpointsProtocol=https;AccountName=acmestorage;AccountKey={v};EndpointSuffix=core.windows.net",
        'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=logs01;AccountKey={v};EndpointSuffix=core.windows.net"',
        '"ConnectionStrings": {\n  "Storage": "DefaultEndpointsProtocol=https;AccountName=appdata;AccountKey={v}"\n}',
        'svc = BlobServiceClient.from_connection_string("AccountName=backups;AccountKey={v};EndpointSuffix=core.windows.net")',
        "The storage account key is {v} - is it the primary or the secondary?",
        "az storage blob upload --account-name acme --account-key {v} -f db.bak -c backups",
        '"accountKey": "{v}",',
        "AZURE_STORAGE_KEY={v}",
    ],
    "gcp_service_account": [
        "Here is my service account file, why does auth fail?\n{v}",
        "GOOGLE_CREDENTIALS='{v}'",
        "$ cat key.json\n{v}",
        "info = json.loads('''{v}''')\ncreds = service_account.Credentials.from_service_account_info(info)",
        "```json\n{v}\n```",
        "kubectl create secret generic gcp-sa --from-literal=key.json='{v}'",
    ],
    "twilio_key": {"main": _generic("twilio_key"), "auth_token": [
        "TWILIO_AUTH_TOKEN={v}",
        'auth_token = "{v}"  # twilio',
        "client = Client('AC3f6a0c2b9d8e7f6a5b4c3d2e1f0a9b8c', '{v}')  # twilio account sid, auth token",
        "twilio:\n  account_sid: AC3f6a0c2b9d8e7f6a5b4c3d2e1f0a9b8c\n  auth_token: {v}",
        "export TWILIO_AUTH_TOKEN='{v}'",
    ]},
    "sendgrid_key": _generic("sendgrid_key"),
    "npm_token": _generic("npm_token"),
    "pypi_token": _generic("pypi_token"),
    "jwt": _generic("jwt"),
    "private_key": [
        "{v}",
        "I generated this key, is the format right?\n\n{v}\n\nThanks!",
        "```\n{v}\n```",
        "$ cat ~/.ssh/id_rsa\n{v}",
        "tls.key:\n{v}\n",
        "Error loading key: unexpected EOF\n--- key.pem ---\n{v}\n--- end ---",
        'KEY = """{v}"""',
    ],
    "url_password": [
        "DATABASE_URL=postgres://app_user:{v}@db.internal:5432/orders",
        "mysql://root:{v}@127.0.0.1:3306/shop",
        "mongodb+srv://admin:{v}@cluster0.ab1cd.mongodb.net/?retryWrites=true",
        "redis://:{v}@cache.prod.local:6379/0",
        "amqp://guest:{v}@rabbit:5672/",
        "git clone https://deploy:{v}@git.example.com/team/app.git",
        "pip install --index-url https://ci:{v}@artifacts.example.org/simple/ acme-core",
        'engine = create_engine("postgresql+psycopg://svc:{v}@pg-primary/analytics")',
        "ftp://backup:{v}@10.0.4.12/nightly/",
        "proxy = 'http://jdoe:{v}@proxy.corp:3128'",
        "2026-11-20 10:01:44 WARN connecting to postgres://report:{v}@replica-2:5432/dw timed out",
        "Why can't I connect with https://admin:{v}@grafana.internal/ ?",
    ],
    "password": [
        'password = "{v}"',
        "PASSWORD: {v}",
        "pwd={v}",
        "DB_PASSWORD={v}",
        "  password: '{v}'",
        '{"username": "svc", "password": "{v}"}',
        "my password is {v} and it doesn't work on the VPN",
        "login(username='admin', password='{v}')",
        "Server=db;Database=app;User Id=sa;Password={v};",
        "spring.datasource.password={v}",
        "<password>{v}</password>",
        "passwd: {v}",
        "set PGPASSWORD={v}",
        "MYSQL_ROOT_PASSWORD: \"{v}\"",
    ],
    "wardgate_key": _generic("wardgate_key"),
    "generic_secret": [
        "token: {v}",
        "SECRET_KEY = '{v}'",
        "api_key={v}",
        "Authorization: Bearer {v}",
        "client_secret: {v}",
        '"access_token": "{v}"',
        "X-Api-Key: {v}",
        "export APP_SECRET={v}",
        'webhook_secret = "{v}"',
        "curl -H 'Authorization: Bearer {v}' https://internal.api/v2/jobs",
        "the session secret is {v}",
        "DJANGO_SECRET_KEY={v}",
        "GET /export?auth_token={v}&user=42",
        "apiKey: '{v}',",
    ],
}
# The AWS templates show an access key id beside the secret; keep it fixed so the row's value stays unique.
CONTEXTS["aws_secret_key"] = [t.replace("{id}", "AKIA2OGYBAH6QUZW3F6J") for t in CONTEXTS["aws_secret_key"]]


# --- negatives ---------------------------------------------------------------------------------

def _uuid(g) -> str:
    return str(uuid.UUID(int=g.r.getrandbits(128), version=4))


def _fill(g, templates: list[str], make, n: int) -> list[str]:
    return [templates[i % len(templates)].replace("{x}", make()) for i in range(n)]


def _uuids(g) -> list[str]:
    return _fill(g, [
        "request-id: {x}", "INFO job {x} finished in 3.2s", '"trace_id": "{x}"',
        "SELECT * FROM orders WHERE id = '{x}';", "https://app.example.com/invoices/{x}",
        "Idempotency-Key: {x}", "correlation_id={x} level=info msg=\"cache miss\"",
        "session {x} closed by client",
    ], lambda: _uuid(g), 25)


def _git_shas(g) -> list[str]:
    return _fill(g, [
        "commit {x}\nAuthor: Jane Doe <jane@example.com>", "Fixed in {x}.",
        "git cherry-pick {x}", "https://github.com/acme/app/commit/{x}",
        "pip install git+https://github.com/acme/lib@{x}", "uses: actions/checkout@{x} # v4.2.2",
        "  rev: {x}", 'Revert "Add cache" (reverts commit {x})',
        '"resolved": "git+ssh://git@github.com/acme/x.git#{x}"', "HEAD is now at {x}",
    ], lambda: g.s("0123456789abcdef", 40), 25)


def _sha256s(g) -> list[str]:
    return _fill(g, [
        "{x}  wardgate-0.1.0.tar.gz", "image: ghcr.io/acme/app@sha256:{x}",
        'checksum = "sha256:{x}"', "requests==2.32.3 --hash=sha256:{x}", "Digest: sha256:{x}",
        "SHA256 (backup.tar.gz) = {x}", '"sha256": "{x}"',
    ], lambda: g.s("0123456789abcdef", 64), 20)


def _md5s(g) -> list[str]:
    return _fill(g, [
        "md5: {x}", 'ETag: "{x}"', "{x}  backup.tar.gz", "MD5 (report.pdf) = {x}",
        "cache key {x} evicted",
    ], lambda: g.s("0123456789abcdef", 32), 15)


_PLACEHOLDERS = [
    "ANTHROPIC_API_KEY=sk-ant-xxxx", "api_key: sk-ant-api03-...",
    "export ANTHROPIC_API_KEY=sk-ant-api03-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "OPENAI_API_KEY=sk-...", "OPENAI_API_KEY=YOUR_API_KEY", 'api_key = "YOUR_API_KEY"',
    "Authorization: Bearer <your-token>", "token: <YOUR_TOKEN_HERE>",
    "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX", "password: changeme", 'password = ""',
    "password: ${DB_PASSWORD}", "password=*****", "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "STRIPE_KEY=sk_live_...", "stripe.api_key = 'sk_test_your_key_here'",
    "SLACK_BOT_TOKEN=xoxb-your-bot-token", "key=AIza...", "password: {{ vault_db_password }}",
    "password: !vault |", "DB_PASSWORD=", 'password = os.environ["DB_PASSWORD"]',
    "password: <redacted>", "PASSWORD=[REDACTED]", 'api_key: "{{ .Values.apiKey }}"',
    "secret: ${{ secrets.DEPLOY_KEY }}", "token = getpass.getpass('Token: ')", "password: null",
    "password=None", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    "x-api-key: wg_live_<key>", "Your key sk-ant-api03-…AbCd was revoked.", "AKIA****************",
    "postgres://user:password@localhost:5432/mydb", "mysql://root:<password>@localhost/shop",
    "postgres://app:${PGPASSWORD}@db/app", "https://username:password@host/path",
    "NPM_TOKEN=npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "SENDGRID_API_KEY=SG.xxxxx.yyyyy",
    "client_secret: REPLACE_ME", "api_key: 'your-api-key-here'", "secret_key = 'dev'",
    "password: password", "PASSWORD=your_password", "token: TODO", "api_key = None  # set me",
    "GOOGLE_API_KEY=AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "Bearer {token}",
    "Authorization: Bearer $TOKEN", "aws_secret_access_key = <secret>",
    "private_key: \"-----BEGIN PRIVATE KEY-----\\n<paste here>\\n-----END PRIVATE KEY-----\"",
    "wg_live_••••••••••••3f9A", "glpat-xxxxxxxxxxxxxxxxxxxx", "password: \"********\"",
]

_VENDOR_EXAMPLES = [
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
]

_VERSIONS = [
    "wardgate 0.1.0", "requires numpy>=1.26.4,<2", "Python 3.11.7 (main, Dec 2023)",
    "v2.14.3-rc.1+build.20261121", "image: postgres:16.4-alpine3.20", '"version": "4.17.21"',
    "Mozilla/5.0 Chrome/131.0.6778.86 Safari/537.36", "go 1.23.4", "kernel 6.8.0-49-generic",
    "sqlalchemy==2.0.36", "Node.js v22.11.0", "OpenSSL 3.0.13 30 Jan 2024", "build 2026.10.18-rc1",
    "cryptography>=43.0.1", "ubuntu 24.04.1 LTS", "__version__ = '1.109.1'", "Release 3.8.18",
    "nginx/1.27.3", "spaCy 3.8.18 requires thinc<8.4.0,>=8.3.4", "api-version: 2024-10-21",
    "anthropic-version: 2023-06-01", "firmware 10.2.0.1234", "chart: ingress-nginx-4.11.3",
    "ruby 3.3.6p108", "CUDA 12.4.131",
]


def _images(g) -> list[str]:
    out = []
    heads = [("image/png", "iVBORw0KGgoAAAANSUhEUgAA"), ("image/jpeg", "/9j/4AAQSkZJRgABAQAAAQABAAD"),
             ("image/gif", "R0lGODlhAQABAIAAAP")]
    for i in range(15):
        media, head = heads[i % 3]
        data = head + g.b64(g.r.randint(150, 450))
        if i % 2:
            out.append(f'{{"type": "image", "source": {{"type": "base64", "media_type": "{media}", "data": "{data}"}}}}')
        else:
            out.append(f'<img src="data:{media};base64,{data}" alt="chart">')
    return out


_SENTENCES = [
    "The quarterly report is attached, please review it before Friday.",
    "Meeting moved to 3pm because the projector is broken again.",
    "Remember to water the plants while I am away next week.",
    "Our new office is next to the train station on Main Street.",
    "Can you summarise this article in three bullet points for the team?",
]


def _base64_text(g) -> list[str]:
    wraps = ["payload: {x}", "echo {x} | base64 -d", '"body": "{x}"', "data={x}", "{x}"]
    out = []
    for i in range(15):
        s = _SENTENCES[i % 5] + (" " + _SENTENCES[(i + 2) % 5] if i >= 5 else "")
        enc = base64.b64encode(s.encode()).decode()
        out.append(wraps[i % 5].replace("{x}", enc))
    return out


def _integrity(g) -> list[str]:
    out = []
    for i in range(15):
        if i % 3 == 2:
            out.append(f'  integrity sha1-{g.b64(20)}')
        else:
            out.append(f'"integrity": "sha512-{g.b64(64)}",')
    return out


_CSS = ["color: #1e90ff;", "background: #ff5733", "--brand-primary: #0a84ff;", 'fill="#333"',
        "border: 1px solid #e5e7eb;", "theme_color: '#0F172A'", "box-shadow: 0 1px 2px #0000001a;",
        "$accent: #7c3aed;", "color: #DEADBEEF", "<span style=\"color:#c0ffee\">ok</span>",
        "highlight: #abcdef12", "stroke=\"#4b5563\""]

_IDENTIFIERS = [
    "AbstractSingletonProxyFactoryBean", "getUserAccountSettingsByOrganizationId",
    "InternalFrameTitlePaneMaximizeButtonWindowNotFocusedState",
    "handleAuthenticationTokenRefreshFailure", "validateSecretAccessKeyFormatOrThrow",
    "RequestHeaderAuthenticationFilterConfigurer", "AnthropicApiKeyRotationScheduler",
    "useGithubTokenPermissionsQuery", "PasswordResetTokenExpirationPolicy",
    "XMLHttpRequestEventTargetPrototype", "calculateMonthlyRecurringRevenueByCohort",
    "NSFileProviderItemCapabilitiesAllowsReparenting", "kCFStreamSSLValidatesCertificateChain",
    "SharedAccessSignatureCredentialProvider", "ServiceAccountPrivateKeyIdValidator",
]

_PATHS = [
    "/usr/local/lib/python3.11/site-packages/anthropic/_base_client.py",
    "C:\\Users\\jdoe\\AppData\\Roaming\\npm\\node_modules\\@anthropic-ai\\claude-code\\cli.js",
    "~/.aws/credentials", "/etc/ssl/private/server.key", "~/.ssh/id_ed25519.pub",
    "src/wardgate/detectors/secrets.py:142", "/var/lib/docker/overlay2/3f9a1c2b7d/merged/app",
    "./node_modules/.pnpm/@babel+core@7.26.0/node_modules/@babel/core/lib/index.js",
    "gs://acme-ml-artifacts/models/2026-11-20/checkpoint-004000/", "/home/ci/.npmrc",
    "s3://acme-backups/2026/11/20/db.sql.gz", "/opt/homebrew/Cellar/openssl@3/3.4.0/bin/openssl",
    "tests/data/secrets.jsonl", "/proc/self/fd/3", "../../config/secrets.example.yaml",
]

_NPM = [
    "@anthropic-ai/sdk", "npm install @types/node eslint-plugin-react-hooks",
    '"@babel/plugin-transform-runtime": "^7.25.9"', "pnpm add @aws-sdk/client-secrets-manager",
    "yarn add @slack/web-api @octokit/rest", '"@google-cloud/secret-manager": "^5.6.0"',
    "npm i -D @typescript-eslint/eslint-plugin", "import Stripe from 'stripe';",
    "@sendgrid/mail", "npx @modelcontextprotocol/inspector", "@azure/storage-blob",
    "require('jsonwebtoken')",
]

_URLS = [
    "https://api.anthropic.com/v1/messages", "git@github.com:acme/app.git",
    "https://jdoe@bitbucket.org/acme/repo.git", "postgres://db.internal:5432/app",
    "https://example.com/reset?token=", "https://www.google.com/search?q=sk-ant+api+key+format",
    "http://localhost:8080/health", "https://hooks.slack.com/services/", "mailto:ops@example.com",
    "https://console.aws.amazon.com/iam/home#/security_credentials",
    "https://github.com/settings/tokens/new?scopes=repo",
    "redis://cache.prod.local:6379/0", "https://platform.openai.com/api-keys",
    "https://dashboard.stripe.com/apikeys", "ssh://git@gitlab.com:2222/acme/infra.git",
]

_PROSE = [
    "Set ANTHROPIC_API_KEY in your shell before running the CLI.",
    "Never commit your AWS secret access key.",
    "Anthropic keys start with sk-ant- and are shown only once.",
    "Rotate the GitHub token every 90 days.", "The password must be at least 12 characters long.",
    "Enter your password:", "Forgot your password? Click here.", "We use JWTs signed with RS256.",
    "The Stripe secret key (sk_live_...) must stay on the server.",
    "Bot tokens begin with xoxb- and user tokens with xoxp-.",
    "password_min_length: 12", "PASSWORD_RESET_TIMEOUT = 3600",
    "AUTH_PASSWORD_VALIDATORS = [{'NAME': 'MinimumLengthValidator'}]",
    "Long-term AWS access key IDs begin with AKIA, temporary ones with ASIA.",
    "The token endpoint returns an access_token and a refresh_token.",
]

_ENV_REFS = [
    "api_key: ${ANTHROPIC_API_KEY}", "key = os.environ['OPENAI_API_KEY']",
    "const key = process.env.STRIPE_SECRET_KEY;", "token: ${{ secrets.GITHUB_TOKEN }}",
    "valueFrom:\n  secretKeyRef:\n    name: anthropic\n    key: api-key",
    "aws_secret_access_key = ${AWS_SECRET}", "password: ${DB_PASSWORD:-}",
    'token = vault.read("secret/data/ci")["token"]', "SLACK_TOKEN=$(cat /run/secrets/slack)",
    "apiKey: env(\"SENDGRID_API_KEY\")", "password_file: /run/secrets/db_password",
    "Authorization: Bearer ${ACCESS_TOKEN}",
]


def _public_ids(g) -> list[str]:
    hexs = lambda n: g.s("0123456789abcdef", n)  # noqa: E731
    an = lambda n: g.s("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", n)  # noqa: E731
    return [
        f"STRIPE_PUBLISHABLE_KEY=pk_live_{an(24)}", f"const stripe = Stripe('pk_test_{an(34)}');",
        f"publishableKey: 'pk_live_{an(99)}'", f"account_sid: AC{hexs(32)}",
        f"TWILIO_ACCOUNT_SID=AC{hexs(32)}", f"message SM{hexs(32)} delivered",
        f'"request_id": "req_011C{an(20)}"', f'{{"id": "msg_01{an(22)}", "type": "message"}}',
        f"charge ch_3{an(23)} succeeded", f"customer cus_{an(14)} created",
        "arn:aws:iam::123456789012:role/deploy", f"instance i-0{hexs(16)} is running",
        f"security group sg-0{hexs(16)}", "Posted to channel C024BE91L",
        f"client_id: {g.r.randint(10**11, 10**12 - 1)}-{an(32).lower()}.apps.googleusercontent.com",
        f"send ETH to 0x{hexs(40)}", f"bc1q{g.s('023456789acdefghjklmnpqrstuvwxyz', 38)}",
    ]


_PREFIX_FRAGMENTS = [
    "scikit-learn (imported as sklearn, sk-learn in some docs)", "ask-anthropic-api03-docs channel",
    "The AKIA prefix marks long-term keys.", "ghp_ tokens are classic personal access tokens.",
    "xoxb- is the bot token prefix.", "GitLab PATs start with glpat-.",
    "Use sk_live_ keys only in production.", "npm_ tokens can be granular.",
    "Keys look like AIza followed by 35 characters.", "eyJhbGciOiJIUzI1NiJ9 is just the header.",
]


def _const(items: list[str]):
    return lambda g: list(items)


NEGATIVES = {
    "uuid": _uuids, "git_sha": _git_shas, "sha256": _sha256s, "md5": _md5s,
    "placeholder": _const(_PLACEHOLDERS), "vendor_example": _const(_VENDOR_EXAMPLES),
    "version": _const(_VERSIONS), "base64_image_prefix": _images, "base64_text": _base64_text,
    "integrity_hash": _integrity, "css_color": _const(_CSS), "identifier": _const(_IDENTIFIERS),
    "file_path": _const(_PATHS), "npm_package": _const(_NPM), "url": _const(_URLS),
    "prose_mention": _const(_PROSE), "env_reference": _const(_ENV_REFS),
    "public_id": _public_ids, "prefix_fragment": _const(_PREFIX_FRAGMENTS),
}
