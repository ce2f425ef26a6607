"""Sending the due surveys through Callexa: the run the ``send`` command and the window use.

State lives in ``core/sending.py``; this module adds the Callexa calls, retries and the
Activity record. The rules (also in ``docs/callexa-api.md``):

- each survey goes ``scheduled → sending`` (committed before the HTTP call) ``→ sent |
  failed``; every attempt carries the idempotency key derived from the survey's key, so
  a survey left in ``sending`` by a killed process is retried without a second email;
- transient failures (429, 5xx, time-outs, broken connections) are retried in the run
  with backoff, then left ``scheduled`` with ``next_attempt_at``; after a few surveys in
  a row fail that way the run stops (Callexa is unreachable);
- 422 → ``failed`` with the reason; 409 → ``sent`` (the customer did get a survey);
- 401/403 or any other refusal of the request itself stops the run with a sentence;
- 402 → this and the remaining surveys become held by the monthly budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from callexa_desktop.core.activity import RunKind, RunStatus, recorded_run
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.sending import (
    ALREADY_SURVEYED,
    INVALID_RECIPIENT,
    RunPlan,
    SurveyToSend,
    apply_plan,
    claim,
    hold_for_budget,
    mark_failed,
    mark_sent,
    plan_run,
    put_back,
    retry_later,
)
from callexa_desktop.services.callexa import (
    CallexaAlreadySurveyed,
    CallexaApiError,
    CallexaBudgetExhausted,
    CallexaClient,
    CallexaInvalidRecipient,
    CallexaKeyRejected,
    CallexaTransientError,
    Recipient,
    SentSurvey,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one run tries: ``attempts`` per survey, exponential backoff from
    ``base_delay`` capped at ``max_delay`` seconds, a Retry-After honoured up to
    ``max_retry_after``, and the run stops after ``stop_after_unreachable`` surveys in a
    row failed transiently."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    stop_after_unreachable: int = 3

    def delay(self, attempt: int, error: CallexaTransientError) -> float:
        """Seconds to wait after failed ``attempt`` (1-based) before the next one."""
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class StopReason:
    """Why a run ended before trying every due survey."""

    MONTHLY_BUDGET = "monthly_budget"  # Callexa answered 402; the rest are held
    KEY_REJECTED = "key_rejected"  # 401/403
    REFUSED = "refused"  # another refusal of the request itself (address, contract)
    UNREACHABLE = "unreachable"  # several surveys in a row failed transiently


@dataclass
class SendSummary:
    """What a send run did (or, with ``dry_run``, would do). ``stopped`` is the sentence
    that ended the run early, if any; ``failures`` lists permanent failures."""

    run_id: int | None = None
    dry_run: bool = False
    due: int = 0  # surveys this run set out to send
    sent: int = 0
    replayed: int = 0  # of sent: Callexa had it already (idempotency), no new email
    already_surveyed: int = 0  # 409s, recorded as sent
    failed: int = 0
    retry_later: int = 0
    held: int = 0  # held by the monthly budget in this run
    released: int = 0  # budget holds released
    recovered: int = 0  # left in "sending" by an interrupted run
    waiting: int = 0  # due but waiting for their next retry time
    not_attempted: int = 0  # left scheduled because the run stopped or was cancelled
    budget_remaining: int | None = None  # before this run; None = no limit
    cancelled: bool = False
    stopped: str | None = None
    stop_reason: str | None = None  # StopReason.*
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True unless the run stopped because it could not do its job."""
        return self.stop_reason in (None, StopReason.MONTHLY_BUDGET)

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values (the ``send --json`` contract)."""
        return {**asdict(self), "ok": self.ok}

    def sentence(self) -> str:
        """One line for the operator and the Activity history."""
        verb = "Would send" if self.dry_run else "Sent"
        count = self.due if self.dry_run else self.sent
        parts = [f"{verb} {count} survey{'s' if count != 1 else ''}"]
        if self.already_surveyed:
            parts.append(f"{self.already_surveyed} already surveyed by Callexa")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.retry_later:
            parts.append(f"{self.retry_later} to retry later")
        if self.held:
            parts.append(f"{self.held} held by the monthly budget")
        if self.waiting:
            parts.append(f"{self.waiting} waiting to be retried")
        if self.cancelled:
            parts.append("cancelled")
        text = "; ".join(parts) + "."
        return f"{text} {self.stopped}" if self.stopped else text


def send_due(
    profile: Profile,
    client: CallexaClient | None,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] | None = None,
    policy: RetryPolicy | None = None,
) -> SendSummary:
    """Send every due survey of ``profile`` through ``client``, oldest first.

    ``dry_run`` changes nothing and needs no client (None allowed). ``progress(done,
    total)`` is called after each survey; ``should_cancel()`` is checked before each one
    and between retries. ``sleep`` waits between retries (tests pass a recorder); by
    default the wait ends early when ``should_cancel()`` turns true.
    Returns the summary; raises only on unexpected errors (the survey being sent is then
    left in ``sending`` and recovered by the next run).
    """
    policy = policy or RetryPolicy()
    if sleep is None:
        sleep = _cancellable_sleep(should_cancel)
    now = profile.clock()
    settings = profile.settings()
    with profile.database.session() as session:
        plan = plan_run(session, settings, now)
    summary = _summary_of_plan(plan, dry_run=dry_run)
    if dry_run:
        return summary
    if client is None:
        raise ValueError("send_due needs a CallexaClient unless dry_run is set")
    with recorded_run(
        profile.database,
        RunKind.SEND,
        source=client.base_url,
        clock=profile.clock,
        failure_message="The send run ended unexpectedly; surveys being sent will be retried.",
        log=log,
    ) as run:
        summary.run_id = run.run_id
        run.counts = summary.as_dict
        with profile.database.session() as session:
            apply_plan(session, plan)
        _send_planned(profile, client, plan, summary, progress, should_cancel, sleep, policy)
        run.status = RunStatus.OK if summary.ok else RunStatus.FAILED
        if summary.cancelled:
            run.status = RunStatus.CANCELLED
        run.message = summary.sentence()
    log.info("send run %s: %s", run.run_id, run.message)
    return summary


def _cancellable_sleep(should_cancel: Callable[[], bool] | None) -> Callable[[float], None]:
    """A wait that ends early once ``should_cancel()`` is true, so Cancel stays prompt."""

    def wait(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if should_cancel is not None and should_cancel():
                return
            time.sleep(min(left, 0.2))

    return wait


def _summary_of_plan(plan: RunPlan, *, dry_run: bool) -> SendSummary:
    return SendSummary(
        dry_run=dry_run,
        due=len(plan.send_ids),
        held=len(plan.hold_ids),
        released=len(plan.release_ids),
        recovered=len(plan.recover_ids),
        waiting=plan.waiting,
        budget_remaining=plan.budget_remaining,
    )


def _send_planned(
    profile: Profile,
    client: CallexaClient,
    plan: RunPlan,
    summary: SendSummary,
    progress: Callable[[int, int], None] | None,
    should_cancel: Callable[[], bool] | None,
    sleep: Callable[[float], None],
    policy: RetryPolicy,
) -> None:
    total = len(plan.send_ids)
    unreachable_in_a_row = 0
    for index, survey_id in enumerate(plan.send_ids):
        if should_cancel is not None and should_cancel():
            summary.cancelled = True
            summary.not_attempted = total - index
            return
        with profile.database.session() as session:
            survey = claim(session, survey_id)
        if survey is None:  # changed by the operator or another run meanwhile
            summary.not_attempted += 1
            continue
        outcome = _attempt(client, survey, sleep, policy, should_cancel)
        stop = _record(profile, survey, outcome, summary, plan.send_ids[index + 1 :])
        if progress is not None:
            progress(index + 1, total)
        if isinstance(outcome, CallexaTransientError):
            unreachable_in_a_row += 1
            if unreachable_in_a_row >= policy.stop_after_unreachable:
                left = total - index - 1
                summary.not_attempted += left
                summary.stop_reason = StopReason.UNREACHABLE
                summary.stopped = (
                    f"Stopped after {unreachable_in_a_row} surveys in a row could not be sent "
                    f"({outcome}); {left} more wait for the next run."
                )
                return
        else:
            unreachable_in_a_row = 0
        if stop:
            if summary.stop_reason != StopReason.MONTHLY_BUDGET:  # held ones are counted
                summary.not_attempted += total - index - 1
            return


def _attempt(
    client: CallexaClient,
    survey: SurveyToSend,
    sleep: Callable[[float], None],
    policy: RetryPolicy,
    should_cancel: Callable[[], bool] | None,
) -> SentSurvey | CallexaApiError:
    """Send one survey, retrying transient failures; the receipt or the final error."""
    recipient = Recipient(
        email=survey.email,
        name=survey.name,
        first_name=survey.first_name,
        last_name=survey.last_name,
        user_id=survey.user_id,
    )
    for attempt in range(1, policy.attempts + 1):
        try:
            return client.send_survey(recipient, survey_key=survey.key)
        except CallexaTransientError as error:
            last_attempt = attempt == policy.attempts
            if last_attempt or (should_cancel is not None and should_cancel()):
                return error
            wait = policy.delay(attempt, error)
            log.info("survey %s: %s; retrying in %.1f s", survey.id, error, wait)
            sleep(wait)
        except CallexaApiError as error:
            return error
    raise AssertionError("unreachable: the loop returns on its last attempt")


def _record(
    profile: Profile,
    survey: SurveyToSend,
    outcome: SentSurvey | CallexaApiError,
    summary: SendSummary,
    rest: list[int],
) -> bool:
    """Write the outcome of one survey; True when the run must stop here."""
    now = profile.clock()
    with profile.database.session() as session:
        if isinstance(outcome, SentSurvey):
            mark_sent(session, survey.id, sent_at=now, callexa_id=outcome.id)
            summary.sent += 1
            summary.replayed += int(outcome.replayed)
            return False
        if isinstance(outcome, CallexaAlreadySurveyed):
            mark_sent(
                session,
                survey.id,
                sent_at=outcome.sent_at or now,
                callexa_id=None,
                reason=ALREADY_SURVEYED,
                note=str(outcome),
            )
            summary.already_surveyed += 1
            return False
        if isinstance(outcome, CallexaInvalidRecipient):
            mark_failed(session, survey.id, reason=INVALID_RECIPIENT, message=str(outcome))
            summary.failed += 1
            summary.failures.append(
                {"survey_id": survey.id, "email": survey.email, "message": str(outcome)}
            )
            return False
        if isinstance(outcome, CallexaTransientError):
            retry_later(session, survey.id, now=now, message=str(outcome))
            summary.retry_later += 1
            return False
        if isinstance(outcome, CallexaBudgetExhausted):
            held = hold_for_budget(session, [survey.id, *rest])
            summary.held += held
            summary.stopped = str(outcome)
            summary.stop_reason = StopReason.MONTHLY_BUDGET
            return True
        # 401/403, or a refusal of the request itself (wrong address, contract mismatch):
        # nothing is known about this survey, and the next ones would fare the same.
        put_back(session, survey.id, message=str(outcome))
        summary.stopped = str(outcome)
        summary.stop_reason = (
            StopReason.KEY_REJECTED
            if isinstance(outcome, CallexaKeyRejected)
            else StopReason.REFUSED
        )
        return True
