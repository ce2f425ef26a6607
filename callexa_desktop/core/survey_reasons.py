"""Why a survey is in its state: the ``reason`` texts the queue, re-plan and sender write."""

from __future__ import annotations


class SurveyReason:
    """Reason texts stored in ``Survey.reason`` (the import writes its own for new surveys)."""

    MONTHLY_BUDGET = "monthly_budget"  # held by the sender; released next month by it
    HELD_BY_OPERATOR = "held_by_operator"  # held until the operator releases it
    CANCELLED_BY_OPERATOR = "cancelled_by_operator"
    RELEASED_BY_OPERATOR = "released_by_operator"
    RESCHEDULED_BY_OPERATOR = "rescheduled_by_operator"
    SEND_NOW_BY_OPERATOR = "send_now_by_operator"
    REPLANNED = "replanned"
    # A re-plan that would now skip the survey cancels it with "replan_<outcome>".
    REPLAN_PREFIX = "replan_"

    # The operator chose these times or holds; a re-plan leaves them alone.
    KEPT_BY_REPLAN = (HELD_BY_OPERATOR, RESCHEDULED_BY_OPERATOR, SEND_NOW_BY_OPERATOR)
