# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
"""The national catalogue's page and API at the central: every viewer sees the versions and
what each centre runs; only an editor publishes, from the page (a file) or the API (JSON);
what cannot be a version is refused with every problem and nothing is published; a post
from another site's page is refused."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from appliance.cli import main
from config.catalogue_document import TABLES, as_raw
from config.model import Settings
from harness.sync_support import central_db, pg_kind, viewer_client  # noqa: F401
from sync.central import catalogue
from sync.central.db import Database
from sync.central.ingest import add_centre


def _document(settings: Settings) -> dict[str, Any]:
    raw = as_raw(settings)
    return {name: raw[name] for name in TABLES}


def test_a_viewer_sees_the_versions_but_cannot_publish(
        settings: Settings, central_db: Database) -> None:
    add_centre(central_db, "lima-norte", "MAC Lima Norte")
    catalogue.publish(central_db, _document(settings), by="pcm", note="primera")
    client = viewer_client(central_db)
    page = client.get("/catalogue").get_data(as_text=True)
    assert "v1" in page and "primera" in page and "MAC Lima Norte" in page
    assert 'name="archivo"' not in page  # no form for a viewer
    refused = client.post("/api/v1/catalogue/versions",
                          json={"catalogue": _document(settings)})
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert [v["number"] for v in catalogue.versions(central_db)] == [1]


def test_an_editor_publishes_through_the_api_and_reads_a_version_back(
        settings: Settings, central_db: Database) -> None:
    client = viewer_client(central_db, "pcm.catalogo", role="editor")
    made = client.post("/api/v1/catalogue/versions",
                       json={"catalogue": _document(settings), "note": "inicial"})
    assert made.status_code == 201 and made.get_json() == {"version": 1}
    listed = client.get("/api/v1/catalogue/versions").get_json()
    assert [(v["number"], v["created_by"], v["note"]) for v in listed["versions"]] == [
        (1, "pcm.catalogo", "inicial")]
    back = client.get("/api/v1/catalogue/versions/1").get_json()
    assert back["catalogue"]["services"] == _document(settings)["services"]
    assert client.get("/api/v1/catalogue/versions/7").status_code == 404


def test_what_cannot_be_a_version_is_refused_with_its_problems_and_nothing_is_published(
        settings: Settings, central_db: Database) -> None:
    client = viewer_client(central_db, "pcm.catalogo", role="editor")
    broken = _document(settings)
    broken["services"].append({"id": 9002, "queue": "NOPE", "name": "Sin cola"})
    for body, code in ((json.dumps({"catalogue": broken}), "invalid_catalogue"),
                       ('{"catalogue": ', "invalid_json"), ("[1, 2]", "invalid_body"),
                       ('{"catalogue": {"entities": []}}', "invalid_catalogue")):
        answer = client.post("/api/v1/catalogue/versions", data=body,
                             content_type="application/json")
        assert answer.status_code == 400 and answer.get_json()["error"] == code, body
    answer = client.post("/api/v1/catalogue/versions", json={"catalogue": broken})
    assert any("NOPE" in p for p in answer.get_json()["problems"])
    assert client.post("/api/v1/catalogue/versions", data="x",
                       content_type="text/plain").status_code == 415
    assert catalogue.versions(central_db) == []


def test_an_editor_publishes_a_file_from_the_page(
        settings: Settings, central_db: Database) -> None:
    client = viewer_client(central_db, "pcm.catalogo", role="editor")
    assert 'name="archivo"' in client.get("/catalogue").get_data(as_text=True)
    good = io.BytesIO(json.dumps(_document(settings)).encode())
    done = client.post("/catalogue", data={"archivo": (good, "catalogo.json"),
                                           "nota": "desde la página"},
                       content_type="multipart/form-data")
    assert done.status_code == 303 and done.headers["Location"] == "/catalogue?publicada=1"
    assert "Versión 1 publicada" in client.get(done.headers["Location"]).get_data(as_text=True)
    toml = io.BytesIO(b'[[services]]\nid = 1\nqueue = "RN"\nname = "DNI"\n')
    refused = client.post("/catalogue", data={"archivo": (toml, "centro.toml")},
                          content_type="multipart/form-data")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "no se publicó" in page
    empty = client.post("/catalogue", data={}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "elija un archivo" in empty.get_data(as_text=True)
    assert [v["number"] for v in catalogue.versions(central_db)] == [1]


def test_a_publication_from_another_site_is_refused(
        settings: Settings, central_db: Database) -> None:
    client = viewer_client(central_db, "pcm.catalogo", role="editor")
    answer = client.post("/api/v1/catalogue/versions", json={"catalogue": _document(settings)},
                         headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403 and answer.get_json()["error"] == "cross_site"
    form = client.post("/catalogue", data={}, headers={"Origin": "https://evil.example"})
    assert form.status_code == 403
    assert catalogue.versions(central_db) == []


def test_the_command_gives_a_viewer_the_editor_role(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/central.sqlite"
    runner = CliRunner()
    added = runner.invoke(main, ["central", "viewer", "add", "pcm.catalogo", "--role", "editor",
                                 "--password-stdin", "--db", url],
                          input="una-clave-bastante-larga\n")
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["central", "viewer", "list", "--db", url])
    assert "pcm.catalogo\teditor" in listed.output
    wrong = runner.invoke(main, ["central", "viewer", "add", "otro", "--role", "jefe",
                                 "--db", url])
    assert wrong.exit_code == 2 and "jefe" in wrong.output
