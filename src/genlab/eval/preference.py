"""Human preference: blind pairwise votes between two models' images for the same prompt, stored in
the shared history database (own table), turned into Elo and Bradley–Terry ratings per model.

Candidates are the history's images (genlab.history): any two images with the same prompt from
different models form a pair. `preference_router()` gives the serve engineer a page and an API.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from genlab.errors import InvalidArgument, NotFound
from genlab.history import HistoryStore

WINNERS = ("a", "b", "tie")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS preference_votes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt   TEXT NOT NULL,
    image_a  TEXT NOT NULL,   -- ids in the history's images table
    image_b  TEXT NOT NULL,
    model_a  TEXT NOT NULL,
    model_b  TEXT NOT NULL,
    winner   TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
    rater    TEXT,
    created  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS preference_votes_created ON preference_votes(created);
"""


@dataclass
class Pair:
    prompt: str
    image_a: str
    image_b: str
    model_a: str
    model_b: str


@dataclass
class Vote:
    model_a: str
    model_b: str
    winner: str  # "a", "b" or "tie"


@dataclass
class Rating:
    model: str
    elo: float
    bradley_terry: float  # log-strength scaled to Elo points (400 / ln 10), mean 0 → 1000
    wins: int
    losses: int
    ties: int

    @property
    def games(self) -> int:
        return self.wins + self.losses + self.ties


class PreferenceStore:
    """Votes in table `preference_votes` of the history database (default genlab.paths.history_db())."""

    def __init__(self, path: str | Path | None = None):
        self.history = HistoryStore(path)  # creates the database and its images table if needed
        self.path = self.history.path
        # reads and writes go through the history store's paths: one writer per database file
        self._connect, self._write = self.history.reader, self.history.writer
        with self._write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    # ------------------------------------------------------------------ pairs and votes

    def candidates(self) -> dict[str, dict[str, list[str]]]:
        """{prompt: {model: [image ids]}} for prompts that at least two models have images for."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, prompt, model FROM images WHERE kind = 'image' AND model IS NOT NULL "
                "AND prompt != '' ORDER BY created"
            ).fetchall()
        by_prompt: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            by_prompt[r["prompt"]][r["model"]].append(r["id"])
        return {p: dict(m) for p, m in by_prompt.items() if len(m) >= 2}

    def next_pair(self, seed: int | None = None) -> Pair:
        """A pair to rate: the model pair with the fewest votes so far, a random prompt both have,
        a random image of each, in random left/right order (the rater must not know which is which).
        """
        rng = np.random.default_rng(seed)
        cands = self.candidates()
        if not cands:
            raise NotFound(
                "preference: no prompt has images from two different models yet "
                "(generate the same prompt with two models, or run `genlab eval` on two models)"
            )
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for v in self.votes():
            counts[tuple(sorted((v.model_a, v.model_b)))] += 1
        options = []
        for prompt, models in cands.items():
            names = sorted(models)
            for i, a in enumerate(names):
                for b in names[i + 1 :]:
                    options.append((counts[(a, b)], prompt, a, b))
        fewest = min(o[0] for o in options)
        options = [o for o in options if o[0] == fewest]
        _, prompt, a, b = options[rng.integers(len(options))]
        if rng.random() < 0.5:
            a, b = b, a
        image_a = cands[prompt][a][rng.integers(len(cands[prompt][a]))]
        image_b = cands[prompt][b][rng.integers(len(cands[prompt][b]))]
        return Pair(prompt, image_a, image_b, a, b)

    def vote(self, image_a: str, image_b: str, winner: str, rater: str | None = None) -> Vote:
        """Record that `winner` ("a", "b" or "tie") is the better of two history images."""
        if winner not in WINNERS:
            raise InvalidArgument("winner", "one of a, b, tie", winner)
        if image_a == image_b:
            raise InvalidArgument("image_b", "a different image than image_a", image_b)
        rec_a, rec_b = self.history.get_image(image_a), self.history.get_image(image_b)
        if not rec_a.model or not rec_b.model:
            raise InvalidArgument(
                "images", "images whose model is recorded", (rec_a.model, rec_b.model)
            )
        if rec_a.prompt != rec_b.prompt:
            raise InvalidArgument(
                "images", "two images of the same prompt", (rec_a.prompt, rec_b.prompt)
            )
        with self._write() as conn:
            conn.execute(
                "INSERT INTO preference_votes (prompt, image_a, image_b, model_a, model_b, winner, "
                "rater, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec_a.prompt,
                    image_a,
                    image_b,
                    rec_a.model,
                    rec_b.model,
                    winner,
                    rater,
                    time.time(),
                ),
            )
        return Vote(rec_a.model, rec_b.model, winner)

    def votes(self) -> list[Vote]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT model_a, model_b, winner FROM preference_votes ORDER BY created, id"
            ).fetchall()
        return [Vote(r["model_a"], r["model_b"], r["winner"]) for r in rows]

    def ratings(self) -> list[Rating]:
        return ratings(self.votes())


# ---------------------------------------------------------------------- rating models


def _score(winner: str) -> float:
    """Score of model A in one game: win 1, tie ½, loss 0."""
    return {"a": 1.0, "b": 0.0, "tie": 0.5}[winner]


def elo(votes: list[Vote], k: float = 32.0, initial: float = 1000.0) -> dict[str, float]:
    """Sequential Elo (Elo 1978): E_A = 1 / (1 + 10^((R_B − R_A)/400)), R_A += k (S_A − E_A)."""
    r: dict[str, float] = defaultdict(lambda: initial)
    for v in votes:
        expected_a = 1 / (1 + 10 ** ((r[v.model_b] - r[v.model_a]) / 400))
        delta = k * (_score(v.winner) - expected_a)
        r[v.model_a] += delta
        r[v.model_b] -= delta
    return dict(r)


def bradley_terry(votes: list[Vote], iters: int = 200, prior: float = 0.5) -> dict[str, float]:
    """Bradley–Terry strengths P(i beats j) = p_i / (p_i + p_j), fitted by Hunter's (2004) MM update
    p_i ← W_i / Σ_j n_ij / (p_i + p_j). A tie counts half a win for each side; `prior` adds that
    many virtual ties against every other model, so an unbeaten model keeps a finite strength.
    Returns log-strengths in Elo points (×400/ln 10), centred on 1000.
    """
    models = sorted({m for v in votes for m in (v.model_a, v.model_b)})
    if not models:
        return {}
    idx = {m: i for i, m in enumerate(models)}
    n = len(models)
    wins = np.zeros((n, n))  # wins[i, j]: (fractional) wins of i over j
    for v in votes:
        i, j = idx[v.model_a], idx[v.model_b]
        s = _score(v.winner)
        wins[i, j] += s
        wins[j, i] += 1 - s
    wins += prior / 2 * (1 - np.eye(n))
    games = wins + wins.T
    p = np.ones(n)
    for _ in range(iters):
        denom = (games / (p[:, None] + p[None, :])).sum(1)
        p = wins.sum(1) / denom
        p /= math.exp(np.log(p).mean())  # fix the scale: geometric mean 1
    return {m: 1000 + 400 / math.log(10) * math.log(p[idx[m]]) for m in models}


def ratings(votes: list[Vote]) -> list[Rating]:
    """Elo and Bradley–Terry rating and the win/loss/tie record of every model, best BT first."""
    e, bt = elo(votes), bradley_terry(votes)
    record: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for v in votes:
        if v.winner == "tie":
            record[v.model_a][2] += 1
            record[v.model_b][2] += 1
        else:
            winner, loser = (v.model_a, v.model_b) if v.winner == "a" else (v.model_b, v.model_a)
            record[winner][0] += 1
            record[loser][1] += 1
    out = [Rating(m, e[m], bt[m], *record[m]) for m in bt]
    return sorted(out, key=lambda r: -r.bradley_terry)


# ---------------------------------------------------------------------- web page and routes

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>genlab · which is better?</title><link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#e6e8ef;background:#0f1117;font-size:15px}
header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 20px;padding:10px 24px;
  border-bottom:1px solid #2a2f3f;background:#171a23}
header a{color:#7c9cff}main{max-width:820px;margin:0 auto;padding:16px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin-top:2rem}
.pair{display:flex;flex-wrap:wrap;gap:1.5rem;justify-content:center;margin:1.5rem 0}
.pair figure{margin:0;text-align:center;flex:1 1 200px;max-width:300px}
.pair img{width:100%;aspect-ratio:1;image-rendering:pixelated;border-radius:8px;border:1px solid #2a2f3f;
  background:#000;display:block}
button{font:inherit;padding:.5rem 1.2rem;margin:.4rem;border-radius:8px;border:1px solid #2a2f3f;
  background:#1e2230;color:#e6e8ef;cursor:pointer}
button:hover{border-color:#7c9cff}:focus-visible{outline:2px solid #7c9cff;outline-offset:2px}
table{border-collapse:collapse;margin-top:1rem;width:100%}
td,th{padding:.3rem .6rem;border-bottom:1px solid #2a2f3f;text-align:left}
#prompt{font-size:1.2rem;text-align:center}#msg{color:#a3a9bc;text-align:center}
.center{text-align:center}.muted{color:#a3a9bc}[hidden]{display:none!important}
</style></head><body>
<header><a href="/">← playground</a><h1>Which image fits the prompt better?</h1></header>
<main>
<p id="prompt"></p><p id="msg" role="status"></p>
<div class="pair" id="pair" hidden>
<figure><img id="img-a" alt="image A"><figcaption><button data-w="a">A is better</button></figcaption></figure>
<figure><img id="img-b" alt="image B"><figcaption><button data-w="b">B is better</button></figcaption></figure></div>
<p class="center" id="tie-row" hidden><button data-w="tie">Tie</button></p>
<h2>Ratings</h2><p id="no-ratings" class="muted" hidden>No votes yet: the models' ratings appear here after the first vote.</p>
<table id="ratings" hidden><thead><tr><th>model</th><th>Bradley–Terry</th><th>Elo</th><th>W / L / T</th></tr></thead><tbody></tbody></table>
</main>
<script>
const API = "__API__"; let pair = null;
const $ = (id) => document.getElementById(id);
async function load(){
  const r = await fetch(API + "/pair?if_any=true"); const body = await r.json().catch(() => ({}));
  pair = r.ok && body.prompt ? body : null;
  for (const id of ["pair", "tie-row"]) $(id).hidden = !pair;
  $("prompt").textContent = pair ? "“" + pair.prompt + "”" : "";
  $("msg").textContent = pair ? "" : "Nothing to compare yet: generate the same prompt with two "
    + "different models in the playground (or run `genlab eval` on two models), then come back.";
  if (pair) { $("img-a").src = pair.url_a; $("img-b").src = pair.url_b; }
}
async function ratings(){
  const rows = await (await fetch(API + "/ratings")).json(); const tb = document.querySelector("#ratings tbody");
  $("ratings").hidden = !rows.length; $("no-ratings").hidden = rows.length > 0;
  tb.innerHTML = ""; for(const r of rows){ const tr = document.createElement("tr");
    for(const v of [r.model, r.bradley_terry.toFixed(0), r.elo.toFixed(0), r.wins+" / "+r.losses+" / "+r.ties]){
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);} tb.appendChild(tr); }
}
document.querySelectorAll("button[data-w]").forEach(b => b.onclick = async () => {
  if(!pair) return;
  await fetch(API + "/vote", {method:"POST", headers:{"Content-Type":"application/json"},
    body: JSON.stringify({image_a: pair.image_a, image_b: pair.image_b, winner: b.dataset.w})});
  await load(); await ratings();
});
load(); ratings();
</script></body></html>
"""


def preference_page(api_prefix: str = "/api/preference") -> str:
    """The rating page as one self-contained HTML string (no external assets)."""
    return PAGE.replace("__API__", api_prefix)


def preference_router(
    db_path: str | Path | None = None,
    api_prefix: str = "/api/preference",
    page_path: str = "/preference",
    image_url: str = "/api/images/{id}",
):
    """A FastAPI APIRouter: GET page_path (the page), GET {api}/pair, POST {api}/vote,
    GET {api}/ratings. Images are shown through the server's own `image_url` route."""
    from fastapi import APIRouter, HTTPException  # optional: the serve extra
    from fastapi.responses import HTMLResponse  # optional: the serve extra
    from pydantic import BaseModel  # optional: the serve extra

    store = PreferenceStore(db_path)
    router = APIRouter()

    class VoteIn(BaseModel):
        image_a: str
        image_b: str
        winner: str
        rater: str | None = None

    @router.get(page_path, response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return preference_page(api_prefix)

    @router.get(f"{api_prefix}/pair")
    def pair(if_any: bool = False) -> dict:
        """The next pair to rate; 404 when there is none (200 with prompt null if `if_any`)."""
        try:
            p = store.next_pair()
        except NotFound as e:
            if if_any:  # the page asks this way: "nothing yet" is not an error to it
                return {"prompt": None, "detail": str(e)}
            raise HTTPException(404, str(e)) from None
        # Models stay hidden until after the vote: the rater sees only the prompt and images.
        return {
            "prompt": p.prompt,
            "image_a": p.image_a,
            "image_b": p.image_b,
            "url_a": image_url.format(id=p.image_a),
            "url_b": image_url.format(id=p.image_b),
        }

    def vote(body) -> dict:
        try:
            v = store.vote(body.image_a, body.image_b, body.winner, body.rater)
        except NotFound as e:
            raise HTTPException(404, str(e)) from None
        except InvalidArgument as e:
            raise HTTPException(422, str(e)) from None
        return asdict(v)

    # The body's model is local to this function, so give FastAPI the class, not the string
    # annotation that `from __future__ import annotations` would leave it.
    vote.__annotations__["body"] = VoteIn
    router.post(f"{api_prefix}/vote")(vote)

    @router.get(f"{api_prefix}/ratings")
    def get_ratings() -> list[dict]:
        return [asdict(r) for r in store.ratings()]

    return router
