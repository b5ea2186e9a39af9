"""Read-only, and no Secret data: the request log of a full run over every example, served live.

Every request is a GET, or a POST to an access-review endpoint (which reads and writes nothing).
Every request on secrets asks for metadata only (`as=PartialObjectMetadataList`), and what the
server answered on secrets holds no `data`/`stringData`, whatever its shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakeapi import FakeApiServer

from llmd_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "bundle.yaml").exists())
REVIEWS = ("/subjectaccessreviews", "/selfsubjectreviews", "/selfsubjectaccessreviews")
# A plugin check that declares Secret as an input, so the live source lists secrets even when no
# built-in check reads them: the metadata-only rule is then always exercised.
SECRET_READER = """
from llmd_doctor.model import Finding, Severity, Status
from llmd_doctor.registry import check


@check("test.secret-names", title="Secret names", area="test", severity=Severity.INFO, inputs=("Secret",))
def secret_names(ctx):
    names = [s["metadata"].get("name") for s in ctx.snapshot.list("Secret")]
    leaked = [n for s in ctx.snapshot.list("Secret") for n in ("data", "stringData") if n in s]
    yield Finding(Status.FAIL if leaked else Status.PASS, f"{len(names)} secrets, values seen: {leaked}")
"""


def _secret_payloads(body: bytes) -> list[str]:
    """Keys that carry Secret values anywhere in a JSON answer."""
    try:
        doc = json.loads(body)
    except ValueError:
        return []
    found: list[str] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if o.get("kind") in ("Secret", "SecretList") or "type" in o and ("data" in o or "stringData" in o):
                found.extend(k for k in ("data", "stringData") if k in o)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(doc)
    items = doc.get("items") if isinstance(doc, dict) else None
    for item in items if isinstance(items, list) else []:  # list items of built-in kinds carry no kind
        if isinstance(item, dict) and ("data" in item or "stringData" in item):
            found.append("items[].data")
    return found


@pytest.mark.parametrize("example", EXAMPLES)
def test_full_run_only_reads_and_never_receives_secret_data(
    example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "secret_names.py").write_text(SECRET_READER)
    with FakeApiServer(ROOT / "examples" / example) as srv:
        answers: list[tuple[str, int, bytes]] = []
        serve = srv.api.serve

        def recording(method, info, query, accept, body, user, address):  # noqa: ANN001, ANN202
            resp = serve(method, info, query, accept, body, user, address)
            if info.resource == "secrets":
                answers.append((info.path, resp.status, resp.body))
            return resp

        srv.api.serve = recording  # type: ignore[method-assign]
        with pytest.raises(SystemExit) as exc:
            main(["check", "--kubeconfig", srv.kubeconfig(tmp_path / "kc"), "-o", "json", "--exit-zero",
                  "--checks-dir", str(plugins)])
        requests = srv.requests
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    doc = json.loads(out)
    assert doc["source"]["kind"] == "live" and len(doc["checks"]) > 1  # all checks ran, live
    assert requests, "the run made no request"

    writes = [(r.method, r.path) for r in requests
              if r.method != "GET" and not (r.method == "POST" and r.path.endswith(REVIEWS))]
    assert writes == [], f"requests that are neither reads nor access reviews: {writes}"
    assert all(r.method in ("GET", "POST") for r in requests)
    assert not any(r.query.get("watch") in ("true", "1") for r in requests)  # lists, never watches

    secret_requests = [r for r in requests if "/secrets" in r.path]
    assert secret_requests, "secrets were not listed: the metadata-only rule was not exercised"
    plugin = next(c for c in doc["checks"] if c["id"] == "test.secret-names")
    assert plugin["status"] == "pass" and "values seen: []" in plugin["message"], plugin
    for r in secret_requests:
        assert "as=PartialObjectMetadataList" in r.accept or "as=PartialObjectMetadata;" in r.accept, (
            f"{r.method} {r.path} asked for Secret objects in full (Accept: {r.accept!r})")
        assert not r.path.rstrip("/").split("/secrets")[-1], f"{r.path}: a single Secret was read"
    for path, status, body in answers:
        assert _secret_payloads(body) == [], f"{path} answered {status} with Secret values"
        if status == 200:
            assert json.loads(body)["kind"] == "PartialObjectMetadataList", path
