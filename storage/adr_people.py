"""The people an ADR file names, matched to Slack users (``users.list`` members) by id, email,
then display or real name: what `decisionbot import` reads once from Slack and
``storage.adr_import`` matches each file's decision makers, stance takers and review answerers
against. Pure: no database, no Slack call.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from adr_files.records import PersonRef

if TYPE_CHECKING:  # a type only: this module stays free of the database
    from storage.models import JsonObject

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_ID_SUFFIX = re.compile(r"\(?@[UW][A-Z0-9]{2,31}\)?")
_SPACES = re.compile(r"\s+")


def _name_key(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lstrip("@").strip()).casefold()


class PeopleIndex:
    """Slack users (``users.list`` members) by id, email and name, for matching the people an
    ADR file names. Empty (no Slack): ids are trusted as written and names match nobody."""

    def __init__(self, users: Iterable[JsonObject] = ()) -> None:
        self.ids: set[str] = set()
        emails: dict[str, set[str]] = defaultdict(set)
        names: dict[str, set[str]] = defaultdict(set)
        for user in users:
            uid = str(user.get("id") or "")
            if not uid:
                continue
            self.ids.add(uid)
            if user.get("deleted") or user.get("is_bot") or uid == "USLACKBOT":
                continue  # matched by id only: a name or email should find a living person
            profile = user.get("profile") or {}
            email = profile.get("email") or user.get("email")
            if email:
                emails[str(email).casefold()].add(uid)
            for name in {
                profile.get("display_name"),
                profile.get("display_name_normalized"),
                profile.get("real_name"),
                profile.get("real_name_normalized"),
                user.get("real_name"),
                user.get("name"),
            }:
                if name and str(name).strip():
                    names[_name_key(str(name))].add(uid)
        # A name or email two people share matches nobody: a wrong person is worse than text.
        self._emails = {k: next(iter(v)) for k, v in emails.items() if len(v) == 1}
        self._names = {k: next(iter(v)) for k, v in names.items() if len(v) == 1}

    def __len__(self) -> int:
        return len(self.ids)

    def match(self, ref: PersonRef) -> str | None:
        """The Slack user id ``ref`` stands for, or None (keep it as text)."""
        if ref.user_id and (not self.ids or ref.user_id in self.ids):
            return ref.user_id
        text = ref.text
        for email in _EMAIL.findall(text):
            found = self._emails.get(email.casefold())
            if found:
                return found
        name = _EMAIL.sub("", _ID_SUFFIX.sub("", text)).replace("<>", "").strip(" <>()")
        if name:
            return self._names.get(_name_key(name))
        return None
