"""OpenAI's Images API on a real `genlab serve` process on 127.0.0.1, spoken to with the official
`openai` client: models, generations at every documented size, edits (image + mask), variations,
and errors in the API's shape."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from genlab.io import png_bytes, read_params
from genlab.serve.launch import LocalServer
from genlab.serve.openai_images import OPENAI_SIZES, VARIATION_STRENGTH

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STEPS = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_models):
    model = tiny_models["t2i"]
    home = tmp_path_factory.mktemp("home")
    args = ["--max-body-mb", "1", "--openai-steps", str(STEPS)]
    with LocalServer(home, models={"tiny": str(model)}, token=TOKEN, extra_args=args) as srv:
        yield srv


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=TOKEN, max_retries=0)


def decoded(item) -> tuple[bytes, Image.Image]:
    raw = base64.b64decode(item.b64_json)
    return raw, Image.open(io.BytesIO(raw))


def params_of(raw: bytes, tmp_path) -> dict:
    path = tmp_path / "image.png"
    path.write_bytes(raw)
    return read_params(path)


def upload(image: Image.Image, params=None) -> tuple[str, bytes, str]:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return ("image.png", png_bytes(image, params) if params else buf.getvalue(), "image/png")


def test_models_are_listed_and_retrieved_as_openai_does(client):
    assert [m.id for m in client.models.list()] == ["tiny"]
    model = client.models.retrieve("tiny")
    assert (model.id, model.object, model.owned_by) == ("tiny", "model", "genlab")
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("dall-e-9")
    assert err.value.code == "model_not_found"


@pytest.mark.parametrize("size", [*OPENAI_SIZES, "auto"])
def test_every_documented_size_is_drawn_at_its_aspect(client, size, tmp_path):
    response = client.images.generate(
        model="tiny", prompt="a red circle", size=size, response_format="b64_json"
    )
    (item,) = response.data
    raw, image = decoded(item)
    params = params_of(raw, tmp_path)
    if size == "auto":
        assert image.size == (32, 32) and "output_size" not in params
        return
    width, height = (int(v) for v in size.split("x"))
    assert image.size == (width, height)
    # the model drew the aspect itself: the shorter side at its own 32 pixels, the longer
    # one in proportion, then scaled by a whole factor (no stretching)
    drawn = (params["width"], params["height"])
    assert min(drawn) == 32 and drawn[0] * height == drawn[1] * width
    small = image.resize(drawn, Image.NEAREST)
    assert np.array_equal(np.asarray(small.resize(image.size, Image.NEAREST)), np.asarray(image))


def test_b64_json_is_the_stored_png_with_its_parameters(client, server, tmp_path):
    (item,) = client.images.generate(
        prompt="a blue square", model="dall-e-3", quality="hd", style="natural"
    ).data
    raw, _ = decoded(item)
    params = params_of(raw, tmp_path)
    assert params["model"] == "tiny"  # OpenAI's model names mean the server's default
    assert (params["openai_quality"], params["openai_style"]) == ("hd", "natural")
    assert item.revised_prompt == "a blue square"
    served = httpx.get(f"{server.url}/api/images/{params['image_id']}", headers=AUTH)
    assert served.content == raw  # byte for byte the file REST serves
    with Image.open(io.BytesIO(raw)) as im:
        assert im.text["parameters"].startswith("a blue square\nSteps: 4, ")


def test_n_images_as_urls(client):
    response = client.images.generate(prompt="a green ball", n=2, response_format="url")
    assert len(response.data) == 2
    fetched = [httpx.get(item.url, headers=AUTH) for item in response.data]
    assert all(r.status_code == 200 and r.headers["content-type"] == "image/png" for r in fetched)
    seeds = [read_params_bytes(r.content)["seed"] for r in fetched]
    assert seeds[1] == seeds[0] + 1


def read_params_bytes(raw: bytes) -> dict:
    import json

    with Image.open(io.BytesIO(raw)) as im:
        return json.loads(im.text["genlab"])


def test_an_edit_inpaints_where_the_mask_is_transparent(client, tmp_path):
    source = Image.new("RGB", (32, 32), (240, 240, 240))
    source.paste((20, 40, 200), (20, 4, 28, 28))
    mask = Image.new("RGBA", (32, 32), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 16, 32))  # the left half is repainted
    response = client.images.edit(
        image=upload(source), mask=upload(mask), prompt="a red circle", n=2, model="tiny"
    )
    assert len(response.data) == 2
    for item in response.data:
        raw, image = decoded(item)
        assert image.size == (32, 32)
        out, before = np.asarray(image.convert("RGB")), np.asarray(source)
        assert np.array_equal(out[:, 16:], before[:, 16:])  # kept exactly
        assert not np.array_equal(out[:, :16], before[:, :16])  # repainted
        params = params_of(raw, tmp_path)
        assert params["edit"] == "inpaint" and params["prompt"] == "a red circle"


def test_an_edit_without_a_mask_repaints_the_images_own_transparent_pixels(client):
    source = Image.new("RGBA", (32, 32), (240, 240, 240, 255))
    source.paste((0, 0, 0, 0), (0, 0, 32, 10))  # the top band is transparent
    (item,) = client.images.edit(image=upload(source), prompt="a red circle", size="64x64").data
    _, image = decoded(item)
    assert image.size == (64, 64)
    kept = np.asarray(image.convert("RGB"))[20:]
    assert (kept == 240).all()


def test_an_edit_with_nothing_transparent_is_refused_naming_the_mask(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.images.edit(image=upload(Image.new("RGB", (32, 32))), prompt="a red circle")
    assert err.value.body["param"] == "mask"
    with pytest.raises(openai.BadRequestError) as err:
        client.images.edit(
            image=upload(Image.new("RGB", (32, 32))), mask=upload(Image.new("RGBA", (16, 16))),
            prompt="x",
        )  # fmt: skip
    assert err.value.body["param"] == "mask"


def test_a_variation_redraws_the_image_towards_its_own_prompt(client, tmp_path):
    (item,) = client.images.generate(prompt="a yellow triangle", model="tiny").data
    raw, _ = decoded(item)
    source = params_of(raw, tmp_path)
    response = client.images.create_variation(image=("v.png", raw, "image/png"), n=2)
    assert len(response.data) == 2
    for variation in response.data:
        out_raw, image = decoded(variation)
        assert image.size == (32, 32)
        params = params_of(out_raw, tmp_path)
        assert params["prompt"] == source["prompt"] == "a yellow triangle"
        assert params["edit"] == "img2img" and params["strength"] == VARIATION_STRENGTH


def test_errors_come_in_the_apis_shape(server, client):
    bad_key = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.images.generate(prompt="a pink diamond")
    for kwargs, param in [
        ({"n": 50}, "n"),
        ({"size": "5000x5000"}, "size"),
        ({"size": "big"}, "size"),
        ({"quality": "ultra"}, "quality"),
        ({"response_format": "gif"}, "response_format"),
    ]:
        with pytest.raises(openai.BadRequestError) as err:
            client.images.generate(prompt="a pink diamond", **kwargs)
        body = err.value.body
        assert set(body) == {"message", "type", "param", "code"}
        assert body["param"] == param and body["type"] == "invalid_request_error"
    r = httpx.post(f"{server.url}/v1/images/generations", content=b"{", headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["message"]


def test_genlabs_own_openai_backend_draws_and_edits_through_this_server(server):
    from genlab.pipelines.hosted import OpenAIImages

    pipe = OpenAIImages("tiny", base_url=server.url + "/v1", api_key=TOKEN, max_retries=0)
    result = pipe(["a red circle", "a blue square"], height=64, width=64)
    assert [im.size for im in result.images] == [(64, 64)] * 2
    assert [m["prompt"] for m in result.metadata] == ["a red circle", "a blue square"]
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))
    edited = pipe.edit(result.images[0], "a green ball", mask=mask)
    out = np.asarray(edited.images[0].convert("RGB"))
    assert np.array_equal(out[:, 32:], np.asarray(result.images[0])[:, 32:])
