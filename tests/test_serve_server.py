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


def _port(server):
    return int(server.url.rstrip("/").rsplit(":", 1)[1])


def _closed_within(sock, seconds):
    """Whether the server closes ``sock`` within ``seconds`` (reading until end of file)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    return True


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """fastnet serve with a 2 s request deadline."""
    path = str(tmp_path_factory.mktemp("serve") / "net.npz")
    fastnet.Network([784, 16, 16, 10], seed=0).save(path)
    with serve_bench.Server("--model", path, "--gpt-iters", "0", "--request-timeout", "2") as server:
        yield server


def test_slow_clients_are_cut_off_and_others_still_served(strict_server):
    """Issue 25, item 13: a connection that never finished its headers, or sent half a body, stayed open (35 s+)."""
    port = _port(strict_server)
    stalled_headers = socket.create_connection(("127.0.0.1", port))
    stalled_headers.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)
    half_body = socket.create_connection(("127.0.0.1", port))
    half_body.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{\"pixels\": [" % port)
    silent = socket.create_connection(("127.0.0.1", port))
    seconds, status, answer = serve_bench.post(strict_server.url, "/api/predict", {"pixels": [0.0] * 784})
    assert status == 200  # served while the others stall
    for sock in (stalled_headers, half_body, silent):
        with sock:
            assert _closed_within(sock, 30)


def test_a_client_leaving_mid_body_logs_no_traceback(strict_server):
    """Issue 25, item 13: a client that disconnects mid-body must not make the server log a traceback."""
    port = _port(strict_server)
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"pix" % port)
    seconds, status, answer = serve_bench.post(strict_server.url, "/api/predict", {"pixels": [0.0] * 784})
    assert status == 200
    assert not any("Traceback" in line or "Exception" in line for line in strict_server.output), \
        "".join(strict_server.output)


def test_the_real_server_refuses_other_host_names(strict_server):
    """Issue 25, item 12: DNS rebinding: a request naming another host is refused by the running server."""
    port = _port(strict_server)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /api/network HTTP/1.1\r\nHost: attacker.example:%d\r\nConnection: close\r\n\r\n" % port)
        sock.settimeout(30)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400") and b"not for Host" in reply
