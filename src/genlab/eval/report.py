"""`genlab eval MODEL`: sample a model, measure it (FID/KID/IS against fresh world scenes with the
real-vs-real floor, CLIP score, the compositional suite, sampler/steps and guidance sweeps) and
write one self-contained HTML report (images inlined as base64) plus the same numbers as JSON.
"""

from __future__ import annotations

import base64
import html
import inspect
import io
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from genlab.errors import InvalidArgument, check_choice
from genlab.eval import compositional as comp
from genlab.eval import metrics as M
from genlab.eval.features import load_clip_scorer, load_feature_net
from genlab.eval.images import ImageSet, from_pils, world_set
from genlab.history import HistoryStore
from genlab.io import atomic_write_text, image_grid
from genlab.pipelines.text2image import check_layout_temperature
from genlab.world import parse_prompt, realize, render

SUITES = ("all", "fid", "clip", "compositional")


@dataclass
class EvalOptions:
    suite: str = "all"
    n: int = 100  # images for FID/KID/IS/CLIP score (and the real sets they are compared with)
    # Compositional suite per category and split; None scales with n: max(1, n // 40) prompts,
    # 2 images each from n = 100 (GenEval uses 4), else 1.
    prompts_per_category: int | None = None
    images_per_prompt: int | None = None
    splits: tuple[str, ...] = comp.SPLITS  # compositional prompt splits
    images_per_caption: int = 4  # FID samples: n/4 captions × 4 seeds (batched generation)
    num_inference_steps: int = 20
    guidance_scale: float | None = None  # None: the pipeline's default
    sampler: str | None = None
    plan_layout: bool | None = None  # a two-stage model: False draws from text alone
    layout_temperature: float | None = None  # a two-stage model's planner; None: the model's own
    features: str = "world"
    clip: str = "world"
    seed: int = 0
    sweep: bool = True  # with suite "all": steps × sampler and guidance sweeps
    sweep_n: int | None = None  # images per sweep point (default n // 2)
    sweep_steps: tuple[int, ...] = (5, 10, 20)
    sweep_samplers: tuple[str, ...] = ("ddim", "euler", "dpmpp_2m")
    sweep_guidance: tuple[float, ...] = (1.0, 2.0, 4.0, 7.5)
    sweep_prompts: int = (
        12  # compositional prompts per sweep point (12: one per category and split)
    )
    to_history: bool = False  # record the suite's images in the history (for preference votes)
    progress: bool = True
    notes: list[str] = field(default_factory=list)

    def validate(self) -> None:
        check_choice("suite", self.suite, SUITES)
        if isinstance(self.n, int) and not isinstance(self.n, bool):
            if self.prompts_per_category is None:
                self.prompts_per_category = max(1, self.n // 40)
            if self.images_per_prompt is None:
                self.images_per_prompt = 2 if self.n >= 100 else 1
        for name in (
            "n",
            "prompts_per_category",
            "images_per_prompt",
            "images_per_caption",
            "num_inference_steps",
            "sweep_prompts",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(name, "an integer ≥ 1", value)
        if not self.splits:
            raise InvalidArgument("splits", "one or more of " + ", ".join(comp.SPLITS), self.splits)
        for split in self.splits:
            check_choice("splits", split, comp.SPLITS)
        if self.suite in ("all", "fid"):
            M.check_count("fid", self.n, "n")
        if self.guidance_scale is not None and (
            math.isnan(self.guidance_scale) or self.guidance_scale < 0
        ):
            raise InvalidArgument("guidance_scale", "a number ≥ 0", self.guidance_scale)
        if self.layout_temperature is not None:
            check_layout_temperature(self.layout_temperature)


# ---------------------------------------------------------------------- sampling a model


class Sampler:
    """Calls any genlab pipeline with the arguments it accepts; returns PIL images.

    Pipelines whose `prompt` takes a list (the text-to-image pipeline) get many captions per call.
    """

    batch_prompts = 16  # captions per call when the pipeline takes a list of prompts

    def __init__(self, pipe, name: str):
        self.pipe, self.name = pipe, name
        params = inspect.signature(pipe.__call__).parameters
        self.accepts = set(params)
        lists = "prompt" in params and "list" in str(params["prompt"].annotation)
        # captions go as lists to a pipeline that draws a list as one batch, not to one that
        # draws a prompt at a time (there each caption keeps a seed of its own)
        self.takes_lists = lists and not getattr(pipe, "one_prompt", False)
        caps = {}
        for method in ("capabilities", "describe"):  # diffusers/hosted backends; genlab pipelines
            if callable(getattr(pipe, method, None)):
                caps = getattr(pipe, method)()
                break
        self.samplers = list(caps.get("samplers") or [])
        self.images_generated = 0
        self.seconds = 0.0

    @property
    def steps_matter(self) -> bool:
        return "num_inference_steps" in self.accepts and bool(self.samplers)

    def __call__(self, prompt, n: int, seed: int, **kw) -> list[Image.Image]:
        """`n` images for a prompt (or for each prompt of a list, prompt-major), seeds from `seed`."""
        kwargs = {k: v for k, v in kw.items() if v is not None and k in self.accepts}
        if not getattr(self.pipe, "takes_steps", True):  # autoregressive: refuses a step count
            kwargs.pop("num_inference_steps", None)
        t0 = time.perf_counter()
        result = self.pipe(prompt, seed=seed, num_images=n, **kwargs)
        self.seconds += time.perf_counter() - t0
        self.images_generated += len(result.images)
        meta = list(result.metadata or [])
        self.last_seeds = (
            [m.get("seed") for m in meta]
            if len(meta) == len(result.images)
            else [None] * len(result.images)
        )
        return [im.convert("RGB") for im in result.images]

    def image_set(
        self, captions: list[str], per_caption: int, seed: int, progress=True, **kw
    ) -> ImageSet:
        """`per_caption` images for every caption, with seeds that differ per caption."""
        images, caps, seeds = [], [], []
        step = self.batch_prompts if self.takes_lists else 1
        chunks = [captions[i : i + step] for i in range(0, len(captions), step)]
        chunk_seeds = [seed + 7919 * i for i in range(0, len(captions), step)]
        bar = tqdm(
            total=len(captions), desc=f"sampling {self.name}", disable=not progress, leave=False
        )
        drawn = self.draw_chunks(chunks, per_caption, chunk_seeds, kw)
        for chunk, (out, out_seeds) in zip(chunks, drawn):
            if len(out) != len(chunk) * per_caption:
                raise InvalidArgument("pipeline", f"{len(chunk) * per_caption} images", len(out))
            images += out
            seeds += out_seeds
            caps += [c for c in chunk for _ in range(per_caption)]
            bar.update(len(chunk))
        bar.close()
        out = from_pils(images, caps, source=self.name)
        out.seeds = seeds
        return out

    def draw_chunks(
        self, chunks: list[list[str]], per_caption: int, seeds: list[int], kw: dict
    ) -> Iterator[tuple[list[Image.Image], list]]:
        """(images, seeds) of each chunk of captions, in order (eval/ray_sampler.py spreads the
        chunks over Ray workers)."""
        for chunk, seed in zip(chunks, seeds):
            out = self(chunk if self.takes_lists else chunk[0], per_caption, seed, **kw)
            yield out, self.last_seeds


# ---------------------------------------------------------------------- measurements


def _set_features(net, images: ImageSet) -> dict:
    feats = {"features": net.features(images.images)}
    if net.has_logits:
        feats["logits"] = net.class_logits(images.images)
    return feats


def distribution_metrics(net, real: dict, fake: dict, floor_real: dict | None = None) -> dict:
    """FID, KID (and IS of the fake set) from precomputed features; the floor is FID(real, real')."""
    out = {"n_real": len(real["features"]), "n_fake": len(fake["features"]), "features": net.name}
    out["fid"] = M.fid_from_features(real["features"], fake["features"])
    if floor_real is not None:
        out["fid_floor"] = M.fid_from_features(real["features"], floor_real["features"])
    kid = M.kid_from_features(real["features"], fake["features"])
    out["kid"], out["kid_std"], out["kid_subset_size"] = kid.mean, kid.std, kid.subset_size
    if "logits" in fake:
        is_fake = M.inception_score_from_logits(fake["logits"])
        out["is"], out["is_std"] = is_fake.mean, is_fake.std
        is_real = M.inception_score_from_logits(real["logits"])
        out["is_real"] = is_real.mean
    return out


def clip_metrics(scorer, images: ImageSet, seed: int = 0) -> dict:
    """CLIP score with the right captions, and with the captions shuffled (the chance baseline)."""
    img = scorer.embed_images(images.images)
    txt = scorer.embed_texts(images.captions)
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(txt)))
    return {
        "clip_score": M.clip_score_from_embeddings(img, txt),
        "clip_score_shuffled": M.clip_score_from_embeddings(img, txt[perm]),
        "clip_model": scorer.name,
    }


# ---------------------------------------------------------------------- the evaluation


def evaluate(pipe, name: str, options: EvalOptions, sampler: Sampler | None = None) -> dict:
    """Run the chosen suites; returns the report dict (numbers, plus images under '_images').
    `sampler` draws the image sets (default: Sampler(pipe, name), in this process)."""
    options.validate()
    sampler = sampler or Sampler(pipe, name)
    suites = {"fid", "clip", "compositional"} if options.suite == "all" else {options.suite}
    gen_kw = dict(
        num_inference_steps=options.num_inference_steps,
        guidance_scale=options.guidance_scale,
        sampler=options.sampler,
    )
    if options.plan_layout is not None:  # only two-stage text-to-image models take it
        gen_kw["plan_layout"] = options.plan_layout
    if options.layout_temperature is not None:
        gen_kw["layout_temperature"] = options.layout_temperature
    report: dict = {
        "model": name,
        "options": {k: v for k, v in vars(options).items() if k not in ("notes",)},
        "minimum_samples": M.MIN_SAMPLES,
        "recommended_samples": M.RECOMMENDED_SAMPLES,
        "notes": options.notes,
        "_images": {},
    }
    if getattr(pipe, "layout_planner", None) is not None and options.plan_layout is not False:
        # the temperature the plans were sampled at (the model's own unless asked)
        report["options"]["layout_temperature"] = (
            options.layout_temperature or pipe.default_layout_temperature
        )
    t_start = time.perf_counter()
    probe = sampler("a red circle", 1, options.seed, **gen_kw)[0]
    size = probe.size[0]
    report["image_size"] = size

    real = real_b = real_feats = real_b_feats = None
    net = None
    if suites & {"fid", "clip"}:
        real = world_set(options.n, size=size, seed=options.seed + 101)
        n_caps = math.ceil(options.n / options.images_per_caption)
        fake = sampler.image_set(
            real.captions[:n_caps],
            options.images_per_caption,
            options.seed,
            options.progress,
            **gen_kw,
        )
        fake = ImageSet(fake.images[: options.n], fake.captions[: options.n], source=name)
        report["_images"]["samples"] = (fake.images[:32], fake.captions[:32])
        report["_images"]["real"] = (real.images[:32], real.captions[:32])
    if "fid" in suites:
        net = load_feature_net(options.features)
        real_b = world_set(options.n, size=size, seed=options.seed + 202)
        real_feats, real_b_feats = _set_features(net, real), _set_features(net, real_b)
        report["fid"] = distribution_metrics(
            net, real_feats, _set_features(net, fake), real_b_feats
        )
    if "clip" in suites:
        scorer = load_clip_scorer(options.clip)
        report["clip"] = {
            "generated": clip_metrics(scorer, fake, options.seed),
            "real": clip_metrics(scorer, real, options.seed),
        }
    if "compositional" in suites:
        prompts = comp.suite(options.prompts_per_category, seed=options.seed, splits=options.splits)
        results = comp.run_suite(
            lambda texts, k, s: sampler.image_set(texts, k, s, options.progress, **gen_kw),
            prompts,
            options.images_per_prompt,
            options.seed,
            options.progress,
        )
        report["compositional"] = comp.summarize(results)
        report["compositional"]["parser_ceiling"] = _parser_ceiling(
            prompts, options.images_per_prompt, size, options.seed
        )
        report["_images"]["compositional"] = results
        if options.to_history:
            report["history_images"] = _to_history(results, name, gen_kw)
    if options.suite == "all" and options.sweep:
        report["sweeps"] = sweeps(sampler, options, size, net, real_feats, real_b_feats, real)
    report["sampling"] = {
        "images": sampler.images_generated,
        "seconds": round(sampler.seconds, 1),
        "images_per_s": sampler.images_generated / max(sampler.seconds, 1e-9),
    }
    report["wall_time_s"] = round(time.perf_counter() - t_start, 1)
    return report


def _parser_ceiling(prompts, per_prompt: int, size: int, seed: int) -> dict:
    """Accuracy of the suite on rendered scenes that satisfy each prompt: the parser's ceiling."""
    rng = np.random.default_rng(seed)
    ok = n = 0
    for p in prompts:
        for _ in range(per_prompt):
            meant = p.meant or p.prompt  # what the prompt asks for (a paraphrase: its source)
            scene = realize(parse_prompt(meant).request, rng)
            ok += comp.score_image(meant, render(scene, size))[0]
            n += 1
    lo, hi = M.wilson_interval(ok, n)
    return {"accuracy": ok / n, "ci95": [lo, hi], "images": n}


def _to_history(results, name: str, gen_kw: dict) -> int:
    store = HistoryStore()
    for r in results:
        store.add_image(
            r.image,
            {
                "prompt": r.prompt,
                "seed": r.seed,
                **{k: v for k, v in gen_kw.items() if v is not None},
            },
            model=name,
            score=r.score,
        )
    return len(results)


def sweeps(
    sampler: Sampler, options: EvalOptions, size: int, net, real_feats, real_b_feats, real: ImageSet
) -> dict:
    """Accuracy and FID vs sampling steps per sampler; CLIP score vs FID as guidance grows."""
    out: dict = {}
    if not sampler.steps_matter:
        options.notes.append("sweeps skipped: this pipeline has no samplers or steps to vary")
        return out
    n = options.sweep_n or max(M.MIN_SAMPLES["fid"], options.n // 4)
    n = min(n, options.n)
    net = net or load_feature_net(options.features)
    if real_feats is None:
        real = world_set(options.n, size=size, seed=options.seed + 101)
        real_feats = _set_features(net, real)
    sub_real = {k: v[:n] for k, v in real_feats.items()}
    floor = (
        M.fid_from_features(sub_real["features"], real_b_feats["features"][:n])
        if real_b_feats
        else None
    )
    n_caps = math.ceil(n / options.images_per_caption)
    captions = real.captions[:n_caps]
    prompts = comp.suite(1, seed=options.seed + 1)  # one prompt per category and split
    if options.sweep_prompts < len(prompts):  # spread the fewer prompts over the categories
        picks = np.linspace(0, len(prompts) - 1, max(1, options.sweep_prompts)).round().astype(int)
        prompts = [prompts[i] for i in picks]
    scorer = load_clip_scorer(options.clip)

    def point(**kw) -> dict:
        fake = sampler.image_set(captions, options.images_per_caption, options.seed, False, **kw)
        feats = net.features(fake.images[:n])
        res = comp.run_suite(
            lambda texts, k, s: sampler.image_set(texts, k, s, False, **kw),
            prompts,
            1,
            options.seed,
            False,
        )
        fake_n = ImageSet(fake.images[:n], fake.captions[:n])
        return {
            "fid": M.fid_from_features(sub_real["features"], feats),
            "clip_score": clip_metrics(scorer, fake_n, options.seed)["clip_score"],
            "accuracy": sum(r.satisfied for r in res) / len(res),
            "accuracy_images": len(res),
        }

    samplers = [s for s in options.sweep_samplers if s in sampler.samplers] or sampler.samplers[:2]
    steps_rows = []
    total = len(samplers) * len(options.sweep_steps) + len(options.sweep_guidance)
    bar = tqdm(total=total, desc="sweeps", disable=not options.progress, leave=False)
    for s in samplers:
        for k in options.sweep_steps:
            row = point(num_inference_steps=k, sampler=s, guidance_scale=options.guidance_scale)
            steps_rows.append({"sampler": s, "steps": k, **row})
            bar.update(1)
    guidance_rows = []
    if "guidance_scale" in sampler.accepts:
        for g in options.sweep_guidance:
            row = point(
                num_inference_steps=options.num_inference_steps,
                sampler=options.sampler,
                guidance_scale=g,
            )
            guidance_rows.append({"guidance_scale": g, **row})
            bar.update(1)
    bar.close()
    out.update({"n": n, "fid_floor": floor, "steps": steps_rows, "guidance": guidance_rows})
    return out


# ---------------------------------------------------------------------- writing the report


def _png_b64(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img_tag(image: Image.Image, width: int | None = None, title: str = "") -> str:
    w = f' width="{width}"' if width else ""
    return f'<img src="data:image/png;base64,{_png_b64(image)}"{w} title="{html.escape(title)}" alt="{html.escape(title)}">'


def _upscale(image: Image.Image, side: int = 96) -> Image.Image:
    scale = max(1, side // image.size[0])
    return image.resize((image.size[0] * scale, image.size[1] * scale), Image.NEAREST)


def _fig_tag(fig) -> str:
    import matplotlib.pyplot as plt  # optional: the eval extra

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _plots(sw: dict) -> list[str]:
    import matplotlib  # optional: the eval extra

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # optional: the eval extra

    tags = []
    if sw.get("steps"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for s in sorted({r["sampler"] for r in sw["steps"]}):
            rows = [r for r in sw["steps"] if r["sampler"] == s]
            axes[0].plot(
                [r["steps"] for r in rows], [r["accuracy"] for r in rows], marker="o", label=s
            )
            axes[1].plot([r["steps"] for r in rows], [r["fid"] for r in rows], marker="o", label=s)
        if sw.get("fid_floor") is not None:
            axes[1].axhline(sw["fid_floor"], color="gray", ls="--", label="real-vs-real floor")
        axes[0].set(
            xlabel="sampling steps", ylabel="compositional accuracy", title="accuracy vs steps"
        )
        axes[1].set(xlabel="sampling steps", ylabel=f"FID (n={sw['n']})", title="FID vs steps")
        for ax in axes:
            ax.legend()
            ax.grid(alpha=0.3)
        tags.append(_fig_tag(fig))
    if sw.get("guidance"):
        fig, ax = plt.subplots(figsize=(5, 3.6))
        rows = sw["guidance"]
        ax.plot([r["fid"] for r in rows], [r["clip_score"] for r in rows], marker="o")
        for r in rows:
            ax.annotate(
                f"w={r['guidance_scale']:g}",
                (r["fid"], r["clip_score"]),
                textcoords="offset points",
                xytext=(4, 4),
            )
        ax.set(xlabel=f"FID (n={sw['n']})", ylabel="CLIP score", title="guidance trade-off")
        ax.grid(alpha=0.3)
        tags.append(_fig_tag(fig))
    return tags


def _clip_text(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "<p>(none)</p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _grid(images, ncols=8) -> str:
    pils = [
        Image.fromarray(t.permute(1, 2, 0).numpy()) if torch.is_tensor(t) else t for t in images
    ]
    return _img_tag(image_grid(pils, ncols=ncols, scale=max(1, 64 // pils[0].size[0])))


def render_html(report: dict) -> str:
    css = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;color:#1d2330}"
        "table{border-collapse:collapse;margin:.5rem 0 1.2rem}td,th{border-bottom:1px solid #dde;padding:.25rem .6rem;text-align:left}"
        ".fail{display:inline-block;width:250px;vertical-align:top;margin:.4rem;font-size:.85rem}"
        "img{image-rendering:pixelated}.ok{outline:3px solid #2a2}.bad{outline:3px solid #c22}.cell{display:inline-block;margin:3px}"
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>genlab eval · {html.escape(report['model'])}</title><style>{css}</style></head><body>"
    ]
    parts.append(f"<h1>Evaluation of <code>{html.escape(report['model'])}</code></h1>")
    opts = report["options"]
    parts.append(
        f"<p>suite <b>{opts['suite']}</b>, n = {opts['n']}, steps = {opts['num_inference_steps']}, "
        f"guidance = {opts['guidance_scale'] if opts['guidance_scale'] is not None else 'pipeline default'}, "
        f"sampler = {opts['sampler'] or 'pipeline default'}, seed = {opts['seed']}, image size {report['image_size']} px; "
        f"{report['sampling']['images']} images sampled in {report['sampling']['seconds']} s; total {report['wall_time_s']} s.</p>"
    )
    mins = ", ".join(
        f"{k.upper()} ≥ {v} (≥ {report['recommended_samples'][k]} recommended)"
        for k, v in report["minimum_samples"].items()
    )
    parts.append(
        f"<p><i>Minimum samples: {mins}. FID is biased upwards at small n: compare it with the real-vs-real floor at the same n.</i></p>"
    )
    if "fid" in report:
        f = report["fid"]
        rows = [
            {
                "metric": "FID ↓",
                "generated vs real": f["fid"],
                "real vs real (floor)": f.get("fid_floor"),
            },
            {
                "metric": "KID ↓",
                "generated vs real": f["kid"],
                "real vs real (floor)": f"± {f['kid_std']:.2g} (subset {f['kid_subset_size']})",
            },
        ]
        if "is" in f:
            rows.append(
                {
                    "metric": "IS ↑",
                    "generated vs real": f["is"],
                    "real vs real (floor)": f"real images: {f['is_real']:.4g}",
                }
            )
        parts.append(
            f"<h2>Distribution metrics ({html.escape(f['features'])} features, {f['n_fake']} generated vs {f['n_real']} real)</h2>"
        )
        parts.append(_table(rows))
    if "clip" in report:
        c = report["clip"]
        rows = [
            {
                "images": "generated",
                "CLIP score": c["generated"]["clip_score"],
                "shuffled captions": c["generated"]["clip_score_shuffled"],
            },
            {
                "images": "real (rendered)",
                "CLIP score": c["real"]["clip_score"],
                "shuffled captions": c["real"]["clip_score_shuffled"],
            },
        ]
        parts.append(
            f"<h2>CLIP score ({html.escape(c['generated']['clip_model'])}, 100 · cosine)</h2>"
            + _table(rows)
        )
    if "samples" in report["_images"]:
        imgs, caps = report["_images"]["samples"]
        parts.append(
            "<h2>Samples</h2>"
            + _grid(imgs)
            + "<h3>Real scenes for the same kind of captions</h3>"
            + _grid(report["_images"]["real"][0])
        )
    if "compositional" in report:
        cm = report["compositional"]
        parts.append(
            "<h2>Compositional suite (GenEval categories, world scene parser)</h2><p>Strict: "
            "exactly the objects asked for and nothing else, every attribute and relation "
            "right. Lenient: GenEval's reading (one asked = at least one, extras ignored).</p>"
        )
        for split in comp.SPLITS:
            if split not in cm:
                continue
            s = cm[split]
            rows = [
                {
                    "category": k,
                    "strict accuracy": v["accuracy"],
                    "95% CI (Wilson)": f"{v['ci95'][0]:.2f} – {v['ci95'][1]:.2f}",
                    "lenient": v.get("lenient_accuracy", ""),
                    "images": v["images"],
                }
                for k, v in s["categories"].items()
            ]
            rows.append(
                {
                    "category": "overall (mean of categories)",
                    "strict accuracy": s["overall"],
                    "95% CI (Wilson)": f"pooled {s['pooled_ci95'][0]:.2f} – {s['pooled_ci95'][1]:.2f}",
                    "lenient": "",
                    "images": s["images"],
                }
            )
            parts.append(f"<h3>{split.replace('_', ' ')}</h3>" + _table(rows))
        if "paraphrase_gap" in cm:
            parts.append(
                f"<p>Paraphrase gap (canonical − paraphrased, strict): "
                f"{cm['paraphrase_gap']['overall']:+.3f}</p>"
            )
        ceil = cm["parser_ceiling"]
        parts.append(
            f"<p>Parser ceiling: rendered scenes that satisfy the same prompts score {ceil['accuracy']:.3f} ({ceil['images']} images).</p>"
        )
        results = report["_images"]["compositional"]
        parts.append("<h3>Images per category (green: satisfied, red: not)</h3>")
        for category in comp.CATEGORIES:
            rs = [r for r in results if r.category == category][:16]
            if not rs:
                continue
            cells = "".join(
                f"<span class='cell'>{_img_tag(_upscale(r.image, 64), title=r.prompt).replace('<img', '<img class=' + ('ok' if r.satisfied else 'bad'), 1)}</span>"
                for r in rs
            )
            parts.append(f"<h4>{category.replace('_', ' ')}</h4><div>{cells}</div>")
        parts.append("<h3>Worst failures</h3><div>")
        for r in comp.worst_failures(results):
            parts.append(
                f"<div class='fail'>{_img_tag(_upscale(r.image, 128))}<br><b>{html.escape(r.prompt)}</b> "
                f"({r.category}, {r.split}, seed {r.seed}, score {r.score:.2f})<br>parsed: {html.escape(_clip_text(r.parsed))}<br>"
                + "<br>".join("✗ " + html.escape(x) for x in r.reasons)
                + "</div>"
            )
        parts.append("</div>")
    if report.get("sweeps"):
        sw = report["sweeps"]
        parts.append(
            f"<h2>Sweeps (n = {sw['n']} per point; FID floor at this n: {_fmt(sw['fid_floor'])})</h2>"
        )
        parts += _plots(sw)
        parts.append(_table(sw["steps"]) + _table(sw["guidance"]))
    if report["notes"]:
        parts.append(
            "<h2>Notes</h2><ul>"
            + "".join(f"<li>{html.escape(n)}</li>" for n in report["notes"])
            + "</ul>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write report.html (self-contained) and report.json into out_dir; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out / "report.html", out / "report.json"
    atomic_write_text(html_path, render_html(report))
    data = {k: v for k, v in report.items() if k != "_images"}
    if "_images" in report and "compositional" in report["_images"]:
        data["compositional_images"] = [r.to_dict() for r in report["_images"]["compositional"]]
    atomic_write_text(json_path, json.dumps(data, indent=2, default=str))
    return html_path, json_path
