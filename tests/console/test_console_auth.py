"""The console behind ``--auth sigv4``: a person signs in with an admin key (a session cookie, HttpOnly and
SameSite=Strict), the pages and buttons work while the session lives, state-changing requests need its CSRF token,
and signing out, a wrong secret, a key that is not admin or a disabled key leave the console closed."""

from __future__ import annotations

import json
import logging
import re
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from pipework.app import Settings
from pipework.testing import RunningServer, serve_in_thread

from .test_console_browser import shoot

ADMIN = ("AKIACONSOLEADMIN0001", "console-admin-secret-000000000000")
READER = ("AKIACONSOLEREADER001", "console-reader-secret-00000000000")
CREDENTIALS = {
    "Keys": [
        # The server's own account (--account, 000000000000): the console shows it.
        {"AccessKeyId": ADMIN[0], "SecretAccessKey": ADMIN[1], "Account": "000000000000", "Principal": "ops",
         "Admin": True},
        {"AccessKeyId": READER[0], "SecretAccessKey": READER[1], "Account": "000000000000",
         "Principal": "reader", "Policies": [{"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": "*", "Resource": "*"}]}]},
    ]
}  # fmt: skip


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[RunningServer]:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(CREDENTIALS))
    with serve_in_thread(Settings(memory=True, auth="sigv4", credentials=path)) as server:
        signed(server, "events").create_event_bus(Name="orders")
        yield server


def signed(server: RunningServer, service: str, key: tuple[str, str] = ADMIN) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1}),
    )


def sign_in(page: Any, key: tuple[str, str]) -> None:
    page.get_by_label("Access key ID").fill(key[0])
    page.get_by_label("Secret access key").fill(key[1])
    page.get_by_role("button", name="Sign in").click()


def test_signing_in_with_an_admin_key_opens_the_console_and_signing_out_closes_it(
    secured: RunningServer, page: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from playwright.sync_api import expect

    caplog.set_level(logging.DEBUG)
    url = secured.endpoint_url
    page.goto(url + "/console/buses/orders")
    page.wait_for_url(re.compile(r"/console/login\?next="))
    expect(page.locator("h1")).to_have_text("Sign in")
    assert page.get_by_role("navigation", name="Console").count() == 0

    # A wrong secret: refused with a clear message, the id kept, the secret not.
    sign_in(page, (ADMIN[0], "not-the-secret-000000000000000"))
    expect(page.locator("#login-error")).to_have_text("The access key ID or the secret access key is wrong.")
    assert page.get_by_label("Access key ID").input_value() == ADMIN[0]
    assert page.get_by_label("Secret access key").input_value() == ""
    shoot(page, "login")
    # An unknown key reads the same (the page does not tell which key ids exist).
    sign_in(page, ("AKIANOSUCHKEY0000001", ADMIN[1]))
    expect(page.locator("#login-error")).to_have_text("The access key ID or the secret access key is wrong.")
    # A key that may do everything by policy is still not an admin key.
    sign_in(page, READER)
    expect(page.locator("#login-error")).to_have_text(
        'arn:aws:iam::000000000000:user/reader is not an admin: the console needs a key with "Admin": true.'
    )

    # The admin key: back where it was going, with a session cookie the page's script cannot read.
    sign_in(page, ADMIN)
    page.wait_for_url(url + "/console/buses/orders")
    expect(page.locator("h1")).to_have_text("Bus orders")
    cookie = next(c for c in page.context.cookies() if c["name"] == "pipework_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert cookie["expires"] > 0  # it expires (a session of hours), it is not kept forever
    assert page.evaluate("document.cookie") == ""
    expect(page.locator("header .who")).to_have_text("arn:aws:iam::000000000000:user/ops")

    # The buttons work (their requests carry the session's CSRF token): put an event, see it in the live tail.
    page.wait_for_selector("#tail-state[data-state=open]")
    page.get_by_label("Source").fill("orders.web")
    page.get_by_role("button", name="Put event").click()
    expect(page.locator("#status")).to_have_text(re.compile(r"^Put event [0-9a-f-]{36}\.$"))
    event_id = page.locator("#status").inner_text().split()[-1].rstrip(".")
    page.locator(f"#tail-table tr[data-event-id='{event_id}']").wait_for()
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Overview", exact=True).click()
    expect(page.locator("h1")).to_have_text("Overview")

    # Signing out ends the session: the console asks again.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/login\?signed-out=1$"))
    expect(page.get_by_role("status").filter(has_text="Signed out.")).to_be_visible()
    page.goto(url + "/console/")
    page.wait_for_url(re.compile(r"/console/login\?next="))
    # The old cookie is no good either, even replayed by hand.
    replayed = httpx.get(url + "/console/", cookies={"pipework_console": cookie["value"]})
    assert replayed.status_code == 303

    assert ADMIN[1] not in caplog.text and READER[1] not in caplog.text
    assert f"console sign-in by arn:aws:iam::000000000000:user/ops ({ADMIN[0]})" in caplog.text
    assert f"console sign-in refused for access key '{ADMIN[0]}' from 127.0.0.1" in caplog.text


_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def _session(server: RunningServer, key: tuple[str, str] = ADMIN) -> tuple[httpx.Client, str]:
    """An HTTP client signed in to the console (closed after the test), and the CSRF token its pages carry."""
    http = httpx.Client(base_url=server.endpoint_url)
    _CLIENTS.append(http)
    answer = http.post("/console/login", data={"AccessKeyId": key[0], "SecretAccessKey": key[1]})
    assert answer.status_code == 303, answer.text
    overview = http.get("/console/")
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', overview.text)
    assert found
    return http, found.group(1)


PUT = {"EventBusName": "orders", "Source": "s", "DetailType": "d", "Detail": "{}"}


def test_console_requests_need_a_session_and_its_csrf_token(secured: RunningServer) -> None:
    url = secured.endpoint_url
    # No session: a page redirects to the sign-in form, a button's request is a JSON 401, a static file is served.
    assert (
        httpx.get(url + "/console/rules?q=x").headers["location"]
        == "/console/login?next=%2Fconsole%2Frules%3Fq%3Dx"
    )
    refused = httpx.post(url + "/console/api/events/put", json=PUT)
    assert refused.status_code == 401
    assert refused.json()["__type"] == "MissingAuthenticationTokenException"
    assert httpx.get(url + "/console/static/console.css").status_code == 200
    assert httpx.get(url + "/console/login").status_code == 200

    http, csrf = _session(secured)
    # With the session but without its token, or with another one: refused, nothing put.
    for headers in ({}, {"x-csrf-token": "forged"}):
        answer = http.post("/console/api/events/put", json=PUT, headers=headers)
        assert answer.status_code == 403 and "CSRF" in answer.json()["message"]
    # From another site, even with the token: refused.
    other = http.post(
        "/console/api/events/put", json=PUT, headers={"x-csrf-token": csrf, "origin": "https://evil.example"}
    )
    assert other.status_code == 403
    put = http.post("/console/api/events/put", json=PUT, headers={"x-csrf-token": csrf})
    assert put.status_code == 200 and put.json()["FailedEntryCount"] == 0

    # Signing out needs the token too (a page elsewhere cannot sign you out), then the session is gone.
    assert http.post("/console/logout", data={"csrf": "forged"}).status_code == 403
    assert http.post("/console/logout", data={"csrf": csrf}).status_code == 303
    assert http.post("/console/api/events/put", json=PUT, headers={"x-csrf-token": csrf}).status_code == 401


def test_a_disabled_key_ends_its_console_sessions(secured: RunningServer) -> None:
    keyring = secured.pipework.guard.keyring  # type: ignore[union-attr]
    key = secured.run(keyring.create("000000000000", "temp-admin", admin=True, policies=None))
    http, _ = _session(secured, (key.access_key, key.secret))
    assert http.get("/console/").status_code == 200
    secured.run(keyring.disable(key.access_key))
    assert http.get("/console/").status_code == 303
    # ... and it cannot sign in again.
    answer = httpx.post(
        secured.endpoint_url + "/console/login",
        data={"AccessKeyId": key.access_key, "SecretAccessKey": key.secret},
    )
    assert answer.status_code == 403 and "is disabled" in answer.text


def test_the_console_is_open_without_auth_but_refuses_cross_site_changes(
    console_server: RunningServer,
) -> None:
    url = console_server.endpoint_url
    assert httpx.get(url + "/console/").status_code == 200
    assert httpx.get(url + "/console/login").headers["location"] == "/console/"
    body = {**PUT, "EventBusName": "power-events"}
    assert httpx.post(url + "/console/api/events/put", json=body).status_code == 200
    assert httpx.post(url + "/console/api/events/put", json=body, headers={"origin": url}).status_code == 200
    cross = httpx.post(url + "/console/api/events/put", json=body, headers={"origin": "http://evil.example"})
    assert cross.status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "Enter an access key ID and its secret access key."),
        (b"AccessKeyId=" + ADMIN[0].encode(), 400, "Enter an access key ID and its secret access key."),
        (b"\xff\xfe\x00garbage", 400, "Enter an access key ID and its secret access key."),
        (b"AccessKeyId=%00&SecretAccessKey=%00", 401, "The access key ID or the secret access key is wrong."),
        (b"AccessKeyId=" + b"A" * 5000 + b"&SecretAccessKey=x", 401, "is wrong"),
        (b"SecretAccessKey=" + b"s" * 9000, 413, "The sign-in form is too large."),
        (b"AccessKeyId=a&AccessKeyId=b&SecretAccessKey=c&next=https://evil.example/", 401, "is wrong"),
    ],
)
def test_bad_sign_in_forms_are_refused_with_a_page_not_a_failure(
    secured: RunningServer, body: bytes, status: int, message: str
) -> None:
    answer = httpx.post(
        secured.endpoint_url + "/console/login",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == status
    assert message in answer.text and "text/html" in answer.headers["content-type"]
    assert "set-cookie" not in answer.headers
    assert 'value="https://evil.example/"' not in answer.text  # where to go next is always a console page


def test_after_signing_in_the_console_goes_only_to_its_own_pages(secured: RunningServer) -> None:
    for target, landing in [
        ("/console/queues", "/console/queues"),
        ("https://evil.example/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/_pipework/keys", "/console/"),
    ]:
        answer = httpx.post(
            secured.endpoint_url + "/console/login",
            data={"AccessKeyId": ADMIN[0], "SecretAccessKey": ADMIN[1], "next": target},
        )
        assert answer.status_code == 303 and answer.headers["location"] == landing, target


def test_the_console_shows_the_signed_in_keys_account(tmp_path: Path) -> None:
    """Resources live in the account of the key that made them: an admin key of account 111111111111 sees (and
    acts on) that account's, not the server's --account's, nor another's."""
    other = ("AKIACONSOLEOTHER0001", "console-other-secret-000000000000")
    path = tmp_path / "credentials.json"
    path.write_text(
        json.dumps(
            {
                "Keys": [
                    CREDENTIALS["Keys"][0],
                    {"AccessKeyId": other[0], "SecretAccessKey": other[1], "Account": "111111111111",
                     "Principal": "ops", "Admin": True},
                ]
            }
        )
    )  # fmt: skip
    with serve_in_thread(Settings(memory=True, auth="sigv4", credentials=path)) as server:
        signed(server, "sqs").create_queue(QueueName="server-account-queue")
        signed(server, "sqs", other).create_queue(QueueName="their-queue")
        signed(server, "events", other).create_event_bus(Name="their-bus")
        http, csrf = _session(server, other)
        overview = http.get("/console/").text
        assert "arn:aws:iam::111111111111:user/ops" in overview
        queues = http.get("/console/queues").text
        assert "their-queue" in queues and "server-account-queue" not in queues
        assert "their-bus" in http.get("/console/buses").text
        assert http.get("/console/buses/orders").status_code == 404  # account 000000000000's bus
        put = http.post(
            "/console/api/events/put",
            json={**PUT, "EventBusName": "their-bus"},
            headers={"x-csrf-token": csrf},
        )
        assert put.status_code == 200 and put.json()["FailedEntryCount"] == 0, put.text
        # The rule of their bus, made from the console's account, is theirs.
        events = signed(server, "events", other)
        events.put_rule(Name="theirs", EventBusName="their-bus", EventPattern='{"source": ["s"]}')
        assert "theirs" in http.get("/console/rules").text
        mine, _ = _session(server, ADMIN)
        assert "theirs" not in mine.get("/console/rules").text
        assert "server-account-queue" in mine.get("/console/queues").text


def test_too_many_failed_sign_ins_from_one_address_must_wait(secured: RunningServer) -> None:
    login = secured.endpoint_url + "/console/login"
    for _ in range(10):
        wrong = httpx.post(
            login, data={"AccessKeyId": ADMIN[0], "SecretAccessKey": "wrong-secret-0000000000"}
        )
        assert wrong.status_code == 401
    # Now even the right secret waits: guessing secrets is slow.
    answer = httpx.post(login, data={"AccessKeyId": ADMIN[0], "SecretAccessKey": ADMIN[1]})
    assert answer.status_code == 429 and "Too many failed sign-ins from this address" in answer.text


def test_over_https_the_session_cookie_is_secure_and_the_start_message_says_to_sign_in(
    tmp_path: Path,
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(CREDENTIALS))
    process = subprocess.Popen(
        [sys.executable, "-m", "pipework.cli.main", "serve", "--port", "0", "--memory", "--auth", "sigv4",
         "--credentials", str(credentials), "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl+C" in line:
                break
        banner = "".join(lines)
        found = re.search(r"listening on (https://\S+)", banner)
        assert found, banner
        url = found.group(1).replace("localhost", "127.0.0.1")
        assert f"Console: {found.group(1)}/console/ (sign in with an admin key)" in banner
        with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(cert))) as http:
            answer = http.post("/console/login", data={"AccessKeyId": ADMIN[0], "SecretAccessKey": ADMIN[1]})
            assert answer.status_code == 303
            cookie = answer.headers["set-cookie"].lower()
            assert "; secure" in cookie and "; httponly" in cookie and "samesite=strict" in cookie
            assert http.get("/console/").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def shared_store() -> Iterator[str]:
    import asyncio

    from support.postgres import drop_schema, new_schema, require_postgres

    url = require_postgres()
    schema = new_schema()
    yield f"{url}?schema={schema}"
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    dropping = threading.Thread(target=lambda: asyncio.run(drop_schema(schema)))
    dropping.start()
    dropping.join(timeout=60)


def test_a_session_opened_on_one_node_works_on_the_other(shared_store: str, tmp_path: Path) -> None:
    """Sessions live in the store: behind a load balancer without sticky sessions, any node knows them, and a
    sign-out on one ends the session on every node."""
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(CREDENTIALS))
    settings = Settings(store=shared_store, auth="sigv4", credentials=path, data_dir=tmp_path / "a")
    other = Settings(store=shared_store, auth="sigv4", credentials=path, data_dir=tmp_path / "b")
    with serve_in_thread(settings) as first, serve_in_thread(other) as second:
        http, csrf = _session(first)
        cookie = http.cookies["pipework_console"]
        with httpx.Client(base_url=second.endpoint_url, cookies={"pipework_console": cookie}) as there:
            assert there.get("/console/queues").status_code == 200
            assert there.post("/console/logout", data={"csrf": csrf}).status_code == 303
        assert http.get("/console/").status_code == 303  # signed out everywhere


def test_a_button_pressed_after_the_session_ended_asks_to_sign_in_again(
    secured: RunningServer, page: Any
) -> None:
    from playwright.sync_api import expect

    url = secured.endpoint_url
    page.goto(url + "/console/buses/orders")
    sign_in(page, ADMIN)
    page.wait_for_url(url + "/console/buses/orders")
    # The session ends on the server (its hour without use, say) while the page is open.
    cookie = next(c for c in page.context.cookies() if c["name"] == "pipework_console")
    gate = secured.app.console_gate
    assert gate is not None
    sessions = gate.sessions  # type: ignore[attr-defined]
    secured.run(sessions.sign_out(cookie["value"]))
    page.get_by_role("button", name="Put event").click()
    page.wait_for_url(re.compile(r"/console/login\?next=%2Fconsole%2Fbuses%2Forders$"))
    sign_in(page, ADMIN)
    page.wait_for_url(url + "/console/buses/orders")
    expect(page.locator("h1")).to_have_text("Bus orders")
