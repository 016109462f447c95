"""The server never sends its keys where a caller points it: a real `genlab serve` process holding
canary API keys, a raw TCP listener on 127.0.0.1 standing for a caller-chosen URL, and local
OpenAI-compatible servers standing for the operator's configured LLM endpoints."""

import json
import socket
import threading
import time

import httpx
import pytest
from llm_servers import OpenAIServer, Turn

from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint

TOKEN = "tok-4f9c2e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPENAI_CANARY = "sk-canary-openai-7d1e"
ANTHROPIC_CANARY = "sk-ant-canary-91b3"
LOCAL_KEY = "local-llm-key-22"


class Listener:
    """A bare TCP listener on 127.0.0.1 that keeps whatever bytes anyone sends it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self):
        self._stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("security")
    model = tiny_text2image_checkpoint(root / "tiny.safetensors")
    listener = Listener()
    good = OpenAIServer(lambda results, body: Turn("nothing to draw"), api_key=LOCAL_KEY)
    refusing = OpenAIServer(lambda results, body: Turn("x"), api_key="a-key-we-do-not-have")
    config = root / "config"
    config.mkdir()
    (config / "models.toml").write_text(
        f'[llms.local]\nbackend = "openai"\nbase_url = "{good.url}/v1"\nmodel = "llama-test"\n'
        'api_key_env = "LOCAL_LLM_KEY"\n\n'
        f'[llms.refusing]\nbackend = "openai"\nbase_url = "{refusing.url}/v1"\n'
    )
    env = {
        "OPENAI_API_KEY": OPENAI_CANARY,
        "ANTHROPIC_API_KEY": ANTHROPIC_CANARY,
        "LOCAL_LLM_KEY": LOCAL_KEY,
        "GENLAB_CONFIG": str(config),
    }
    with good, refusing:
        server = LocalServer(
            root / "home",
            models={"tiny": str(model)},
            token=TOKEN,
            env=env,
            extra_args=["--log-level", "info", "--openai-steps", "2"],
        )
        with server:
            yield server, listener, good, refusing
    listener.close()


def stream_agent(server, body):
    events = []
    with (
        httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client,
        client.stream("POST", "/api/agent", json=body) as response,
    ):
        if response.status_code != 200:
            response.read()
            return response, events
        event = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                events.append((event, json.loads(line[5:])))
    return response, events


@pytest.mark.parametrize("backend", ["openai", "anthropic", "local"])
@pytest.mark.parametrize("option", ["base_url", "api_key"])
def test_a_request_naming_an_endpoint_or_key_is_422_and_nothing_is_sent(setup, backend, option):
    server, listener, _, _ = setup
    value = listener.url + "/v1" if option == "base_url" else "caller-key"
    body = {"request": "a red circle", "backend": backend, "options": {option: value}}
    response, _ = stream_agent(server, body)
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"][-1] == f"options.{option}"
    assert "operator" in detail["msg"]
    assert listener.url not in response.text, "the caller's URL is not echoed back"
    assert listener.received == [], "no connection reached the caller's URL"


def test_a_configured_backend_is_picked_by_name_and_gets_only_its_own_key(setup):
    server, listener, good, _ = setup
    health = httpx.get(server.url + "/api/health", headers=AUTH).json()
    assert health["agent_backends"] == ["offline", "anthropic", "openai", "local", "refusing"]
    body = {"request": "a red circle", "backend": "local", "options": {"max_rounds": 1}}
    response, events = stream_agent(server, body)
    assert response.status_code == 200 and events[-1][0] == "done", events[-1]
    assert good.keys and set(good.keys) == {LOCAL_KEY}
    assert {r["model"] for r in good.requests} == {"llama-test"}, "the operator's model"
    assert listener.received == []
    r = httpx.post(server.url + "/api/agent", headers=AUTH, json={"request": "x", "backend": "x9"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "backend"


def test_a_remote_error_is_summarised_not_echoed(setup):
    server, _, _, refusing = setup
    body = {"request": "a red circle", "backend": "refusing"}
    response, events = stream_agent(server, body)
    assert response.status_code == 200
    assert refusing.keys and set(refusing.keys) == {"none"}, "no provider key goes to it"
    text = json.dumps(events)
    assert "HTTP 401 (authentication failed, authentication_error)" in text
    assert "invalid API key" not in text, "the remote's own words stay out of the stream"
    run_id = events[-1][1]["run_id"]
    run = httpx.get(f"{server.url}/api/runs/{run_id}", headers=AUTH).json()
    assert "HTTP 401" in json.dumps(run) and "invalid API key" not in json.dumps(run)


def test_keys_and_the_login_token_never_reach_responses_or_the_log(setup):
    server, *_ = setup
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as browser:
        assert browser.get("/", params={"token": TOKEN}).status_code == 303
    deadline = time.monotonic() + 10
    while "GET /?token=" not in server.log_text():  # the access line arrives through a pipe
        assert time.monotonic() < deadline, "the access log is on and shows the request"
        time.sleep(0.05)
    log = server.log_text()
    assert "GET /?token=***" in log
    for secret in (TOKEN, OPENAI_CANARY, ANTHROPIC_CANARY, LOCAL_KEY):
        assert secret not in log


def test_image_links_use_the_bound_address_not_the_host_header(setup):
    server, *_ = setup
    port = server.url.rsplit(":", 1)[1]
    headers = dict(AUTH, Host="localhost:1")  # a Host the client made up
    r = httpx.post(
        server.url + "/v1/images/generations",
        headers=headers,
        json={"prompt": "a red circle", "response_format": "url"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    url = r.json()["data"][0]["url"]
    assert url.startswith(f"http://127.0.0.1:{port}/api/images/")
    assert httpx.get(url, headers=AUTH).status_code == 200


def test_responses_and_streams_name_no_file_of_the_server(setup):
    server, *_ = setup
    home = str(server.home)
    body = {
        "request": "a red circle",
        "options": {"max_rounds": 1, "num_candidates": 1, "steps": 2, "max_images": 2},
    }
    response, events = stream_agent(server, body)
    assert events[-1][0] == "done", events[-1]
    run_id = events[-1][1]["run_id"]
    images = [i for _, e in events if e.get("type") == "tool_result" for i in e.get("images", [])]
    assert images, "the run made images, so there were files to name"
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client:
        answers = [
            json.dumps(events),
            client.get(f"/api/runs/{run_id}").text,
            client.get("/api/history", params={"view": "runs"}).text,
            client.get(f"/api/images/{images[0]}/info").text,
            client.post(
                "/api/preference/vote", json={"image_a": "nope1", "image_b": "nope2", "winner": "a"}
            ).text,
            client.post(
                "/api/edit", json={"image_id": "nope", "prompt": "x", "strength": 0.5}
            ).text,
        ]
    for text in answers:
        assert home not in text and "/tmp/" not in text, text[:300]
    assert "best_path" not in answers[1] and '"paths"' not in answers[0]
