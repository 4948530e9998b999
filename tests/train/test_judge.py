"""The LLM judge of `eval --judge`: the reply parser, a planted-reply HTTP server on 127.0.0.1
for the reply shapes and failures, and a real `transformers serve` on a tiny model (its
verdicts are noise: that test checks plumbing, caching and failure handling)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from radvqa_data.llm.client import parse_verdict
from radvqa_train.cli import app
from radvqa_train.judge import JudgeSettings, judge_prompt
from radvqa_train.judge_run import judge_open_answers, read_cache
from radvqa_train.metrics import score

runner = CliRunner()


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"verdict": "yes"}', True),
        ('{"verdict": "no", "reason": "another organ"}', False),
        ('Here is my answer:\n```json\n{"verdict": "yes"}\n```', True),
        ("{'verdict': 'no'}", False),
        ('{"same": true}', True),
        ("Verdict: **no**", False),
        ('<think>The reference says yes... or no?</think>\n{"verdict": "no"}', False),
        ("Yes. Both name the left kidney.", True),
        ("**No** - the side differs.", False),
        ('{"verdict": "yes"} On reflection: {"verdict": "no"}', None),  # contradicts itself
        ("The reference mentions the kidney.", None),
        ('{"verdict": "maybe"}', None),
        ("", None),
        (None, None),
        ("<think>yes", None),  # cut off while thinking
    ],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_judge_prompt_is_versioned_and_shows_the_item():
    p = judge_prompt("Which kidney is enlarged?", "left kidney", "in the left renal fossa")
    assert (p.template_id, p.prompt_version) == ("judge.v1.jinja", "v1")
    assert (
        "Reference answer: left kidney" in p.user
        and "Model answer: in the left renal fossa" in p.user
    )
    assert '{"verdict": "yes"}' in p.user and p.schema["properties"]["verdict"]["enum"] == [
        "yes",
        "no",
    ]


# --- a planted-reply server: real HTTP on 127.0.0.1, replies chosen by the model answer -------

PLANTED = {
    "plain json": '{"verdict": "yes"}',
    "fenced": 'Sure.\n```json\n{"verdict": "no"}\n```',
    "thinking": '<think>same organ? yes</think>{"verdict": "yes"}',
    "leading word": "No, it names another organ.",
    "conflict": '{"verdict": "yes"} wait {"verdict": "no"}',
    "ramble": "Both answers concern anatomy.",
}


class _Planted(BaseHTTPRequestHandler):
    requests: list[str] = []
    release = threading.Event()  # the "slow" request is held until the fixture ends

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # http.server's naming
        self._send(200, {"object": "list", "data": [{"id": "planted"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = body["messages"][-1]["content"].split("Model answer: ", 1)[1].split("\n", 1)[0]
        type(self).requests.append(answer)
        if answer == "server error":
            return self._send(500, {"error": "planted failure"})
        if answer == "slow":
            type(self).release.wait(30)
            return None  # the client gave up long ago: nothing to answer
        reply = PLANTED.get(answer, '{"verdict": "no"}')
        self._send(
            200,
            {
                "choices": [
                    {"message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 50, "completion_tokens": 6},
            },
        )


@pytest.fixture()
def planted() -> Iterator[str]:
    _Planted.requests = []
    _Planted.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Planted)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        _Planted.release.set()
        server.shutdown()
        server.server_close()


def _rows(predictions: list[str]) -> list[dict]:
    rows = []
    for i, pred in enumerate(predictions):
        rows.append(
            {
                "id": f"r{i}",
                "question": f"Where is finding {i}?",
                "answer": "left kidney",
                "prediction": pred,
                "answer_type": "open",
                "question_type": "POS",
                **score("left kidney", pred, "open"),
            }
        )
    rows.append(
        {
            "id": "closed",
            "question": "Is it a CT?",
            "answer": "yes",
            "prediction": "yes",
            "answer_type": "closed",
            "question_type": "MODALITY",
            **score("yes", "yes", "closed"),
        }
    )
    return rows


def test_reply_shapes_failures_and_cache_over_http(planted, tmp_path):
    preds = [*PLANTED, "server error", "slow", ""]
    # 2 s: ample for a planted reply on a busy machine; the "slow" one never comes
    settings = JudgeSettings(planted, "planted", timeout=2.0, retries=0)
    cache = tmp_path / "cache.jsonl"
    rows = _rows(preds)
    block = judge_open_answers(rows, settings, settings.connect(), cache=cache, progress=False)
    status = {
        r["prediction"]: (r["judge_status"], r["judge_score"]) for r in rows if r["id"] != "closed"
    }
    assert status == {
        "plain json": ("judged", 1.0),
        "fenced": ("judged", 0.0),
        "thinking": ("judged", 1.0),
        "leading word": ("judged", 0.0),
        "conflict": ("unparseable", None),
        "ramble": ("unparseable", None),
        "server error": ("http_500", None),
        "slow": ("timeout", None),
        "": ("empty_prediction", 0.0),
    }
    assert rows[-1]["judge_status"] is None and rows[-1]["judge_score"] is None  # closed: not asked
    assert sorted(_Planted.requests) == sorted(p for p in preds if p)  # no request for ""
    o = block["overall"]
    assert (o["n_open"], o["n_judged"], o["n_unjudged"]) == (9, 5, 4)
    assert o["judge_accuracy"] == pytest.approx(2 / 5)  # over the judged items only
    assert block["unjudged_by_reason"] == {"http_500": 1, "timeout": 1, "unparseable": 2}
    assert (block["requests"], block["cache_hits"], block["failed_requests"]) == (8, 0, 2)
    assert block["model"] == "planted" and block["prompt_version"] == "v1"
    assert block["sampling"]["temperature"] == 0.0
    assert len(read_cache(cache)) == 6  # replies (unparseable ones too), not failures

    # a run killed while writing its last cache line: that item is lost, the others are kept
    text = cache.read_text()
    cache.write_text(text[: text.rindex('"reply"')])
    lost = json.loads(text.splitlines()[-1])["prediction"]

    # rerun: cached replies are not asked again; the failures and the lost item are
    _Planted.requests = []
    rows = _rows(preds)
    again = judge_open_answers(rows, settings, settings.connect(), cache=cache, progress=False)
    assert sorted(_Planted.requests) == sorted(["server error", "slow", lost])
    assert (again["requests"], again["cache_hits"]) == (3, 5)
    assert again["overall"] == o
    assert len(read_cache(cache)) == 6  # the lost reply is back, on a line of its own


# --- a real OpenAI-compatible server: `transformers serve` on a tiny random model ------------


@pytest.fixture(scope="module")
def judge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    pytest.importorskip("fastapi", reason="needs transformers[serving]")
    pytest.importorskip("uvicorn", reason="needs transformers[serving]")
    from radvqa_data.llm.local_server import free_port, start_transformers_serve, wait_healthy
    from radvqa_data.llm.tiny import build_tiny_causal_lm

    root = tmp_path_factory.mktemp("judge-serve")
    model_dir = build_tiny_causal_lm(root / "model")
    port = free_port()
    proc = start_transformers_serve(model_dir, port, root / "serve.log")
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, root / "serve.log")
        yield f"http://127.0.0.1:{port}/v1", str(model_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except Exception:
            proc.kill()
            proc.wait()


def _eval(toy_data, preds: Path, out: Path, *judge: str):
    r = runner.invoke(
        app,
        [
            "eval",
            "--data",
            "vqa-rad:test",
            "--predictions",
            str(preds),
            "--catalog",
            str(toy_data["catalog"]),
            "--out",
            str(out),
            *judge,
        ],
    )
    assert r.exit_code == 0, r.output
    return json.loads((out / "metrics.json").read_text())


def test_eval_judge_against_transformers_serve(judge_server, toy_data, tmp_path):
    url, model = judge_server
    # toy vqa-rad test: q18b..q23b "What modality is this?" (CT for even i, MRI for odd i)
    answers = {
        18: "computed tomography",
        19: "magnetic resonance",
        20: "",
        21: "CT",
        22: "CT scan",
        23: "MRI",
    }
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        "".join(json.dumps({"id": f"q{i}b", "prediction": a}) + "\n" for i, a in answers.items())
        + "".join(json.dumps({"id": f"q{i}", "prediction": "yes"}) + "\n" for i in answers)
    )
    judge = [
        "--judge",
        "openai",
        "--judge-base-url",
        url,
        "--judge-model",
        model,
        "--judge-max-new-tokens",
        "8",
    ]  # replies are noise anyway: keep them short
    plain = _eval(toy_data, preds, tmp_path / "plain")
    m = _eval(toy_data, preds, tmp_path / "judged", *judge)
    j = m["judge"]
    assert {k: v for k, v in m.items() if k != "judge"} == plain  # beside, never instead
    assert (j["model"], j["template"], j["prompt_version"]) == (model, "judge.v1.jinja", "v1")
    assert j["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 8, "seed": 0}
    assert (j["requests"], j["cache_hits"], j["empty_predictions"], j["failed_requests"]) == (
        5,
        0,
        1,
        0,
    )
    o = j["overall"]
    assert o["n_open"] == 6 and o["n_judged"] + o["n_unjudged"] == 6
    assert set(j["unjudged_by_reason"]) <= {"unparseable"}  # noise from random weights
    assert j["backend_counters"]["requests"] == 5 and j["backend_counters"]["completion_tokens"] > 0
    preds_df = pl.read_parquet(tmp_path / "judged" / "predictions.parquet")
    assert preds_df.filter(pl.col("answer_type") == "closed")["judge_status"].null_count() == 6
    assert set(preds_df.filter(pl.col("answer_type") == "open")["judge_status"]) <= {
        "judged",
        "unparseable",
        "empty_prediction",
    }
    assert "-- judge (open answers)" in (tmp_path / "judged" / "metrics.txt").read_text()
    assert len(read_cache(tmp_path / "judged" / "judge_cache.jsonl")) == 5

    again = _eval(toy_data, preds, tmp_path / "judged", *judge)["judge"]
    assert (again["requests"], again["cache_hits"]) == (0, 5)  # a rerun asks nothing new
    assert again["overall"] == o and again["unjudged_by_reason"] == j["unjudged_by_reason"]

    # every attempt times out: counted per item, the run completes, nothing is cached
    slow = _eval(toy_data, preds, tmp_path / "slow", *judge, "--judge-timeout", "0.001")["judge"]
    assert slow["unjudged_by_reason"] == {"timeout": 5} and slow["failed_requests"] == 5
    assert slow["overall"]["n_judged"] == 1  # only the empty prediction, scored 0 without a request
    assert slow["backend_counters"]["timeouts"] >= 5
    assert read_cache(tmp_path / "slow" / "judge_cache.jsonl") == {}


def test_judge_options_are_checked_in_one_line(toy_data, tmp_path):
    from radvqa_data.llm.local_server import free_port

    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "q18b", "prediction": "CT"}\n')
    base = [
        "eval",
        "--data",
        "vqa-rad:test",
        "--predictions",
        str(preds),
        "--catalog",
        str(toy_data["catalog"]),
        "--out",
        str(tmp_path / "o"),
    ]
    r = runner.invoke(app, [*base, "--judge", "openai", "--judge-model", "m"])
    assert r.exit_code == 1 and "--judge-base-url" in r.output
    r = runner.invoke(
        app, [*base, "--judge", "claude", "--judge-base-url", "http://x", "--judge-model", "m"]
    )
    assert r.exit_code == 1 and "unknown judge" in r.output
    r = runner.invoke(app, [*base, "--judge-model", "m"])
    assert r.exit_code == 1 and "need --judge openai" in r.output
    r = runner.invoke(
        app,
        [
            *base,
            "--judge",
            "openai",
            "--judge-model",
            "m",
            "--judge-base-url",
            f"http://127.0.0.1:{free_port()}/v1",
        ],
    )
    assert r.exit_code == 1 and "cannot reach an OpenAI-compatible server" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "o" / "metrics.json").exists()
