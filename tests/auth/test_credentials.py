"""The credentials file: its one shape, refused with the reason when it is not that shape; secrets never shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipework.api.auth import Credentials, CredentialsError

KEY = {"AccessKeyId": "AKIAEXAMPLE00000001", "SecretAccessKey": "s" * 20, "Account": "111111111111",
       "Principal": "alice"}  # fmt: skip


def test_a_file_in_the_documented_shape_loads(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    role = {"Arn": "arn:aws:iam::111111111111:role/app", "Policies": [], "TrustedAccounts": ["222222222222"]}
    path.write_text(json.dumps({"Keys": [{**KEY, "Admin": True}], "Roles": [role]}))
    loaded = Credentials.load(path)
    (key,) = loaded.keys
    assert key.caller.arn == "arn:aws:iam::111111111111:user/alice" and key.admin
    assert loaded.roles[0].trusts("222222222222") and not loaded.roles[0].trusts("333333333333")
    assert "s" * 20 not in repr(key)  # secrets stay out of logs


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "JSON object"),
        ({"Users": []}, "Unknown member"),
        ({"Keys": [{**KEY, "Account": "12"}]}, "Account must be a 12-digit"),
        ({"Keys": [{**KEY, "AccessKeyId": "short"}]}, "AccessKeyId"),
        ({"Keys": [{**KEY, "SecretAccessKey": "x"}]}, "SecretAccessKey"),
        ({"Keys": [{**KEY, "Admin": "yes"}]}, "Admin must be true or false"),
        ({"Keys": [KEY, KEY]}, "only once"),
        ({"Keys": [{**KEY, "Policies": [{"Statement": [{"Effect": "Allow"}]}]}]}, "policy 1"),
        ({"Roles": [{"Arn": "arn:aws:iam::1:role/x"}]}, "role ARN"),
    ],
)
def test_a_file_of_another_shape_is_refused_with_the_reason(document: Any, reason: str) -> None:
    with pytest.raises(CredentialsError, match=reason):
        Credentials.parse(document)


def test_an_unreadable_or_non_json_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="cannot read"):
        Credentials.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{" * 100_000)
    with pytest.raises(CredentialsError, match="not JSON"):
        Credentials.load(tmp_path / "bad.json")
