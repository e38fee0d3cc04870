"""The print worker against real transports: it keeps a job that cannot print, says why,
prints it when the printer is back, keeps the order, survives its callbacks, and never
makes a printer call on the caller's thread. Waits are bounded; retry waits are short."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from hardware.printer import (
    PaperStatus,
    PrinterSettings,
    PrinterState,
    PrintJob,
    PrintWorker,
    VirtualTransport,
    render,
)
from hardware.printer.network_link import NetworkTransport
from hardware.printer.serial_link import SerialTransport
from tests.test_printer import make_settings, make_ticket
from tests.test_printer_transports import (
    PAPER_NEAR_END,
    PAPER_OK,
    PAPER_OUT,
    FakeNetworkPrinter,
    FakeSerialPrinter,
    free_port,
    wait_for,
)

FAST = (0.05,)


class Recorder:
    """Collects the worker's callbacks (called on its thread)."""

    def __init__(self) -> None:
        self.states: list[PrinterState] = []
        self.jobs: list[tuple[str, bool]] = []
        self.threads: set[str] = set()

    def on_status(self, state: PrinterState) -> None:
        self.threads.add(threading.current_thread().name)
        self.states.append(state)

    def on_job(self, job_id: str, printed: bool) -> None:
        self.threads.add(threading.current_thread().name)
        self.jobs.append((job_id, printed))

    def saw(self, state: str) -> bool:
        return any(s.state == state for s in self.states)

    def printed(self) -> list[str]:
        return [job for job, ok in self.jobs if ok]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def workers() -> Iterator[list[PrintWorker]]:
    """Every worker a test starts is stopped afterwards."""
    started: list[PrintWorker] = []
    yield started
    for worker in started:
        assert worker.stop(5)


def start(workers: list[PrintWorker], settings: PrinterSettings, transport: object,
          recorder: Recorder, **options: object) -> PrintWorker:
    options = {"retry_waits": FAST, "poll_seconds": None, **options}
    worker = PrintWorker(settings, transport, on_status=recorder.on_status,
                         on_job=recorder.on_job, **options)
    workers.append(worker.start())
    return worker


def job(n: int) -> PrintJob:
    return PrintJob(f"job-{n}", make_ticket(label=f"RN-{n:03d}", people_ahead=n))


def test_serial_paper_out_keeps_the_job_pending_then_prints_it_when_paper_is_back(
        workers, recorder):
    printer = FakeSerialPrinter()
    try:
        printer.status = PAPER_OUT
        settings = make_settings(transport="serial", target=printer.path, baudrate=115200)
        worker = start(workers, settings, SerialTransport(printer.path, 115200, 1.0),
                       recorder)
        worker.submit(job(1))
        assert wait_for(lambda: recorder.saw("paper_out"))
        state = worker.state()
        assert (state.state, state.message, state.pending) == ("paper_out", "Sin papel", 1)
        assert worker.pending_jobs() == ["job-1"]
        assert wait_for(lambda: printer.queries >= 3)  # it keeps asking
        assert printer.received == b""  # and sends nothing while there is no paper
        assert recorder.jobs == [("job-1", False)]

        printer.status = PAPER_OK
        assert wait_for(lambda: recorder.printed() == ["job-1"])
        assert wait_for(lambda: printer.received == render(job(1).ticket, settings))
        assert wait_for(lambda: recorder.states[-1].state == "ok")
        final = recorder.states[-1]
        assert (final.pending, final.last_printed_job) == (0, "job-1")
        assert worker.pending_jobs() == []
    finally:
        for worker in workers:
            worker.stop(5)
        printer.close()


def test_a_refused_network_printer_is_offline_and_a_later_retry_prints(workers, recorder):
    port = free_port()
    settings = make_settings(transport="network", target=f"127.0.0.1:{port}")
    worker = start(workers, settings, NetworkTransport("127.0.0.1", port, 1.0), recorder)
    worker.submit(job(1))
    assert wait_for(lambda: recorder.saw("offline"))
    assert worker.state().message == "Impresora desconectada"
    assert worker.pending_jobs() == ["job-1"]
    printer = FakeNetworkPrinter(port)
    try:
        assert wait_for(lambda: printer.jobs == [render(job(1).ticket, settings)])
        assert wait_for(lambda: worker.state().state == "ok")
        assert recorder.jobs == [("job-1", False), ("job-1", True)]
    finally:
        printer.close()


def test_a_printer_near_the_end_of_its_roll_prints_and_warns_staff(workers, recorder):
    printer = FakeNetworkPrinter()
    try:
        printer.status = PAPER_NEAR_END
        settings = make_settings(transport="network", target=f"127.0.0.1:{printer.port}")
        worker = start(workers, settings, NetworkTransport("127.0.0.1", printer.port, 1.0),
                       recorder)
        worker.submit(job(1))
        assert wait_for(lambda: recorder.printed() == ["job-1"])
        assert wait_for(lambda: worker.state().pending == 0)
        state = worker.state()
        assert (state.state, state.message) == ("ok", "Queda poco papel")
        assert printer.jobs == [render(job(1).ticket, settings)]
    finally:
        printer.close()


class FlakyTransport(VirtualTransport):
    """A virtual printer whose sends number ``failing`` (1-based) fail as if unplugged."""

    def __init__(self, failing: set[int]) -> None:
        super().__init__()
        self.failing, self.calls = failing, 0
        self.attempts: list[float] = []
        self.threads: set[str] = set()

    def paper_status(self) -> PaperStatus:
        self.threads.add(threading.current_thread().name)
        return super().paper_status()

    def send(self, data: bytes) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls += 1
        self.attempts.append(time.monotonic())
        if self.calls in self.failing:
            raise OSError("cable pulled")
        super().send(data)


def test_jobs_print_in_the_order_submitted_across_failures(workers, recorder):
    transport = FlakyTransport(failing={1, 2, 5})  # job-1 twice, then job-3 once
    settings = make_settings()
    worker = start(workers, settings, transport, recorder)
    for n in range(1, 5):
        worker.submit(job(n))
    assert wait_for(lambda: len(recorder.printed()) == 4)
    assert recorder.printed() == ["job-1", "job-2", "job-3", "job-4"]
    assert transport.jobs() == [render(job(n).ticket, settings) for n in range(1, 5)]
    assert recorder.jobs == [("job-1", False), ("job-1", True), ("job-2", True),
                             ("job-3", False), ("job-3", True), ("job-4", True)]


def test_retries_wait_longer_after_each_failure_up_to_the_cap(workers, recorder):
    transport = FlakyTransport(failing={1, 2, 3, 4})
    worker = start(workers, make_settings(), transport, recorder,
                   retry_waits=(0.05, 0.1, 0.2))
    worker.submit(job(1))
    assert wait_for(lambda: recorder.printed() == ["job-1"])
    gaps = [b - a for a, b in zip(transport.attempts, transport.attempts[1:], strict=False)]
    assert len(gaps) == 4
    for gap, wait in zip(gaps, (0.05, 0.1, 0.2, 0.2), strict=True):
        assert gap >= wait - 0.005, gaps


def test_a_raising_callback_does_not_kill_the_worker(workers):
    calls = []

    def explode(*args: object) -> None:
        calls.append(args)
        raise RuntimeError("listener bug")

    transport = VirtualTransport()
    worker = PrintWorker(make_settings(), transport, on_status=explode, on_job=explode,
                         retry_waits=FAST, poll_seconds=None)
    workers.append(worker.start())
    worker.submit(job(1))
    worker.submit(job(2))
    assert wait_for(lambda: len(transport.jobs()) == 2)
    assert wait_for(lambda: worker.state().pending == 0)
    assert worker.state().last_printed_job == "job-2"
    assert ("job-2", True) in calls


def test_submit_returns_at_once_while_the_printer_is_busy_and_no_call_is_on_its_thread(
        workers, recorder):
    release = threading.Event()

    class SlowTransport(FlakyTransport):
        def send(self, data: bytes) -> None:
            release.wait(120)
            super().send(data)

    transport = SlowTransport(failing=set())
    worker = start(workers, make_settings(), transport, recorder)
    worker.submit(job(1))
    assert wait_for(lambda: transport.threads)  # the worker is inside the slow send
    submitted = threading.Event()

    def submit_the_rest() -> None:
        for n in range(2, 50):
            worker.submit(job(n))
        submitted.set()

    threading.Thread(target=submit_the_rest, daemon=True).start()
    assert wait_for(submitted.is_set)  # every submit returned while the send was held
    assert transport.threads and not release.is_set()
    assert worker.state().pending == 49
    release.set()
    assert wait_for(lambda: worker.state().pending == 0)
    caller = threading.current_thread().name
    assert caller not in transport.threads and caller not in recorder.threads
    assert transport.threads == {"printer-kiosko-1"}


def test_a_job_already_pending_is_not_queued_twice_and_can_be_discarded(workers, recorder):
    transport = VirtualTransport()
    transport.set_offline(True)
    worker = start(workers, make_settings(), transport, recorder)
    worker.submit(job(1))
    worker.submit(job(2))
    worker.submit(job(2))
    assert wait_for(lambda: recorder.saw("offline"))
    assert worker.pending_jobs() == ["job-1", "job-2"]
    assert worker.discard("job-2") and not worker.discard("job-9")
    transport.set_offline(False)
    worker.retry_now()
    assert wait_for(lambda: recorder.printed() == ["job-1"])
    assert len(transport.jobs()) == 1


def test_a_ticket_that_cannot_be_rendered_is_dropped_so_later_ones_still_print(
        workers, recorder):
    transport = VirtualTransport()
    worker = start(workers, make_settings(), transport, recorder)
    naive = PrintJob("bad", make_ticket(issued_at=make_ticket().issued_at.replace(tzinfo=None)))
    worker.submit(naive)
    worker.submit(job(2))
    assert wait_for(lambda: recorder.printed() == ["job-2"])
    assert ("bad", False) in recorder.jobs
    assert recorder.saw("error")
    assert worker.state().state == "ok"


def test_the_idle_worker_polls_the_paper_so_staff_see_an_empty_roll_early(workers, recorder):
    transport = VirtualTransport()
    start(workers, make_settings(), transport, recorder, poll_seconds=0.05)
    transport.set_paper_out(True)
    assert wait_for(lambda: recorder.saw("paper_out"))
    transport.set_paper_out(False)
    assert wait_for(lambda: recorder.states[-1].state == "ok")
    assert recorder.states[-1].message == "Impresora lista"


def test_status_reports_carry_the_printer_name_and_when_the_state_began(workers, recorder):
    transport = VirtualTransport()
    transport.set_paper_out(True)
    worker = start(workers, make_settings(), transport, recorder)
    before = worker.state().since
    worker.submit(job(1))
    assert wait_for(lambda: recorder.saw("paper_out"))
    out = next(s for s in recorder.states if s.state == "paper_out")
    assert out.name == "kiosko-1" and out.since >= before and out.since.tzinfo is not None


def test_stop_ends_the_thread_and_leaves_pending_jobs_pending(recorder):
    transport = VirtualTransport()
    transport.set_offline(True)
    worker = PrintWorker(make_settings(), transport, on_status=recorder.on_status,
                         retry_waits=(600.0,), poll_seconds=None).start()
    worker.submit(job(1))
    assert wait_for(lambda: recorder.saw("offline"))
    assert worker.stop(60)  # ended: it does not sit out the 10-minute wait
    assert worker.pending_jobs() == ["job-1"]
