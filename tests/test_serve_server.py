"""``fastnet serve`` as a real server on loopback: the command's errors, and 200 requests at once."""
import socket
import subprocess
import sys

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import fastnet  # noqa: E402
from fastnet.bench import serve as serve_bench  # noqa: E402


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "fastnet.cli", "serve", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_200_concurrent_predictions_are_all_answered_right():
    results = serve_bench.run(sequential=20, concurrent=200)
    assert results["wrong_answers"] == 0
    assert results["concurrent"]["requests"] == 200 and results["sequential"]["requests"] == 20


def test_the_server_answers_its_page_and_stops_on_terminate(tmp_path):
    path = str(tmp_path / "net.npz")
    fastnet.Network([784, 16, 16, 10], seed=0).save(path)
    with serve_bench.Server("--model", path, "--gpt-iters", "0") as server:
        assert server.url.startswith("http://127.0.0.1:")
        seconds, status, answer = serve_bench.post(server.url, "/api/predict", {"pixels": [0.0] * 784})
        assert status == 200 and len(answer["activations"]) == 4
    assert server.process.returncode is not None


@pytest.mark.parametrize("args, message", [
    (["--gpt-iters", "-1"], "--gpt-iters must be at least 0"),
    (["--port", "70000"], "--port from 0 to 65535"),
    (["--backend", "fortran"], "backend must be one of"),
    (["--model", "missing.npz"], "missing.npz"),
])
def test_bad_arguments_give_one_clear_line(args, message, tmp_path):
    result = run(*args)
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_models_given_to_the_wrong_option_are_refused(tmp_path):
    net_path, gpt_path = str(tmp_path / "net.npz"), str(tmp_path / "gpt.npz")
    fastnet.Network([784, 10], seed=0).save(net_path)
    model = fastnet.GPT(5, context=8, n_layer=1, n_head=1, n_embd=8, seed=0)
    model.save(gpt_path)
    result = run("--model", gpt_path)
    assert result.returncode == 2 and "holds a GPT, not a digit network (give it to --gpt)" in result.stderr
    result = run("--gpt", net_path)
    assert result.returncode == 2 and "holds a digit network, not a GPT (give it to --model)" in result.stderr
    result = run("--gpt", gpt_path)  # no tokenizer: it could not read a prompt
    assert result.returncode == 2 and "no tokenizer" in result.stderr


def test_a_port_in_use_is_one_clear_line_before_anything_trains():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))
    assert result.returncode == 2 and result.stdout == ""  # no network trained for nothing
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr


def test_without_starlette_the_command_says_what_to_install():
    code = ("import sys, importlib.util as u; real = u.find_spec; "
            "u.find_spec = lambda name, *a: None if name == 'starlette' else real(name, *a); "
            "from fastnet.cli import main; sys.exit(main(['serve']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "fastnet serve needs starlette: pip install starlette uvicorn" in result.stderr
