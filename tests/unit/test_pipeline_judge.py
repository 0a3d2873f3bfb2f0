"""Judge reply parsing and retries: JSON, JSON in prose, a bare number, out-of-range replies."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from offchain.data import Record
from simulation.pipeline.judge import RETRIES, JudgeReplyError, build_prompt, judge_all, parse_reply


def test_parse_reply_reads_a_json_object() -> None:
    verdict = parse_reply('{"score": 7, "justification": "Mostly right."}')
    assert verdict.score == 7.0 and verdict.justification == "Mostly right."


def test_parse_reply_finds_json_inside_prose_and_code_fences() -> None:
    text = 'Sure! Here is my grade:\n```json\n{"justification": "Exact span", "score": "9.5"}\n```'
    assert parse_reply(text).score == 9.5


def test_parse_reply_falls_back_to_the_first_number() -> None:
    assert parse_reply("I would give it 8/10.").score == 8.0
    assert parse_reply("6").score == 6.0


def test_parse_reply_salvages_a_json_reply_cut_off_at_the_token_cap() -> None:
    verdict = parse_reply('{"score": 7, "justification": "Right team, but the answer adds 2 wrong')
    assert verdict.score == 7.0 and verdict.justification == "Right team, but the answer adds 2 wrong…"
    # the score field wins over numbers that come before it
    verdict = parse_reply('{"justification": "Names 3 of the 4 points.", "score": 6')
    assert verdict.score == 6.0 and verdict.justification == "Names 3 of the 4 points."


@pytest.mark.parametrize("reply", ['{"score": 11}', "-2", "score: 42", "no idea", '{"score": null}'])
def test_parse_reply_rejects_replies_without_a_score_in_range(reply: str) -> None:
    with pytest.raises(JudgeReplyError):
        parse_reply(reply)


class FakeJudge:
    """Replies from a script: one list of replies per attempt."""

    name = "fake-judge"

    def __init__(self, script: list[list[str]]) -> None:
        self.script, self.calls = script, []

    def ask(self, prompts: Sequence[str], attempt: int) -> list[str | None]:
        self.calls.append((attempt, len(prompts)))
        return self.script[attempt][: len(prompts)]


def test_judge_all_retries_only_the_failed_replies() -> None:
    fake = FakeJudge([["12", '{"score": 4}'], ["{\"score\": 5}"], []])
    results = judge_all(fake, ["p1", "p2"])
    assert [(v.score if v else None, n) for v, n, _ in results] == [(5.0, 2), (4.0, 1)]
    assert fake.calls == [(0, 2), (1, 1)]


def test_judge_all_gives_up_after_the_retries_and_keeps_the_error() -> None:
    fake = FakeJudge([["eleven"], ["99"], ["-1"]])
    [(verdict, attempts, error)] = judge_all(fake, ["p"])
    assert verdict is None and attempts == RETRIES + 1 and "outside [0, 10]" in error


def test_build_prompt_has_the_question_reference_and_answer() -> None:
    record = Record("q1", "extractive_qa", "ctx q", "Denver Broncos", context="The Broncos won.",
                    question="Who won?")
    prompt = build_prompt(record, "Broncos")
    assert "Who won?" in prompt and "Denver Broncos" in prompt and "Broncos" in prompt
    assert '"score"' in prompt


def test_endpoint_judge_posts_a_chat_completion_and_reads_the_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from simulation.pipeline.judge import EndpointJudge

    seen: list[dict] = []

    class FakeOpenAI(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"),
                         "body": json.loads(self.rfile.read(int(self.headers["Content-Length"])))})
            reply = json.dumps({"choices": [{"message": {"content": '{"score": 8, "justification": "ok"}'}}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(reply.encode())

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setenv("POQ_JUDGE_API_KEY", "test-key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        judge = EndpointJudge(f"http://127.0.0.1:{server.server_port}/v1", "gpt-4o-mini")
        [(verdict, attempts, _)] = judge_all(judge, ["grade this"])
    finally:
        server.shutdown()
    assert verdict is not None and verdict.score == 8.0 and attempts == 1
    assert seen[0]["path"] == "/v1/chat/completions" and seen[0]["auth"] == "Bearer test-key"
    assert seen[0]["body"]["model"] == "gpt-4o-mini"
    assert seen[0]["body"]["messages"] == [{"role": "user", "content": "grade this"}]


def test_an_unreachable_endpoint_counts_as_failed_attempts() -> None:
    from simulation.pipeline.judge import EndpointJudge

    judge = EndpointJudge("http://127.0.0.1:9/v1", "m", timeout=2)
    [(verdict, attempts, error)] = judge_all(judge, ["p"])
    assert verdict is None and attempts == RETRIES + 1 and error.startswith(
        "no reply (cannot reach the OpenAI-compatible endpoint at http://127.0.0.1:9/v1 after 1 attempts")
