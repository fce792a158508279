"""`infir-edge deploy` against the simulated phone: the real adbutils client pushes, the phone's shell hashes."""

from __future__ import annotations

import pytest
from tiny_models import write_gguf_bundle

from android_agent.phone.server import start_phone
from infir_edge.cli import main
from infir_edge.deploy import DeployError, deploy, remote_sha256, runner_command
from infir_edge.errors import ModelFormatError

DEST = "/data/local/tmp/infir"


@pytest.fixture
def phone():
    with start_phone() as running:
        yield running


@pytest.fixture
def bundle(tmp_path, tiny_gguf):
    return write_gguf_bundle(tmp_path / "bundle", tiny_gguf, "0" * 64)


@pytest.fixture
def adb_env(phone, monkeypatch):
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(phone.port))
    monkeypatch.setenv("ANDROID_SERIAL", phone.serial)
    return phone


def _device(phone):
    import adbutils

    return adbutils.AdbClient(port=phone.port).device(phone.serial)


def test_deploy_pushes_every_file_and_their_hashes_match_on_the_device(adb_env, bundle):
    report = deploy(bundle, progress=False)
    assert sorted(report.pushed) == ["manifest.json", "model.gguf"]
    hashes = remote_sha256(_device(adb_env), [f"{DEST}/model.gguf", f"{DEST}/manifest.json"])
    from infir_edge.models.bundle import file_sha256

    assert hashes[f"{DEST}/model.gguf"] == file_sha256(bundle / "model.gguf")


def test_a_second_deploy_skips_files_already_there(adb_env, bundle):
    deploy(bundle, progress=False)
    report = deploy(bundle, progress=False)
    assert report.pushed == [] and sorted(report.skipped) == ["manifest.json", "model.gguf"]


def test_a_file_changed_on_the_device_is_pushed_again(adb_env, bundle):
    deploy(bundle, progress=False)
    _device(adb_env).sync.push(b"damaged", f"{DEST}/model.gguf")
    report = deploy(bundle, progress=False)
    assert report.pushed == ["model.gguf"]


def test_deploy_to_a_serial_named_explicitly(phone, bundle, monkeypatch):
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(phone.port))
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)
    assert deploy(bundle, serial=phone.serial, dest="/data/local/tmp/other", progress=False).dest.endswith("other")


def test_a_damaged_local_bundle_is_refused_before_any_push(adb_env, bundle):
    (bundle / "model.gguf").write_bytes(b"GGUF" + b"\0" * 10)
    with pytest.raises(ModelFormatError):
        deploy(bundle, progress=False)


def test_an_unknown_serial_is_a_deploy_error(adb_env, bundle):
    with pytest.raises(DeployError):
        deploy(bundle, serial="no-such-phone", progress=False)


def test_run_without_a_runner_on_the_device_is_refused(adb_env, bundle):
    with pytest.raises(DeployError, match="not on"):
        deploy(bundle, run=True, runner="/data/local/tmp/llama-cli", progress=False)


def test_runner_command_uses_each_runner_s_own_flags():
    gguf = runner_command("/data/local/tmp/llama-cli", "gguf", DEST, "model.gguf", "Hi there", 16)
    assert gguf == "/data/local/tmp/llama-cli -m /data/local/tmp/infir/model.gguf -p 'Hi there' -n 16 -no-cnv"
    pte = runner_command("/data/local/tmp/llama_main", "pte", DEST, "model.pte", "Hi", 16)
    assert "--model_path=/data/local/tmp/infir/model.pte" in pte and "--tokenizer_path=" in pte


def test_cli_deploy_prints_what_it_did_and_exits_0(adb_env, bundle, capsys):
    assert main(["deploy", str(bundle)]) == 0
    assert "all sha256 verified" in capsys.readouterr().out


def test_cli_deploy_of_a_missing_bundle_exits_2(adb_env, tmp_path):
    assert main(["deploy", str(tmp_path / "nothing")]) == 2


def test_cli_deploy_with_run_but_no_runner_exits_2(adb_env, bundle):
    assert main(["deploy", str(bundle), "--run"]) == 2
