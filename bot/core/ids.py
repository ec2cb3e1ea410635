"""Block, action and callback ids shared by view builders and listeners (namespaced)."""

from enum import StrEnum


class Callback(StrEnum):
    DECISION_FORM = "decision.form"  # new / edit / supersede (mode in private_metadata)
    DISAGREE_FORM = "decision.stance.disagree_form"
    BLOCK_FORM = "decision.stance.block_form"
    LOG_MESSAGE_SHORTCUT = "decision.log_message"
    OUTCOME_FORM = "decision.review.outcome_form"
    DECISION_DETAILS = "decision.details"  # read-only: the full record (Details on the card)
    OVERRIDE_FORM = "decision.override_form"  # "Accept anyway…": the note (number in metadata)
    FORECAST_FORM = "decision.forecast.form"  # "Add my forecast" (number in metadata)
    DECIDE_BY_EXTEND_FORM = "decision.decide_by.extend_form"  # number in metadata
    # /estimate
    ESTIMATE_FORM = "estimate.form"  # round number in private_metadata
    ESTIMATE_SHORTCUT = "estimate.message"  # message shortcut "Estimate this" (thread rounds)
    ESTIMATE_DETAILS = "estimate.details"  # the read-only Details modal of a revealed round
    # /parkinglot (item modals carry the item number in private_metadata)
    PARK_FORM = "parking.form"  # channel, thread and permalink in private_metadata
    PARK_SCORE_FORM = "parking.score_form"
    PARK_ACCEPT_FORM = "parking.accept_form"
    PARK_DEFER_FORM = "parking.defer_form"
    PARK_DECLINE_FORM = "parking.decline_form"
    PARK_SHORTCUT = "parking.message"  # message shortcut "Add to parking lot"
    # /adr digest (the channel in private_metadata)
    DIGEST_FORM = "digest.form"


class Action(StrEnum):
    AGREE = "decision.stance.agree"
    DISAGREE = "decision.stance.disagree"
    BLOCK = "decision.stance.block"
    LIST_PAGE = "decision.list.page"
    EXPORT = "decision.export"  # on `/adr show N` (value: the number)
    DETAILS = "decision.details"  # on the card: the full record in a modal (value: the number)
    ACCEPT_ANYWAY = "decision.accept_anyway"  # on a blocked card: override, with a note
    POST_IN = "decision.form.post_in"  # the decision form's "Post in" select (dispatches)
    VALUE = "value"  # the single input element inside every modal input block
    # "Add my forecast" (value: the number): on the Agree confirmation, and on the App Home
    # (whose modal refreshes the Home tab once saved)
    FORECAST_ADD = "decision.forecast.add"
    FORECAST_HOME = "decision.forecast.home"
    # the author's DM on a decide-by date (value: the number)
    DECIDE_BY_ACCEPT = "decision.decide_by.accept"
    DECIDE_BY_EXTEND = "decision.decide_by.extend"
    DECIDE_BY_PING = "decision.decide_by.ping"
    # "Did this decision work?" DMs
    REVIEW_WORKED = "decision.review.worked"
    REVIEW_PARTLY = "decision.review.partly"
    REVIEW_DIDNT_WORK = "decision.review.didnt_work"
    REVIEW_SNOOZE = "decision.review.snooze"
    REVIEW_SUPERSEDE = "decision.review.supersede"
    DISSENT_YES = "decision.review.dissent.yes"
    DISSENT_NO = "decision.review.dissent.no"
    DISSENT_TOO_EARLY = "decision.review.dissent.too_early"
    # /estimate round message (value: the round number)
    ESTIMATE_ADD = "estimate.add"
    ESTIMATE_REVEAL = "estimate.reveal"
    ESTIMATE_CANCEL = "estimate.cancel"
    ESTIMATE_AGAIN = "estimate.again"
    ESTIMATE_DETAILS = "estimate.details"  # a revealed round's other figures, in a modal
    # /parkinglot show (value: the item number)
    PARK_SCORE = "parking.score"
    PARK_ACCEPT = "parking.accept"
    PARK_DEFER = "parking.defer"
    PARK_DECLINE = "parking.decline"
    PARK_DONE = "parking.done"
    PARK_WITHDRAW = "parking.withdraw"
    # the scope watch's ephemeral offer (value: {"channel": ..., "ts": ...} as JSON)
    PARK_OFFER = "parking.watch.offer"


class Field(StrEnum):
    """Block ids of the decision modal's inputs (also the keys of its validation errors)."""

    OVERRIDE_NOTE = "override_note"  # the "Accept anyway…" modal's one input
    TITLE = "title"
    CONTEXT = "context"
    OPTIONS = "options"
    DECISION = "decision"
    CONSEQUENCES = "consequences"
    STATUS = "status"
    DECIDERS = "deciders"
    CONSULTED = "consulted"
    INFORMED = "informed"
    TAGS = "tags"
    REVIEW_DATE = "review_date"
    DECIDE_BY = "decide_by"  # also the Extend modal's one input
    SUCCESS = "success_criteria"
    FORECAST = "forecast"  # also in the stance modals and the "Add my forecast" modal
    DOOR = "door"
    CHANNEL = "channel"
    POST_IN_WARNING = "channel_warning"  # not an input: "I'm not in that channel" under it
    # stance modals
    CONCERN = "concern"
    CHANGE_MY_MIND = "change_my_mind"
    COMMIT = "commit"
    REASON = "reason"
    # outcome modal
    WHAT_HAPPENED = "what_happened"
    EVIDENCE = "evidence"
    LEARNED = "learned"


class EstimateField(StrEnum):
    """Block ids of the estimate modal's inputs besides the per-task ``t{i}_best|likely|worst``
    (see ``bot.features.estimates.forms.task_block``); also the keys of its validation errors."""

    CONFIDENCE = "confidence"
    FAMILIARITY = "familiarity"
    ASSUMPTIONS = "assumptions"


class ParkField(StrEnum):
    """Block ids of the parking-lot modals' inputs (also the keys of their validation errors)."""

    REQUEST = "request"
    REQUESTER = "requester"
    WHY = "why"
    RELATED = "related"  # ADR-12 / E-3
    REACH = "reach"
    IMPACT = "impact"
    CONFIDENCE = "confidence"
    EFFORT = "effort"
    MOSCOW = "moscow"
    TIMELINE = "timeline"  # accept: the timeline impact ("+3d")
    CHANGES = "changes"  # accept: the decision or estimate it changes
    UNTIL = "until"  # defer: the date it comes back
    REASON = "reason"  # decline


class DigestField(StrEnum):
    """Block ids of the `/adr digest` modal's inputs (also the keys of its validation errors)."""

    ENABLED = "enabled"
    WEEKDAY = "weekday"
    TIME = "time"
    TIMEZONE = "timezone"
    SECTIONS = "sections"
    QUIET = "quiet"
    SCOPE = "scope"
