"""Human preference in the playground: the same prompt made by two models, a vote, ratings."""

import httpx
import pytest
from serve_jobs import wait_job

from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    a = tiny_text2image_checkpoint(models / "a.safetensors")
    b = tiny_text2image_checkpoint(models / "b.safetensors")
    with LocalServer(
        tmp_path_factory.mktemp("home"), models={"model-a": str(a), "model-b": str(b)}
    ) as srv:
        yield srv


def test_pairwise_votes_rate_the_models(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert "Compare" in client.get("/").text
        assert client.get("/preference").status_code == 200
        for model in ("model-a", "model-b"):
            r = client.post(
                "/api/generate",
                json={
                    "prompt": "a red circle",
                    "num_inference_steps": 2,
                    "seed": 3,
                    "model": model,
                },
            )
            assert r.status_code == 202, r.text
            assert wait_job(client, r.json()["job_id"])["status"] == "done"
        pair = client.get("/api/preference/pair").json()
        assert pair["prompt"] == "a red circle"
        ids = [pair["image_a"], pair["image_b"]]
        assert client.get(pair["url_a"]).status_code == 200
        r = client.post(
            "/api/preference/vote", json={"image_a": ids[0], "image_b": ids[1], "winner": "a"}
        )
        assert r.status_code == 200, r.text
        ratings = client.get("/api/preference/ratings").json()
        by_model = {r["model"]: r for r in ratings}
        assert set(by_model) == {"model-a", "model-b"}, ratings
        bad = client.post(
            "/api/preference/vote", json={"image_a": ids[0], "image_b": ids[1], "winner": "both"}
        )
        assert bad.status_code in (400, 422)
