"""The words ADR files use for the app's values (``storage.models`` values -> words in the
file), shared by the reader (``parse.py``) and the writer (``write.py``)."""

from __future__ import annotations

STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
LINK_LABELS = {
    "supersedes": "Supersedes",
    "superseded_by": "Superseded by",
    "amends": "Amends",
    "amended_by": "Amended by",
    "relates": "Relates to",
}
STANCE_LABELS = {"agree": "Agree", "disagree_and_commit": "Disagree & commit", "block": "Block"}
# Labels files written before may use, still read: the stance value each stands for.
OLD_STANCE_LABELS = {"Disagree and commit": "disagree_and_commit"}
STANCE_FIELDS = {"concern": "Concern", "change_my_mind": "Would change my mind", "reason": "Reason"}
ASK_FIELDS = {
    "concern": "Concern",
    "what_happened": "What happened",
    "evidence": "Evidence",
    "learned": "Learned",
}
OUTCOME_LABELS = {"worked": "worked", "partly": "partly", "didnt_work": "didn't work"}
DISSENT_LABELS = {"yes": "yes", "no": "no", "too_early": "too early to tell"}
ASK_ROLES = ("owner", "dissenter")
