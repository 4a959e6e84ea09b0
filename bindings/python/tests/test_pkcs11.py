"""Keys in a PKCS#11 token (SoftHSM2), named by RFC 7512 URIs wherever a key is taken.

Skipped when SoftHSM2 is not installed, unless EVIDENTIA_REQUIRE_SOFTHSM is set (as
``cargo xtask test`` does)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import evidentia

MODULE = os.environ.get("EVIDENTIA_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
PIN = "482913"


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not Path(MODULE).exists():
        if os.environ.get("EVIDENTIA_REQUIRE_SOFTHSM"):
            pytest.fail(f"EVIDENTIA_REQUIRE_SOFTHSM is set but {MODULE} is missing")
        pytest.skip(f"SoftHSM2 is not installed ({MODULE} is missing)")
    home = tmp_path_factory.mktemp("hsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    # Read by SoftHSM2 when the module is first loaded, in this process and the tools'.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "py", "--pin", PIN, "--so-pin", "5678"],
        check=True,
        capture_output=True,
    )
    tool = ["pkcs11-tool", "--module", MODULE, "--token-label", "py", "--login", "--pin", PIN]
    for label, kind in [("log-key", "EC:prime256v1"), ("next-key", "EC:prime256v1"), ("p384", "EC:secp384r1")]:
        subprocess.run([*tool, "--keypairgen", "--key-type", kind, "--label", label], check=True, capture_output=True)
    pin_file = home / "pin"
    pin_file.write_text(PIN + "\n")
    wrong_pin = home / "wrong-pin"
    wrong_pin.write_text("000000\n")

    def uri(label: str, pin: Path = pin_file) -> str:
        return f"pkcs11:token=py;object={label}?pin-source={pin}&module-path={MODULE}"

    return {"uri": uri, "wrong_pin": wrong_pin}


@pytest.mark.parametrize("mode", ["receipts", "batch"])
def test_a_log_signs_rotates_and_verifies_with_token_keys(tmp_path: Path, token: dict, mode: str) -> None:
    path = tmp_path / "log"
    with evidentia.Log.create(path, token["uri"]("log-key"), mode=mode) as log:
        receipts = [log.append({"n": n}) for n in range(3)]
        salts = [log.salt(n) for n in range(3)]
        log.checkpoint()
        log.rotate(token["uri"]("next-key"))
        log.append({"n": 3})
        log.checkpoint()
        assert log.verify().valid
    assert evidentia.verify_log(path).valid
    if mode == "receipts":
        keys = (path / "keys.jwks").read_text()
        checked = [evidentia.verify_receipt(r, keys, {"n": n}, salt=salts[n]) for n, r in enumerate(receipts)]
        assert all(report.valid for report in checked)
    # Neither the PIN nor the URI's PIN file is written into the log.
    for file in path.rglob("*"):
        if file.is_file():
            assert PIN.encode() not in file.read_bytes(), file
    chain = evidentia.ReceiptChain("py.example/token")
    receipt = chain.issue(token["uri"]("log-key"), {"n": 0})
    assert evidentia.verify_jws(receipt, (path / "keys.jwks").read_text()).payload


@pytest.mark.parametrize(
    ("which", "code_name"),
    [
        ("wrong pin", "TOKEN_LOGIN_FAILED"),
        ("missing object", "TOKEN_KEY_NOT_FOUND"),
        ("missing token", "TOKEN_NOT_FOUND"),
        ("p-384 key", "KEY_UNSUPPORTED"),
        ("malformed", "KEY_URI_INVALID"),
    ],
)
def test_token_errors_are_coded(tmp_path: Path, token: dict, which: str, code_name: str) -> None:
    uri = {
        "wrong pin": token["uri"]("log-key", token["wrong_pin"]),
        "missing object": token["uri"]("no-such-key"),
        "missing token": token["uri"]("log-key").replace("token=py", "token=absent"),
        "p-384 key": token["uri"]("p384"),
        "malformed": "pkcs11:token=py;object=%zz",
    }[which]
    with pytest.raises(evidentia.KeyMaterialError) as raised:
        evidentia.Log.create(tmp_path / "log", uri)
    assert raised.value.code_name == code_name, str(raised.value)
    assert PIN not in str(raised.value)
    assert not (tmp_path / "log").exists()
    with pytest.raises(TypeError):
        evidentia.Log.create(tmp_path / "log", "a key file name is not a key")
