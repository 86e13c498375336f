"""The access log's LineHandler: lines handed over in one event-loop pass leave in one
write, in order, and the ``logging`` path runs whenever the configuration asks for it."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest

from gateway.telemetry.line_handler import ATOMIC_WRITE, LineHandler


class _Writes(io.StringIO):
    """Keeps each write: the point of the handler is fewer of them."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    @property
    def writes(self) -> int:
        return len(self.texts)

    def write(self, text: str) -> int:
        self.texts.append(text)
        return super().write(text)


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


async def test_lines_of_one_pass_leave_in_one_write_in_order() -> None:
    stream = _Writes()
    handler = LineHandler(stream)
    for n in range(5):
        handler.append(f'{{"n": {n}}}')
    assert stream.getvalue() == ""  # not before the loop's next pass
    await asyncio.sleep(0)
    assert stream.getvalue() == "".join(f'{{"n": {n}}}\n' for n in range(5))
    assert stream.writes == 1
    handler.append("later")
    await asyncio.sleep(0)
    assert stream.getvalue().endswith("}\nlater\n") and stream.writes == 2


async def test_no_write_is_longer_than_a_pipe_takes_whole() -> None:
    """Other workers share the stream: a write over PIPE_BUF bytes could be interleaved
    with theirs mid-line, so a batch is cut at line ends below it."""
    stream = _Writes()
    handler = LineHandler(stream)
    lines = [f'{{"n": {n}, "pad": "{"x" * 590}", "model": "模型"}}' for n in range(40)]
    huge = "y" * (ATOMIC_WRITE * 2)
    for line in [*lines[:20], huge, *lines[20:]]:
        handler.append(line)
    await asyncio.sleep(0)
    assert stream.getvalue() == "".join(f"{line}\n" for line in [*lines[:20], huge, *lines[20:]])
    assert f"{huge}\n" in stream.texts  # a longer line leaves alone
    for text in stream.texts:
        assert text.endswith("\n")
        assert text == f"{huge}\n" or len(text.encode()) <= ATOMIC_WRITE
    assert stream.writes < 20  # still batched


async def test_a_logged_record_follows_the_lines_still_waiting() -> None:
    stream = _Writes()
    logger = _logger("test.lines.order", LineHandler(stream))
    handler = LineHandler.taking_lines(logger, logging.INFO)
    assert handler is not None
    handler.append("first")
    logger.info("second %s", "record")
    assert stream.getvalue() == "first\nsecond record\n"


class _Broken(io.StringIO):
    """stderr after its reader went away: every write and flush fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


async def test_a_broken_stream_never_raises_into_the_request_or_the_logger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = LineHandler(_Broken())
    logger = _logger("test.lines.broken", handler)
    handler.append("lost")
    handler.flush()
    logger.info("also lost")  # through emit: the waiting lines first, then the record
    handler.append("lost too")
    await asyncio.sleep(0)  # the scheduled flush, in the loop
    assert "BrokenPipeError" in capsys.readouterr().err  # reported as logging reports it
    logger.removeHandler(handler)  # else logging.shutdown reports it again at exit


def test_without_a_running_loop_a_line_is_written_at_once() -> None:
    stream = _Writes()
    LineHandler(stream).append("now")
    assert stream.getvalue() == "now\n"


def test_the_logging_path_runs_when_configuration_asks_for_it() -> None:
    stream = _Writes()
    handler = LineHandler(stream)
    logger = _logger("test.lines.config", handler)
    assert LineHandler.taking_lines(logger, logging.INFO) is handler
    assert LineHandler.taking_lines(logger, logging.DEBUG) is None  # the level drops it

    def taken() -> bool:
        return LineHandler.taking_lines(logger, logging.INFO) is not None

    logger.addFilter(lambda record: True)
    assert not taken()
    logger.filters.clear()
    handler.addFilter(lambda record: True)
    assert not taken()
    handler.filters.clear()
    logger.propagate = True
    assert not taken()
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(io.StringIO()))
    assert not taken()
    logger.handlers[:] = [logging.StreamHandler(stream)]  # a plain StreamHandler
    assert not taken()
    logger.handlers[:] = [handler]
    handler.setLevel(logging.WARNING)
    assert not taken()
    handler.setLevel(logging.NOTSET)
    logger.disabled = True
    assert not taken()
