"""What a modal carries in its ``private_metadata``: one small typed model per modal, one
encode and one decode.

Metadata comes back from Slack with the submission, so it may be stale (a form opened before
a deploy changed its shape) or forged. ``decode`` never lets that through: it raises
``StaleForm``, whose sentence the person sees inline on the modal ("This form is out of date:
open it again."), never a 500.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.core.blocks import METADATA_LIMIT
from bot.core.payloads import ViewPayload
from storage.errors import InvalidInput

STALE_FORM = "This form is out of date: open it again."


class StaleForm(InvalidInput):
    """A modal's metadata that does not decode."""

    def __init__(self) -> None:
        super().__init__(STALE_FORM)


class ModalMeta(BaseModel):
    """Base of every modal's metadata. Strict: a number is a number, not "7" or true."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    def encode(self) -> str:
        raw = self.model_dump_json(exclude_none=True)
        if len(raw) > METADATA_LIMIT:
            raise ValueError(f"{type(self).__name__} over Slack's 3000-character limit")
        return raw

    @classmethod
    def decode(cls, view: ViewPayload) -> Self:
        """The metadata of a submitted ``view``; StaleForm if it is not this model's."""
        raw = (view or {}).get("private_metadata") or "{}"
        try:
            return cls.model_validate_json(raw)
        except (ValidationError, ValueError, TypeError):
            raise StaleForm() from None
