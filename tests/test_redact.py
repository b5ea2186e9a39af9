"""Redaction rules: what is masked, what must stay readable for the checks."""

from __future__ import annotations

import copy

import pytest
from scenario import Scenario

from llmd_doctor.redact import (
    LAST_APPLIED,
    NOT_SENSITIVE,
    REDACTED,
    STRONG,
    WEAK,
    Redactions,
    clean_object,
    masks,
    name_strength,
    redact_argv,
    redact_object,
    redact_text,
    sensitive_name,
)

HF = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"


@pytest.mark.parametrize("name", [
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY", "apiKey", "api-key", "DB_PASSWORD", "MY_SECRET",
    "client-secret", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "client-key-data", "x-api-key",
])
def test_sensitive_names(name: str) -> None:
    assert sensitive_name(name)


@pytest.mark.parametrize("name", [
    # Settings the checks read, or that merely point at a secret.
    "DESTINATION_ENDPOINT_HINT_KEY", "destinationEndpointHintKey", "MAX_TOKENS", "max-num-batched-tokens",
    "tokenizer", "tokenProcessorConfig", "SECRET_NAME", "token-file", "secretKeyRef",
    "kv-transfer-config", "served-model-name", "kv-cache-usage-percentage-metric",
    # A path to a key is evidence, not a credential; PWD is the shell's working directory.
    "TLS_KEY_PATH", "SSL_KEY_FILE", "ssl-keyfile", "PWD", "OLDPWD",
    # Lookup keys, counters, and words that merely contain "pass" or "token".
    "ROUTING_KEY", "SORT_KEY", "CACHE_KEY", "PUBLIC_KEY", "prompt_tokens", "token_count", "PASS_THROUGH", "BYPASS",
    "PASSTHROUGH",
])
def test_names_that_stay_readable(name: str) -> None:
    assert not sensitive_name(name)


@pytest.mark.parametrize(("name", "strength"), [
    # By pattern: a word, a part of a one-word name, or a last word.
    ("MY_PASS", STRONG), ("DB_PASS", STRONG), ("DB_PWD", STRONG), ("PASS", STRONG), ("MYSECRET", STRONG),
    ("DBPASSWORD", STRONG), ("CLIENTSECRET", STRONG), ("AWS_CREDENTIALS_JSON", STRONG), ("X_AUTH_TOKEN", STRONG),
    ("SECRETKEY", STRONG), ("accessKey", STRONG), ("--hf-token", STRONG),
    # *_KEY and *AUTH: weak — masked unless the value cannot be a credential.
    ("OPENAI_KEY", WEAK), ("WANDB_KEY", WEAK), ("AccountKey", WEAK), ("KEY", WEAK), ("AUTH", WEAK),
    ("BASIC_AUTH", WEAK), ("metrics-endpoint-auth", WEAK), ("HTTP_AUTHORIZATION", WEAK),
    ("DESTINATION_ENDPOINT_HINT_KEY", NOT_SENSITIVE), ("TLS_KEY_PATH", NOT_SENSITIVE),
])
def test_name_strength(name: str, strength: int) -> None:
    assert name_strength(name) == strength


@pytest.mark.parametrize(("name", "value", "masked"), [
    ("OPENAI_KEY", "abcdef0123456789", True),
    ("metrics-endpoint-auth", "true", False),  # an EPP flag: a boolean is never a credential
    ("SSL_KEY", "/etc/tls/tls.key", False),  # a weak name with a path
    ("AUTH", "enabled", False), ("AUTH", "8000", False), ("AUTH", "abc", False),
    ("AUTH", "user:s3cr3t-pw", True),
    ("HF_TOKEN", "true", False), ("DB_PASSWORD", "1234", True), ("MY_PASS", "x", True),
    ("HF_TOKEN", "", False), ("HF_TOKEN", REDACTED, False),
])
def test_masks_by_name_and_value(name: str, value: str, masked: bool) -> None:
    assert masks(name, value) is masked


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer abcdef0123456789", "Authorization: Bearer <redacted>"),
    (f"downloading with {HF} now", "downloading with <redacted> now"),
    ("jwt eyJhbGciOiJSUzI1NiIs.eyJzdWIiOiJzeXN0ZW06.c2lnbmF0dXJlc2ln end", "jwt <redacted> end"),
    ("vllm serve m --api-key sk-abcdefghijklmnop1234 --port 8000", "vllm serve m --api-key <redacted> --port 8000"),
    ("export HF_TOKEN=abc && run", "export HF_TOKEN=<redacted> && run"),
    ("{'api_key': 'abc', 'max_num_batched_tokens': 2048}", "{'api_key': '<redacted>', 'max_num_batched_tokens': 2048}"),
    ('{"token":"abc","kubeconfig":""}', '{"token":"<redacted>","kubeconfig":""}'),
    ("password: hunter2", "password: <redacted>"),
    ("redis://user:s3cret@redis:6379/0", "redis://user:<redacted>@redis:6379/0"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----", REDACTED),
    # Issue 12: a quoted value after a space, and names by pattern.
    ('level=info msg="login" token "tok-0123456789"', 'level=info msg="login" token "<redacted>"'),
    ("retrying with password 'hunter22'", "retrying with password '<redacted>'"),
    ("password=VALUE1 user=bob", "password=<redacted> user=bob"),
    ("env MY_PASS=hunter22 DB_PWD=s3cret", "env MY_PASS=<redacted> DB_PWD=<redacted>"),
    ("api_key: abcdef123456", "api_key: <redacted>"),
    ("OPENAI_KEY=abcdef0123456789", "OPENAI_KEY=<redacted>"),
    ("BASIC_AUTH=admin:pa55word", "BASIC_AUTH=<redacted>"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws_secret_access_key = <redacted>"),
    ("key id AKIAIOSFODNN7EXAMPLE and session ASIAIOSFODNN7EXAMPLE", "key id <redacted> and session <redacted>"),
    ("DefaultEndpointsProtocol=https;AccountName=x;AccountKey=bXlrZXkxMjM0NQ==;EndpointSuffix=core",
     "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=<redacted>;EndpointSuffix=core"),
    ("maps key AIzaSyA1234567890abcdefghijklmnopqrstuv", "maps key <redacted>"),
    ("clone with glpat-abcdefghij0123456789", "clone with <redacted>"),
])
def test_text_masks_tokens(text: str, expected: str) -> None:
    counts = Redactions()
    assert redact_text(text, counts, "logs") == expected
    assert counts["logs"] >= 1


@pytest.mark.parametrize("text", [
    "bearer authentication failed",  # prose, not a token
    '{"flags":{"destinationEndpointHintKey":"x-gateway-destination-endpoint","configFile":"","secureServing":true}}',
    "tokenProcessorConfig: {blockSize: 16}",
    'MountVolume.SetUp failed for volume "hf-token" : secret "llm-d-hf-token" not found',
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "--token --verbose",  # a boolean flag, no value to mask
    # Diagnostic evidence that must survive (issue 12): vLLM and EPP settings and log lines.
    "max_tokens: 16",
    '{"max_tokens": 16, "prompt_tokens": 12, "completion_tokens": 34, "token_count": 46}',
    "--kv-cache-usage-percentage-metric vllm:gpu_cache_usage_perc",
    "tokenizer: meta-llama/Llama-3.1-8B-Instruct",
    'Using tokenizer "meta-llama/Llama-3.1-8B-Instruct"',
    "--metrics-endpoint-auth=true --metrics-endpoint-auth false",
    "auth: enabled",
    "DESTINATION_ENDPOINT_HINT_KEY=x-gateway-destination-endpoint",
    "TLS_KEY_PATH=/etc/tls/tls.key --ssl-keyfile /certs/key.pem",
    "PWD=/workspace",
    "Avg prompt throughput: 10.0 tokens/s, Running: 2 reqs, GPU KV cache usage: 31.2%",
])
def test_text_left_alone(text: str) -> None:
    counts = Redactions()
    assert redact_text(text, counts) == text
    assert not counts


def test_argv() -> None:
    counts = Redactions()
    argv = ["--api-key=sk-1", "--token", "abc", "--max-num-batched-tokens", "2048", "-destinationEndpointHintKey=x",
            "--hf-token", "--verbose", "sh -c 'vllm serve --api-key sk-abcdefghijklmnop1234'"]
    assert redact_argv(argv, counts) == [
        "--api-key=<redacted>", "--token", "<redacted>", "--max-num-batched-tokens", "2048",
        "-destinationEndpointHintKey=x", "--hf-token", "--verbose", "sh -c 'vllm serve --api-key <redacted>'"]
    assert counts["args"] == 3


def test_argv_keeps_values_that_cannot_be_credentials() -> None:
    counts = Redactions()
    argv = ["--metrics-endpoint-auth", "false", "--metrics-endpoint-auth=true", "--auth", "user:s3cr3t-pw",
            "--key", "/etc/tls/tls.key", "--pass", "hunter22"]
    assert redact_argv(argv, counts) == [
        "--metrics-endpoint-auth", "false", "--metrics-endpoint-auth=true", "--auth", REDACTED,
        "--key", "/etc/tls/tls.key", "--pass", REDACTED]
    assert counts["args"] == 2


def test_env_by_pattern() -> None:
    env = [{"name": n, "value": v} for n, v in [
        ("MY_PASS", "hunter22"), ("OPENAI_KEY", "abcdef0123456789"), ("TLS_KEY_PATH", "/etc/tls/tls.key"),
        ("BASIC_AUTH", "admin:pa55word"), ("ENABLE_AUTH", "true"), ("VLLM_MAX_TOKENS", "16"),
        ("DESTINATION_ENDPOINT_HINT_KEY", "x-gateway-destination-endpoint"), ("PWD", "/workspace")]]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "env": env}]}}
    counts = Redactions()
    out = {e["name"]: e["value"] for e in redact_object(pod, counts)["spec"]["containers"][0]["env"]}
    assert out == {"MY_PASS": REDACTED, "OPENAI_KEY": REDACTED, "TLS_KEY_PATH": "/etc/tls/tls.key",
                   "BASIC_AUTH": REDACTED, "ENABLE_AUTH": "true", "VLLM_MAX_TOKENS": "16",
                   "DESTINATION_ENDPOINT_HINT_KEY": "x-gateway-destination-endpoint", "PWD": "/workspace"}
    assert counts["env"] == 3


def test_object_env_args_annotations_configmap_and_secret() -> None:
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n", "managedFields": [{"manager": "kubectl"}],
                     "annotations": {LAST_APPLIED: '{"token": "x"}', "openshift.io/token-secret.value": "abc",
                                     "deployment.kubernetes.io/revision": "2"}},
        "spec": {"containers": [{
            "name": "vllm", "args": ["--api-key", "sk-x"],
            "env": [{"name": "HF_TOKEN", "value": HF}, {"name": "PORT", "value": "8000"},
                    {"name": "HF_TOKEN2", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "HF_TOKEN"}}},
                    {"name": "NOTE", "value": f"uses {HF}"}],
        }]},
        "status": {"message": f"pulled with {HF}"},
    }
    original = copy.deepcopy(pod)
    counts = Redactions()
    out = redact_object(pod, counts)
    assert pod == original  # a copy; the input is untouched
    c = out["spec"]["containers"][0]
    assert c["args"] == ["--api-key", REDACTED]
    assert [e.get("value") for e in c["env"]] == [REDACTED, "8000", None, f"uses {REDACTED}"]
    assert c["env"][2]["valueFrom"] == {"secretKeyRef": {"name": "hf", "key": "HF_TOKEN"}}
    ann = out["metadata"]["annotations"]
    assert ann[LAST_APPLIED] == REDACTED and ann["openshift.io/token-secret.value"] == REDACTED
    assert ann["deployment.kubernetes.io/revision"] == "2"
    assert "managedFields" not in out["metadata"]
    assert out["status"]["message"] == f"pulled with {REDACTED}"
    assert counts["env"] == 2 and counts["args"] == 1 and counts["annotations"] == 2

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"api_key": "abc", "tls.key": "k", "ca.crt": "-----BEGIN CERTIFICATE-----",
                   "app.yaml": "model: m\npassword: p\n", "epp.yaml": "tokenProcessorConfig:\n  blockSize: 16\n"}}
    data = redact_object(cm)["data"]
    assert data == {"api_key": REDACTED, "tls.key": REDACTED, "ca.crt": "-----BEGIN CERTIFICATE-----",
                    "app.yaml": f"model: m\npassword: {REDACTED}\n", "epp.yaml": cm["data"]["epp.yaml"]}

    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "annotations": {LAST_APPLIED: "x"}},
              "type": "Opaque", "data": {"HF_TOKEN": "aGZf"}, "stringData": {"pw": "p"}}
    for fn in (redact_object, clean_object):  # even without redaction, no Secret value survives
        s = fn(secret)
        assert s["data"] == {"HF_TOKEN": REDACTED} and s["stringData"] == {"pw": REDACTED}
        assert s["metadata"]["annotations"][LAST_APPLIED] == REDACTED and s["type"] == "Opaque"


@pytest.mark.parametrize("example", ["seed-rosa-epp-segfault", "healthy"])
def test_redacting_the_examples_changes_no_result(example: str) -> None:
    plain = Scenario.example(example)
    masked = Scenario.example(example)
    masked.data.objects = [redact_object(o) for o in masked.data.objects]
    masked.data.logs = {r: redact_text(t) for r, t in masked.data.logs.items()}

    def view(sc: Scenario) -> dict:
        return {i: (r.status, r.message, r.objects, r.evidence) for i, r in sc.run().items()}

    assert view(masked) == view(plain)
