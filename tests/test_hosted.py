"""Hosted backends against local servers that speak OpenAI's and Stability's image protocols."""

import pytest
from hosted_servers import KEY, OpenAIImagesServer, StabilityServer
from PIL import Image

import genlab
from genlab.errors import GenlabError, InvalidArgument
from genlab.pipelines.hosted import HostedAPIError, OpenAIImages, StabilityImages


@pytest.fixture
def openai_server():
    with OpenAIImagesServer() as server:
        yield server


@pytest.fixture
def stability_server():
    with StabilityServer() as server:
        yield server


def openai_pipe(server, model="dall-e-2", **kw):
    return OpenAIImages(model, api_key=KEY, base_url=server.url + "/v1", **kw)


def test_openai_generates_images_and_records_model_without_key(openai_server):
    result = openai_pipe(openai_server)("a red ball", num_images=2, height=256, width=256)
    assert len(result.images) == 2 and result.images[0].size == (16, 16)
    assert result.images[0].getpixel((0, 0)) != result.images[1].getpixel((0, 0))
    meta = result.metadata[0]
    assert meta["model"] == "openai:dall-e-2" and meta["seed"] is None
    assert KEY not in repr(result.metadata)
    sent = openai_server.requests[-1]["fields"]
    assert sent["size"] == "256x256" and sent["n"] == 2 and sent["response_format"] == "b64_json"


def test_openai_refuses_sizes_and_counts_the_model_cannot_make(openai_server):
    with pytest.raises(InvalidArgument, match="size: expected one of 1024x1024, 1792x1024"):
        openai_pipe(openai_server, "dall-e-3")("x", height=512, width=512)
    with pytest.raises(InvalidArgument, match="num_images: expected at most 1"):
        openai_pipe(openai_server, "dall-e-3")("x", num_images=2)
    with pytest.raises(InvalidArgument, match="negative_prompt"):
        openai_pipe(openai_server)("x", negative_prompt="blue")
    with pytest.raises(InvalidArgument, match="guidance_scale"):  # checked as every pipeline does
        openai_pipe(openai_server)("x", guidance_scale=-1)
    assert openai_server.requests == [], "nothing invalid reaches the service"


def test_openai_content_policy_refusal_is_a_clear_error_without_the_remote_text(openai_server):
    with pytest.raises(HostedAPIError, match="refused \\(content policy\\)") as err:
        openai_pipe(openai_server)("something forbidden")
    assert "content_policy_violation" in str(err.value), "the remote's error code is kept"
    assert "Your request was rejected" not in str(err.value), "its free text is not echoed"


def test_openai_retries_rate_limits_then_succeeds(openai_server):
    result = openai_pipe(openai_server, max_retries=3)("busy prompt")
    assert len(result.images) == 1
    assert sum(r["fields"]["prompt"] == "busy prompt" for r in openai_server.requests) == 3


def test_openai_server_errors_exhaust_retries_with_status_in_message(openai_server):
    with pytest.raises(HostedAPIError, match="answered HTTP 500"):
        openai_pipe(openai_server, max_retries=1)("broken prompt")


def test_openai_wrong_key_and_missing_key_name_the_variable(openai_server, monkeypatch):
    with pytest.raises(HostedAPIError, match="key was refused"):
        OpenAIImages("dall-e-2", api_key="wrong", base_url=openai_server.url + "/v1")("x")
    monkeypatch.delenv("GENLAB_TEST_MISSING_KEY", raising=False)
    with pytest.raises(GenlabError, match="set the environment variable GENLAB_TEST_MISSING_KEY"):
        OpenAIImages("dall-e-2", api_key_env="GENLAB_TEST_MISSING_KEY")


def test_openai_edit_sends_mask_as_transparency(openai_server):
    import io

    image = Image.new("RGB", (32, 32), (0, 0, 255))
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (0, 0, 16, 32))  # repaint the left half
    result = openai_pipe(openai_server).edit(image, "make it green", mask=mask)
    assert result.images[0].size == (32, 32) and result.metadata[0]["edit"] == "inpaint"
    sent = Image.open(io.BytesIO(openai_server.requests[-1]["fields"]["mask"]))
    assert (
        sent.mode == "RGBA" and sent.getpixel((0, 0))[3] == 0 and sent.getpixel((31, 0))[3] == 255
    )


def test_unreachable_server_names_the_url():
    pipe = OpenAIImages(
        "dall-e-2", api_key=KEY, base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=2
    )
    with pytest.raises(HostedAPIError, match="cannot reach http://127.0.0.1:9/v1"):
        pipe("x")


def stability_pipe(server, **kw):
    return StabilityImages("core", api_key=KEY, base_url=server.url, backoff=0.01, **kw)


def test_stability_generates_with_seed_and_negative_prompt(stability_server):
    result = stability_pipe(stability_server)(
        "a blue box", negative_prompt="red", seed=7, num_images=2
    )
    assert [m["seed"] for m in result.metadata] == [7, 8]
    fields = stability_server.requests[0]["fields"]
    assert fields["negative_prompt"] == b"red" and fields["output_format"] == b"png"
    assert stability_server.requests[0]["path"] == "/v2beta/stable-image/generate/core"


def test_stability_content_filter_and_bad_request_are_reported(stability_server):
    with pytest.raises(HostedAPIError, match="content filter"):
        stability_pipe(stability_server)("forbidden thing")
    with pytest.raises(HostedAPIError, match="answered HTTP 400 \\(bad request") as err:
        stability_pipe(stability_server)("")
    assert "cannot be empty" not in str(err.value), "the remote's free text is not echoed"


def test_stability_retries_429_and_gives_up_on_persistent_500(stability_server):
    assert len(stability_pipe(stability_server)("busy one").images) == 1
    with pytest.raises(HostedAPIError, match="answered HTTP 500 \\(server error"):
        stability_pipe(stability_server, max_retries=2)("broken one")
    assert sum(r["fields"]["prompt"] == b"broken one" for r in stability_server.requests) == 3


def test_stability_inpaint_requires_matching_mask(stability_server):
    image = Image.new("RGB", (40, 40))
    with pytest.raises(InvalidArgument, match="mask: expected the image's size"):
        stability_pipe(stability_server).edit(image, "x", mask=Image.new("L", (8, 8)))
    out = stability_pipe(stability_server).edit(image, "x", mask=Image.new("L", (40, 40), 255))
    assert out.images[0].size == (40, 40)


def test_configured_models_load_by_name_and_keys_stay_out_of_the_file(
    stability_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("GENLAB_CONFIG", str(tmp_path))
    monkeypatch.setenv("MY_STABILITY_KEY", KEY)
    (tmp_path / "models.toml").write_text(
        f'[models.sd-core]\nbackend = "stability"\nmodel = "core"\napi_key_env = "MY_STABILITY_KEY"\nbase_url = "{stability_server.url}"\n'
    )
    pipe = genlab.load("sd-core")
    assert pipe("a cat", seed=1).metadata[0]["model"] == "sd-core"
    from genlab.pipelines.catalog import list_models

    listed = {m.name: m for m in list_models()}
    assert listed["sd-core"].backend == "stability" and listed["sd-core"].details["edit"] is True
    (tmp_path / "models.toml").write_text('[models.bad]\nbackend = "openai"\napi_key = "sk-123"\n')
    with pytest.raises(GenlabError, match="holds a key; name its environment variable"):
        genlab.load("bad")
