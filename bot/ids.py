"""Block, action and callback ids shared by view builders and listeners (namespaced)."""

from enum import StrEnum


class Callback(StrEnum):
    DECISION_FORM = "decision.form"  # new / edit / supersede (mode in private_metadata)
    DISAGREE_FORM = "decision.stance.disagree_form"
    BLOCK_FORM = "decision.stance.block_form"
    LOG_MESSAGE_SHORTCUT = "decision.log_message"


class Action(StrEnum):
    AGREE = "decision.stance.agree"
    DISAGREE = "decision.stance.disagree"
    BLOCK = "decision.stance.block"
    LIST_PAGE = "decision.list.page"
    VALUE = "value"  # the single input element inside every modal input block


class Field(StrEnum):
    """Block ids of the decision modal's inputs (also the keys of its validation errors)."""

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
    SUCCESS = "success_criteria"
    CHANNEL = "channel"
    # stance modals
    CONCERN = "concern"
    CHANGE_MY_MIND = "change_my_mind"
    COMMIT = "commit"
    REASON = "reason"
